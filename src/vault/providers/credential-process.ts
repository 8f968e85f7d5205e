// `credential_process` as a credential source (aws-vault CredentialProcessProvider, §4.3). The
// command runs through the shell with the user's environment; its stdout must be the JSON the AWS
// CLI documents:
//   {"Version": 1, "AccessKeyId": "…", "SecretAccessKey": "…", "SessionToken": "…", "Expiration": "<RFC3339>"}
// Validation follows the AWS SDKs (a Version other than 1 is rejected; a missing Version is accepted,
// as aws-vault ignores it), and like the AWS CLI, output without Expiration is accepted as long-lived
// keys (aws-vault rejects it, §16 item 27). Errors name the profile and the rule that failed, never
// the output, which holds secrets.
import { CredentialsError } from "../../errors.ts";
import type { OutputResult, Runtime } from "../../runtime/runtime.ts";
import { Secret } from "../../util/secret.ts";
import type { ProfileConfig } from "../config/profile.ts";
import type { Credentials } from "../credentials.ts";
import type { CredentialsProvider, VaultDeps } from "./provider.ts";
import { definedEnv } from "../../util/env.ts";

/** RFC 3339 / ISO 8601 timestamps with a zone (what the AWS CLI and SDKs accept from processes). */
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:?\d{2})$/;

/**
 * Runs a profile's helper command (`credential_process`, `web_identity_token_process`) through the
 * shell and returns its stdout. Stdin and stderr go to the terminal (like mfa_process), so the helper
 * can prompt without consuming the stdin meant for an exec'd program. `setting` names the config key.
 */
export async function runProfileCommand(rt: Runtime, profile: string, setting: string, command: string): Promise<string> {
  rt.log.debug(`profile ${profile}: running ${setting}`);
  let result: OutputResult;
  try {
    result = await rt.spawn.shellOutput(command, { env: definedEnv(rt.env), stdio: "tty" });
  } catch (e) {
    throw new CredentialsError(`profile ${profile}: ${setting} could not be started: ${(e as Error).message}`, { cause: e });
  }
  if (result.code !== 0) {
    const status = result.signal ? `signal: ${result.signal}` : `exit status ${result.code ?? -1}`;
    throw new CredentialsError(`profile ${profile}: ${setting} failed: ${status}`, {
      hints: [`run the ${setting} command of the profile in a shell to see its error`],
    });
  }
  return result.stdout;
}

function invalid(profile: string, rule: string): CredentialsError {
  return new CredentialsError(`profile ${profile}: credential_process output ${rule}`, {
    hints: ['it must print JSON like {"Version": 1, "AccessKeyId": …, "SecretAccessKey": …, "SessionToken": …, "Expiration": …}'],
  });
}

/** Validates credential_process stdout and maps it to Credentials; `now` rejects expired output. */
export function parseCredentialProcessOutput(stdout: string, profile: string, now: Date): Credentials {
  let v: unknown;
  try {
    v = JSON.parse(stdout);
  } catch {
    throw invalid(profile, "is not valid JSON");
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw invalid(profile, "is not a JSON object");
  const o = v as Record<string, unknown>;
  if (o.Version !== undefined && o.Version !== 1) throw invalid(profile, "has an unsupported Version (only 1 is supported)");
  const missing = (["AccessKeyId", "SecretAccessKey"] as const).filter((k) => typeof o[k] !== "string" || o[k] === "");
  if (missing.length) throw invalid(profile, `is missing ${missing.join(" and ")}`);
  if (o.SessionToken !== undefined && o.SessionToken !== null && typeof o.SessionToken !== "string") {
    throw invalid(profile, "has a SessionToken that is not a string");
  }
  let expiration: Date | undefined;
  if (o.Expiration !== undefined && o.Expiration !== null && o.Expiration !== "") {
    if (typeof o.Expiration !== "string" || !TIMESTAMP.test(o.Expiration) || Number.isNaN(new Date(o.Expiration).getTime())) {
      throw invalid(profile, "has an Expiration that is not an RFC 3339 timestamp");
    }
    expiration = new Date(o.Expiration);
    if (expiration.getTime() <= now.getTime()) throw invalid(profile, "has expired credentials (Expiration is in the past)");
  }
  const token = typeof o.SessionToken === "string" && o.SessionToken !== "" ? o.SessionToken : undefined;
  return {
    accessKeyId: o.AccessKeyId as string,
    secretAccessKey: new Secret(o.SecretAccessKey as string),
    ...(token ? { sessionToken: new Secret(token) } : {}),
    ...(expiration ? { expiration } : {}),
  };
}

/** Runs the profile's credential_process on every retrieve. */
export function credentialProcessProvider(deps: VaultDeps, config: ProfileConfig): CredentialsProvider {
  const command = config.credentialProcess ?? "";
  const profile = config.profileName;
  return {
    kind: "credential-process",
    async retrieve() {
      const stdout = await runProfileCommand(deps.rt, profile, "credential_process", command);
      return parseCredentialProcessOutput(stdout, profile, deps.rt.now());
    },
  };
}

/** Carries long-lived process credentials past the session cache so they are never stored. */
class LongLivedCredentials extends Error {
  constructor(readonly credentials: Credentials) {
    super("long-lived credential_process credentials are not cached");
  }
}

/**
 * Session caching for credential_process that stores only temporary credentials. `cache` wraps a
 * provider in the session cache (type `credential_process`); long-lived keys skip the store, so
 * every call runs the process again, as the AWS CLI does.
 */
export function cacheTemporaryOnly(
  provider: CredentialsProvider,
  cache: (inner: CredentialsProvider) => CredentialsProvider,
): CredentialsProvider {
  const guarded: CredentialsProvider = {
    kind: provider.kind,
    inner: provider,
    async retrieve() {
      const creds = await provider.retrieve();
      if (!creds.expiration) throw new LongLivedCredentials(creds);
      return creds;
    },
  };
  const cached = cache(guarded);
  return {
    kind: provider.kind,
    inner: cached,
    retrieve: () =>
      cached.retrieve().catch((e: unknown) => {
        if (e instanceof LongLivedCredentials) return e.credentials;
        throw e;
      }),
  };
}
