// Issue 14: IAM Identity Center sign-in with the authorization code and PKCE, in a real headless
// Chromium. `exec` opens the authorize URL through $BROWSER (test/support/chromium.ts); the fake
// OIDC endpoint (test/support/fake-sso.ts, written from the API reference) answers /authorize with
// a redirect to aws-vault's loopback callback; CreateToken checks the verifier against the S256
// challenge; the AWS CLI then uses the role credentials. Wrong state, error= answers and Ctrl-C end
// the sign-in with nothing cached; the refresh token renews the access token with no browser.
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { promisify } from "node:util";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ARTIFACTS, type Artifact, awsEnv, run, sandbox, type Sandbox, start } from "../support/cli.ts";
import { headlessChromium, type HeadlessChromium, requireChromium } from "../support/chromium.ts";
import { type FakeSso, startFakeSso } from "../support/fake-sso.ts";

const execFileP = promisify(execFile);
const START_URL = "https://corp.awsapps.com/start";
const ACCOUNT = "111111111111";

let sso: FakeSso;
let chromium: HeadlessChromium;

beforeAll(async () => {
  requireChromium();
  sso = await startFakeSso({ assignments: { [ACCOUNT]: ["Admin", "ReadOnly"] } });
});
afterAll(async () => {
  await chromium?.dispose();
  await sso?.stop();
});
beforeEach(() => {
  sso.resetCalls();
  sso.accessTokenLifetime = undefined;
  chromium = headlessChromium();
});
// Every Chromium a test started is ended, whatever the test did.
afterEach(() => chromium.dispose());

const CONFIG = `[sso-session corp]
sso_start_url = ${START_URL}
sso_region = eu-west-1
sso_registration_scopes = sso:account:access

[profile dev]
sso_session = corp
sso_account_id = ${ACCOUNT}
sso_role_name = Admin
region = eu-central-1

[profile readonly]
sso_session = corp
sso_account_id = ${ACCOUNT}
sso_role_name = ReadOnly
`;

function setup(): Sandbox {
  const sb = sandbox({
    AWS_ENDPOINT_URL_SSO: sso.portalEndpoint,
    AWS_ENDPOINT_URL_SSO_OIDC: sso.oidcEndpoint,
    AWS_DEFAULT_REGION: "",
    BROWSER: chromium.script,
  });
  writeFileSync(sb.configPath, CONFIG);
  return sb;
}

/** The fake's calls, without the parts whose number depends on the machine. */
const calls = () => sso.callSummary();

async function sessions(artifact: Artifact, sb: Sandbox): Promise<string> {
  return (await run(artifact, ["list", "--sessions"], { env: sb.env })).stdout;
}

