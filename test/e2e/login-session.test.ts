// Issue 15 end to end: `login_session` profiles (console sign-in, `aws login`) with their tokens in
// the keyring, refreshed through a fake AWS Sign-In (test/support/fake-signin.ts) that verifies
// every DPoP proof with jose and rotates refresh tokens. The fake itself is first checked against a
// real client: the AWS SDK's own login credential provider refreshing a cache file through it.
import { execFile } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { FileKeyring } from "../../src/keyring/file.ts";
import { Secret } from "../../src/util/secret.ts";
import { formatLoginTokenKey } from "../../src/vault/session-key.ts";
import { loginCacheFileName } from "../../src/vault/login-cache-import.ts";
import { ARTIFACTS, type Artifact, awsEnv, DIST, run, type Sandbox, sandbox, start } from "../support/cli.ts";
import { shQuote } from "../support/fake-runtime.ts";
import { type FakeSignin, type IssuedCredentials, startFakeSignin } from "../support/fake-signin.ts";
import { type Moto, startMoto } from "../support/moto.ts";
import { runInPty } from "../support/pty.ts";
import { startFederationFake } from "../support/federation-fake.ts";

const execFileP = promisify(execFile);
const ROOT = resolve(import.meta.dirname, "../..");
const CONCURRENCY = 20;

let signin: FakeSignin;
beforeAll(async () => {
  signin = await startFakeSignin();
});
afterAll(() => signin?.stop());
beforeEach(() => signin.resetCalls());

const config = (session: string) => `[profile dev]
login_session = ${session}
region = eu-west-1

[profile other]
region = us-east-1
`;

/** Writes a cache file as `aws login` does; returns its path and content. */
async function writeCache(dir: string, expiresInMs: number): Promise<{ path: string; token: Record<string, unknown> }> {
  mkdirSync(dir, { recursive: true });
  const token = await signin.issueCacheToken({ expiresAt: new Date(Date.now() + expiresInMs) });
  const path = join(dir, loginCacheFileName(signin.loginSession));
  writeFileSync(path, JSON.stringify(token, null, 2));
  return { path, token };
}

/** Every file under `dir` (recursively) with its content. */
function filesUnder(dir: string): Array<{ path: string; text: string }> {
  const out: Array<{ path: string; text: string }> = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...filesUnder(p));
    else out.push({ path: p, text: readFileSync(p, "latin1") });
  }
  return out;
}

/** Files under HOME holding a token, a secret key, a session token or a private key in plaintext. */
function plaintextSecrets(home: string): string[] {
  const needles = [
    ...signin.allRefreshTokens(),
    ...signin.credentials().flatMap((c) => [c.secretAccessKey, c.sessionToken]),
    "PRIVATE KEY",
  ];
  return filesUnder(home)
    .filter((f) => needles.some((n) => f.text.includes(n)))
    .map((f) => f.path);
}

/** A BROWSER that loads the authorize URL and follows its redirect to our loopback (a signed-in user). */
function browserEnv(sb: Sandbox): Record<string, string> {
  const log = join(sb.home, "browser.log");
  const script = join(sb.home, "browse.mjs");
  writeFileSync(
    script,
    `import { appendFileSync } from "node:fs";
appendFileSync(${JSON.stringify(log)}, process.argv[2] + "\\n");
const res = await fetch(process.argv[2], { redirect: "follow" });
appendFileSync(${JSON.stringify(log)}, res.status + " " + res.url + "\\n");
`,
  );
  const browser = join(sb.home, "browser.sh");
  writeFileSync(browser, `#!/bin/sh\nexec ${shQuote(process.execPath)} ${shQuote(script)} "$@"\n`, { mode: 0o755 });
  return { BROWSER: browser };
}

async function storedToken(sb: Sandbox): Promise<Record<string, unknown>> {
  const k = new FileKeyring({
    dir: sb.keysDir,
    passphrase: { fromEnv: new Secret("test-passphrase"), prompt: async () => new Secret("test-passphrase") },
    now: () => new Date(),
    random: () => new Uint8Array(12),
  });
  return JSON.parse(Buffer.from((await k.get(formatLoginTokenKey(signin.loginSession))).data).toString("utf8")) as Record<string, unknown>;
}

