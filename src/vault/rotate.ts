// Rotating a profile's stored access key (aws-vault cli/rotate.go, §10), with its bugs fixed (§16 #24):
//  * the master credentials are found by walking the whole source_profile chain, and `-n` uses them
//    (aws-vault reads the *profile's* name);
//  * one set of credentials signs every IAM call: one session (one MFA code) or the master keys;
//  * the new key is proven with sts:GetCallerIdentity (retried while IAM propagates) before it is
//    stored and before the old key is deleted;
//  * any failure after CreateAccessKey and before the old key is gone rolls back: the new key is
//    deleted and the old one stays (or is put back) in the keyring.
// The progress lines on stdout are aws-vault's.
import { awsCallError } from "../aws/errors.ts";
import type { AwsClients, IamApi } from "../aws/types.ts";
import { UserError, VaultError } from "../errors.ts";
import type { Keyring } from "../keyring/keyring.ts";
import type { Runtime } from "../runtime/runtime.ts";
import { maskKeyId } from "../util/redact.ts";
import type { Secret } from "../util/secret.ts";
import type { ProfileConfig } from "./config/profile.ts";
import { CredentialStore } from "./credential-store.ts";
import type { Credentials } from "./credentials.ts";
import { findMasterCredentialsName, profileChain } from "./master-name.ts";
import { userNameFromArn } from "./providers/federation-token.ts";
import { type CredentialsProvider, unwrap } from "./providers/provider.ts";
import { SessionStore } from "./session-store.ts";
import { recordKeyStored } from "./key-age.ts";

export interface RotateDeps {
  rt: Runtime;
  keyring: Keyring;
  aws: AwsClients;
  stsEndpoint(hop: ProfileConfig): string | undefined;
  iamEndpoint(hop: ProfileConfig): string | undefined;
  /** One progress line (stdout, as aws-vault prints them). */
  print(line: string): void;
}

