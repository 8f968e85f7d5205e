// Shared by exec, export (and later login/rotate): flags + profile name -> a credentials provider.
import { join } from "node:path";
import { legacyStsEndpoint } from "../aws/endpoints.ts";
import { sdkClients } from "../aws/clients.ts";
import type { AwsClients } from "../aws/types.ts";
import { UserError } from "../errors.ts";
import { choosePromptDriver } from "../prompt/prompt.ts";
import { tryParseGoDuration } from "../util/duration.ts";
import { ConfigLoader, profileExists, serviceEndpoint } from "../vault/config/loader.ts";
import type { BaseConfig, ProfileConfig } from "../vault/config/profile.ts";
import { CredentialStore } from "../vault/credential-store.ts";
import { mfaTokenProvider } from "../vault/mfa.ts";
import type { CredentialsProvider, VaultDeps } from "../vault/providers/provider.ts";
import { ProviderResolver, type ResolveOptions } from "../vault/resolve.ts";
import type { Session } from "./global.ts";

const DEFAULT_MIN_TTL_MS = 5 * 60 * 1000;

export interface CredentialFlags {
  profile: string;
  durationMs?: number;
  noSession: boolean;
  region?: string;
  mfaToken?: string;
  /** exec with a credential server: prefer a non-terminal prompt driver. */
  avoidTerminalPrompt?: boolean;
  ssoUseStdout?: boolean;
  ssoUseDeviceCode?: boolean;
  /** Read only the config sections this profile needs (export: big configs, config/scan.ts). */
  profileConfigOnly?: boolean;
}

export interface ResolvedCredentials {
  config: ProfileConfig;
  provider: CredentialsProvider;
  deps: VaultDeps;
  /** Whether an MFA code was asked for (for the audit log). */
  mfaUsed(): boolean;
}

/** Loads the profile (flags > env > file) and builds its provider; retrieves nothing yet. */
export async function resolveCredentials(
  s: Session,
  f: CredentialFlags,
  resolve: Omit<ResolveOptions, "explicitDuration"> = {},
  aws: AwsClients = sdkClients(),
): Promise<ResolvedCredentials> {
  const { rt } = s;
  const file = f.profileConfigOnly ? await s.configFileFor(f.profile) : await s.configFile();
  const base: BaseConfig = {
    ...(f.region ? { region: f.region } : {}),
    ...(f.mfaToken ? { mfaToken: f.mfaToken } : {}),
    ...(f.durationMs ? { assumeRoleDuration: f.durationMs, nonChainedGetSessionTokenDuration: f.durationMs } : {}),
    ...(f.ssoUseStdout ? { ssoUseStdout: true } : {}),
    ...(f.ssoUseDeviceCode ? { ssoUseDeviceCode: true } : {}),
  };
  const loader = new ConfigLoader({ file, baseConfig: base, env: rt.env, activeProfile: f.profile, log: (m) => rt.log.debug(m) });
  const config = loader.getProfileConfig(f.profile);
  const keyring = await s.keyring(f.profile);
  if (!profileExists(file, f.profile) && !(await new CredentialStore(keyring).has(f.profile))) {
    const unread = file.unreadProfileHeader(f.profile);
    throw new UserError(`profile '${f.profile}' not found in ${file.path} and no stored credentials exist for it`, {
      hints: unread
        ? [`[${unread}] is not read, as the AWS CLI does not read it: quote the name, [profile "${f.profile}"]`]
        : ["`aws-vault list` shows the profiles and stored credentials"],
    });
  }
  let promptMethod: string | undefined;
  let mfaUsed = false;
  const deps: VaultDeps = {
    rt,
    keyring,
    aws,
    mfaToken: (serial, mfaProcess, profile) => {
      mfaUsed = true;
      promptMethod ??= choosePromptDriver(rt, { explicit: s.options.prompt, avoidTerminal: Boolean(f.avoidTerminalPrompt) });
      return mfaTokenProvider(rt, { mfaToken: f.mfaToken, mfaProcess, promptMethod })(serial, profile);
    },
    stsEndpoint: (hop) => serviceEndpoint(file, hop, "sts", rt.env) ?? legacyStsEndpoint(hop.region, hop.stsRegionalEndpoints),
    ssoEndpoint: (hop) => serviceEndpoint(file, hop, "sso", rt.env),
    oidcEndpoint: (hop) => serviceEndpoint(file, hop, "sso_oidc", rt.env),
    signinEndpoint: (hop) => serviceEndpoint(file, hop, "signin", rt.env),
    minTtlMs: tryParseGoDuration(rt.env.AWS_MIN_TTL ?? "") ?? DEFAULT_MIN_TTL_MS,
    lockDir: join(rt.homedir, ".awsvault", "locks"),
  };
  const provider = await new ProviderResolver(deps, {
    disableSessions: f.noSession,
    ...resolve,
    explicitDuration: f.durationMs !== undefined,
  }).providerFor(config);
  return { config, provider, deps, mfaUsed: () => mfaUsed };
}
