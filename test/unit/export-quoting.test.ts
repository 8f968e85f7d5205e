// Issue 9 item 7: export-env is eval'd by a shell, env is read literally by .env consumers.
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { UserError } from "../../src/errors.ts";
import { Secret } from "../../src/util/secret.ts";
import type { Credentials } from "../../src/vault/credentials.ts";
import { formatExport, shellQuote } from "../../src/vault/export-format.ts";

const creds: Credentials = {
  accessKeyId: "AKIAIOSFODNN7EXAMPLE",
  secretAccessKey: new Secret("wJalrXUtnFEMI/K7MDENG/bPxRfiCY+XAMPLE=EY"),
};

/** What `eval "$(cat)"` in a real sh assigns to AWS_REGION (NUL-terminated, so newlines survive). */
function evalRegion(script: string): string {
  return execFileSync("/bin/sh", ["-c", 'eval "$(cat)"; printf "%s\\0" "$AWS_REGION" "$AWS_SECRET_ACCESS_KEY"'], {
    input: script,
    encoding: "utf8",
    env: { PATH: "/usr/bin:/bin" },
  }).split("\0")[0] as string;
}

describe("export --format export-env quoting", () => {
  const nasty = [
    "us-east-1;touch${IFS}/tmp/x",
    "a b",
    "it's",
    "$(id)",
    "`id`",
    "a\nb",
    "'",
    "''",
    "\\",
    "~/x",
    "*",
    "a&b|c>d<e",
    "#hash",
    "",
    "ünïcode",
    "!history",
  ];

  it.each(nasty)("eval assigns exactly %j", (region) => {
    const out = formatExport("export-env", creds, "p", region);
    expect(evalRegion(out)).toBe(region);
  });

  it("prints plain values exactly as aws-vault does", () => {
    expect(formatExport("export-env", creds, "p", "us-east-1")).toBe(
      "export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE\nexport AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCY+XAMPLE=EY\n" +
        "export AWS_REGION=us-east-1\nexport AWS_DEFAULT_REGION=us-east-1\n",
    );
    for (const plain of ["us-gov-west-1", "a_b", "x@y", "50%", "a:b,c.d/e+f=g"]) expect(shellQuote(plain)).toBe(plain);
  });

  it("quotes with single quotes, escaping embedded ones", () => {
    expect(shellQuote("a b")).toBe("'a b'");
    expect(shellQuote("it's")).toBe("'it'\\''s'");
    expect(shellQuote("")).toBe("''");
    expect(shellQuote("~")).toBe("'~'");
  });
});

describe("export --format env refuses what a .env reader would misread", () => {
  it.each(["a\nb", "a\rb", "a\0b", "us-east-1\n[evil]"])("%j", (region) => {
    for (const format of ["env", "ini"] as const) {
      let err: unknown;
      try {
        formatExport(format, creds, "work", region);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(UserError);
      expect((err as Error).message).toBe(
        `profile work: the value of AWS_REGION contains a line break or NUL, which --format ${format} cannot represent`,
      );
    }
  });

  it("keeps other characters literally", () => {
    expect(formatExport("env", creds, "p", "a b;$x'")).toContain("AWS_REGION=a b;$x'\n");
  });
});
