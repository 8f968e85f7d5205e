// Issue 5 (credential_process as a source) end to end: temporary credentials are cached as
// `credential_process` sessions (§4.1) so the process runs once per session; long-lived keys are
// accepted as the AWS CLI accepts them and never cached; invalid output is rejected naming the
// profile and the rule, never echoing the output; process credentials can source a role.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ARTIFACTS, type Artifact, type CliResult, run, type Sandbox, sandbox, awsEnv } from "../support/cli.ts";
import { shQuote } from "../support/fake-runtime.ts";
import { type FakeSts, type MasterUser, startFakeSts } from "../support/fake-sts.ts";

const ROLE = "arn:aws:iam::555555555555:role/FromProcess";
const USER: MasterUser = {
  accessKeyId: "AKIAPROCESSUSER00001",
  secretAccessKey: "pRoCeSsSeCrEt0000000000000000000000000000",
  arn: "arn:aws:iam::555555555555:user/process",
};

let sts: FakeSts;
beforeAll(async () => {
  sts = await startFakeSts({ users: [USER], roles: { [ROLE]: {} } });
});
afterAll(() => sts?.stop());
beforeEach(() => sts.resetCalls());

interface CpVault {
  sb: Sandbox;
  run(args: string[]): Promise<CliResult>;
  /** Writes a credential_process script that counts its runs and prints `output`; returns the command. */
  script(name: string, output: string, opts?: { exitCode?: number; stderr?: string }): string;
  runs(name: string): number;
}

function setup(artifact: Artifact): CpVault {
  const sb = sandbox({ AWS_ENDPOINT_URL: sts.endpoint });
  const counter = (name: string) => join(sb.home, `${name}.runs`);
  return {
    sb,
    run: (args) => run(artifact, args, { env: sb.env }),
    script(name, output, opts = {}) {
      const out = join(sb.home, `${name}.json`);
      writeFileSync(out, output);
      writeFileSync(counter(name), "");
      const file = join(sb.home, `${name}.sh`);
      writeFileSync(
        file,
        `#!/bin/sh\necho run >> ${shQuote(counter(name))}\n${opts.stderr ? `echo ${shQuote(opts.stderr)} >&2\n` : ""}cat ${shQuote(out)}\nexit ${opts.exitCode ?? 0}\n`,
        { mode: 0o755 },
      );
      return file;
    },
    runs: (name) => readFileSync(counter(name), "utf8").split("\n").filter(Boolean).length,
  };
}


const inOneHour = () => new Date(Math.floor(Date.now() / 1000 + 3600) * 1000).toISOString().replace(/\.000Z$/, "Z");