describe("fake AWS Sign-In against the AWS SDK's login credential provider", () => {
  it("fromLoginCredentials refreshes an expiring cache file through the fake, twice, with rotation", async () => {
    const sb = sandbox();
    writeFileSync(sb.configPath, config(signin.loginSession));
    const dir = join(sb.home, ".aws", "login", "cache");
    const { path, token } = await writeCache(dir, 60_000);
    const script = `
      import { fromLoginCredentials } from "@aws-sdk/credential-provider-login";
      const p = fromLoginCredentials({ profile: "dev", clientConfig: { endpoint: process.env.SIGNIN } });
      const c = await p();
      process.stdout.write(JSON.stringify({ accessKeyId: c.accessKeyId, expiration: c.expiration }));
    `;
    const env = { ...sb.env, SIGNIN: signin.endpoint, AWS_LOGIN_CACHE_DIRECTORY: dir };
    const first = JSON.parse((await execFileP(process.execPath, ["--input-type=module", "-e", script], { cwd: ROOT, env })).stdout);
    expect(first.accessKeyId).toBe(signin.credentials().at(-1)!.accessKeyId);
    const rotated = JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
    expect(rotated.refreshToken).not.toBe(token.refreshToken);
    expect(signin.liveRefreshTokens()).toContain(rotated.refreshToken);

    // Expire it again by hand: the SDK presents the rotated token, with a new proof from the same key.
    rotated.accessToken = { ...(rotated.accessToken as object), expiresAt: new Date(Date.now() + 60_000).toISOString() };
    writeFileSync(path, JSON.stringify(rotated));
    const second = JSON.parse((await execFileP(process.execPath, ["--input-type=module", "-e", script], { cwd: ROOT, env })).stdout);
    expect(second.accessKeyId).toBe(signin.credentials().at(-1)!.accessKeyId);
    expect(signin.calls()).toEqual([
      { operation: "CreateOAuth2Token", grantType: "refresh_token", status: 200 },
      { operation: "CreateOAuth2Token", grantType: "refresh_token", status: 200 },
    ]);
    expect(signin.rejectedProofs).toEqual([]);
    expect(signin.reusedRefreshTokens).toBe(0);

    // The fake refuses the first (rotated) refresh token when it comes back.
    rotated.refreshToken = token.refreshToken;
    writeFileSync(path, JSON.stringify(rotated));
    const reused = await execFileP(process.execPath, ["--input-type=module", "-e", script], { cwd: ROOT, env }).catch((e: { stderr: string }) => e);
    expect("stderr" in reused ? reused.stderr : "").toMatch(/Your session has expired/);
    expect(signin.reusedRefreshTokens).toBe(1);
  });
});