export interface RotateOptions {
  /** The profile the user named (resolved, with its source_profile chain). */
  config: ProfileConfig;
  /** -n: sign the IAM calls with the stored master keys, no session or role. */
  noSession: boolean;
  /**
   * The uncached provider for the profile's session (GetSessionToken with MFA, or its role). Not
   * called with noSession. A provider that turns out to be the master keys counts as noSession.
   */
  sessionProvider: () => Promise<CredentialsProvider>;
  /** How long the new key may take to start working (IAM propagation). Default 20s. */
  verifyTimeoutMs?: number;
  /** How long DeleteAccessKey is retried while the key signing it propagates. Default 20s. */
  deleteTimeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 20_000;
/** Error codes that mean "this access key is not known (yet)": worth retrying while IAM propagates. */
const PROPAGATION_CODES = new Set(["InvalidClientTokenId", "InvalidAccessKeyId", "AuthFailure"]);

interface NewKey {
  accessKeyId: string;
  secretAccessKey: Secret;
  userName: string;
}

export interface RotateResult {
  /** The profile whose stored key was replaced. */
  profile: string;
  /** The new key's id (not secret; shown masked). */
  accessKeyId: string;
}

export async function rotateAccessKey(deps: RotateDeps, opts: RotateOptions): Promise<RotateResult> {
  const { rt, print } = deps;
  const store = new CredentialStore(deps.keyring);
  const config = opts.config;

  let master: ProfileConfig;
  try {
    master = await findMasterCredentialsName(config, (name) => store.has(name));
  } catch (e) {
    throw withPrefix(`Error determining credential name for '${config.profileName}'`, e);
  }

  // Decide how the IAM calls are signed before saying so: a profile whose "session" would be its
  // own master keys (a plain IAM user without MFA: IAM refuses GetSessionToken credentials without
  // MFA) uses them directly.
  const provider = opts.noSession ? undefined : await opts.sessionProvider();
  const kind = provider ? unwrap(provider).kind : "master";
  const useMaster = kind === "master" || (kind === "session-token" && !config.mfaSerial);
  if (provider && useMaster) rt.log.debug(`profile ${config.profileName}: using the master credentials, a session without MFA cannot call IAM`);
  print(
    useMaster
      ? `Rotating credentials stored for profile '${master.profileName}' using master credentials (takes 10-20 seconds)`
      : `Rotating credentials stored for profile '${master.profileName}' using a session from profile '${config.profileName}' (takes 10-20 seconds)`,
  );

  let oldCreds: Credentials;
  try {
    oldCreds = await store.get(master.profileName);
  } catch (e) {
    throw withPrefix(`Error loading source credentials for '${master.profileName}'`, e);
  }
  const oldId = maskKeyId(oldCreds.accessKeyId);
  rt.log.debug(`Rotating access key ${oldId}`);
  print("Creating a new access key");

  // The credentials for every IAM call: one session (so one MFA code), or the master keys.
  let adminCreds: Credentials;
  let adminHop: ProfileConfig;
  if (useMaster) {
    adminCreds = oldCreds;
    adminHop = master;
  } else {
    try {
      adminCreds = await (provider as CredentialsProvider).retrieve();
    } catch (e) {
      throw withPrefix("Error getting temporary credentials", e);
    }
    adminHop = config;
  }
  // The user's own keys or session act on the user itself; a role must name the user.
  const ownCredentials = useMaster || kind === "session-token";
  const userName = ownCredentials ? undefined : await userNameOfKey(deps, master, oldCreds);
  if (userName) rt.log.debug(`Found IAM username '${userName}'`);
  const iamRegion = (hop: ProfileConfig) => hop.region ?? "us-east-1";
  const adminIam = await deps.aws.iam({ region: iamRegion(adminHop), endpoint: deps.iamEndpoint(adminHop), credentials: adminCreds });

  let created: NewKey;
  try {
    created = await adminIam.createAccessKey(userName ? { userName } : {});
  } catch (e) {
    const err = awsCallError(adminHop.profileName, "CreateAccessKey", e);
    const full = errorCode(e) === "LimitExceeded" ? ["an IAM user can have at most two access keys: delete the unused one first"] : [];
    throw withPrefix("Error creating a new access key", err, full);
  }
  const newId = maskKeyId(created.accessKeyId);
  print(`Created new access key ${newId}`);
  const newCreds: Credentials = { accessKeyId: created.accessKeyId, secretAccessKey: created.secretAccessKey };

  // From here until the old key is deleted, a failure deletes the new key and keeps the old one stored.
  const rollback = async (error: VaultError | Error, restoreOld: boolean): Promise<never> => {
    const hints: string[] = [];
    if (restoreOld) {
      try {
        await store.set(master.profileName, oldCreds);
      } catch (e) {
        rt.log.debug(`Restoring the old access key failed: ${(e as Error).message}`);
        hints.push(`the keyring still holds the new access key ${newId} for '${master.profileName}'; store ${oldId} again with \`aws-vault add ${master.profileName}\``);
      }
    }
    try {
      await adminIam.deleteAccessKey({ accessKeyId: created.accessKeyId, ...(userName ? { userName } : {}) });
      hints.push(`rolled back: the new access key ${newId} was deleted; ${oldId} is still stored and active`);
    } catch (e) {
      rt.log.debug(`Deleting the new access key failed: ${(e as Error).message}`);
      hints.push(`the new access key ${newId} could not be deleted: delete it in the IAM console; ${oldId} is still active`);
    }
    throw withPrefix(undefined, error, hints);
  };

  // Prove the new key works before anything depends on it.
  try {
    const arn = await retryWhilePropagating(rt, opts.verifyTimeoutMs ?? DEFAULT_TIMEOUT_MS, async () => {
      const sts = await deps.aws.sts({ region: master.region, endpoint: deps.stsEndpoint(master), credentials: newCreds });
      return (await sts.getCallerIdentity()).arn;
    });
    const owner = userNameFromArn(arn);
    if (created.userName && owner !== created.userName) {
      throw new UserError(`the new access key ${newId} identifies as ${arn}, not as IAM user '${created.userName}'`);
    }
    rt.log.debug(`New access key ${newId} works as ${arn}`);
  } catch (e) {
    // The call's own hints (about MFA codes and trust policies) do not apply to a fresh key.
    const cause = e instanceof VaultError ? e : awsCallError(master.profileName, "GetCallerIdentity", e);
    return rollback(new UserError(`Error verifying new access key ${newId}: ${cause.message}`, { cause: e }), false);
  }

  try {
    await store.set(master.profileName, newCreds);
  } catch (e) {
    return rollback(withPrefix(`Error storing new access key ${newId}`, e), false);
  }

  const sessions = new SessionStore(deps.keyring, () => rt.now());
  for (const hop of profileChain(config)) {
    try {
      const n = await sessions.removeForProfile(hop.profileName);
      if (n > 0) print(`Deleted ${n} sessions for ${hop.profileName}`);
    } catch (e) {
      rt.log.debug(`Removing sessions for ${hop.profileName} failed: ${(e as Error).message}`);
    }
  }

  // Delete the old key with credentials that still work afterwards: the session, or the new key.
  print(`Deleting old access key ${oldId}`);
  const deleteIam: IamApi = useMaster
    ? await deps.aws.iam({ region: iamRegion(master), endpoint: deps.iamEndpoint(master), credentials: newCreds })
    : adminIam;
  try {
    await retryWhilePropagating(rt, opts.deleteTimeoutMs ?? DEFAULT_TIMEOUT_MS, async () => {
      try {
        await deleteIam.deleteAccessKey({ accessKeyId: oldCreds.accessKeyId, ...(userName ? { userName } : {}) });
      } catch (e) {
        // The SDK retries a call whose answer was lost: the key is then already gone.
        if (errorCode(e) !== "NoSuchEntity") throw e;
        rt.log.debug(`Old access key ${oldId} was already deleted`);
      }
    });
  } catch (e) {
    return rollback(withPrefix(`Can't delete old access key ${oldId}`, awsCallError(adminHop.profileName, "DeleteAccessKey", e)), true);
  }
  print(`Deleted old access key ${oldId}`);
  print("Finished rotating access key");
  // Recorded only now: a rollback above keeps the old key, and with it the old key's age.
  await recordKeyStored(rt, master.profileName, created.accessKeyId, { rotated: true, createdAt: rt.now() });
  return { profile: master.profileName, accessKeyId: created.accessKeyId };
}

/** The IAM user name of long-term keys, from sts:GetCallerIdentity (needs no permission). */
async function userNameOfKey(deps: RotateDeps, master: ProfileConfig, creds: Credentials): Promise<string> {
  const sts = await deps.aws.sts({ region: master.region, endpoint: deps.stsEndpoint(master), credentials: creds });
  let arn: string;
  try {
    arn = (await sts.getCallerIdentity()).arn;
  } catch (e) {
    throw withPrefix("Error getting IAM username", awsCallError(master.profileName, "GetCallerIdentity", e));
  }
  const name = userNameFromArn(arn);
  if (!name) throw new UserError(`Error getting IAM username: Couldn't determine current username (the stored keys are ${arn})`);
  return name;
}

function errorCode(e: unknown): string | undefined {
  const err = e as { name?: string; Code?: string; code?: string } | undefined;
  return err?.Code ?? err?.code ?? err?.name;
}

/** Runs `fn`, retrying with a short backoff while the error says the access key is not known yet. */
async function retryWhilePropagating<T>(rt: Runtime, timeoutMs: number, fn: () => Promise<T>): Promise<T> {
  const start = rt.now().getTime();
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      const code = errorCode(e);
      if (!code || !PROPAGATION_CODES.has(code) || rt.now().getTime() - start >= timeoutMs) throw e;
      rt.log.debug(`Retrying after error: ${code}`);
      await rt.sleep(Math.min(2_000, 500 * 2 ** attempt));
    }
  }
}

/** `prefix: message`, keeping a VaultError's class (exit code), hints and cause; extra hints appended. */
function withPrefix(prefix: string | undefined, e: unknown, extraHints: string[] = []): Error {
  if (e instanceof VaultError) {
    if (prefix) e.message = `${prefix}: ${e.message}`;
    e.hints.push(...extraHints);
    return e;
  }
  const message = e instanceof Error ? e.message : String(e);
  return new UserError(prefix ? `${prefix}: ${message}` : message, { hints: extraHints, cause: e });
}
