// Issue 15 units: DPoP proofs checked by an independent verifier (jose), the config writer's
// line edits for `signin`, PKCE, the remote code, login item names, and the cache-file checks.
import { createHash, createPublicKey } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { calculateJwkThumbprint, decodeProtectedHeader, EmbeddedJWK, jwtVerify } from "jose";
import { describe, expect, it } from "vitest";
import { dpopProof, generateDpopKey, parseDpopKey } from "../../src/aws/dpop.ts";
import { Secret } from "../../src/util/secret.ts";
import { setProfileValues } from "../../src/vault/config/writer.ts";
import { validateLoginToken } from "../../src/vault/login-store.ts";
import { isCredentialKey, formatLoginDpopKey, formatLoginTokenKey } from "../../src/vault/session-key.ts";
import { authorizeUrl, parseRemoteCode, pkcePair, type SigninFlowDeps, signinFlow } from "../../src/vault/signin-flow.ts";

describe("dpopProof", () => {
  it("is an ES256 dpop+jwt that jose verifies with its embedded key, with htm, htu (no query), iat and a fresh jti", async () => {
    const pem = generateDpopKey();
    const key = parseDpopKey(pem);
    const now = new Date("2026-01-02T03:04:05Z");
    const a = dpopProof(key, "post", "http://127.0.0.1:1234/v1/token?x=1#frag", now);
    const b = dpopProof(key, "POST", "http://127.0.0.1:1234/v1/token", now);
    const { payload, protectedHeader } = await jwtVerify(a, EmbeddedJWK, { typ: "dpop+jwt", algorithms: ["ES256"], currentDate: now });
    expect(protectedHeader.alg).toBe("ES256");
    expect(Object.keys(protectedHeader.jwk ?? {}).sort()).toEqual(["crv", "kty", "x", "y"]);
    expect(payload).toMatchObject({ htm: "POST", htu: "http://127.0.0.1:1234/v1/token", iat: now.getTime() / 1000 });
    expect((await jwtVerify(b, EmbeddedJWK, { currentDate: now })).payload.jti).not.toBe(payload.jti);
    // The header's key is the public half of the stored key.
    const jwk = createPublicKey(key).export({ format: "jwk" });
    expect(await calculateJwkThumbprint(decodeProtectedHeader(a).jwk!)).toBe(await calculateJwkThumbprint({ kty: "EC", crv: "P-256", x: jwk.x, y: jwk.y }));
  });

  it("a tampered proof does not verify", async () => {
    const key = parseDpopKey(generateDpopKey());
    const [h, p, s] = dpopProof(key, "POST", "https://x/v1/token", new Date()).split(".");
    const other = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p!, "base64url").toString()), htm: "GET" })).toString("base64url");
    await expect(jwtVerify(`${h}.${other}.${s}`, EmbeddedJWK)).rejects.toThrow(/signature/);
  });

  it("refuses keys that are not P-256 private keys, without echoing them", () => {
    expect(() => parseDpopKey(new Secret("-----BEGIN EC PRIVATE KEY-----\nnope\n-----END EC PRIVATE KEY-----\n"))).toThrow("the DPoP key is not a PEM private key");
  });
});