describe.each(ARTIFACTS)("credential_process ($name)", (artifact) => {
  it("temporary credentials are cached: the process runs once per session", async () => {
    const v = setup(artifact);
    const expiration = inOneHour();
    const cmd = v.script(
      "temp",
      JSON.stringify({ Version: 1, AccessKeyId: "ASIATEMPORARY0000001", SecretAccessKey: "tempSecret", SessionToken: "tempToken", Expiration: expiration }),
    );
    writeFileSync(v.sb.configPath, `[profile temp]\ncredential_process = ${cmd}\nregion = eu-west-2\n`);
    for (let i = 0; i < 2; i++) {
      const r = await v.run(["exec", "temp", "--", "env"]);
      expect(r.code, r.stderr).toBe(0);
      expect(awsEnv(r.stdout)).toMatchObject({
        AWS_ACCESS_KEY_ID: "ASIATEMPORARY0000001",
        AWS_SECRET_ACCESS_KEY: "tempSecret",
        AWS_SESSION_TOKEN: "tempToken",
        AWS_CREDENTIAL_EXPIRATION: expiration,
      });
    }
    expect(v.runs("temp")).toBe(1);
    expect((await v.run(["list", "--sessions"])).stdout).toMatch(/^credential_process:59m\d+s\n$/);

    // clear drops the session; the next exec runs the process again.
    expect((await v.run(["clear", "temp"])).stdout).toBe("Cleared 1 sessions.\n");
    expect((await v.run(["exec", "temp", "--", "true"])).code).toBe(0);
    expect(v.runs("temp")).toBe(2);
  });

  it("long-lived keys (no Expiration, no SessionToken) are accepted and never cached", async () => {
    const v = setup(artifact);
    const cmd = v.script("static", JSON.stringify({ Version: 1, AccessKeyId: USER.accessKeyId, SecretAccessKey: USER.secretAccessKey }));
    writeFileSync(
      v.sb.configPath,
      `[profile static]\ncredential_process = ${cmd}\n\n[profile role]\nsource_profile = static\nrole_arn = ${ROLE}\n`,
    );
    for (let i = 0; i < 2; i++) {
      const r = await v.run(["exec", "static", "--", "env"]);
      expect(r.code, r.stderr).toBe(0);
      const env = awsEnv(r.stdout);
      expect(env).toMatchObject({ AWS_ACCESS_KEY_ID: USER.accessKeyId, AWS_SECRET_ACCESS_KEY: USER.secretAccessKey });
      expect(env.AWS_SESSION_TOKEN).toBeUndefined();
      expect(env.AWS_CREDENTIAL_EXPIRATION).toBeUndefined();
    }
    expect(v.runs("static")).toBe(2);
    expect((await v.run(["list", "--sessions"])).stdout).toBe("");

    // As a source_profile, the process keys assume a role (no GetSessionToken: they are not keyring keys).
    const role = await v.run(["exec", "role", "--", "env"]);
    expect(role.code, role.stderr).toBe(0);
    expect(sts.calls().map((c) => `${c.action} ${c.accessKeyId} ${c.status}`)).toEqual([`AssumeRole ${USER.accessKeyId} 200`]);
    expect(awsEnv(role.stdout).AWS_ACCESS_KEY_ID).toMatch(/^ASIA/);
  });

  it.each([
    ["not JSON", "SECRET-OUTPUT-1 is not json", "credential_process output is not valid JSON"],
    ["missing secret", JSON.stringify({ Version: 1, AccessKeyId: "SECRET-OUTPUT-2" }), "credential_process output is missing SecretAccessKey"],
    ["Version 2", JSON.stringify({ Version: 2, AccessKeyId: "SECRET-OUTPUT-3", SecretAccessKey: "x" }), "credential_process output has an unsupported Version (only 1 is supported)"],
    [
      "expired",
      JSON.stringify({ Version: 1, AccessKeyId: "SECRET-OUTPUT-4", SecretAccessKey: "x", SessionToken: "t", Expiration: "2020-01-01T00:00:00Z" }),
      "credential_process output has expired credentials (Expiration is in the past)",
    ],
  ])("rejects output that is %s, naming the profile and never echoing it", async (_name, output, message) => {
    const v = setup(artifact);
    const cmd = v.script("bad", output);
    writeFileSync(v.sb.configPath, `[profile bad]\ncredential_process = ${cmd}\n`);
    const r = await v.run(["exec", "bad", "--", "true"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`profile bad: ${message}`);
    expect(r.stderr).not.toContain("SECRET-OUTPUT");
    const debug = await v.run(["--debug", "exec", "bad", "--", "true"]);
    expect(debug.stderr).not.toContain("SECRET-OUTPUT");
  });

  it("a failing process: its stderr passes through, the exit status is reported", async () => {
    const v = setup(artifact);
    const cmd = v.script("fails", "SECRET-OUTPUT-5", { exitCode: 3, stderr: "token expired, run sso login" });
    writeFileSync(v.sb.configPath, `[profile fails]\ncredential_process = ${cmd}\n`);
    const r = await v.run(["exec", "fails", "--", "true"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("token expired, run sso login\n");
    expect(r.stderr).toContain("profile fails: credential_process failed: exit status 3");
    expect(r.stderr).not.toContain("SECRET-OUTPUT");
  });
});
