// The SSO device-flow wait as a person at a terminal sees it: the user code on its own line, a
// spinner with the time left on stderr, and Ctrl-C ending it with "cancelled", exit 130 and no lock
// file left behind (the fake IAM Identity Center never gets an approval here).
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ARTIFACTS, run, sandbox } from "../support/cli.ts";
import { type FakeSso, startFakeSso } from "../support/fake-sso.ts";
import { runInPty } from "../support/pty.ts";

let sso: FakeSso;
beforeAll(async () => {
  sso = await startFakeSso({ interval: 1, deviceCodeExpiresIn: 600 });
});
afterAll(() => sso?.stop());

function setup() {
  const sb = sandbox({
    AWS_ENDPOINT_URL_SSO: sso.portalEndpoint,
    AWS_ENDPOINT_URL_SSO_OIDC: sso.oidcEndpoint,
    TERM: "xterm-256color",
  });
  writeFileSync(
    sb.configPath,
    "[profile dev]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = eu-west-1\nsso_account_id = 111111111111\nsso_role_name = Admin\n",
  );
  // A browser that opens nothing: nobody approves.
  const browser = join(sb.home, "browser.sh");
  writeFileSync(browser, "#!/bin/sh\nexit 0\n", { mode: 0o755 });
  return { sb, env: { ...sb.env, BROWSER: browser } };
}

function lockFiles(home: string): string[] {
  const dir = join(home, ".awsvault", "locks");
  return existsSync(dir) ? readdirSync(dir) : [];
}

describe.each(ARTIFACTS)("SSO wait ($name)", (artifact) => {
  it("shows the code and a spinner; Ctrl-C cancels with exit 130 and releases the lock", async () => {
    const { sb, env } = setup();
    const r = await runInPty([...artifact.argv, "exec", "--use-device-code", "dev", "--", "true"], env, [
      { expect: /waiting for approval in the browser \(expires in 10m\)/, send: "\u0003" },
    ]);
    expect(r.code, r.output).toBe(130);
    expect(r.output).toMatch(/Check that the page shows this code:\r\n[A-Z]{4}-[A-Z]{4}\r\n/);
    expect(r.output).toMatch(/[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]/);
    expect(r.output).toMatch(/aws-vault: error: exec: .*cancelled/);
    expect(lockFiles(sb.home)).toEqual([]);
  });

  it("without a terminal: plain lines on stderr, nothing on stdout", async () => {
    const { env } = setup();
    let stop = false;
    const approver = (async () => {
      while (!stop) {
        for (const code of sso.pendingUserCodes()) sso.approve(code);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const r = await run(artifact, ["export", "--use-device-code", "--format", "json", "dev"], { env });
    stop = true;
    await approver;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/\nCheck that the page shows this code:\n[A-Z]{4}-[A-Z]{4}\nwaiting for approval in the browser \(expires in 10m\)\n$/);
    expect(r.stderr).not.toMatch(/[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]|\u001b/);
    expect(JSON.parse(r.stdout)).toMatchObject({ Version: 1 });
  });
});
