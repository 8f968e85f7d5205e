// Issue 3 (SSO) end to end, against a fake IAM Identity Center (OIDC + portal, test/support/fake-sso.ts):
// the device flow with the browser opened through $BROWSER (a script that approves the request, so
// the flow runs unattended), the OIDC token cached in the keyring and reused, a rejected token
// dropped and the flow run again, `list` labels and `clear`. The fake's GetRoleCredentials replies
// are also fed to a second client, botocore's SSO credential provider.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ARTIFACTS, type Artifact, type CliResult, run, type Sandbox, sandbox, awsEnv } from "../support/cli.ts";
import { type FakeSso, startFakeSso } from "../support/fake-sso.ts";
import { shQuote } from "../support/fake-runtime.ts";

const execFileP = promisify(execFile);

const CORP_URL = "https://corp.awsapps.com/start";
const LEGACY_URL = "https://legacy.awsapps.com/start#/";
const DEV_ACCOUNT = "111111111111";
const PROD_ACCOUNT = "222222222222";

let sso: FakeSso;

beforeAll(async () => {
  sso = await startFakeSso({
    interval: 1,
    assignments: { [DEV_ACCOUNT]: ["Admin", "ReadOnly"], [PROD_ACCOUNT]: ["Admin"] },
  });
});
afterAll(() => sso?.stop());
beforeEach(() => sso.resetCalls());

const CONFIG = `[sso-session corp]
sso_start_url = ${CORP_URL}
sso_region = eu-west-1
sso_registration_scopes = sso:account:access

[profile dev]
sso_session = corp
sso_account_id = ${DEV_ACCOUNT}
sso_role_name = Admin
region = eu-central-1

[profile readonly]
sso_session = corp
sso_account_id = ${DEV_ACCOUNT}
sso_role_name = ReadOnly

[profile legacy]
sso_start_url = ${LEGACY_URL}
sso_region = us-east-1
sso_account_id = ${PROD_ACCOUNT}
sso_role_name = Admin

[profile plain]
region = us-east-1
`;

interface SsoVault {
  sb: Sandbox;
  run(args: string[], env?: Record<string, string>): Promise<CliResult>;
  /** URLs the BROWSER script was asked to open. */
  opened(): string[];
}

/**
 * A sandbox whose BROWSER is a script that records the URL and approves the request on the fake
 * (what a user clicking "Allow" does), and whose SSO clients talk to the fake.
 */
function setup(artifact: Artifact): SsoVault {
  const sb = sandbox({
    AWS_ENDPOINT_URL_SSO: sso.portalEndpoint,
    AWS_ENDPOINT_URL_SSO_OIDC: sso.oidcEndpoint,
    // SSO needs no AWS region (sso_region is used); let the profiles' own region show.
    AWS_DEFAULT_REGION: "",
  });
  writeFileSync(sb.configPath, CONFIG);
  const log = join(sb.home, "browser.log");
  const script = join(sb.home, "approve.mjs");
  writeFileSync(
    script,
    `import { appendFileSync } from "node:fs";
const url = new URL(process.argv[2]);
appendFileSync(${JSON.stringify(log)}, url.href + "\\n");
const res = await fetch(new URL("/__approve", url), { method: "POST", body: JSON.stringify({ userCode: url.searchParams.get("user_code") }) });
process.exit(res.ok ? 0 : 1);
`,
  );
  const browser = join(sb.home, "browser.sh");
  writeFileSync(browser, `#!/bin/sh\nexec ${shQuote(process.execPath)} ${shQuote(script)} "$@"\n`, { mode: 0o755 });
  const env = { ...sb.env, BROWSER: browser };
  // These are the device flow's tests (a $BROWSER is set, so the default would be the
  // authorization code with PKCE: test/e2e/sso-pkce.test.ts covers that in a real browser).
  const deviceCode = (args: string[]) =>
    args[0] === "exec" || args[0] === "export" ? [args[0], "--use-device-code", ...args.slice(1)] : args;
  return {
    sb,
    run: (args, extra = {}) => run(artifact, deviceCode(args), { env: { ...env, ...extra } }),
    opened: () => (existsSync(log) ? readFileSync(log, "utf8").split("\n").filter(Boolean) : []),
  };
}


async function execEnv(v: SsoVault, args: string[], env: Record<string, string> = {}): Promise<{ env: Record<string, string>; stderr: string }> {
  const r = await v.run(["exec", ...args, "--", "env"], env);
  expect(r.code, r.stderr).toBe(0);
  return { env: awsEnv(r.stdout), stderr: r.stderr };
}

/** Calls without the polls that were still pending (their number depends on timing). */
function flowCalls(): string[] {
  return sso.callSummary().filter((c) => c !== "CreateToken -> AuthorizationPendingException");
}

const DEVICE_FLOW = (url: string) => ["RegisterClient", `StartDeviceAuthorization ${url}`, "CreateToken"];

