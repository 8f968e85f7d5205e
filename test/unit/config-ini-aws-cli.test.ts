// The table of go-ini/AWS CLI disagreements (test/support/ini-cases.ts), checked against the AWS
// CLI's own parser: botocore's configloader.load_config, run by the python3 the AWS CLI uses.
import { execFileSync, spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { profileSectionHeader } from "../../src/vault/config/writer.ts";
import { AWS_CLI_CASES } from "../support/ini-cases.ts";

/** Names `add` may write; the AWS CLI must read each header back as the same name. */
const WRITTEN_NAMES = ["plain", "a]b", "with space", "ünïcode", "prod/admin", "x#y", "o'neil", 'say "hi"', "back\\slash", "__proto__"];

const LOAD_CONFIGS = `
import json, os, sys, tempfile
from botocore.configloader import load_config
out = []
for text in json.load(sys.stdin):
    fd, path = tempfile.mkstemp(suffix=".ini")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    try:
        c = load_config(path)
        out.append({k: c[k] for k in ("profiles", "sso_sessions", "services")})
    except Exception as e:
        out.append({"error": type(e).__name__})
    finally:
        os.unlink(path)
json.dump(out, sys.stdout)
`;

/** Why botocore cannot be imported here, or undefined when it can (CI installs the AWS CLI). */
function botocoreMissing(): string | undefined {
  const r = spawnSync("python3", ["-c", "import botocore.configloader"], { encoding: "utf8" });
  return r.status === 0 ? undefined : `python3 cannot import botocore (${(r.stderr || String(r.error)).trim().split("\n").at(-1)})`;
}

const missing = botocoreMissing();

describe.skipIf(missing !== undefined)(`AWS CLI parser agrees with the table${missing ? ` — skipped: ${missing}` : ""}`, () => {
  const written = WRITTEN_NAMES.map((n) => `${profileSectionHeader(n)}\nregion = r\n`).join("");
  const texts = [...AWS_CLI_CASES.map((c) => c.text), written];
  const results = missing
    ? []
    : (JSON.parse(execFileSync("python3", ["-c", LOAD_CONFIGS], { input: JSON.stringify(texts), encoding: "utf8" })) as unknown[]);

  it.each(AWS_CLI_CASES.map((c, i) => [c.title, i] as const))("%s", (_title, i) => {
    expect(results[i]).toEqual(AWS_CLI_CASES[i]?.expected);
  });

  it("reads the headers that add writes back as the same names", () => {
    const profiles = (results.at(-1) as { profiles: Record<string, unknown> }).profiles;
    expect(Object.keys(profiles)).toEqual(WRITTEN_NAMES);
  });
});
