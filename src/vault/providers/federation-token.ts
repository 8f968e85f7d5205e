// sts:GetFederationToken (aws-vault FederationTokenProvider, §4.1) and the choice login makes
// between it and the credentials it already has (aws-vault cli/login.go canProviderBeUsedForLogin).
// The console accepts role sessions directly; long-lived keys and plain session tokens are first
// turned into a federated session named after the IAM user, with an allow-all session policy (the
// effective permissions stay those of the user).
import { awsCallError } from "../../aws/errors.ts";
import type { CallerIdentity } from "../../aws/types.ts";
import { UserError } from "../../errors.ts";
import { durationSeconds } from "../../util/duration.ts";
import { DEFAULT_SESSION_DURATION, type ProfileConfig } from "../config/profile.ts";
import type { Credentials } from "../credentials.ts";
import { type CredentialsProvider, unwrap, type VaultDeps } from "./provider.ts";

export const ALLOW_ALL_IAM_POLICY = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}';
/** GetFederationToken's Name is at most 32 characters. */
export const MAX_FEDERATED_NAME_LENGTH = 32;

/** The collaborators this file needs: no keyring, no MFA (login without a profile has neither). */
export type FederationDeps = Pick<VaultDeps, "rt" | "aws" | "stsEndpoint">;

export interface FederationTokenOptions {
  /** DurationSeconds for GetFederationToken (--duration, AWS_FEDERATION_TOKEN_TTL, default 1h). */
  durationMs?: number;
  /** IAM endpoint override for GetUser. */
  iamEndpoint?: string;
  /** The caller's ARN, if already known: the user name falls back to it when GetUser is denied. */
  callerArn?: string;
}

/** The user name in an IAM user ARN (`arn:aws:iam::123:user/path/name` → `name`), else undefined. */
export function userNameFromArn(arn: string): string | undefined {
  const resource = arn.split(":").slice(5).join(":");
  if (!resource.startsWith("user/")) return undefined;
  const name = resource.slice(resource.lastIndexOf("/") + 1);
  return name || undefined;
}

// GetUser's AccessDenied message names the caller (aws-vault getuser.go, unanchored so SDK v3
// messages match too).
const ACCESS_DENIED_USER = /User: (arn:aws[\w-]*:iam::\d+:user\/\S+) is not authorized/;

/** The IAM user name of the credentials (aws-vault GetUsernameFromSession). */
export async function iamUserName(
  deps: FederationDeps,
  config: ProfileConfig,
  creds: Credentials,
  opts: Pick<FederationTokenOptions, "iamEndpoint" | "callerArn"> = {},
): Promise<string> {
  const iam = await deps.aws.iam({ region: config.region ?? "us-east-1", endpoint: opts.iamEndpoint, credentials: creds });
  try {
    return (await iam.getUser()).userName;
  } catch (e) {
    const fromError = ACCESS_DENIED_USER.exec(String((e as Error)?.message ?? ""))?.[1];
    const fallback = (fromError && userNameFromArn(fromError)) ?? (opts.callerArn ? userNameFromArn(opts.callerArn) : undefined);
    if (fallback) {
      deps.rt.log.debug(`profile ${config.profileName}: GetUser failed, using the user name from the caller ARN`);
      return fallback;
    }
    throw awsCallError(config.profileName, "GetUser", e);
  }
}

/** GetFederationToken from long-lived keys, named after the IAM user (truncated to 32 characters). */
export function federationTokenProvider(
  deps: FederationDeps,
  config: ProfileConfig,
  source: CredentialsProvider,
  opts: FederationTokenOptions = {},
): CredentialsProvider {
  return {
    kind: "federation-token",
    async retrieve() {
      const creds = await source.retrieve();
      const name = (await iamUserName(deps, config, creds, opts)).slice(0, MAX_FEDERATED_NAME_LENGTH);
      const sts = await deps.aws.sts({ region: config.region, endpoint: deps.stsEndpoint(config), credentials: creds });
      const durationMs = opts.durationMs ?? config.getFederationTokenDuration ?? DEFAULT_SESSION_DURATION;
      try {
        return await sts.getFederationToken({ name, durationSeconds: durationSeconds(durationMs), policy: ALLOW_ALL_IAM_POLICY });
      } catch (e) {
        throw awsCallError(config.profileName, "GetFederationToken", e);
      }
    },
  };
}

/** A provider that returns credentials already in hand. */
export function staticProvider(creds: Credentials): CredentialsProvider {
  return { kind: "static", retrieve: async () => creds };
}

/** Providers whose credentials are role sessions the console accepts as they are. */
export function canProviderBeUsedForLogin(p: CredentialsProvider): boolean {
  const kind = unwrap(p).kind;
  return kind === "assume-role" || kind === "sso" || kind === "web-identity";
}

export interface ConsoleCredentials {
  credentials: Credentials;
  /** How they were obtained: a role session (SessionDuration applies) or GetFederationToken. */
  source: "role-session" | "federation-token";
}

/** Parses a caller ARN's resource (`assumed-role/…`, `user/…`); aws-vault's "unable to parse ARN". */
export function arnResource(arn: string): string {
  const parts = arn.split(":");
  if (parts.length < 6) throw new UserError(`unable to parse ARN: ${arn}`);
  return parts.slice(5).join(":");
}

/**
 * Credentials the federation endpoint accepts (aws-vault login §7 step 3): role sessions as they
 * are; anything else is retrieved once, and unless GetCallerIdentity shows an assumed role, traded
 * for a federation token.
 */
export async function consoleCredentials(
  deps: FederationDeps,
  config: ProfileConfig,
  provider: CredentialsProvider,
  opts: FederationTokenOptions = {},
): Promise<ConsoleCredentials> {
  if (canProviderBeUsedForLogin(provider)) return { credentials: await provider.retrieve(), source: "role-session" };
  const creds = await provider.retrieve();
  const sts = await deps.aws.sts({ region: config.region, endpoint: deps.stsEndpoint(config), credentials: creds });
  let identity: CallerIdentity;
  try {
    identity = await sts.getCallerIdentity();
  } catch (e) {
    throw awsCallError(config.profileName, "GetCallerIdentity", e);
  }
  if (arnResource(identity.arn).startsWith("assumed-role")) return { credentials: creds, source: "role-session" };
  deps.rt.log.debug("Creating a federated session");
  const federated = federationTokenProvider(deps, config, staticProvider(creds), { ...opts, callerArn: identity.arn });
  return { credentials: await federated.retrieve(), source: "federation-token" };
}
