import { describe, expect, it } from "vitest";
import { MemoryKeyring } from "../../src/keyring/memory.ts";
import { newItem } from "../../src/keyring/keyring.ts";
import { Secret } from "../../src/util/secret.ts";
import { ConfigFile } from "../../src/vault/config/loader.ts";
import { decodeOidcToken, encodeOidcToken, OidcTokenStore, profileSsoStartUrl } from "../../src/vault/oidc-store.ts";

const URL_A = "https://corp.awsapps.com/start";
const NOW = new Date("2024-01-01T00:00:00Z");
const enc = new TextEncoder();
const dec = new TextDecoder();

const token = (accessToken = "aoa-token", expiresInSeconds = 28_800) => ({
  accessToken: new Secret(accessToken),
  expiresInSeconds,
  tokenType: "Bearer",
});

describe("OIDC token item format (aws-vault OIDCTokenData, §6.1)", () => {
  it("encodes Go's json.Marshal layout", () => {
    const bytes = encodeOidcToken(token("aoa<&>"), new Date("2024-01-01T08:00:00.5Z"));
    expect(dec.decode(bytes)).toBe(
      '{"Token":{"AccessToken":"aoa\\u003c\\u0026\\u003e","ExpiresIn":28800,"IdToken":null,"RefreshToken":null,"TokenType":"Bearer","ResultMetadata":{}},"Expiration":"2024-01-01T08:00:00.5Z"}',
    );
  });

  it("decodes an item written by aws-vault (nanoseconds, local offset) and recomputes ExpiresIn", () => {
    const goItem = enc.encode(
      '{"Token":{"AccessToken":"aoa-from-go","ExpiresIn":28800,"IdToken":null,"RefreshToken":null,"TokenType":"Bearer","ResultMetadata":{}},"Expiration":"2024-01-01T09:00:00.123456789+01:00"}',
    );
    const t = decodeOidcToken(goItem, NOW);
    expect(t?.accessToken.reveal()).toBe("aoa-from-go");
    expect(t?.expiration.toISOString()).toBe("2024-01-01T08:00:00.123Z");
    expect(t?.expiresInSeconds).toBe(8 * 3600);
    expect(t?.tokenType).toBe("Bearer");
  });

  it.each([
    ["not JSON", "nope"],
    ["no Token", '{"Expiration":"2024-01-01T08:00:00Z"}'],
    ["empty access token", '{"Token":{"AccessToken":""},"Expiration":"2024-01-01T08:00:00Z"}'],
    ["bad expiration", '{"Token":{"AccessToken":"x"},"Expiration":"tomorrow"}'],
    ["zero time without zone", '{"Token":{"AccessToken":"x"},"Expiration":"2024-01-01 08:00:00"}'],
  ])("treats %s as no token", (_name, text) => {
    expect(decodeOidcToken(enc.encode(text), NOW)).toBeUndefined();
  });
});

describe("the client registration kept with a refresh token", () => {
  it("is an extra top-level object (Go's decoder ignores it) and round-trips", () => {
    const reg = { clientId: "cid", clientSecret: new Secret("csecret"), clientSecretExpiresAt: new Date("2024-04-01T00:00:00Z") };
    const bytes = encodeOidcToken({ ...token("aoa"), refreshToken: new Secret("aor") }, new Date("2024-01-01T08:00:00Z"), reg);
    expect(dec.decode(bytes)).toBe(
      '{"Token":{"AccessToken":"aoa","ExpiresIn":28800,"IdToken":null,"RefreshToken":"aor","TokenType":"Bearer","ResultMetadata":{}},"Expiration":"2024-01-01T08:00:00Z","Registration":{"ClientId":"cid","ClientSecret":"csecret","ExpiresAt":"2024-04-01T00:00:00Z"}}',
    );
    const back = decodeOidcToken(bytes, NOW);
    expect(back?.refreshToken?.reveal()).toBe("aor");
    expect(back?.registration?.clientId).toBe("cid");
    expect(back?.registration?.clientSecret.reveal()).toBe("csecret");
    expect(back?.registration?.clientSecretExpiresAt?.toISOString()).toBe("2024-04-01T00:00:00.000Z");
  });

  it("is not stored for a token without a refresh token", async () => {
    const keyring = new MemoryKeyring();
    await new OidcTokenStore(keyring, () => NOW).set(URL_A, token(), { clientId: "cid", clientSecret: new Secret("csecret") });
    expect(dec.decode((await keyring.get(`oidc:${URL_A}`)).data)).not.toContain("Registration");
  });
});

