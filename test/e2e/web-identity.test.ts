// Issue 4 (web identity) end to end against the fake STS: the token from web_identity_token_file
// or web_identity_token_process (trailing newline trimmed), an unsigned AssumeRoleWithWebIdentity,
// and the session cached as sts.AssumeRoleWithWebIdentity (§4.1).
import { appendFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ARTIFACTS, type Artifact, type CliResult, run, type Sandbox, sandbox, awsEnv } from "../support/cli.ts";
import { shQuote } from "../support/fake-runtime.ts";
import { type FakeSts, startFakeSts } from "../support/fake-sts.ts";

const ROLE = "arn:aws:iam::444444444444:role/WebRole";

let sts: FakeSts;
beforeAll(async () => {
  sts = await startFakeSts({ users: [], roles: { [ROLE]: { maxSessionDuration: 4 * 3600 } } });
});
afterAll(() => sts?.stop());
beforeEach(() => sts.resetCalls());

/** An unsigned JWT with the claims the fake reads. */
function jwt(claims: Record<string, unknown>): string {
  const part = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
  return `${part({ alg: "RS256", typ: "JWT" })}.${part(claims)}.c2lnbmF0dXJl`;
}

interface WiVault {
  sb: Sandbox;
  token: string;
  run(args: string[]): Promise<CliResult>;
  processRuns(): number;
}

function setup(artifact: Artifact): WiVault {
  const sb = sandbox({ AWS_ENDPOINT_URL: sts.endpoint });
  const token = jwt({ iss: "https://token.actions.githubusercontent.com", sub: "repo:acme/app:ref:refs/heads/main", aud: "sts.amazonaws.com", exp: Math.floor(Date.now() / 1000) + 3600 });
  const tokenFile = join(sb.home, "token.jwt");
  writeFileSync(tokenFile, `${token}\n`);
  const counter = join(sb.home, "process-runs");
  writeFileSync(counter, "");
  writeFileSync(
    sb.configPath,
    `[profile wi-file]
role_arn = ${ROLE}
web_identity_token_file = ${tokenFile}
role_session_name = ci-job

[profile wi-process]
role_arn = ${ROLE}
web_identity_token_process = echo run >> ${shQuote(counter)}; cat ${shQuote(tokenFile)}
duration_seconds = 7200
`,
  );
  return {
    sb,
    token,
    run: (args) => run(artifact, args, { env: sb.env }),
    processRuns: () => readFileSync(counter, "utf8").split("\n").filter(Boolean).length,
  };
}


describe.each(ARTIFACTS)("web identity ($name)", (artifact) => {
  it("web_identity_token_file: the trimmed token is sent unsigned, and the session is cached", async () => {
    const v = setup(artifact);
    const r = await v.run(["exec", "wi-file", "--", "env"]);
    expect(r.code, r.stderr).toBe(0);
    const calls = sts.calls("AssumeRoleWithWebIdentity");
    expect(calls).toHaveLength(1);
    expect(calls[0]!.status).toBe(200);
    expect(calls[0]!.accessKeyId).toBeUndefined();
    expect(calls[0]!.params).toMatchObject({ RoleArn: ROLE, RoleSessionName: "ci-job", DurationSeconds: "3600", WebIdentityToken: v.token });
    const issued = sts.issued().find((c) => c.accessKeyId === awsEnv(r.stdout).AWS_ACCESS_KEY_ID);
    expect(issued?.source).toBe("AssumeRoleWithWebIdentity");
    expect(awsEnv(r.stdout).AWS_SESSION_TOKEN).toBe(issued?.sessionToken);

    const again = await v.run(["exec", "wi-file", "--", "env"]);
    expect(again.code, again.stderr).toBe(0);
    expect(awsEnv(again.stdout).AWS_ACCESS_KEY_ID).toBe(issued?.accessKeyId);
    expect(sts.calls()).toHaveLength(1);
    const sessions = await v.run(["list", "--sessions"]);
    expect(sessions.stdout).toMatch(/^sts\.AssumeRoleWithWebIdentity:59m\d+s\n$/);
  });

  it("web_identity_token_process: runs once per session, duration_seconds is honoured", async () => {
    const v = setup(artifact);
    for (let i = 0; i < 2; i++) {
      const r = await v.run(["exec", "wi-process", "--", "true"]);
      expect(r.code, r.stderr).toBe(0);
    }
    expect(v.processRuns()).toBe(1);
    const calls = sts.calls("AssumeRoleWithWebIdentity");
    expect(calls).toHaveLength(1);
    expect(calls[0]!.params).toMatchObject({ DurationSeconds: "7200", WebIdentityToken: v.token });
    expect(calls[0]!.params.RoleSessionName).toMatch(/^\d+$/);
  });

  it("a rejected token fails with STS's error and caches nothing", async () => {
    const v = setup(artifact);
    appendFileSync(v.sb.configPath, `\n[profile wi-bad]\nrole_arn = ${ROLE}\nweb_identity_token_process = echo not-a-jwt\n`);
    const r = await v.run(["exec", "wi-bad", "--", "true"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`profile wi-bad: AssumeRoleWithWebIdentity ${ROLE} failed: InvalidIdentityToken: Couldn't parse web identity token.`);
    expect((await v.run(["list", "--sessions"])).stdout).toBe("");
  });

  it("a missing token file is reported with the profile and the path", async () => {
    const v = setup(artifact);
    appendFileSync(v.sb.configPath, `\n[profile wi-missing]\nrole_arn = ${ROLE}\nweb_identity_token_file = /nonexistent/token\n`);
    const r = await v.run(["exec", "wi-missing", "--", "true"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("profile wi-missing: cannot read web_identity_token_file /nonexistent/token: ENOENT");
    expect(sts.calls()).toEqual([]);
  });
});
