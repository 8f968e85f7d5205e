// Issue 9 item 7 on the built artifacts: export-env survives eval; env refuses a line break.
import { execFileSync } from "node:child_process";
import { appendFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ARTIFACTS, run, sandbox } from "../support/cli.ts";

const ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE";
const SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

describe.each(ARTIFACTS)("export quoting ($name)", (artifact) => {
  async function setup() {
    const sb = sandbox();
    const add = await run(artifact, ["add", "--env", "--no-add-config", "alice"], {
      env: { ...sb.env, AWS_ACCESS_KEY_ID: ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY: SECRET },
    });
    expect(add.code, add.stderr).toBe(0);
    return sb;
  }

  it("a region from the config with shell syntax is assigned, not run, by eval", async () => {
    const sb = await setup();
    const marker = join(sb.home, "pwned");
    const region = `us-east-1$(touch\${IFS}${marker})`;
    appendFileSync(sb.configPath, `[profile alice]\nregion = ${region}\n`);
    const env = { ...sb.env, AWS_DEFAULT_REGION: undefined };
    const r = await run(artifact, ["export", "--no-session", "--format", "export-env", "alice"], { env });
    expect(r.code, r.stderr).toBe(0);
    const assigned = execFileSync("/bin/sh", ["-c", 'eval "$(cat)"; printf "%s|%s" "$AWS_REGION" "$AWS_SECRET_ACCESS_KEY"'], {
      input: r.stdout,
      encoding: "utf8",
      env: { PATH: "/usr/bin:/bin" },
    });
    expect(existsSync(marker)).toBe(false);
    expect(assigned).toBe(`${region}|${SECRET}`);
    expect(r.stdout).toContain(`export AWS_ACCESS_KEY_ID=${ACCESS_KEY_ID}\nexport AWS_SECRET_ACCESS_KEY=${SECRET}\n`);
  });

  it("--format env refuses a region with a line break, naming the variable", async () => {
    const sb = await setup();
    appendFileSync(sb.configPath, `[profile alice]\n`);
    const r = await run(artifact, ["export", "--no-session", "--region", "us-east-1\n[evil]", "alice"], { env: sb.env });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe(
      "aws-vault: error: export: profile alice: the value of AWS_REGION contains a line break or NUL, which --format env cannot represent\n" +
        "aws-vault: hint: correct the value (for AWS_REGION: the profile's region or --region), or use --format export-env or json\n",
    );
  });
});
