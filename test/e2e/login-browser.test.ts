// Issue 14: `login` in browser sessions of their own, in a real headless Chromium
// (test/support/chromium.ts) against the federation fake, which sets a console session cookie on
// every sign-in. Two profiles signed in one after the other each leave their cookie in their own
// Chromium data folder (~/.awsvault/browser/<profile>, 0700) and only there. Also: the Firefox
// container URL handed to Firefox (Granted's format), --auto-logout through the sign-out, and
// AWS_VAULT_BROWSER errors.
import { appendFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { CreateRoleCommand, IAMClient, PutRolePolicyCommand } from "@aws-sdk/client-iam";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ARTIFACTS, type Artifact, run, sandbox, type Sandbox } from "../support/cli.ts";
import { chromiumCookies, headlessChromium, type HeadlessChromium, requireChromium } from "../support/chromium.ts";
import { FakeBinDir } from "../support/fake-runtime.ts";
import { type FederationFake, sessionCookieName, startFederationFake } from "../support/federation-fake.ts";
import { bootstrapUser, type Moto, type MotoUser, startMoto } from "../support/moto.ts";

const ROLE_ARN = "arn:aws:iam::123456789012:role/console";
const ALLOW_ALL = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }] });

let moto: Moto;
let user: MotoUser;
let fed: FederationFake;
let chromium: HeadlessChromium;

beforeAll(async () => {
  requireChromium();
  moto = await startMoto();
  user = await bootstrapUser(moto);
  const iam = new IAMClient({
    endpoint: moto.motoEndpoint,
    region: "us-east-1",
    credentials: { accessKeyId: user.accessKeyId, secretAccessKey: user.secretAccessKey },
  });
  await iam.send(
    new CreateRoleCommand({
      RoleName: "console",
      AssumeRolePolicyDocument: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { AWS: "*" }, Action: "sts:AssumeRole" }] }),
    }),
  );
  await iam.send(new PutRolePolicyCommand({ RoleName: "console", PolicyName: "all", PolicyDocument: ALLOW_ALL }));
  fed = await startFederationFake();
});
afterAll(async () => {
  await fed?.stop();
  await moto?.stop();
});
beforeEach(() => {
  fed.reset();
  chromium = headlessChromium();
});
afterEach(() => chromium.dispose());

async function setup(artifact: Artifact, extraConfig = ""): Promise<Sandbox> {
  const sb = sandbox({ AWS_ENDPOINT_URL: moto.endpoint, AWS_ENDPOINT_URL_SIGNIN: fed.baseUrl, AWS_VAULT_BROWSER: chromium.script });
  const add = await run(artifact, ["add", "--env", "alice"], {
    env: { ...sb.env, AWS_ACCESS_KEY_ID: user.accessKeyId, AWS_SECRET_ACCESS_KEY: user.secretAccessKey },
  });
  expect(add.code, add.stderr).toBe(0);
  appendFileSync(
    sb.configPath,
    `region = us-east-1\n\n[profile work]\nsource_profile = alice\nrole_arn = ${ROLE_ARN}\n\n` +
      `[profile play]\nsource_profile = alice\nrole_arn = ${ROLE_ARN}\naws_vault_browser_profile = true\n${extraConfig}`,
  );
  return sb;
}

/** Waits until the browser has used `n` sign-in URLs at the fake. */
async function signIns(n: number): Promise<string[]> {
  const done = () => fed.requests("login").filter((r) => r.status === 302);
  for (let i = 0; i < 600 && done().length < n; i++) await new Promise((r) => setTimeout(r, 50));
  expect(done()).toHaveLength(n);
  return done().map((r) => r.signinToken!);
}

const mode = (path: string) => statSync(path).mode & 0o777;

