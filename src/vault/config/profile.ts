// The typed view of one profile after resolution (aws-vault's ProfileConfig). Durations are in
// milliseconds. Fields are undefined when nothing set them.

export interface ProfileConfig {
  profileName: string;

  mfaSerial?: string;
  mfaProcess?: string;
  /** An MFA code given with --mfa-token (used for every MFA hop). */
  mfaToken?: string;
  /** The prompt driver name from --prompt / AWS_VAULT_PROMPT or auto-selection. */
  mfaPromptMethod?: string;

  roleArn?: string;
  externalId?: string;
  roleSessionName?: string;
  region?: string;
  stsRegionalEndpoints?: string;
  endpointUrl?: string;
  /** The `services` key: names the `[services NAME]` section with per-service endpoint_url values. */
  servicesSection?: string;

  /** `duration_seconds`, AWS_ASSUME_ROLE_TTL or --duration. */
  assumeRoleDuration?: number;
  nonChainedGetSessionTokenDuration?: number;
  chainedGetSessionTokenDuration?: number;
  getFederationTokenDuration?: number;

  sourceProfileName?: string;
  /** The resolved source profile (set by the loader when sourceProfileName is set). */
  sourceProfile?: ProfileConfig;
  /** The profile that named this one as its source_profile. */
  chainedFromProfile?: ProfileConfig;

  ssoSession?: string;
  ssoStartUrl?: string;
  ssoRegion?: string;
  ssoAccountId?: string;
  ssoRoleName?: string;
  ssoRegistrationScopes?: string;
  ssoUseStdout?: boolean;
  /** --use-device-code: the device authorization grant instead of the authorization code with PKCE. */
  ssoUseDeviceCode?: boolean;

  webIdentityTokenFile?: string;
  webIdentityTokenProcess?: string;

  sessionTags?: Record<string, string>;
  transitiveSessionTags?: string[];
  sourceIdentity?: string;

  credentialProcess?: string;

  /** `aws login` console sign-in session (an ARN); its tokens live in the keyring. */
  loginSession?: string;
}

/** Values from command-line flags; every profile in a chain starts from them. */
export type BaseConfig = Partial<
  Pick<
    ProfileConfig,
    | "region"
    | "mfaToken"
    | "mfaPromptMethod"
    | "assumeRoleDuration"
    | "nonChainedGetSessionTokenDuration"
    | "chainedGetSessionTokenDuration"
    | "getFederationTokenDuration"
    | "ssoUseStdout"
    | "ssoUseDeviceCode"
  >
>;

export const DEFAULT_SESSION_DURATION = 60 * 60 * 1000;
export const DEFAULT_CHAINED_SESSION_DURATION = 8 * 60 * 60 * 1000;
export const ROLE_CHAINING_MAXIMUM_DURATION = 60 * 60 * 1000;

export function hasRole(c: ProfileConfig): boolean {
  return Boolean(c.roleArn);
}

export function hasMfaSerial(c: ProfileConfig): boolean {
  return Boolean(c.mfaSerial);
}

export function isChained(c: ProfileConfig): boolean {
  return c.chainedFromProfile !== undefined;
}

/** GetSessionToken duration: the chained one when this profile is another profile's source. */
export function getSessionTokenDuration(c: ProfileConfig): number {
  return (isChained(c) ? c.chainedGetSessionTokenDuration : c.nonChainedGetSessionTokenDuration) ?? DEFAULT_SESSION_DURATION;
}