describe.each(ARTIFACTS)("login_session ($name)", (artifact: Artifact) => {
  function setup(): { sb: Sandbox; cacheDir: string; run(args: string[], extra?: Record<string, string>): ReturnType<typeof run> } {
    const sb = sandbox({ AWS_ENDPOINT_URL_SIGNIN: signin.endpoint });
    writeFileSync(sb.configPath, config(signin.loginSession));
    const cacheDir = join(sb.home, ".aws", "login", "cache");
    return { sb, cacheDir, run: (args, extra = {}) => run(artifact, args, { env: { ...sb.env, ...extra } }) };
  }

  it("import --login-cache --scrub moves the session into the keyring; exec uses it; no plaintext left", async () => {
    const v = setup();
    const { path, token } = await writeCache(v.cacheDir, 10 * 60_000);
    const imp = await v.run(["import", "--login-cache", "--scrub"]);
    expect(imp.code, imp.stderr).toBe(0);
    expect(imp.stdout).toBe(`Imported login session ${signin.loginSession} (profile dev); removed ${path}\n`);
    expect(existsSync(path)).toBe(false);

    const exec = await v.run(["exec", "dev", "--", "env"]);
    expect(exec.code, exec.stderr).toBe(0);
    const at = token.accessToken as Record<string, string>;
    expect(awsEnv(exec.stdout)).toMatchObject({ AWS_ACCESS_KEY_ID: at.accessKeyId, AWS_SECRET_ACCESS_KEY: at.secretAccessKey, AWS_SESSION_TOKEN: at.sessionToken });
    expect(signin.calls()).toEqual([]);
    // list names the session from key names only; it is not a credential.
    const list = await v.run(["list"]);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/^dev\s+-\s+login:123456789012\s*$/m);
    expect((await v.run(["list", "--credentials"])).stdout).toBe("");
    expect((await v.run(["list", "--sessions"])).stdout).toBe("login:123456789012\n");
    // The child gets the AWS credentials only: no refresh token, no DPoP key in its environment.
    expect(exec.stdout.includes(String(token.refreshToken)), "refresh token in the child's env").toBe(false);
    expect(exec.stdout).not.toContain("PRIVATE KEY");
    expect(plaintextSecrets(v.sb.home)).toEqual([]);
  });

  it("import honours AWS_LOGIN_CACHE_DIRECTORY; a damaged file is reported by name and left untouched", async () => {
    const v = setup();
    const dir = join(v.sb.home, "elsewhere");
    const good = await writeCache(dir, 10 * 60_000);
    const damaged = join(dir, `${"ab".repeat(32)}.json`);
    writeFileSync(damaged, '{"accessToken": {"accessKeyId": "ASIA');
    const before = readFileSync(damaged);
    const imp = await v.run(["import", "--login-cache"], { AWS_LOGIN_CACHE_DIRECTORY: dir });
    expect(imp.code).toBe(1);
    expect(imp.stdout).toBe(`Imported login session ${signin.loginSession} (profile dev)\n`);
    expect(imp.stderr).toContain(`aws-vault: warning: ${damaged} is not JSON; left in place\n`);
    expect(imp.stderr).toContain("aws-vault: error: import: 1 login cache file not imported\n");
    expect(readFileSync(damaged)).toEqual(before);
    // Without --scrub the AWS CLI's copy stays.
    expect(existsSync(good.path)).toBe(true);

    // A file older than the keyring's copy (whose refresh token may have rotated since) does not replace it.
    const storedBefore = await storedToken(v.sb);
    const stale = JSON.parse(readFileSync(good.path, "utf8")) as Record<string, unknown>;
    stale.accessToken = { ...(stale.accessToken as object), expiresAt: new Date(Date.now() + 60_000).toISOString() };
    stale.refreshToken = "rt-spent";
    writeFileSync(good.path, JSON.stringify(stale));
    const again = await v.run(["import", "--login-cache"], { AWS_LOGIN_CACHE_DIRECTORY: dir });
    expect(again.stdout).toBe(`Kept the newer keyring copy of login session ${signin.loginSession} (profile dev)\n`);
    expect(await storedToken(v.sb)).toEqual(storedBefore);
    expect(signin.liveRefreshTokens()).toContain((await storedToken(v.sb)).refreshToken);
  });

  it("import --login-cache refuses the credentials-file flags; doctor does not ask a login_session profile for keys", async () => {
    const v = setup();
    const bad = await v.run(["import", "--login-cache", "--dry-run"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--login-cache can't be combined with --dry-run");
    await writeCache(v.cacheDir, 10 * 60_000);
    expect((await v.run(["import", "--login-cache", "--scrub"])).code).toBe(0);
    const doctor = await v.run(["doctor", "--format", "json"]);
    const findings = (JSON.parse(doctor.stdout) as { findings: unknown[] }).findings;
    expect(findings.filter((f) => /dev|login_session/.test(JSON.stringify(f))), doctor.stdout).toEqual([]);
  });

  it(`${CONCURRENCY} parallel export --format json with expiring credentials: one refresh, all succeed, the rotated token stored`, async () => {
    const v = setup();
    await writeCache(v.cacheDir, 2 * 60_000);
    expect((await v.run(["import", "--login-cache", "--scrub"])).code).toBe(0);
    signin.resetCalls();
    const results = await Promise.all(Array.from({ length: CONCURRENCY }, () => v.run(["export", "--format", "json", "dev"], {}).then((r) => r)));
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    const issued = signin.credentials().at(-1)!;
    const ids = new Set(results.map((r) => (JSON.parse(r.stdout) as { AccessKeyId: string }).AccessKeyId));
    expect([...ids]).toEqual([issued.accessKeyId]);
    expect(signin.calls()).toEqual([{ operation: "CreateOAuth2Token", grantType: "refresh_token", status: 200 }]);
    expect(signin.rejectedProofs).toEqual([]);
    const stored = await storedToken(v.sb);
    expect(signin.liveRefreshTokens()).toContain(stored.refreshToken);
    expect(plaintextSecrets(v.sb.home)).toEqual([]);
  }, 120_000);

  it("--debug output of a refresh names no token, key or proof", async () => {
    const v = setup();
    await writeCache(v.cacheDir, 60_000);
    expect((await v.run(["import", "--login-cache", "--scrub"])).code).toBe(0);
    const r = await v.run(["--debug", "exec", "dev", "--", "true"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain("refreshing the sign-in session credentials through AWS Sign-In");
    const needles = [...signin.allRefreshTokens(), ...signin.credentials().flatMap((c) => [c.secretAccessKey, c.sessionToken]), "PRIVATE KEY", "dpop+jwt", "eyJ"];
    expect(needles.filter((n) => r.stderr.includes(n))).toEqual([]);
  });

  it("Sign-In unreachable: credentials with time left are used until they expire; expired ones are an error naming the endpoint", async () => {
    const v = setup();
    await writeCache(v.cacheDir, 60_000);
    expect((await v.run(["import", "--login-cache", "--scrub"])).code).toBe(0);
    const down = "http://127.0.0.1:9";
    const r = await v.run(["--debug", "export", "--format", "json", "dev"], { AWS_ENDPOINT_URL_SIGNIN: down });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain("could not refresh the sign-in session");
    expect(signin.calls()).toEqual([]);

    const w = setup();
    await writeCache(w.cacheDir, -60_000);
    expect((await w.run(["import", "--login-cache", "--scrub"])).code).toBe(0);
    const expired = await w.run(["export", "--format", "json", "dev"], { AWS_ENDPOINT_URL_SIGNIN: down });
    expect(expired.code).toBe(1);
    expect(expired.stderr).toMatch(/profile dev: Sign-In CreateOAuth2Token failed: cannot reach http:\/\/127\.0\.0\.1:9\/v1\/token: connection refused/);
  });

  it("an expired refresh token: a one-line error saying to run aws-vault signin", async () => {
    const v = setup();
    await writeCache(v.cacheDir, 60_000);
    expect((await v.run(["import", "--login-cache", "--scrub"])).code).toBe(0);
    signin.failNext("TOKEN_EXPIRED");
    const r = await v.run(["export", "--format", "json", "dev"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      "aws-vault: error: export: Failed to get credentials for dev: profile dev: the sign-in session has expired: run `aws-vault signin dev`\n",
    );
  });
});

/** AWS credentials minted by moto (AssumeRole of a "console" role), so moto accepts them. */
async function motoMint(moto: Moto): Promise<IssuedCredentials> {
  const res = await fetch(`${moto.endpoint}/`, {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded; charset=utf-8",
      authorization: "AWS4-HMAC-SHA256 Credential=bootstrap/20200101/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=0",
    },
    body: new URLSearchParams({
      Action: "AssumeRole",
      Version: "2011-06-15",
      RoleArn: "arn:aws:iam::123456789012:role/console",
      RoleSessionName: "alice",
    }).toString(),
  });
  const xml = await res.text();
  const tag = (t: string) => new RegExp(`<${t}>([^<]*)</${t}>`).exec(xml)?.[1] ?? "";
  return { accessKeyId: tag("AccessKeyId"), secretAccessKey: tag("SecretAccessKey"), sessionToken: tag("SessionToken") };
}

describe.each(ARTIFACTS)("login_session refusals and waits ($name)", (artifact: Artifact) => {
  it.each([
    ["USER_CREDENTIALS_CHANGED", "the sign-in session ended because the password changed"],
    ["INSUFFICIENT_PERMISSIONS", "the sign-in session may not be refreshed (signin:CreateOAuth2Token is not allowed)"],
  ])("Sign-In's %s is a one-line error saying what to run", async (code, reason) => {
    const sb = sandbox({ AWS_ENDPOINT_URL_SIGNIN: signin.endpoint });
    writeFileSync(sb.configPath, config(signin.loginSession));
    await writeCache(join(sb.home, ".aws", "login", "cache"), 60_000);
    expect((await run(artifact, ["import", "--login-cache", "--scrub"], { env: sb.env })).code).toBe(0);
    signin.failNext(code);
    const r = await run(artifact, ["exec", "dev", "--", "true"], { env: sb.env });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^aws-vault: error: [^\\n]*profile dev: ${reason.replace(/[()]/g, "\\$&")}: run \`aws-vault signin dev\`\\n$`));
  });

  it("no stored session: the first use signs in through the browser, then serves from the keyring", async () => {
    const sb = sandbox({ AWS_ENDPOINT_URL_SIGNIN: signin.endpoint });
    writeFileSync(sb.configPath, config(signin.loginSession));
    const env = { ...sb.env, ...browserEnv(sb) };
    const r = await run(artifact, ["export", "--format", "json", "dev"], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`aws-vault: no sign-in session for ${signin.loginSession} in the keyring; signing in`);
    expect((JSON.parse(r.stdout) as { AccessKeyId: string }).AccessKeyId).toBe(signin.credentials().at(-1)!.accessKeyId);
    expect(signin.calls().map((c) => c.operation)).toEqual(["Authorize", "CreateOAuth2Token"]);
    signin.resetCalls();
    const again = await run(artifact, ["export", "--format", "json", "dev"], { env });
    expect(again.code, again.stderr).toBe(0);
    expect(signin.calls()).toEqual([]);
    expect(plaintextSecrets(sb.home)).toEqual([]);
  });

  it("first use signed in as another identity than the profile's login_session: refused, nothing stored", async () => {
    const sb = sandbox({ AWS_ENDPOINT_URL_SIGNIN: signin.endpoint });
    writeFileSync(sb.configPath, config("arn:aws:iam::123456789012:user/bob"));
    const r = await run(artifact, ["exec", "dev", "--", "true"], { env: { ...sb.env, ...browserEnv(sb) } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`profile dev: signed in as ${signin.loginSession}, but the profile's login_session is arn:aws:iam::123456789012:user/bob`);
    expect(existsSync(sb.keysDir) ? readdirSync(sb.keysDir) : []).toEqual([]);
  });

  it("Ctrl-C while signin waits for the browser ends it cleanly (exit 130, the loopback port closed)", async () => {
    const sb = sandbox({ AWS_ENDPOINT_URL_SIGNIN: signin.endpoint });
    writeFileSync(sb.configPath, "[profile dev]\n");
    const child = start(artifact, ["signin", "dev"], { env: { ...sb.env, BROWSER: "true" } });
    let stderr = "";
    const url = await new Promise<URL>((resolve) => {
      child.stderr!.setEncoding("utf8").on("data", (d: string) => {
        stderr += d;
        const m = /(http:\/\/127\.0\.0\.1:\d+\/v1\/authorize\?\S+)\n/.exec(stderr);
        if (m?.[1]) resolve(new URL(m[1]));
      });
    });
    const redirect = new URL(url.searchParams.get("redirect_uri") ?? "");
    child.kill("SIGINT");
    const code = await new Promise<number | null>((resolve) => child.on("close", (c) => resolve(c)));
    expect(code, stderr).toBe(130);
    await expect(fetch(redirect)).rejects.toThrow();
    expect(readFileSync(sb.configPath, "utf8")).toBe("[profile dev]\n");
  });
});

describe.each(ARTIFACTS)("login_session with moto ($name)", (artifact: Artifact) => {
  let moto: Moto;
  let fake: FakeSignin;
  beforeAll(async () => {
    moto = await startMoto();
    fake = await startFakeSignin({ mint: () => motoMint(moto) });
  }, 60_000);
  afterAll(async () => {
    await fake?.stop();
    await moto?.stop();
  });

  const CONFIG = (session: string) => `[profile dev]
login_session = ${session}
region = us-east-1

[profile admin]
source_profile = dev
role_arn = arn:aws:iam::123456789012:role/Admin
region = us-east-1
`;

  async function setup(expiresInMs: number) {
    const sb = sandbox({ AWS_ENDPOINT_URL_SIGNIN: fake.endpoint, AWS_ENDPOINT_URL: moto.endpoint });
    writeFileSync(sb.configPath, CONFIG(fake.loginSession));
    const dir = join(sb.home, ".aws", "login", "cache");
    mkdirSync(dir, { recursive: true });
    const token = await fake.issueCacheToken({ expiresAt: new Date(Date.now() + expiresInMs) });
    writeFileSync(join(dir, loginCacheFileName(fake.loginSession)), JSON.stringify(token));
    const r = await run(artifact, ["import", "--login-cache", "--scrub"], { env: sb.env });
    expect(r.code, r.stderr).toBe(0);
    return sb;
  }

  async function callerArn(sb: Sandbox, args: string[]): Promise<string> {
    const r = await run(artifact, [...args, "--", "aws", "sts", "get-caller-identity", "--output", "json"], { env: sb.env });
    expect(r.code, r.stderr).toBe(0);
    return (JSON.parse(r.stdout) as { Arn: string }).Arn;
  }

  it("exec (after a refresh) and a role sourced from the login session, --ecs-server and credential_process, all accepted by moto", async () => {
    const sb = await setup(60_000);
    expect(await callerArn(sb, ["exec", "dev"])).toMatch(/:assumed-role\/console\/alice$/);
    expect(fake.calls()).toEqual([{ operation: "CreateOAuth2Token", grantType: "refresh_token", status: 200 }]);
    expect(await callerArn(sb, ["exec", "admin"])).toMatch(/:assumed-role\/Admin\//);
    expect(await callerArn(sb, ["exec", "--ecs-server", "admin"])).toMatch(/:assumed-role\/Admin\//);
    // credential_process: the AWS CLI runs aws-vault itself.
    writeFileSync(sb.configPath, `${readFileSync(sb.configPath, "utf8")}\n[profile viaproc]\ncredential_process = ${artifact.argv.map(shQuote).join(" ")} export --format json dev\n`);
    const proc = await execFileP("aws", ["sts", "get-caller-identity", "--profile", "viaproc", "--output", "json"], { env: sb.env });
    expect((JSON.parse(proc.stdout) as { Arn: string }).Arn).toMatch(/:assumed-role\/console\/alice$/);
    expect(fake.rejectedProofs).toEqual([]);
    expect(filesUnder(sb.home).filter((f) => f.text.includes("PRIVATE KEY") || fake.allRefreshTokens().some((t) => f.text.includes(t)))).toEqual([]);
  }, 120_000);

  it("login --stdout: the console sign-in URL is made from the login_session credentials (checked by the federation fake)", async () => {
    const sb = await setup(10 * 60_000);
    const issued = fake.credentials().at(-1)!;
    const fed = await startFederationFake({
      validate: (session) => (fake.credentials().some((c) => c.accessKeyId === session.sessionId && c.sessionToken === session.sessionToken) ? undefined : "not issued by Sign-In"),
    });
    try {
      const r = await run(artifact, ["login", "--stdout", "dev"], { env: { ...sb.env, AWS_ENDPOINT_URL_SIGNIN: fed.baseUrl } });
      expect(r.code, r.stderr).toBe(0);
      const reqs = fed.requests("getSigninToken");
      expect(reqs.map((q) => [q.status, q.session?.sessionId])).toEqual([[200, issued.accessKeyId]]);
      expect(new URL(r.stdout.trim()).searchParams.get("SigninToken")).toBe(reqs[0]!.signinToken);
    } finally {
      await fed.stop();
    }
  });

  it("signin in real headless Chromium, then exec -- aws sts get-caller-identity against moto; nothing under ~/.aws/login, no plaintext secret in HOME", async () => {
    const sb = sandbox({ AWS_ENDPOINT_URL_SIGNIN: fake.endpoint, AWS_ENDPOINT_URL: moto.endpoint });
    writeFileSync(sb.configPath, "[profile dev]\nregion = us-east-1\n");
    // Chromium's own profile lives outside HOME, so the HOME scan sees only what aws-vault wrote.
    const profileDir = mkdtempSync(join(tmpdir(), "awsv-chromium-"));
    const browser = join(sb.home, "chromium.sh");
    writeFileSync(
      browser,
      `#!/bin/sh\nexec chromium --headless=new --no-sandbox --disable-gpu --no-first-run --user-data-dir=${shQuote(profileDir)} --dump-dom "$1" >/dev/null 2>&1\n`,
      { mode: 0o755 },
    );
    const env = { ...sb.env, BROWSER: browser };
    const r = await run(artifact, ["signin", "dev"], { env, timeoutMs: 90_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`Updated profile dev to use ${fake.loginSession} credentials.\n`);
    const who = await run(artifact, ["exec", "dev", "--", "aws", "sts", "get-caller-identity", "--output", "json"], { env });
    expect(who.code, who.stderr).toBe(0);
    expect((JSON.parse(who.stdout) as { Arn: string }).Arn).toMatch(/:assumed-role\/console\/alice$/);
    expect(existsSync(join(sb.home, ".aws", "login"))).toBe(false);
    const needles = [...fake.allRefreshTokens(), ...fake.credentials().flatMap((c) => [c.secretAccessKey, c.sessionToken]), "PRIVATE KEY"];
    expect(filesUnder(sb.home).filter((f) => needles.some((n) => f.text.includes(n))).map((f) => f.path)).toEqual([]);
    expect(fake.rejectedProofs).toEqual([]);
  }, 120_000);
});

describe.each(ARTIFACTS)("signin ($name)", (artifact: Artifact) => {
  it("signs in through the browser flow; the profile gains login_session and region; exec works; nothing in plaintext", async () => {
    const sb = sandbox({ AWS_ENDPOINT_URL_SIGNIN: signin.endpoint, AWS_DEFAULT_REGION: "" });
    const before = "# my settings\n[profile other]\nregion = us-east-1 ; keep me\n\n[profile dev]\noutput = json\n";
    writeFileSync(sb.configPath, before);
    const env = { ...sb.env, ...browserEnv(sb) };
    const r = await run(artifact, ["signin", "dev", "--region", "eu-north-1"], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`Updated profile dev to use ${signin.loginSession} credentials.\n`);
    const url = new URL(r.stderr.split("\n")[1] ?? "");
    expect(url.pathname).toBe("/v1/authorize");
    expect(url.searchParams.get("client_id")).toBe("arn:aws:signin:::devtools/same-device");
    expect(url.searchParams.get("redirect_uri")).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/oauth\/callback$/);
    expect(signin.calls()).toEqual([
      { operation: "Authorize", status: 302 },
      { operation: "CreateOAuth2Token", grantType: "authorization_code", status: 200 },
    ]);
    expect(readFileSync(sb.configPath, "utf8")).toBe(`${before.replace("output = json\n", `output = json\nlogin_session = ${signin.loginSession}\nregion = eu-north-1\n`)}`);

    const exec = await run(artifact, ["exec", "dev", "--", "env"], { env });
    expect(exec.code, exec.stderr).toBe(0);
    expect(awsEnv(exec.stdout).AWS_ACCESS_KEY_ID).toBe(signin.credentials().at(-1)!.accessKeyId);
    expect(existsSync(join(sb.home, ".aws", "login"))).toBe(false);
    expect(plaintextSecrets(sb.home)).toEqual([]);
    expect(signin.rejectedProofs).toEqual([]);
  });

  it("--remote: prints the URL, takes the code the confirmation page shows, stores the session", async () => {
    const sb = sandbox({ AWS_ENDPOINT_URL_SIGNIN: signin.endpoint });
    writeFileSync(sb.configPath, "[profile dev]\nregion = eu-west-1\nlogin_session = arn:aws:iam::123456789012:user/old\n");
    const r = await runInPty([...artifact.argv, "signin", "--remote", "dev"], sb.env, [
      {
        expect: /(http:\/\/127\.0\.0\.1:\d+\/v1\/authorize\?\S+)[\s\S]*Enter the authorization code displayed in your browser: /,
        send: (m) => `${signin.confirmRemote(m[1] ?? "")}\n`,
      },
    ]);
    expect(r.code, r.output).toBe(0);
    expect(r.output).toContain(`Updated profile dev to use ${signin.loginSession} credentials.`);
    expect(readFileSync(sb.configPath, "utf8")).toBe(`[profile dev]\nregion = eu-west-1\nlogin_session = ${signin.loginSession}\n`);
    expect(r.output).toContain(`aws-vault: profile dev used login session arn:aws:iam::123456789012:user/old; it now uses ${signin.loginSession}`);
    expect(signin.calls().at(-1)).toEqual({ operation: "CreateOAuth2Token", grantType: "authorization_code", status: 200 });
    const exec = await run(artifact, ["exec", "dev", "--", "env"], { env: sb.env });
    expect(exec.code, exec.stderr).toBe(0);
    expect(awsEnv(exec.stdout).AWS_ACCESS_KEY_ID).toBe(signin.credentials().at(-1)!.accessKeyId);
    expect(plaintextSecrets(sb.home)).toEqual([]);
  });

  it("a state that does not match this sign-in is refused before any token call", async () => {
    const sb = sandbox({ AWS_ENDPOINT_URL_SIGNIN: signin.endpoint });
    writeFileSync(sb.configPath, "[profile dev]\nregion = eu-west-1\n");
    const forged = (m: RegExpExecArray) => {
      const code = Buffer.from(signin.confirmRemote(m[1] ?? ""), "base64").toString("utf8").replace(/state=.*/, "state=0123456789abcdef0123456789abcdef");
      return `${Buffer.from(code).toString("base64")}\n`;
    };
    const r = await runInPty([...artifact.argv, "signin", "--remote", "dev"], sb.env, [
      { expect: /(http:\/\/127\.0\.0\.1:\d+\/v1\/authorize\?\S+)[\s\S]*Enter the authorization code displayed in your browser: /, send: forged },
    ]);
    expect(r.code).toBe(1);
    expect(r.output).toContain("profile dev: sign-in failed: the state in the answer does not match this sign-in");
    expect(signin.calls().filter((c) => c.operation === "CreateOAuth2Token")).toEqual([]);
    expect(readFileSync(sb.configPath, "utf8")).toBe("[profile dev]\nregion = eu-west-1\n");
  });
});

describe("lazy loading (login_session)", () => {
  it("export of a stored, fresh session never loads the Sign-In SDK chunk; a refresh does", async () => {
    const node = ARTIFACTS.find((a) => a.name === "node");
    if (!node) return;
    const sb = sandbox({ AWS_ENDPOINT_URL_SIGNIN: signin.endpoint });
    writeFileSync(sb.configPath, config(signin.loginSession));
    const cacheDir = join(sb.home, ".aws", "login", "cache");
    await writeCache(cacheDir, 10 * 60_000);
    expect((await run(node, ["import", "--login-cache", "--scrub"], { env: sb.env })).code).toBe(0);
    const dist = mkdtempSync(join(tmpdir(), "awsv-dist-"));
    cpSync(join(DIST, "aws-vault.mjs"), join(dist, "aws-vault.mjs"));
    cpSync(join(DIST, "chunks"), join(dist, "chunks"), { recursive: true });
    const removed = readdirSync(join(dist, "chunks")).filter((f) => /signin-sdk/.test(f));
    expect(removed.length).toBeGreaterThan(0);
    for (const f of removed) rmSync(join(dist, "chunks", f));
    const stripped: Artifact = { name: "node", argv: [process.execPath, join(dist, "aws-vault.mjs")] };
    const fresh = await run(stripped, ["export", "--format", "json", "dev"], { env: sb.env });
    expect(fresh.code, fresh.stderr).toBe(0);
    // An expiring session needs the chunk: the same bundle fails to refresh.
    const sb2 = sandbox({ AWS_ENDPOINT_URL_SIGNIN: signin.endpoint });
    writeFileSync(sb2.configPath, config(signin.loginSession));
    await writeCache(join(sb2.home, ".aws", "login", "cache"), -60_000);
    expect((await run(node, ["import", "--login-cache", "--scrub"], { env: sb2.env })).code).toBe(0);
    expect((await run(stripped, ["export", "--format", "json", "dev"], { env: sb2.env })).code).not.toBe(0);
  });
});
