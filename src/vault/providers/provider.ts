import type { AwsClients, MfaParams, StsApi } from "../../aws/types.ts";
import type { Keyring } from "../../keyring/keyring.ts";
import type { Runtime } from "../../runtime/runtime.ts";
import type { Secret } from "../../util/secret.ts";
import type { ProfileConfig } from "../config/profile.ts";
import type { Credentials } from "../credentials.ts";

export type ProviderKind =
  | "master"
  | "session-token"
  | "assume-role"
  | "web-identity"
  | "sso"
  | "credential-process"
  | "federation-token"
  | "static";

/** A source of credentials: configuration is captured when built, work happens on each retrieve. */
export interface CredentialsProvider {
  readonly kind: ProviderKind;
  /** The provider this one wraps, if it is a decorator (the session cache). */
  readonly inner?: CredentialsProvider;
  /** A cache decorator: whether the last retrieve() was served from the cache. */
  readonly fromCache?: boolean;
  retrieve(): Promise<Credentials>;
}

/** Collaborators of the vault layer. */
export interface VaultDeps {
  rt: Runtime;
  keyring: Keyring;
  aws: AwsClients;
  /** Returns the MFA code for a serial (--mfa-token, the hop's mfa_process, or a prompt). */
  /** The MFA code for `serial`; `profile` is the hop that needs it (named in the prompt). */
  mfaToken: (serial: string, mfaProcess?: string, profile?: string) => Promise<Secret>;
  /** STS endpoint override for a hop (AWS_ENDPOINT_URL*, endpoint_url, legacy global endpoint). */
  stsEndpoint: (hop: ProfileConfig) => string | undefined;
  /** SSO portal and SSO OIDC endpoint overrides for a hop (AWS_ENDPOINT_URL_SSO / _SSO_OIDC, services, endpoint_url). */
  ssoEndpoint?: (hop: ProfileConfig) => string | undefined;
  oidcEndpoint?: (hop: ProfileConfig) => string | undefined;
  /** Cached sessions are refreshed when they have less than this left (AWS_MIN_TTL, default 5m). */
  minTtlMs: number;
  /** Folder for the cross-process locks that make concurrent invocations share one STS call. */
  lockDir: string;
}

/** The provider underneath any cache decorator. */
export function unwrap(p: CredentialsProvider): CredentialsProvider {
  return p.inner ? unwrap(p.inner) : p;
}

/**
 * What every STS-backed hop does first: the source's credentials, the MFA code when this hop has a
 * serial (asked after the source succeeded), and an STS client signed with the source credentials.
 */
export async function stsHop(
  deps: VaultDeps,
  config: ProfileConfig,
  source: CredentialsProvider,
): Promise<{ sts: StsApi; mfa?: MfaParams }> {
  const credentials = await source.retrieve();
  const mfa = config.mfaSerial
    ? { serialNumber: config.mfaSerial, tokenCode: await deps.mfaToken(config.mfaSerial, config.mfaProcess, config.profileName) }
    : undefined;
  const sts = await deps.aws.sts({ region: config.region, endpoint: deps.stsEndpoint(config), credentials });
  return { sts, ...(mfa ? { mfa } : {}) };
}
