// SSO OIDC access tokens in the keyring (aws-vault's OIDCTokenKeyring, §6.1), keyed `oidc:<start URL>`.
// The item is Go's json.Marshal of OIDCTokenData{Token: ssooidc.CreateTokenOutput, Expiration}:
//   {"Token":{"AccessToken":"…","ExpiresIn":28800,"IdToken":null,"RefreshToken":null,
//    "TokenType":"Bearer","ResultMetadata":{}},"Expiration":"<RFC3339Nano>"}
// so tokens cached by aws-vault are reused here and the other way round. A token from the
// authorization-code sign-in also keeps the client registration its refresh token is bound to, as
// an extra top-level "Registration" object ({"ClientId","ClientSecret","ExpiresAt"}); Go's
// json.Unmarshal ignores unknown fields, so aws-vault still reads the item. Unlike aws-vault's `Has`
// (which compares the bare URL with prefixed keys and never matches, §16 item 3), lookups here
// always go through formatOidcKey.
import type { OidcClientRegistration, OidcToken } from "../aws/types.ts";
import { getIfPresent, hasKey, type Keyring, keysMatching, removeIfPresent } from "../keyring/keyring.ts";
import { formatIso8601, goJsonObject, goJsonString, goTimeJson } from "../util/go-format.ts";
import { Secret } from "../util/secret.ts";
import { type ConfigFile, ConfigLoader } from "./config/loader.ts";
import { formatOidcKey, isOidcKey, parseOidcKey } from "./session-key.ts";