describe("OidcTokenStore", () => {
  it("stores under oidc:<start URL> with aws-vault's label and reads it back", async () => {
    const keyring = new MemoryKeyring();
    const store = new OidcTokenStore(keyring, () => NOW);
    const exp = await store.set(URL_A, token());
    expect(exp.toISOString()).toBe("2024-01-01T08:00:00.000Z");
    expect(await keyring.keys()).toEqual([`oidc:${URL_A}`]);
    const meta = await keyring.getMetadata(`oidc:${URL_A}`);
    expect(meta).toMatchObject({ label: `aws-vault oidc token for ${URL_A} (expires 2024-01-01T08:00:00Z)`, description: "aws-vault oidc token" });
    expect((await keyring.get(`oidc:${URL_A}`)).keychainNotTrustApplication).toBe(false);
    const got = await store.get(URL_A);
    expect(got?.accessToken.reveal()).toBe("aoa-token");
    expect(await store.has(URL_A)).toBe(true);
    expect(await store.has("https://other.awsapps.com/start")).toBe(false);
  });

  it("removes an expired token on get, as aws-vault does", async () => {
    let now = NOW;
    const keyring = new MemoryKeyring();
    const store = new OidcTokenStore(keyring, () => now);
    await store.set(URL_A, token("t", 60));
    now = new Date(NOW.getTime() + 59_000);
    expect(await store.get(URL_A)).toBeDefined();
    now = new Date(NOW.getTime() + 60_000);
    expect(await store.get(URL_A)).toBeUndefined();
    expect(await keyring.keys()).toEqual([]);
  });

  it("lists start URLs from key names only and removes them", async () => {
    const keyring = new MemoryKeyring([
      newItem(`oidc:${URL_A}`, enc.encode("unreadable"), ""),
      newItem("oidc:https://b.awsapps.com/start", enc.encode("{}"), ""),
      newItem("jonsmith", enc.encode("{}"), ""),
    ]);
    const store = new OidcTokenStore(keyring, () => NOW);
    expect(await store.startUrls()).toEqual(["https://b.awsapps.com/start", URL_A]);
    expect(await store.get(URL_A)).toBeUndefined();
    expect(await store.remove(URL_A)).toBe(true);
    expect(await store.remove(URL_A)).toBe(false);
    expect(await store.removeAll()).toBe(1);
    expect(await keyring.keys()).toEqual(["jonsmith"]);
  });
});

describe("profileSsoStartUrl", () => {
  const file = ConfigFile.fromText(
    `[default]
region = us-east-1

[sso-session corp]
sso_start_url = https://corp.awsapps.com/start
sso_region = eu-west-1

[profile modern]
sso_session = corp
sso_account_id = 1

[profile both]
sso_start_url = https://inline.awsapps.com/start
sso_session = corp

[profile child]
include_profile = modern

[profile plain]
role_arn = arn:aws:iam::1:role/x

[profile loop]
source_profile = loop2

[profile loop2]
source_profile = loop
`,
    "/config",
  );

  it.each([
    ["modern", "https://corp.awsapps.com/start"],
    // Inline first, as `exec` resolves it (the reference's quirk 6 fixed).
    ["both", "https://inline.awsapps.com/start"],
    ["child", "https://corp.awsapps.com/start"],
    ["plain", undefined],
    ["missing", undefined],
    ["loop", undefined],
  ])("%s -> %s", (name, url) => {
    expect(profileSsoStartUrl(file, name, {})).toBe(url);
  });
});
