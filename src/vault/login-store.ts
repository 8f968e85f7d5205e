// login_session tokens in the keyring (issue 15). Two items per console sign-in session, named in
// the style of the SSO token items (`oidc:<start URL>`):
//   login:<session ARN>       JSON {accessToken: {accessKeyId, secretAccessKey, sessionToken,
//                             accountId, expiresAt}, clientId, refreshToken, signInRegion?}: the shape
//                             of the AWS CLI's ~/.aws/login/cache file without its dpopKey
//   login-dpop:<session ARN>  the DPoP private key the refresh token is bound to (SEC1 PEM)
// The credentials and the rotated refresh token are one item, so a refresh replaces both in one write.
// Nothing here writes a plaintext file.
import { getIfPresent, type Keyring, keysMatching, newItem, removeIfPresent } from "../keyring/keyring.ts";
import { Secret } from "../util/secret.ts";
import { formatLoginDpopKey, formatLoginTokenKey, parseLoginTokenKey } from "./session-key.ts";

export interface LoginCredentials {
  accessKeyId: string;
  secretAccessKey: Secret;
  sessionToken: Secret;
  accountId: string;
  expiration: Date;
}

export interface LoginToken {
  credentials: LoginCredentials;
  clientId: string;
  refreshToken: Secret;
  /** The Sign-In region the session was created in (refreshes go there). */
  signInRegion?: string;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function nonEmpty(v: unknown): v is string {
  return typeof v === "string" && v !== "";
}

/**
 * Validates a token in the AWS CLI's cache shape; the problem (naming fields only, never values)
 * when it is not usable. `requireDpopKey` for cache files, which carry the key inline.
 */
export function validateLoginToken(v: unknown, requireDpopKey: boolean): { token: LoginToken; dpopKey?: Secret } | string {
  if (!isObject(v)) return "not a JSON object";
  const missing: string[] = [];
  const at = isObject(v.accessToken) ? v.accessToken : undefined;
  if (!at) missing.push("accessToken");
  for (const f of ["accessKeyId", "secretAccessKey", "sessionToken", "accountId", "expiresAt"]) {
    if (at && !nonEmpty(at[f])) missing.push(`accessToken.${f}`);
  }
  if (!nonEmpty(v.clientId)) missing.push("clientId");
  if (!nonEmpty(v.refreshToken)) missing.push("refreshToken");
  if (requireDpopKey && !nonEmpty(v.dpopKey)) missing.push("dpopKey");
  if (missing.length || !at) return `missing ${missing.join(", ")}`;
  const expiration = new Date(at.expiresAt as string);
  if (Number.isNaN(expiration.getTime())) return "accessToken.expiresAt is not a date";
  const token: LoginToken = {
    credentials: {
      accessKeyId: at.accessKeyId as string,
      secretAccessKey: new Secret(at.secretAccessKey as string),
      sessionToken: new Secret(at.sessionToken as string),
      accountId: at.accountId as string,
      expiration,
    },
    clientId: v.clientId as string,
    refreshToken: new Secret(v.refreshToken as string),
    ...(nonEmpty(v.signInRegion) ? { signInRegion: v.signInRegion } : {}),
  };
  return { token, ...(nonEmpty(v.dpopKey) ? { dpopKey: new Secret(v.dpopKey) } : {}) };
}

export function encodeLoginToken(t: LoginToken): Uint8Array {
  const c = t.credentials;
  return enc.encode(
    JSON.stringify({
      accessToken: {
        accessKeyId: c.accessKeyId,
        secretAccessKey: c.secretAccessKey.reveal(),
        sessionToken: c.sessionToken.reveal(),
        accountId: c.accountId,
        expiresAt: c.expiration.toISOString(),
      },
      clientId: t.clientId,
      refreshToken: t.refreshToken.reveal(),
      ...(t.signInRegion ? { signInRegion: t.signInRegion } : {}),
    }),
  );
}

/** The stored item could not be decoded (damaged or written by something else). */
export class DamagedLoginTokenError extends Error {}

export class LoginTokenStore {
  constructor(readonly keyring: Keyring) {}

  /** The stored token, undefined when there is none; throws DamagedLoginTokenError when it does not decode. */
  async get(loginSession: string): Promise<LoginToken | undefined> {
    const data = await getIfPresent(this.keyring, formatLoginTokenKey(loginSession));
    if (!data) return undefined;
    let v: unknown;
    try {
      v = JSON.parse(dec.decode(data));
    } catch {
      throw new DamagedLoginTokenError("not JSON");
    }
    const r = validateLoginToken(v, false);
    if (typeof r === "string") throw new DamagedLoginTokenError(r);
    return r.token;
  }

  async getDpopKey(loginSession: string): Promise<Secret | undefined> {
    const data = await getIfPresent(this.keyring, formatLoginDpopKey(loginSession));
    return data ? new Secret(dec.decode(data)) : undefined;
  }

  async set(loginSession: string, t: LoginToken): Promise<void> {
    await this.keyring.set(
      newItem(formatLoginTokenKey(loginSession), encodeLoginToken(t), `aws-vault login session ${loginSession}`, "aws-vault login session token"),
    );
  }

  async setDpopKey(loginSession: string, pem: Secret): Promise<void> {
    await this.keyring.set(
      newItem(formatLoginDpopKey(loginSession), enc.encode(pem.reveal()), `aws-vault login session DPoP key ${loginSession}`, "aws-vault login session DPoP key"),
    );
  }

  /** The key first, then the token: a token without its key is never left behind. */
  async save(loginSession: string, t: LoginToken, dpopKey: Secret): Promise<void> {
    await this.setDpopKey(loginSession, dpopKey);
    await this.set(loginSession, t);
  }

  async remove(loginSession: string): Promise<boolean> {
    const a = await removeIfPresent(this.keyring, formatLoginTokenKey(loginSession));
    const b = await removeIfPresent(this.keyring, formatLoginDpopKey(loginSession));
    return a || b;
  }

  async sessions(): Promise<string[]> {
    return loginSessionsIn(await keysMatching(this.keyring, (k) => parseLoginTokenKey(k) !== undefined));
  }
}

/** The login_session ARNs with a stored token among `keys` (key names only). */
export function loginSessionsIn(keys: readonly string[]): string[] {
  const out: string[] = [];
  for (const key of keys) {
    const s = parseLoginTokenKey(key);
    if (s !== undefined) out.push(s);
  }
  return out;
}