describe.each(ARTIFACTS)("login in isolated browser sessions ($name)", (artifact) => {
  it("two profiles stay signed in side by side: each cookie only in its own Chromium data folder", async () => {
    const sb = await setup(artifact);
    const work = await run(artifact, ["--debug", "login", "--browser-profile", "work"], { env: sb.env });
    expect(work.code, work.stderr).toBe(0);
    const [workToken] = await signIns(1);
    // The sign-in URL went to the browser only: not in the output, even under --debug.
    expect(work.stderr).toContain("Opening the console in chromium-headless (chromium) for profile work");
    for (const leak of [workToken!, encodeURIComponent(workToken!), "SigninToken"]) expect(work.stderr).not.toContain(leak);
    // `play` asks for its own session in ~/.aws/config (aws_vault_browser_profile = true).
    const play = await run(artifact, ["login", "play"], { env: sb.env });
    expect(play.code, play.stderr).toBe(0);
    const [, playToken] = await signIns(2);
    expect(work.stdout + play.stdout).toBe("");

    const root = join(sb.home, ".awsvault", "browser");
    const launches = chromium.launches();
    expect(launches.map((argv) => argv.slice(0, 3))).toEqual([
      [`--user-data-dir=${join(root, "work")}`, "--no-first-run", "--no-default-browser-check"],
      [`--user-data-dir=${join(root, "play")}`, "--no-first-run", "--no-default-browser-check"],
    ]);
    expect([mode(root), mode(join(root, "work")), mode(join(root, "play"))]).toEqual([0o700, 0o700, 0o700]);

    // Chromium writes its cookie store when it shuts down.
    await chromium.stopAll();
    const names = async (p: string) => (await chromiumCookies(join(root, p))).filter((c) => c.host === "127.0.0.1").map((c) => c.name);
    expect(await names("work")).toEqual([sessionCookieName(workToken!)]);
    expect(await names("play")).toEqual([sessionCookieName(playToken!)]);
  });

  it("a Firefox gets Granted's container URL with the profile's granted_color and granted_icon", async () => {
    const bin = new FakeBinDir("awsv-firefox-");
    try {
      const firefox = bin.tool("firefox");
      const sb = await setup(artifact, "granted_color = blue\ngranted_icon = fingerprint\n");
      const r = await run(artifact, ["login", "play"], { env: { ...sb.env, AWS_VAULT_BROWSER: firefox } });
      expect(r.code, r.stderr).toBe(0);
      const token = fed.issuedTokens().at(-1);
      const loginUrl = `${fed.federationUrl}?Action=login&Issuer=aws-vault&Destination=${encodeURIComponent("https://us-east-1.console.aws.amazon.com/console/home?region=us-east-1")}&SigninToken=${encodeURIComponent(token!).replace(/%20/g, "+")}`;
      // Granted: fmt.Sprintf("ext+granted-containers:name=%s&url=%s&color=%s&icon=%s", name, url.QueryEscape(u), color, icon)
      const argv = bin.argv("firefox")!;
      expect(argv[0]).toBe("--new-tab");
      const container = argv[1]!;
      expect(container).toMatch(/^ext\+granted-containers:name=play&url=http%3A%2F%2F127\.0\.0\.1%3A\d+%2Ffederation%3FAction%3Dlogin%26Issuer%3Daws-vault%26Destination%3D.*&color=blue&icon=fingerprint$/);
      const url = decodeURIComponent(/&url=([^&]*)&color=/.exec(container)![1]!.replace(/\+/g, " "));
      expect(new URL(url).searchParams.get("SigninToken")).toBe(token);
      expect(new URL(url).href).toBe(new URL(loginUrl).href);
      // Without --browser-profile (nor the profile key), the ordinary opener is used.
      const plain = await run(artifact, ["login", "work"], { env: { ...sb.env, AWS_VAULT_BROWSER: firefox, BROWSER: "/bin/true" } });
      expect(plain.code, plain.stderr).toBe(0);
      expect(bin.argv("firefox")).toEqual(argv);
    } finally {
      bin.cleanup();
    }
  });

  it("--stdout prints the plain URL even with --browser-profile (no browser is looked for)", async () => {
    const sb = await setup(artifact);
    const r = await run(artifact, ["login", "--stdout", "--browser-profile", "play"], { env: { ...sb.env, AWS_VAULT_BROWSER: "/nonexistent/browser" } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^${fed.federationUrl.replace(/[.?]/g, "\\$&")}\\?Action=login&Issuer=aws-vault&`));
    expect(chromium.launches()).toEqual([]);
  });

  it("--auto-logout goes through the console's sign-out, which goes on to the sign-in", async () => {
    const sb = await setup(artifact);
    const r = await run(artifact, ["login", "--stdout", "--auto-logout", "work"], { env: sb.env });
    expect(r.code, r.stderr).toBe(0);
    const url = new URL(r.stdout.trim());
    expect(`${url.origin}${url.pathname}`).toBe(`${fed.baseUrl}/oauth`);
    expect(url.searchParams.get("Action")).toBe("logout");
    const signIn = url.searchParams.get("redirect_uri")!;
    expect(new URL(signIn).searchParams.get("SigninToken")).toBe(fed.issuedTokens().at(-1));
    const out = await fetch(url, { redirect: "manual" });
    expect(out.status).toBe(302);
    expect(out.headers.get("location")).toBe(signIn);
    const landing = await fetch(signIn, { redirect: "manual" });
    expect(landing.status).toBe(302);
  });

  it("bad browser settings fail before any AWS call, with a hint", async () => {
    const sb = await setup(artifact);
    const missing = await run(artifact, ["login", "--browser-profile", "work"], { env: { ...sb.env, AWS_VAULT_BROWSER: "/nonexistent/browser" } });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^aws-vault: error: login: AWS_VAULT_BROWSER=\/nonexistent\/browser: no such browser or program$/m);
    expect(missing.stderr).toMatch(/^aws-vault: hint: set AWS_VAULT_BROWSER to one of chrome, chromium, brave, edge, firefox, or a browser's path$/m);
    const bad = await run(artifact, ["login", "work"], { env: { ...sb.env, AWS_VAULT_BROWSER_PROFILE: "maybe" } });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('AWS_VAULT_BROWSER_PROFILE must be true or false, got "maybe"');
    const noProfile = await run(artifact, ["login", "--browser-profile"], {
      env: { ...sb.env, AWS_ACCESS_KEY_ID: user.accessKeyId, AWS_SECRET_ACCESS_KEY: user.secretAccessKey },
    });
    expect(noProfile.code).toBe(2);
    expect(noProfile.stderr).toContain("--browser-profile needs a profile");
    expect(fed.requests()).toEqual([]);
  });
});
