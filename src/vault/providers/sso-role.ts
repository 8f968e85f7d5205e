// IAM Identity Center role credentials (aws-vault SSORoleCredentialsProvider, §4.1, §4.6): an OIDC
// access token for the start URL (from the keyring cache, else the device flow), then
// sso:GetRoleCredentials. A cached token the portal rejects with 401 is removed and the device flow
// runs once more. Token acquisition is serialised per start URL across processes, so profiles
// sharing a start URL ask the user to approve once.
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { awsCallError } from "../../aws/errors.ts";
import type { OidcToken } from "../../aws/types.ts";
import { CredentialsError } from "../../errors.ts";
import { formatGoDuration } from "../../util/duration.ts";
import { nodeCrypto } from "../../runtime/builtins.ts";
import { withFileLock } from "../../runtime/lock.ts";
import type { ProfileConfig } from "../config/profile.ts";
import type { Credentials } from "../credentials.ts";
import { OidcTokenStore } from "../oidc-store.ts";
import { ssoDeviceFlow } from "../sso-device-flow.ts";
import type { CredentialsProvider, VaultDeps } from "./provider.ts";

/** The device flow includes the user logging in; give a waiting invocation that long. */
const TOKEN_LOCK_TIMEOUT_MS = 15 * 60 * 1000;

export interface SsoRoleOptions {
  /** Cache the OIDC token in the keyring (aws-vault does only when the session cache is on). */
  cacheToken: boolean;
  /** Opens the verification page (tests); defaults to the system browser. */
  openBrowser?: (url: string) => void;
}

interface SsoSettings {
  startUrl: string;
  region: string;
  accountId: string;
  roleName: string;
}

/** The four SSO settings a profile needs, or a CredentialsError naming the missing keys. */
export function ssoSettings(config: ProfileConfig): SsoSettings {
  const missing: string[] = [];
  if (!config.ssoStartUrl) missing.push("sso_start_url");
  if (!config.ssoRegion) missing.push("sso_region");
  if (!config.ssoAccountId) missing.push("sso_account_id");
  if (!config.ssoRoleName) missing.push("sso_role_name");
  if (missing.length) {
    throw new CredentialsError(`profile ${config.profileName}: SSO profile is missing ${missing.join(", ")}`, {
      hints: [
        config.ssoSession
          ? `check that [sso-session ${config.ssoSession}] sets sso_start_url and sso_region, and the profile sets sso_account_id and sso_role_name`
          : "set them in the profile, or point sso_session at an [sso-session] section with sso_start_url and sso_region",
      ],
    });
  }
  return {
    startUrl: config.ssoStartUrl as string,
    region: config.ssoRegion as string,
    accountId: config.ssoAccountId as string,
    roleName: config.ssoRoleName as string,
  };
}

/** The portal's answer to a token it does not accept (expired, revoked, signed out). */
export function isSsoUnauthorized(e: unknown): boolean {
  if (typeof e !== "object" || e === null) return false;
  const err = e as { name?: unknown; $metadata?: { httpStatusCode?: unknown } };
  return err.name === "UnauthorizedException" || err.$metadata?.httpStatusCode === 401;
}

export function ssoRoleProvider(deps: VaultDeps, config: ProfileConfig, opts: SsoRoleOptions): CredentialsProvider {
  const sso = ssoSettings(config);
  const profile = config.profileName;
  const log = (m: string) => deps.rt.log.debug(m);
  const tokens = new OidcTokenStore(deps.keyring, () => deps.rt.now());

  const deviceFlow = async (): Promise<OidcToken> => {
    const oidc = await deps.aws.ssoOidc({ region: sso.region, endpoint: deps.oidcEndpoint?.(config) });
    return ssoDeviceFlow(deps.rt, oidc, {
      profileName: profile,
      startUrl: sso.startUrl,
      useStdout: Boolean(config.ssoUseStdout),
      ...(opts.openBrowser ? { open: opts.openBrowser } : {}),
    });
  };

  /** A token and whether it came from the cache (only a cached token is retried on 401). */
  const acquireToken = async (): Promise<{ token: OidcToken; cached: boolean }> => {
    if (!opts.cacheToken) return { token: await deviceFlow(), cached: false };
    const lookup = async () => {
      const hit = await tokens.get(sso.startUrl);
      if (hit) {
        const left = Math.trunc((hit.expiration.getTime() - deps.rt.now().getTime()) / 1000) * 1000;
        log(`profile ${profile}: using the cached SSO OIDC token for ${sso.startUrl}, expires in ${formatGoDuration(left)}`);
      }
      return hit;
    };
    const hit = await lookup();
    if (hit) return { token: hit, cached: true };
    await mkdir(deps.lockDir, { recursive: true, mode: 0o700 });
    const lockName = nodeCrypto()
      .createHash("sha256")
      .update(`oidc\0${deps.keyring.backend}\0${deps.keyring.describeLocation?.("") ?? ""}\0${sso.startUrl}`)
      .digest("hex")
      .slice(0, 32);
    return withFileLock(
      join(deps.lockDir, `${lockName}.lock`),
      async () => {
        // Another invocation may have finished the device flow while we waited.
        const fresh = await lookup();
        if (fresh) return { token: fresh, cached: true };
        const token = await deviceFlow();
        await tokens.set(sso.startUrl, token);
        return { token, cached: false };
      },
      { timeoutMs: TOKEN_LOCK_TIMEOUT_MS, sleep: (ms) => deps.rt.sleep(ms) },
    );
  };

  const getRoleCredentials = async (token: OidcToken): Promise<Credentials> => {
    const client = await deps.aws.sso({ region: sso.region, endpoint: deps.ssoEndpoint?.(config) });
    return client.getRoleCredentials({ accessToken: token.accessToken, accountId: sso.accountId, roleName: sso.roleName });
  };

  return {
    kind: "sso",
    async retrieve() {
      const { token, cached } = await acquireToken();
      try {
        return await getRoleCredentials(token);
      } catch (e) {
        if (!(cached && isSsoUnauthorized(e))) throw awsCallError(profile, "SSO GetRoleCredentials", e);
        log(`profile ${profile}: the SSO portal rejected the cached OIDC token for ${sso.startUrl}; authorizing again`);
        await tokens.remove(sso.startUrl);
      }
      const again = await acquireToken();
      try {
        return await getRoleCredentials(again.token);
      } catch (e) {
        throw awsCallError(profile, "SSO GetRoleCredentials", e);
      }
    },
  };
}