/** A cached token: what CreateToken returned, plus when it stops working. */
export interface CachedOidcToken extends OidcToken {
  expiration: Date;
  /** The client the refresh token belongs to (authorization-code sign-ins only). */
  registration?: OidcClientRegistration;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/** RFC 3339 with any number of fraction digits (Go writes nanoseconds and a local offset). */
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

export function encodeOidcToken(token: OidcToken, expiration: Date, registration?: OidcClientRegistration): Uint8Array {
  const fields = goJsonObject([
    ["AccessToken", token.accessToken.reveal()],
    ["ExpiresIn", token.expiresInSeconds],
    ["IdToken", null],
    ["RefreshToken", token.refreshToken ? token.refreshToken.reveal() : null],
    ["TokenType", token.tokenType],
  ]);
  const reg = registration
    ? `,"Registration":${goJsonObject([
        ["ClientId", registration.clientId],
        ["ClientSecret", registration.clientSecret.reveal()],
        ["ExpiresAt", registration.clientSecretExpiresAt ? goTimeJson(registration.clientSecretExpiresAt) : null],
      ])}`
    : "";
  return enc.encode(`{"Token":${fields.slice(0, -1)},"ResultMetadata":{}},"Expiration":${goJsonString(goTimeJson(expiration))}${reg}}`);
}

/** Undefined when the item is not a usable token (then it is treated as missing). */
export function decodeOidcToken(data: Uint8Array, now: Date): CachedOidcToken | undefined {
  let v: unknown;
  try {
    v = JSON.parse(dec.decode(data));
  } catch {
    return undefined;
  }
  if (!isObject(v) || !isObject(v.Token) || typeof v.Expiration !== "string" || !RFC3339.test(v.Expiration)) return undefined;
  const { AccessToken, TokenType, RefreshToken } = v.Token;
  if (typeof AccessToken !== "string" || AccessToken === "") return undefined;
  const expiration = new Date(v.Expiration);
  if (Number.isNaN(expiration.getTime())) return undefined;
  return {
    accessToken: new Secret(AccessToken),
    // aws-vault recomputes ExpiresIn as the time left.
    expiresInSeconds: Math.max(0, Math.floor((expiration.getTime() - now.getTime()) / 1000)),
    tokenType: typeof TokenType === "string" && TokenType ? TokenType : "Bearer",
    ...(typeof RefreshToken === "string" && RefreshToken ? { refreshToken: new Secret(RefreshToken) } : {}),
    expiration,
    ...decodeRegistration(v.Registration),
  };
}

function decodeRegistration(v: unknown): { registration?: OidcClientRegistration } {
  if (!isObject(v)) return {};
  const { ClientId, ClientSecret, ExpiresAt } = v;
  if (typeof ClientId !== "string" || !ClientId || typeof ClientSecret !== "string" || !ClientSecret) return {};
  const expires = typeof ExpiresAt === "string" && RFC3339.test(ExpiresAt) ? new Date(ExpiresAt) : undefined;
  return {
    registration: {
      clientId: ClientId,
      clientSecret: new Secret(ClientSecret),
      ...(expires && !Number.isNaN(expires.getTime()) ? { clientSecretExpiresAt: expires } : {}),
    },
  };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export class OidcTokenStore {
  constructor(
    readonly keyring: Keyring,
    private readonly now: () => Date,
  ) {}

  /** The cached token for a start URL; an expired token is removed and reported missing (as aws-vault does). */
  async get(startUrl: string): Promise<CachedOidcToken | undefined> {
    const key = formatOidcKey(startUrl);
    if (!(await hasKey(this.keyring, key))) return undefined;
    const data = await getIfPresent(this.keyring, key);
    if (!data) return undefined;
    const now = this.now();
    const token = decodeOidcToken(data, now);
    if (!token) return undefined;
    if (token.expiration.getTime() <= now.getTime()) {
      await removeIfPresent(this.keyring, key);
      return undefined;
    }
    return token;
  }

  /**
   * The stored token even when its access token has expired (nothing is removed), for a renewal
   * with its refresh token. Undefined when nothing usable is stored.
   */
  async getRenewable(startUrl: string): Promise<CachedOidcToken | undefined> {
    const key = formatOidcKey(startUrl);
    if (!(await hasKey(this.keyring, key))) return undefined;
    const data = await getIfPresent(this.keyring, key);
    return data ? decodeOidcToken(data, this.now()) : undefined;
  }

  /**
   * Stores a token that CreateToken just returned; it expires ExpiresIn seconds from now. A token
   * with a refresh token keeps the client registration it needs to be renewed.
   */
  async set(startUrl: string, token: OidcToken, registration?: OidcClientRegistration): Promise<Date> {
    const expiration = new Date(this.now().getTime() + token.expiresInSeconds * 1000);
    await this.keyring.set({
      key: formatOidcKey(startUrl),
      data: encodeOidcToken(token, expiration, token.refreshToken ? registration : undefined),
      label: `aws-vault oidc token for ${startUrl} (expires ${formatIso8601(expiration)})`,
      description: "aws-vault oidc token",
      // Like sessions (and ByteNess), cached tokens stay readable without a keychain prompt.
      keychainNotTrustApplication: false,
      keychainNotSynchronizable: false,
    });
    return expiration;
  }

  /** True when a token for the start URL is stored (expired or not). Reads key names only. */
  async has(startUrl: string): Promise<boolean> {
    return hasKey(this.keyring, formatOidcKey(startUrl));
  }

  /** The start URLs that have a stored token, from key names only (no item is read or decrypted). */
  async startUrls(): Promise<string[]> {
    return oidcStartUrlsIn(await keysMatching(this.keyring, isOidcKey));
  }

  /** Returns false when there was nothing to remove. */
  remove(startUrl: string): Promise<boolean> {
    return removeIfPresent(this.keyring, formatOidcKey(startUrl));
  }

  async removeAll(): Promise<number> {
    let n = 0;
    for (const url of await this.startUrls()) if (await this.remove(url)) n++;
    return n;
  }

}

/**
 * The start URL whose token a profile uses, resolved exactly as `exec` resolves it (inline
 * sso_start_url, else its [sso-session]; include_profile and [default] apply). Undefined when the
 * profile is not an SSO profile or its config does not resolve.
 */
export function profileSsoStartUrl(
  file: ConfigFile,
  profileName: string,
  env: Readonly<Record<string, string | undefined>>,
): string | undefined {
  try {
    return new ConfigLoader({ file, baseConfig: {}, env, activeProfile: profileName }).getProfileConfig(profileName).ssoStartUrl;
  } catch {
    return undefined;
  }
}

/** The start URLs of the OIDC tokens among `keys` (key names only). */
export function oidcStartUrlsIn(keys: readonly string[]): string[] {
  const out: string[] = [];
  for (const key of keys) {
    const url = parseOidcKey(key);
    if (url !== undefined) out.push(url);
  }
  return out;
}
