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
/** login_session tokens (credentials + refresh token) and their DPoP keys, keyed by the session ARN. */
const LOGIN_PREFIX = "login:";
const LOGIN_DPOP_PREFIX = "login-dpop:";

function b64(s: string): string {
  return Buffer.from(s, "utf8").toString("base64url");
}

/**
 * Go's base64.RawURLEncoding.DecodeString, which aws-vault's parser uses: CR and LF are skipped,
 * padding and any other character are refused, and so is a length that leaves one odd character.
 */
function unb64(s: string): string | undefined {
  if (!isB64(s)) return undefined;
  const t = s.replace(/[\r\n]/g, "");
  // atob (native; list decodes every session's name) gives one character per byte: the text
  // itself when every byte is ASCII.
  const bytes = atob(t.replace(/-/g, "+").replace(/_/g, "/"));
  return /[^\x00-\x7f]/.test(bytes) ? Buffer.from(t, "base64url").toString("utf8") : bytes;
}

/** Whether unb64 decodes `s`. */
function isB64(s: string): boolean {
  const t = s.includes("\r") || s.includes("\n") ? s.replace(/[\r\n]/g, "") : s;
  return /^[A-Za-z0-9_-]*$/.test(t) && t.length % 4 !== 1;
}

/** strconv.Atoi's range (int64): a larger expiry does not parse in aws-vault either. */
const MAX_INT64 = (1n << 63n) - 1n;
/** The latest instant a JS Date holds (year 275760); later expiries are clamped to it. */
const MAX_DATE_MS = 8.64e15;

function fitsInt64(digits: string): boolean {
  return digits.length < 19 || BigInt(digits) <= MAX_INT64;
}

function parseExpiry(digits: string): Date | undefined {
  if (!fitsInt64(digits)) return undefined;
  const seconds = BigInt(digits);
  return new Date(seconds * 1000n > BigInt(MAX_DATE_MS) ? MAX_DATE_MS : Number(seconds) * 1000);
}

/** The key prefix that identifies a session regardless of its expiry (aws-vault StringForMatching). */
export function sessionKeyPrefix(type: string, profileName: string, mfaSerial = ""): string {
  return `${type},${b64(profileName)},${b64(mfaSerial)},`;
}

export function formatSessionKey(k: SessionKey): string {
  return `${sessionKeyPrefix(k.type, k.profileName, k.mfaSerial)}${Math.floor(k.expiration.getTime() / 1000)}`;
}

export function isLegacySessionKey(key: string): boolean {
  // Every legacy format starts with "session" or has " session (": most keys need no regular expression.
  return (key.startsWith("session") || key.includes(" session (")) && LEGACY.some((re) => re.test(key));
}

/**
 * Parses a current-format session key; undefined for anything else (legacy keys included). Like
 * aws-vault's NewSessionKeyFromString, every field must decode: both base64url fields, and the
 * expiry as an int64. An expiry past what a Date holds is clamped to the latest Date.
 */
export function parseSessionKey(key: string): SessionKey | undefined {
  if (isLegacySessionKey(key)) return undefined;
  const m = CURRENT.exec(key);
  if (!m) return undefined;
  const profileName = unb64(m[2] ?? "");
  const mfaSerial = unb64(m[3] ?? "");
  const expiration = parseExpiry(m[4] ?? "");
  if (profileName === undefined || mfaSerial === undefined || expiration === undefined) return undefined;
  return { type: m[1] ?? "", profileName, mfaSerial, expiration };
}

/** The expiry field of a current-format key. */
const TRAILING_DIGITS = /,([0-9]+)$/;

/**
 * What removeOldSessions deletes: a legacy-format key, or a current-format session that expired at
 * or before `nowMs`: `isLegacySessionKey(key) || parseSessionKey(key)?.expiration <= now`, with the
 * keys that cannot be sessions (stored credentials: no comma, colon or " session (") ruled out
 * first, since a listing checks every key in the keyring.
 */
export function isOldSessionKey(key: string, nowMs: number): boolean {
  if (!key.includes(",") && !key.includes(":") && !key.includes(" session (")) return false;
  if (isLegacySessionKey(key)) return true;
  // An expiry still ahead is not old, whether or not the rest parses: no need to decode the names.
  const expiry = TRAILING_DIGITS.exec(key);
  if (expiry && Number(expiry[1]) * 1000 > nowMs) return false;
  const s = parseSessionKey(key);
  return s !== undefined && s.expiration.getTime() <= nowMs;
}

/**
 * A current-format session key: one that parses (aws-vault's IsCurrentSessionKey). A name that
 * only looks like one (`a,b,,1`: "b" is not base64url) is a credential's name, as in aws-vault.
 */
export function isCurrentSessionKey(key: string): boolean {
  if (isLegacySessionKey(key)) return false;
  const m = CURRENT.exec(key);
  // The checks parseSessionKey makes, without decoding the names (decoding cannot fail once they pass).
  return m !== null && isB64(m[2] ?? "") && isB64(m[3] ?? "") && fitsInt64(m[4] ?? "");
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

export function formatLoginTokenKey(loginSession: string): string {
  return `${LOGIN_PREFIX}${loginSession}`;
}

export function formatLoginDpopKey(loginSession: string): string {
  return `${LOGIN_DPOP_PREFIX}${loginSession}`;
}

/** Either item of a login_session (its token or its DPoP key). */
export function isLoginKey(key: string): boolean {
  return key.startsWith(LOGIN_PREFIX) || key.startsWith(LOGIN_DPOP_PREFIX);
}

export function parseLoginTokenKey(key: string): string | undefined {
  return key.startsWith(LOGIN_PREFIX) ? key.slice(LOGIN_PREFIX.length) : undefined;
}

/** Long-term credentials are every key that is neither a session, an OIDC token nor a login_session item. */
export function isCredentialKey(key: string): boolean {
  return !isSessionKey(key) && !isOidcKey(key) && !isLoginKey(key);
}