describe("setProfileValues", () => {
  const file = (text: string) => {
    const p = join(mkdtempSync(join(tmpdir(), "awsv-w-")), "config");
    writeFileSync(p, text, { mode: 0o640 });
    return p;
  };

  it("adds keys after the section's last line and keeps every other byte, comments included", async () => {
    const p = file("# top\n[profile a]\nregion = x ; c\n\n[profile dev]\noutput = json\n\n[profile z]\nk = v\n");
    await setProfileValues(p, "dev", [["login_session", "arn:aws:iam::1:user/u"], ["region", "r"]], { ifMissing: ["region"] });
    expect(readFileSync(p, "utf8")).toBe("# top\n[profile a]\nregion = x ; c\n\n[profile dev]\noutput = json\nlogin_session = arn:aws:iam::1:user/u\nregion = r\n\n[profile z]\nk = v\n");
    expect(statSync(p).mode & 0o777).toBe(0o640);
  });

  it("replaces an existing key in place, keeps an existing region (ifMissing), keeps CRLF", async () => {
    const p = file("[profile dev]\r\nREGION = eu\r\nlogin_session = old\r\n");
    await setProfileValues(p, "dev", [["login_session", "new"], ["region", "us"]], { ifMissing: ["region"] });
    expect(readFileSync(p, "utf8")).toBe("[profile dev]\r\nREGION = eu\r\nlogin_session = new\r\n");
  });

  it("creates a missing file 0600 in a new 0700 folder, leaving no temporary file", async () => {
    const dir = join(mkdtempSync(join(tmpdir(), "awsv-w-")), ".aws");
    const p = join(dir, "config");
    await setProfileValues(p, "dev", [["login_session", "s"]]);
    expect(readFileSync(p, "utf8")).toBe("[profile dev]\nlogin_session = s\n");
    expect(statSync(p).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(readdirSync(dir).sort()).toEqual(["config"]);
  });

  it("appends a missing section; [default] for default", async () => {
    const p = file("[profile a]\nk = v");
    await setProfileValues(p, "default", [["login_session", "s"]]);
    expect(readFileSync(p, "utf8")).toBe("[profile a]\nk = v\n\n[default]\nlogin_session = s\n");
  });
});

describe("PKCE, authorize URL and the remote code", () => {
  it("the verifier is 64 unreserved characters and the challenge its S256", () => {
    let n = 0;
    const { verifier, challenge } = pkcePair((len) => Uint8Array.from({ length: len }, () => n++));
    expect(verifier.reveal()).toMatch(/^[A-Za-z0-9._~-]{64}$/);
    expect(challenge).toBe(createHash("sha256").update(verifier.reveal()).digest("base64url"));
    expect(String(verifier)).toBe("[redacted]");
  });

  it("the authorize URL carries the parameters the AWS CLI sends", () => {
    const u = new URL(authorizeUrl("https://us-east-1.signin.aws.amazon.com", { clientId: "c", state: "s", challenge: "ch", redirectUri: "http://127.0.0.1:9/cb" }));
    expect(u.pathname).toBe("/v1/authorize");
    expect(Object.fromEntries(u.searchParams)).toEqual({
      response_type: "code",
      client_id: "c",
      state: "s",
      code_challenge_method: "SHA-256",
      scope: "openid",
      redirect_uri: "http://127.0.0.1:9/cb",
      code_challenge: "ch",
    });
  });

  it("parses base64(code=…&state=…) and tolerates surrounding spaces", () => {
    expect(parseRemoteCode(new Secret(` ${Buffer.from("code=abc&state=def").toString("base64")}\n`))).toEqual({ code: "abc", state: "def" });
    expect(parseRemoteCode(new Secret("garbage"))).toEqual({});
  });
});

describe("login items", () => {
  it("are neither credentials nor sessions", () => {
    expect(isCredentialKey(formatLoginTokenKey("arn:aws:iam::1:user/u"))).toBe(false);
    expect(isCredentialKey(formatLoginDpopKey("arn:aws:iam::1:user/u"))).toBe(false);
    expect(isCredentialKey("login")).toBe(true);
  });

  it("cache-file checks name the missing fields, never the values", () => {
    const r = validateLoginToken({ accessToken: { accessKeyId: "ASIAX", secretAccessKey: "very-secret" }, clientId: "c" }, true);
    expect(r).toBe("missing accessToken.sessionToken, accessToken.accountId, accessToken.expiresAt, refreshToken, dpopKey");
  });
});

describe("signinFlow", () => {
  const base = "https://eu-west-1.signin.aws.amazon.com";
  type Reply = { code?: string; state?: string; error?: string };
  /** Ports where the "browser" answers `answer(authorizeUrl)`; records the token requests. */
  function ports(answer: (url: URL) => Reply) {
    const requests: unknown[] = [];
    let shown = "";
    const deps: SigninFlowDeps = {
      random: (n) => new Uint8Array(n).map((_, i) => (i * 7) % 256),
      now: () => new Date("2026-01-01T00:00:00Z"),
      baseUrl: base,
      profile: "dev",
      show: (url) => (shown = url),
      receiver: async () => ({ redirectUri: "http://127.0.0.1:5555/oauth/callback", wait: async () => answer(new URL(shown)), close: async () => undefined }),
      promptCode: async () => new Secret(Buffer.from(new URLSearchParams(answer(new URL(shown)) as Record<string, string>).toString()).toString("base64")),
      signin: {
        async createOAuth2Token(p, key) {
          requests.push({ ...p, key: key.reveal().split("\n")[0] });
          const idToken = `x.${Buffer.from(JSON.stringify({ sub: "arn:aws:iam::123456789012:user/alice" })).toString("base64url")}.`;
          return { accessKeyId: "ASIAX", secretAccessKey: new Secret("s"), sessionToken: new Secret("t"), expiresInSeconds: 900, refreshToken: new Secret("r"), idToken };
        },
      },
    };
    return { deps, requests };
  }

  it("same device: exchanges the code with the verifier, the loopback redirect URI and a new EC key", async () => {
    const { deps, requests } = ports((u) => ({ code: "the-code", state: u.searchParams.get("state") ?? "" }));
    const out = await signinFlow(deps, { remote: false });
    expect(out.loginSession).toBe("arn:aws:iam::123456789012:user/alice");
    expect(out.token.credentials).toMatchObject({ accessKeyId: "ASIAX", accountId: "123456789012", expiration: new Date("2026-01-01T00:15:00Z") });
    expect(out.token.clientId).toBe("arn:aws:signin:::devtools/same-device");
    expect(requests).toEqual([
      {
        grantType: "authorization_code",
        clientId: "arn:aws:signin:::devtools/same-device",
        code: expect.any(Secret),
        codeVerifier: expect.any(Secret),
        redirectUri: "http://127.0.0.1:5555/oauth/callback",
        key: "-----BEGIN EC PRIVATE KEY-----",
      },
    ]);
  });

  it("remote: the cross-device client and the confirmation page as redirect URI", async () => {
    const { deps, requests } = ports((u) => ({ code: "c", state: u.searchParams.get("state") ?? "" }));
    await signinFlow(deps, { remote: true });
    expect(requests).toMatchObject([{ clientId: "arn:aws:signin:::devtools/cross-device", redirectUri: `${base}/v1/sessions/confirmation` }]);
  });

  it.each([
    [{ error: "access_denied" }, "profile dev: sign-in failed: AWS Sign-In answered access_denied"],
    [{ state: "x" }, "profile dev: sign-in failed: no authorization code came back"],
    [{ code: "c", state: "0".repeat(32) }, "profile dev: sign-in failed: the state in the answer does not match this sign-in"],
  ] as Array<[Reply, string]>)("refuses %j before any token call", async (reply, message) => {
    const { deps, requests } = ports(() => reply);
    await expect(signinFlow(deps, { remote: false })).rejects.toThrow(message);
    expect(requests).toEqual([]);
  });
});
