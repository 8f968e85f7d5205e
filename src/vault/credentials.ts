import { UserError } from "../errors.ts";
import { goJsonObject, goTimeJson } from "../util/go-format.ts";
import { Secret } from "../util/secret.ts";

/** AWS credentials inside the program. `expiration` undefined means long-lived (cannot expire). */
export interface Credentials {
  accessKeyId: string;
  secretAccessKey: Secret;
  sessionToken?: Secret;
  expiration?: Date;
}

export function canExpire(c: Credentials): c is Credentials & { expiration: Date } {
  return c.expiration !== undefined;
}

/** True when the credentials expire within `windowMs` of `now` (or already have). */
export function isExpiring(c: Credentials, now: Date, windowMs: number): boolean {
  return canExpire(c) && c.expiration.getTime() - now.getTime() < windowMs;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Long-term keys as aws-vault stores them: Go aws.Credentials JSON (SDK v1.17). */
export function encodeMasterCredentials(c: { accessKeyId: string; secretAccessKey: Secret }): Uint8Array {
  return enc.encode(
    goJsonObject([
      ["AccessKeyID", c.accessKeyId],
      ["SecretAccessKey", c.secretAccessKey.reveal()],
      ["SessionToken", ""],
      ["Source", ""],
      ["CanExpire", false],
      ["Expires", "0001-01-01T00:00:00Z"],
    ]),
  );
}

export function decodeMasterCredentials(data: Uint8Array, profile: string): Credentials {
  const o = parseObject(data, `stored credentials for profile ${profile}`);
  const accessKeyId = o.AccessKeyID;
  const secretAccessKey = o.SecretAccessKey;
  if (typeof accessKeyId !== "string" || !accessKeyId || typeof secretAccessKey !== "string" || !secretAccessKey) {
    throw new UserError(`stored credentials for profile ${profile} are incomplete (no access key id or secret)`, {
      hints: [`store them again with: aws-vault add ${profile}`],
    });
  }
  const token = typeof o.SessionToken === "string" && o.SessionToken ? new Secret(o.SessionToken) : undefined;
  return { accessKeyId, secretAccessKey: new Secret(secretAccessKey), ...(token ? { sessionToken: token } : {}) };
}

/** Temporary credentials as aws-vault caches them: Go ststypes.Credentials JSON. */
export function encodeSessionCredentials(c: Credentials): Uint8Array {
  return enc.encode(
    goJsonObject([
      ["AccessKeyId", c.accessKeyId],
      ["Expiration", c.expiration ? goTimeJson(c.expiration) : null],
      ["SecretAccessKey", c.secretAccessKey.reveal()],
      ["SessionToken", c.sessionToken ? c.sessionToken.reveal() : null],
    ]),
  );
}

/** Returns undefined when the cached JSON is unusable (aws-vault then fetches a new session). */
export function decodeSessionCredentials(data: Uint8Array): Credentials | undefined {
  let o: Record<string, unknown>;
  try {
    o = parseObject(data, "cached session");
  } catch {
    return undefined;
  }
  const { AccessKeyId, SecretAccessKey, SessionToken, Expiration } = o;
  if (typeof AccessKeyId !== "string" || typeof SecretAccessKey !== "string" || typeof Expiration !== "string") {
    return undefined;
  }
  const expiration = new Date(Expiration);
  if (Number.isNaN(expiration.getTime())) return undefined;
  return {
    accessKeyId: AccessKeyId,
    secretAccessKey: new Secret(SecretAccessKey),
    ...(typeof SessionToken === "string" && SessionToken ? { sessionToken: new Secret(SessionToken) } : {}),
    expiration,
  };
}

function parseObject(data: Uint8Array, what: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(dec.decode(data));
  } catch {
    throw new UserError(`${what}: not valid JSON`);
  }
  if (!v || typeof v !== "object" || Array.isArray(v)) throw new UserError(`${what}: not a JSON object`);
  return v as Record<string, unknown>;
}
