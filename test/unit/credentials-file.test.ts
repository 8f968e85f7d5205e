import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseCredentialsFile, scrubbedText, splitLines } from "../../src/vault/credentials-file.ts";

describe("credentials file", () => {
  it("splitLines keeps every byte (any mix of line endings)", () => {
    fc.assert(fc.property(fc.string({ unit: fc.constantFrom("a", " ", "\n", "\r", "=", "[", "#") }), (s) => splitLines(s).join("") === s));
  });

  it("scrub removes only the verified key lines and an emptied header; a changed pair is left whole", () => {
    const text = "\uFEFF# top\r\n[a]\r\naws_access_key_id = AKIA1\r\n; keep me\r\naws_secret_access_key = s1\r\n\r\n[b]\naws_access_key_id=AKIA2\nregion = x\naws_secret_access_key=s2\n[c]\naws_access_key_id = AKIA3\naws_secret_access_key = other";
    const file = parseCredentialsFile(text, "creds");
    const out = scrubbedText(
      file,
      new Map([
        ["a", { accessKeyId: "AKIA1", secret: "s1" }],
        ["b", { accessKeyId: "AKIA2", secret: "s2" }],
        ["c", { accessKeyId: "AKIA3", secret: "changed-since" }],
      ]),
    );
    expect(out.text).toBe("\uFEFF# top\r\n; keep me\r\n\r\n[b]\nregion = x\n[c]\naws_access_key_id = AKIA3\naws_secret_access_key = other");
    expect(out.scrubbed.sort()).toEqual(["a", "b"]);
  });

  it("any section or key name is ordinary (no prototype pollution)", () => {
    const f = parseCredentialsFile("[__proto__]\nconstructor = x\n__proto__ = y\n", "c");
    expect(f.sections[0]?.name).toBe("__proto__");
    expect(f.sections[0]?.values.get("__proto__")?.value).toBe("y");
    expect(({} as Record<string, unknown>).y).toBeUndefined();
  });

  it("errors name the file and line", () => {
    expect(() => parseCredentialsFile("[a]\nfoo\n", "/x/creds")).toThrow(/^\/x\/creds:2: expected "key = value"/);
    expect(() => parseCredentialsFile("key = v\n", "/x/creds")).toThrow(/^\/x\/creds:1: a key before the first \[section\]/);
    expect(() => parseCredentialsFile("[a\n", "/x/creds")).toThrow(/^\/x\/creds:1: unterminated/);
  });
});
