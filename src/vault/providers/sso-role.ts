// IAM Identity Center role credentials (aws-vault SSORoleCredentialsProvider, §4.1, §4.6): an OIDC
// access token for the start URL (sso-token.ts: the keyring cache, a refresh, else a sign-in in the
// browser or with the device code), then sso:GetRoleCredentials. A cached token the portal rejects
// with 401 is removed and the sign-in runs once more.
import { awsCallError } from "../../aws/errors.ts";
import type { OidcToken } from "../../aws/types.ts";
import { CredentialsError } from "../../errors.ts";
import type { ProfileConfig } from "../config/profile.ts";
import type { Credentials } from "../credentials.ts";
import { parseRegistrationScopes } from "../sso-auth-code-flow.ts";
import { SsoTokenSource } from "../sso-token.ts";
import type { CredentialsProvider, VaultDeps } from "./provider.ts";

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
  const oidcEndpoint = deps.oidcEndpoint?.(config);
  const tokens = new SsoTokenSource(deps, {
    profileName: profile,
    startUrl: sso.startUrl,
    region: sso.region,
    scopes: parseRegistrationScopes(config.ssoRegistrationScopes),
    ...(oidcEndpoint ? { oidcEndpoint } : {}),
    useStdout: Boolean(config.ssoUseStdout),
    useDeviceCode: Boolean(config.ssoUseDeviceCode),
    cacheToken: opts.cacheToken,
    ...(opts.openBrowser ? { openBrowser: opts.openBrowser } : {}),
  });

  const getRoleCredentials = async (token: OidcToken): Promise<Credentials> => {
    const client = await deps.aws.sso({ region: sso.region, endpoint: deps.ssoEndpoint?.(config) });
    return client.getRoleCredentials({ accessToken: token.accessToken, accountId: sso.accountId, roleName: sso.roleName });
  };

  return {
    kind: "sso",
    async retrieve() {
      const { token, cached } = await tokens.acquire();
      try {
        return await getRoleCredentials(token);
      } catch (e) {
        if (!(cached && isSsoUnauthorized(e))) throw awsCallError(profile, "SSO GetRoleCredentials", e);
        log(`profile ${profile}: the SSO portal rejected the cached OIDC token for ${sso.startUrl}; authorizing again`);
        await tokens.invalidate();
      }
      const again = await tokens.acquire();
      try {
        return await getRoleCredentials(again.token);
      } catch (e) {
        throw awsCallError(profile, "SSO GetRoleCredentials", e);
      }
    },
  };
}