describe.each(ARTIFACTS)("SSO ($name)", (artifact) => {
  it("exec completes the device flow; later runs reuse the cached OIDC token", async () => {
    const v = setup(artifact);
    const first = await execEnv(v, ["dev"]);
    expect(flowCalls()).toEqual([...DEVICE_FLOW(CORP_URL), `GetRoleCredentials ${DEV_ACCOUNT}/Admin`]);
    const issued = sso.roleCredentials().at(-1)!;
    expect(first.env).toMatchObject({
      AWS_ACCESS_KEY_ID: issued.accessKeyId,
      AWS_SECRET_ACCESS_KEY: issued.secretAccessKey,
      AWS_SESSION_TOKEN: issued.sessionToken,
      AWS_CREDENTIAL_EXPIRATION: issued.expiration.toISOString().replace(/\.000Z$/, "Z"),
      AWS_REGION: "eu-central-1",
      AWS_VAULT: "dev",
    });
    // The browser got the verification URL that was also printed (the aws-vault wording).
    expect(v.opened()).toHaveLength(1);
    const url = v.opened()[0]!;
    expect(url).toMatch(/\/device\?user_code=[A-Z]{4}-[A-Z]{4}$/);
    expect(first.stderr).toContain(`Opening the SSO authorization page in your default browser (use Ctrl-C to abort)\n${url}\n`);

    // The same profile again: served from the session cache, no call at all.
    sso.resetCalls();
    const again = await execEnv(v, ["dev"]);
    expect(again.env.AWS_ACCESS_KEY_ID).toBe(issued.accessKeyId);
    expect(sso.callSummary()).toEqual([]);

    // A refresh of the session (AWS_MIN_TTL above its 1h) and another role on the same start URL:
    // GetRoleCredentials with the cached token, no second device authorization.
    const refreshed = await execEnv(v, ["dev"], { AWS_MIN_TTL: "2h" });
    const other = await execEnv(v, ["readonly"]);
    expect(sso.callSummary()).toEqual([`GetRoleCredentials ${DEV_ACCOUNT}/Admin`, `GetRoleCredentials ${DEV_ACCOUNT}/ReadOnly`]);
    expect(refreshed.env.AWS_ACCESS_KEY_ID).not.toBe(issued.accessKeyId);
    expect(other.env.AWS_ACCESS_KEY_ID).toBe(sso.roleCredentials().at(-1)!.accessKeyId);
    expect(refreshed.stderr + other.stderr).not.toContain("SSO authorization page");
    expect(v.opened()).toHaveLength(1);

    // list: per-profile OIDC label (the sso-session name) next to the cached sessions.
    const list = await v.run(["list"]);
    expect(list.code, list.stderr).toBe(0);
    const rows = Object.fromEntries(list.stdout.split("\n").slice(2).filter(Boolean).map((l) => [l.split(/\s+/)[0], l.trimEnd()]));
    expect(rows.dev).toMatch(/^dev\s+-\s+oidc:corp, sso\.GetRoleCredentials:59m\d+s$/);
    expect(rows.readonly).toMatch(/^readonly\s+-\s+oidc:corp, sso\.GetRoleCredentials:59m\d+s$/);
    expect(rows.legacy).toMatch(/^legacy\s+-\s+-$/);
    const sessions = await v.run(["list", "--sessions"]);
    expect(sessions.stdout.split("\n").filter(Boolean).map((l) => l.replace(/:\d.*$/, ""))).toEqual([
      "oidc:corp",
      "sso.GetRoleCredentials",
      "sso.GetRoleCredentials",
    ]);
  });

  it("--stdout prints the link instead of opening a browser", async () => {
    const v = setup(artifact);
    // The user opens the printed link and approves: watch the fake for the request.
    let stop = false;
    const approver = (async () => {
      while (!stop) {
        for (const code of sso.pendingUserCodes()) sso.approve(code);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const r = await v.run(["exec", "--stdout", "legacy", "--", "env"]);
    stop = true;
    await approver;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/Open the SSO authorization page in a browser \(use Ctrl-C to abort\)\nhttp:\/\/127\.0\.0\.1:\d+\/device\?user_code=[A-Z]{4}-[A-Z]{4}\n/);
    expect(v.opened()).toEqual([]);
    expect(flowCalls()).toEqual([...DEVICE_FLOW(LEGACY_URL), `GetRoleCredentials ${PROD_ACCOUNT}/Admin`]);
    expect(awsEnv(r.stdout).AWS_ACCESS_KEY_ID).toBe(sso.roleCredentials().at(-1)!.accessKeyId);

    // An inline start URL without an [sso-session] is labelled by its host.
    const list = await v.run(["list", "--sessions"]);
    expect(list.stdout).toMatch(/^oidc:legacy\.awsapps\.com\nsso\.GetRoleCredentials:59m\d+s\n$/);
  });

  it("a cached token the portal rejects is dropped and the device flow runs once more", async () => {
    const v = setup(artifact);
    await execEnv(v, ["dev"]);
    sso.revokeTokens();
    sso.resetCalls();
    const r = await execEnv(v, ["readonly"]);
    expect(flowCalls()).toEqual([
      `GetRoleCredentials ${DEV_ACCOUNT}/ReadOnly -> UnauthorizedException`,
      ...DEVICE_FLOW(CORP_URL),
      `GetRoleCredentials ${DEV_ACCOUNT}/ReadOnly`,
    ]);
    expect(r.env.AWS_ACCESS_KEY_ID).toBe(sso.roleCredentials().at(-1)!.accessKeyId);
    expect(v.opened()).toHaveLength(2);
  });

  it("a role the user is not assigned fails with the portal's error and caches nothing", async () => {
    const v = setup(artifact);
    writeFileSync(v.sb.configPath, `${CONFIG}\n[profile nope]\nsso_session = corp\nsso_account_id = ${PROD_ACCOUNT}\nsso_role_name = ReadOnly\n`);
    const r = await v.run(["exec", "nope", "--", "true"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`profile nope: SSO GetRoleCredentials failed: ForbiddenException: No access`);
    const sessions = await v.run(["list", "--sessions"]);
    // The token is kept (it is valid); no session was stored.
    expect(sessions.stdout).toBe("oidc:corp\n");
  });

  it("clear PROFILE removes the profile's sessions and its token; clear removes everything", async () => {
    const v = setup(artifact);
    await execEnv(v, ["dev"]);
    await execEnv(v, ["legacy"]);
    const before = await v.run(["list", "--sessions"]);
    expect(before.stdout.split("\n").filter((l) => l.startsWith("oidc:"))).toEqual(["oidc:corp", "oidc:legacy.awsapps.com"]);

    const one = await v.run(["clear", "dev"]);
    expect(one.code, one.stderr).toBe(0);
    expect(one.stdout).toBe("Cleared 2 sessions.\n");
    const after = await v.run(["list", "--sessions"]);
    expect(after.stdout).toMatch(/^oidc:legacy\.awsapps\.com\nsso\.GetRoleCredentials:59m\d+s\n$/);

    const all = await v.run(["clear"]);
    expect(all.stdout).toBe("Cleared 2 sessions.\n");
    expect((await v.run(["list", "--sessions"])).stdout).toBe("");

    // With the token gone, the next exec authorizes again.
    sso.resetCalls();
    await execEnv(v, ["readonly"]);
    expect(flowCalls()).toEqual([...DEVICE_FLOW(CORP_URL), `GetRoleCredentials ${DEV_ACCOUNT}/ReadOnly`]);
  });

  it("export prints the SSO role credentials", async () => {
    const v = setup(artifact);
    const r = await v.run(["export", "--format", "json", "dev"]);
    expect(r.code, r.stderr).toBe(0);
    const issued = sso.roleCredentials().at(-1)!;
    expect(JSON.parse(r.stdout)).toMatchObject({ Version: 1, AccessKeyId: issued.accessKeyId, SessionToken: issued.sessionToken });
  });
});

describe("the fake portal speaks the real format", () => {
  it("botocore's SSO credential provider accepts its GetRoleCredentials reply", async () => {
    const home = mkdtempSync(join(tmpdir(), "awsv-botocore-"));
    mkdirSync(join(home, ".aws", "sso", "cache"), { recursive: true });
    writeFileSync(
      join(home, ".aws", "config"),
      `[profile sso]\nsso_start_url = ${CORP_URL}\nsso_region = eu-west-1\nsso_account_id = ${DEV_ACCOUNT}\nsso_role_name = Admin\n`,
    );
    // botocore's legacy (no sso_session) token cache: ~/.aws/sso/cache/<sha1(start url)>.json
    const { accessToken, expiresAt } = sso.issueAccessToken(CORP_URL);
    const cacheFile = join(home, ".aws", "sso", "cache", `${createHash("sha1").update(CORP_URL).digest("hex")}.json`);
    writeFileSync(
      cacheFile,
      JSON.stringify({ startUrl: CORP_URL, region: "eu-west-1", accessToken, expiresAt: expiresAt.toISOString().replace(/\.\d{3}Z$/, "Z") }),
    );
    const script = `
import json, botocore.session
creds = botocore.session.Session(profile="sso").get_credentials()
frozen = creds.get_frozen_credentials()
print(json.dumps({"method": creds.method, "access_key": frozen.access_key, "secret_key": frozen.secret_key,
                  "token": frozen.token, "expiry": creds._expiry_time.isoformat()}))
`;
    const { stdout } = await execFileP("python3", ["-c", script], {
      env: {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        HOME: home,
        AWS_CONFIG_FILE: join(home, ".aws", "config"),
        AWS_SHARED_CREDENTIALS_FILE: join(home, ".aws", "credentials"),
        AWS_ENDPOINT_URL_SSO: sso.portalEndpoint,
        AWS_EC2_METADATA_DISABLED: "true",
      },
    });
    const got = JSON.parse(stdout) as Record<string, string>;
    const issued = sso.roleCredentials().at(-1)!;
    expect(sso.callSummary()).toEqual([`GetRoleCredentials ${DEV_ACCOUNT}/Admin`]);
    expect(got).toEqual({
      method: "sso",
      access_key: issued.accessKeyId,
      secret_key: issued.secretAccessKey,
      token: issued.sessionToken,
      expiry: issued.expiration.toISOString().replace(/\.000Z$/, "+00:00"),
    });
  });
});
