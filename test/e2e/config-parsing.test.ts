// Config files that aws-vault and the AWS CLI accept must work here too (issue 9), on both artifacts.
import { writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ARTIFACTS, awsEnv, run, sandbox } from "../support/cli.ts";

const KEY_ID = "AKIAEXAMPLEKEY000009";
const SECRET = "exampleSecretKey/000000000000000000000009";

const CONFIG = [
  "[default]",
  "region = us-east-1",
  "[profile nested]",
  "foo =",
  "  bare",
  "  [profile hidden]",
  "region = eu-west-1",
  "[profile constructor]",
  "[profile __proto__]",
  "[profile prototype]",
  "[ profile not-a-profile]",
  "[profile  spaced ]",
  '[profile "with space"]',
  "[profile tagged]",
  "session_tags = =1",
  "[profile role]",
  "source_profile = tagged",
  "role_arn = arn:aws:iam::123456789012:role/r",
  "session_tags = =1",
  "",
].join("\n");

describe.each(ARTIFACTS)("config parsing ($name)", (artifact) => {
  it("lists the profiles the AWS CLI sees, with nested text and Object.prototype names", async () => {
    const sb = sandbox();
    writeFileSync(sb.configPath, CONFIG);
    const r = await run(artifact, ["list", "--profiles"], { env: sb.env });
    expect(r).toMatchObject({ code: 0, stderr: "" });
    expect(r.stdout.split("\n").filter(Boolean)).toEqual([
      "default",
      "nested",
      "constructor",
      "__proto__",
      "prototype",
      "spaced",
      "with space",
      "tagged",
      "role",
    ]);
  });

  it("stores and exports credentials for profiles named __proto__ and constructor", async () => {
    const sb = sandbox();
    writeFileSync(sb.configPath, CONFIG);
    for (const name of ["__proto__", "constructor"]) {
      const add = await run(artifact, ["add", "--env", name], {
        env: { ...sb.env, AWS_ACCESS_KEY_ID: KEY_ID, AWS_SECRET_ACCESS_KEY: SECRET },
      });
      expect(add).toMatchObject({ code: 0, stdout: `Added credentials to profile "${name}" in vault\n` });
      const exp = await run(artifact, ["export", "--no-session", name], { env: sb.env });
      expect(exp.stderr).toBe("");
      expect(awsEnv(exp.stdout).AWS_ACCESS_KEY_ID).toBe(KEY_ID);
    }
  });

  it("points at an unquoted [profile a b] when profile 'a b' is not found", async () => {
    const sb = sandbox();
    writeFileSync(sb.configPath, "[profile a b]\nregion = eu-west-1\n");
    const r = await run(artifact, ["export", "--no-session", "a b"], { env: sb.env });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`profile 'a b' not found in ${sb.configPath} and no stored credentials exist for it`);
    expect(r.stderr).toContain('aws-vault: hint: [profile a b] is not read, as the AWS CLI does not read it: quote the name, [profile "a b"]');
  });

  it("ignores bad session_tags where no role is assumed, and names the role profile where one is", async () => {
    const sb = sandbox();
    writeFileSync(sb.configPath, CONFIG);
    await run(artifact, ["add", "--env", "tagged"], {
      env: { ...sb.env, AWS_ACCESS_KEY_ID: KEY_ID, AWS_SECRET_ACCESS_KEY: SECRET },
    });
    const plain = await run(artifact, ["export", "--no-session", "tagged"], { env: sb.env });
    expect(plain.stderr).toBe("");
    expect(plain.code).toBe(0);
    expect(awsEnv(plain.stdout).AWS_ACCESS_KEY_ID).toBe(KEY_ID);
    // No STS endpoint exists in this sandbox: the error must come before any call.
    const role = await run(artifact, ["export", "--no-session", "role"], {
      env: { ...sb.env, AWS_ENDPOINT_URL: "http://127.0.0.1:9" },
    });
    expect(role.code).toBe(1);
    expect(role.stderr).toContain("Failed to parse session_tags profile setting in profile 'role'");
    expect(role.stderr.trim().split("\n")[0]).toMatch(/^aws-vault: error: export: /);
    expect(role.stderr).not.toContain(SECRET);
  });
});
