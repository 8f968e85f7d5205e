// The table of go-ini/AWS CLI disagreements (test/support/ini-cases.ts), checked against the AWS
// CLI's own parser: botocore's configloader.load_config, run by the python3 the AWS CLI uses.
import { execFileSync, spawnSync } from "node:child_process";
import { isDeepStrictEqual } from "node:util";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseIni } from "../../src/vault/config/ini.ts";
import { profileSectionHeader } from "../../src/vault/config/writer.ts";
import { AWS_CLI_CASES, toSectionMap } from "../support/ini-cases.ts";

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

// Random configs drawn from the part of the format where aws-vault's rules and the AWS CLI's agree
// with ours by design (no inline comments, no surrounding quotes on values, no repeated sections or
// keys, indentation only in nested blocks, no [DEFAULT]): our parser must read each as botocore does.
describe.skipIf(missing !== undefined)("random configs read as the AWS CLI reads them", () => {
  const word = fc.stringMatching(/^[A-Za-z0-9_./@+-]{1,8}$/);
  const value = fc.oneof(
    fc.constant(""),
    fc.array(fc.stringMatching(/^[A-Za-z0-9_./@+%()=:`\\*-]{1,10}$/).filter((t) => !/^[#;"']/.test(t)), { minLength: 1, maxLength: 3 }).map((ts) =>
      ts.join(" "),
    ),
  );
  const key = fc.stringMatching(/^[A-Za-z][A-Za-z0-9_-]{0,11}$/);
  const section = fc.record({
    kind: fc.constantFrom("profile", "sso-session", "services", "default", "other"),
    name: word,
    spaces: fc.constantFrom(" ", "  ", "\t"),
    keys: fc.uniqueArray(fc.tuple(key, value, fc.uniqueArray(fc.tuple(key.map((k) => k.toLowerCase()), value), { maxLength: 3, selector: (t) => t[0] })), {
      maxLength: 5,
      selector: (t) => t[0].toLowerCase(),
    }),
    form: fc.nat(4),
    delimiter: fc.constantFrom(" = ", "=", " : ", ":"),
  });
  const configs = fc.sample(
    fc.uniqueArray(section, { maxLength: 6, selector: (s) => (s.kind === "default" ? "default" : `${s.kind} ${s.name}`) }),
    { numRuns: 150, seed: 9 },
  );

  function render(sections: typeof configs[number]): string {
    const out: string[] = ["# generated"];
    for (const s of sections) {
      const forms = [s.name, ` ${s.name}`, `${s.name} `, `"${s.name}"`, `'${s.name}'`];
      if (s.kind === "default") out.push("[default]");
      else if (s.kind === "other") out.push(`[${s.name}]`);
      else out.push(`[${s.kind}${s.spaces}${forms[s.form] ?? s.name}]`);
      for (const [k, v, nested] of s.keys) {
        if (v === "" && nested.length > 0) {
          out.push(`${k}${s.delimiter.trimEnd()}`);
          for (const [nk, nv] of nested) out.push(`  ${nk} = ${nv}`.trimEnd());
        } else {
          out.push(`${k}${s.delimiter}${v}`.trimEnd());
        }
      }
      out.push("");
    }
    return out.join("\n");
  }

  const texts = configs.map(render);
  const results = missing
    ? []
    : (JSON.parse(execFileSync("python3", ["-c", LOAD_CONFIGS], { input: JSON.stringify(texts), encoding: "utf8", maxBuffer: 64 << 20 })) as unknown[]);

  it("agrees on every one of 150 configs", () => {
    // The sample is not trivial: most configs have profiles with keys, some nested blocks.
    const withKeys = results.filter((r) => Object.values((r as { profiles: Record<string, object> }).profiles ?? {}).some((p) => Object.keys(p).length > 0));
    expect(withKeys.length).toBeGreaterThan(50);
    expect(texts.filter((t) => /\n  \w/.test(t)).length).toBeGreaterThan(20);
    const disagreements = texts
      .map((text, i) => ({ text, ours: toSectionMap(parseIni(text, "/config")), theirs: results[i] }))
      .filter((c) => !isDeepStrictEqual(c.ours, c.theirs));
    expect(disagreements.slice(0, 2)).toEqual([]);
  });
});
