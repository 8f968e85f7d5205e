// Issue 9 item 11 on the built artifacts: an out-of-range duration_seconds fails before the MFA
// prompt or any STS call (the endpoint is a closed loopback port: a call would fail differently).
import { appendFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ARTIFACTS, run, sandbox } from "../support/cli.ts";

describe.each(ARTIFACTS)("duration_seconds is range-checked first ($name)", (artifact) => {
  it.each(["60", "999999"])("duration_seconds = %s", async (v) => {
    const sb = sandbox({ AWS_ENDPOINT_URL: "http://127.0.0.1:1" });
    const add = await run(artifact, ["add", "--env", "alice"], {
      env: { ...sb.env, AWS_ACCESS_KEY_ID: "AKIAIOSFODNN7EXAMPLE", AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" },
    });
    expect(add.code, add.stderr).toBe(0);
    appendFileSync(
      sb.configPath,
      `\n[profile admin]\nsource_profile = alice\nrole_arn = arn:aws:iam::123456789012:role/admin\nmfa_serial = arn:aws:iam::123456789012:mfa/alice\nduration_seconds = ${v}\n`,
    );
    const r = await run(artifact, ["export", "admin"], { env: sb.env });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `aws-vault: error: export: invalid duration_seconds ${v} in profile 'admin' of ${sb.configPath}: roles allow 900 to 43200 seconds (15m to 12h)\n` +
        "aws-vault: hint: set duration_seconds within that range (and at most the role's maximum session duration), or remove it\n",
    );
  });
});