describe.each(ARTIFACTS)("SSO sign-in with PKCE in headless Chromium ($name)", (artifact) => {
  it("exec signs in through the browser; the AWS CLI gets the role credentials", async () => {
    const sb = setup();
    const r = await run(
      artifact,
      ["--debug", "exec", "dev", "--", "aws", "sts", "get-caller-identity", "--output", "json", "--endpoint-url", sso.portalEndpoint],
      { env: sb.env, timeoutMs: 60_000 },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain("profile dev: signing in to SSO with the authorization-code flow because $BROWSER is set");
    // No code, token, refresh token or client secret in the output, even under --debug.
    const secrets = sso.secretsIssued();
    expect(secrets.length).toBeGreaterThanOrEqual(5);
    for (const secret of secrets) expect(r.stderr).not.toContain(secret);
    expect(JSON.parse(r.stdout)).toMatchObject({ Account: ACCOUNT, Arn: expect.stringContaining("AWSReservedSSO_Admin_") });
    expect(calls()).toEqual([
      "RegisterClient",
      "Authorize allow",
      "CreateToken",
      `GetRoleCredentials ${ACCOUNT}/Admin`,
      `GetCallerIdentity ${ACCOUNT}/Admin`,
    ]);
    // What went over the wire, per the OIDC API reference and the AWS CLI's sign-in.
    const [auth] = sso.authorizeRequests();
    expect(auth).toMatchObject({
      registeredGrantTypes: ["authorization_code", "refresh_token"],
      registeredRedirectUris: ["http://127.0.0.1/oauth/callback"],
      issuerUrl: START_URL,
      codeChallengeMethod: "S256",
      scopes: "sso:account:access",
    });
    expect(auth!.redirectUri).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/oauth\/callback$/);
    expect(auth!.state).toMatch(/^[0-9a-f]{32}$/);
    // The authorize URL went to Chromium, and was printed (it holds no secret).
    expect(chromium.launches()).toHaveLength(1);
    const opened = chromium.launches()[0]!.at(-1)!;
    expect(new URL(opened).pathname).toBe("/authorize");
    expect(r.stderr).toContain(`Opening the SSO sign-in page in your default browser (use Ctrl-C to abort)\n${opened}\n`);
    expect(chromium.launches()[0]!.join(" ")).not.toContain("code=");

    // The token is cached in the keyring: a second role signs in with no browser.
    sso.resetCalls();
    const again = await run(artifact, ["exec", "readonly", "--", "env"], { env: sb.env });
    expect(again.code, again.stderr).toBe(0);
    expect(awsEnv(again.stdout).AWS_ACCESS_KEY_ID).toBe(sso.roleCredentials().at(-1)!.accessKeyId);
    expect(calls()).toEqual([`GetRoleCredentials ${ACCOUNT}/ReadOnly`]);
    expect(chromium.launches()).toHaveLength(1);
  });

  it("a callback with the wrong state is refused and nothing is cached", async () => {
    const sb = setup();
    sso.scriptAuthorize("wrong-state");
    const r = await run(artifact, ["exec", "dev", "--", "true"], { env: sb.env, timeoutMs: 60_000 });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("aws-vault: error: exec: Failed to get credentials for dev: the SSO sign-in was refused: the browser came back with a different state");
    expect(calls()).toEqual(["RegisterClient", "Authorize wrong-state"]);
    expect(await sessions(artifact, sb)).toBe("");
  });

  it("an error= callback ends the sign-in with the server's answer and nothing cached", async () => {
    const sb = setup();
    sso.scriptAuthorize("deny");
    const r = await run(artifact, ["exec", "dev", "--", "true"], { env: sb.env, timeoutMs: 60_000 });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("the SSO sign-in was not completed: the authorization server answered access_denied (The user denied the request)");
    expect(calls()).toEqual(["RegisterClient", "Authorize deny"]);
    expect(await sessions(artifact, sb)).toBe("");
  });

  it("Ctrl-C while waiting for the browser exits 130 with nothing cached", async () => {
    const sb = setup();
    sso.scriptAuthorize("no-answer");
    const child = start(artifact, ["exec", "dev", "--", "true"], { env: sb.env });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
    // Wait until the browser has shown the sign-in page (the "user" never answers).
    for (let i = 0; i < 600 && !calls().includes("Authorize no-answer"); i++) await new Promise((r) => setTimeout(r, 50));
    expect(calls()).toContain("Authorize no-answer");
    child.kill("SIGINT");
    expect(await exited).toBe(130);
    expect(stderr).not.toContain("Error:");
    expect(calls()).not.toContain("CreateToken");
    expect(await sessions(artifact, sb)).toBe("");
  });

  it("the refresh token renews an expired access token without a browser", async () => {
    const sb = setup();
    // The token is reported to last 1 s (the portal itself keeps accepting it).
    sso.accessTokenLifetime = 1;
    const first = await run(artifact, ["exec", "dev", "--", "true"], { env: sb.env, timeoutMs: 60_000 });
    expect(first.code, first.stderr).toBe(0);
    expect(chromium.launches()).toHaveLength(1);
    // Let the access token expire for aws-vault, then ask for another role.
    await new Promise((r) => setTimeout(r, 1500));
    sso.resetCalls();
    const r = await run(artifact, ["exec", "readonly", "--", "env"], { env: sb.env });
    expect(r.code, r.stderr).toBe(0);
    expect(calls()).toEqual(["CreateToken", `GetRoleCredentials ${ACCOUNT}/ReadOnly`]);
    expect(chromium.launches()).toHaveLength(1);
    expect(r.stderr).not.toContain("SSO sign-in page");
  });

  it("--use-device-code and --stdout keep the device flow", async () => {
    const sb = setup();
    let stop = false;
    const approver = (async () => {
      while (!stop) {
        for (const code of sso.pendingUserCodes()) sso.approve(code);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    try {
      const a = await run(artifact, ["exec", "--use-device-code", "--stdout", "dev", "--", "true"], { env: sb.env });
      expect(a.code, a.stderr).toBe(0);
      expect(calls().filter((c) => !c.includes("AuthorizationPending"))).toEqual([
        "RegisterClient",
        `StartDeviceAuthorization ${START_URL}`,
        "CreateToken",
        `GetRoleCredentials ${ACCOUNT}/Admin`,
      ]);
      sso.resetCalls();
      const b = await run(artifact, ["clear"], { env: sb.env });
      expect(b.code, b.stderr).toBe(0);
      const c = await run(artifact, ["export", "--stdout", "readonly"], { env: sb.env });
      expect(c.code, c.stderr).toBe(0);
      expect(calls()).toContain(`StartDeviceAuthorization ${START_URL}`);
      expect(chromium.launches()).toHaveLength(0);
    } finally {
      stop = true;
      await approver;
    }
  });
});

describe("the fake's GetCallerIdentity is what the AWS CLI parses", () => {
  it("refuses credentials it did not issue", async () => {
    const err = await execFileP("aws", ["sts", "get-caller-identity", "--endpoint-url", sso.portalEndpoint], {
      env: { PATH: process.env.PATH ?? "", AWS_ACCESS_KEY_ID: "ASIANOTISSUED0000000", AWS_SECRET_ACCESS_KEY: "x", AWS_SESSION_TOKEN: "y", AWS_DEFAULT_REGION: "us-east-1", HOME: "/nonexistent" },
    }).catch((e: { stderr: string }) => e);
    expect((err as { stderr: string }).stderr).toContain("InvalidClientTokenId");
  });
});
