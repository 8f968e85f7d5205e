import { awsCallError } from "../../aws/errors.ts";
import { getSessionTokenDuration, type ProfileConfig } from "../config/profile.ts";
import { type CredentialsProvider, stsHop, type VaultDeps } from "./provider.ts";

/** sts:GetSessionToken with the source's long-term keys, with MFA when the profile has a serial. */
export function sessionTokenProvider(deps: VaultDeps, config: ProfileConfig, source: CredentialsProvider): CredentialsProvider {
  return {
    kind: "session-token",
    async retrieve() {
      const { sts, mfa } = await stsHop(deps, config, source);
      try {
        return await sts.getSessionToken({ durationSeconds: Math.round(getSessionTokenDuration(config) / 1000), ...(mfa ? { mfa } : {}) });
      } catch (e) {
        throw awsCallError(config.profileName, "GetSessionToken", e);
      }
    },
  };
}
