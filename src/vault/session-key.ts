// The ONLY place keyring key names for cached sessions and OIDC tokens are built or parsed.
// Current format (aws-vault v7): `<type>,<b64url(profile)>,<b64url(mfaSerial)>,<expiry unix seconds>`.

export type SessionType =
  | "sts.GetSessionToken"
  | "sts.AssumeRole"
  | "sts.AssumeRoleWithWebIdentity"
  | "sso.GetRoleCredentials"
  | "credential_process";

export interface SessionKey {
  type: string;
  profileName: string;
  /** The MFA serial (for SSO sessions: the start URL). Empty when none. */
  mfaSerial: string;
  expiration: Date;
}

const CURRENT = /^([^,]+),([^,]+),([^,]*),([0-9]{1,})$/;
const LEGACY = [
  /^session,([^,]+),([^,]*),([0-9]{2,})$/,
  /^session:([^ ]+):([^ ]*):([^:]+)$/,
  /^(.+?) session \((\d+)\)$/,
];
const OIDC_PREFIX = "oidc:";

function b64(s: string): string {
  return Buffer.from(s, "utf8").toString("base64url");
}

function unb64(s: string): string | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(s)) return undefined;
  return Buffer.from(s, "base64url").toString("utf8");
}

/** The key prefix that identifies a session regardless of its expiry (aws-vault StringForMatching). */
export function sessionKeyPrefix(type: string, profileName: string, mfaSerial = ""): string {
  return `${type},${b64(profileName)},${b64(mfaSerial)},`;
}

export function formatSessionKey(k: SessionKey): string {
  return `${sessionKeyPrefix(k.type, k.profileName, k.mfaSerial)}${Math.floor(k.expiration.getTime() / 1000)}`;
}

export function isLegacySessionKey(key: string): boolean {
  return LEGACY.some((re) => re.test(key));
}

/** Parses a current-format session key; undefined for anything else (legacy keys included). */
export function parseSessionKey(key: string): SessionKey | undefined {
  if (isLegacySessionKey(key)) return undefined;
  const m = CURRENT.exec(key);
  if (!m) return undefined;
  const profileName = unb64(m[2] ?? "");
  const mfaSerial = unb64(m[3] ?? "");
  if (profileName === undefined || mfaSerial === undefined) return undefined;
  return { type: m[1] ?? "", profileName, mfaSerial, expiration: new Date(Number(m[4]) * 1000) };
}

const B64URL = /^[A-Za-z0-9_-]*$/;

/**
 * What removeOldSessions deletes: a legacy-format key, or a current-format session that expired at
 * or before `nowMs`. The same answer as `isLegacySessionKey(key) || parseSessionKey(key)?.expiration
 * <= now`, without decoding names (a listing checks every key in the keyring).
 */
export function isOldSessionKey(key: string, nowMs: number): boolean {
  // Every session format has a comma, a colon or " session (": other keys (stored credentials) are not sessions.
  if (!key.includes(",") && !key.includes(":") && !key.includes(" session (")) return false;
  if (isLegacySessionKey(key)) return true;
  const m = CURRENT.exec(key);
  return m !== null && B64URL.test(m[2] ?? "") && B64URL.test(m[3] ?? "") && Number(m[4]) * 1000 <= nowMs;
}

/** Matches the current format (even if a field does not decode), as aws-vault's regex does. */
export function isCurrentSessionKey(key: string): boolean {
  return !isLegacySessionKey(key) && CURRENT.test(key);
}

export function isSessionKey(key: string): boolean {
  return isLegacySessionKey(key) || isCurrentSessionKey(key);
}

export function formatOidcKey(startUrl: string): string {
  return `${OIDC_PREFIX}${startUrl}`;
}

export function isOidcKey(key: string): boolean {
  return key.startsWith(OIDC_PREFIX);
}

export function parseOidcKey(key: string): string | undefined {
  return isOidcKey(key) ? key.slice(OIDC_PREFIX.length) : undefined;
}

/** Long-term credentials are every key that is neither a session nor an OIDC token. */
export function isCredentialKey(key: string): boolean {
  return !isSessionKey(key) && !isOidcKey(key);
}
