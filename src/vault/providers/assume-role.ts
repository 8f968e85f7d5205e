import { awsCallError } from "../../aws/errors.ts";
import { DEFAULT_SESSION_DURATION, type ProfileConfig } from "../config/profile.ts";
import { type CredentialsProvider, stsHop, type VaultDeps } from "./provider.ts";

export interface AssumeRoleOptions {
  /** Duration to request (already capped for role chaining by the caller). */
  durationMs?: number;
}

/** aws-vault's default session name: the current time in Unix nanoseconds (sub-millisecond part from the monotonic clock). */
export function defaultRoleSessionName(now: Date): string {
  const subMillisecond = Math.floor((performance.now() % 1) * 1e6);
  return `${now.getTime()}${String(subMillisecond).padStart(6, "0")}`;
}

/** sts:AssumeRole from the source credentials, with MFA when the (remaining) config has a serial. */
export function assumeRoleProvider(
  deps: VaultDeps,
  config: ProfileConfig,
  source: CredentialsProvider,
  opts: AssumeRoleOptions = {},
): CredentialsProvider {
  const roleArn = config.roleArn ?? "";
  return {
    kind: "assume-role",
    async retrieve() {
      const { sts, mfa } = await stsHop(deps, config, source);
      try {
        return await sts.assumeRole({
          roleArn,
          roleSessionName: config.roleSessionName || defaultRoleSessionName(deps.rt.now()),
          durationSeconds: Math.round((opts.durationMs ?? config.assumeRoleDuration ?? DEFAULT_SESSION_DURATION) / 1000),
          ...(config.externalId ? { externalId: config.externalId } : {}),
          ...(mfa ? { mfa } : {}),
          ...(config.sessionTags ? { tags: config.sessionTags } : {}),
          ...(config.transitiveSessionTags ? { transitiveTagKeys: config.transitiveSessionTags } : {}),
          ...(config.sourceIdentity ? { sourceIdentity: config.sourceIdentity } : {}),
        });
      } catch (e) {
        throw awsCallError(config.profileName, `AssumeRole ${roleArn}`, e);
      }
    },
  };
}
