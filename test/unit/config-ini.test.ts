import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ConfigError } from "../../src/errors.ts";
import { parseIni, shellSplit, type IniDocument, type IniSection } from "../../src/vault/config/ini.ts";
import { AWS_CLI_CASES, toSectionMap } from "../support/ini-cases.ts";

const FILE = "/home/u/.aws/config";

function section(doc: IniDocument, kind: IniSection["kind"], name: string): IniSection {
  const found = doc.sections.find((s) => s.kind === kind && s.name === name);
  if (found === undefined) throw new Error(`no section ${kind} ${name}`);
  return found;
}

function parseError(text: string): ConfigError {
  try {
    parseIni(text, FILE);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error("expected a ConfigError");
}

describe("parseIni sections", () => {
  it("recognises default, profile, sso-session and services sections in file order", () => {
    const doc = parseIni(
      ["[profile b]", "[default]", "[sso-session s]", "[services svc]", "[profile a]", "[preview]", "[DEFAULT]"].join("\n"),
      FILE,
    );
    expect(doc.sections.map((s) => `${s.kind}:${s.name}`)).toEqual([
      "profile:b",
      "default:default",
      "sso-session:s",
      "services:svc",
      "profile:a",
    ]);
    expect(doc.ignoredSections).toEqual(["preview", "DEFAULT"]);
    expect(doc.fileName).toBe(FILE);
  });

  it("treats [DEFAULT] as an ignored section, not [default]", () => {
    const doc = parseIni("[DEFAULT]\nregion = us-east-1\n", FILE);
    expect(doc.sections).toEqual([]);
    expect(doc.ignoredSections).toEqual(["DEFAULT"]);
  });

  it("is case-sensitive for section names", () => {
    const doc = parseIni("[Profile x]\nregion=a\n[profile X]\nregion=b\n[PROFILE y]\n", FILE);
    expect(doc.sections.map((s) => s.name)).toEqual(["X"]);
    expect(doc.ignoredSections).toEqual(["Profile x", "PROFILE y"]);
  });

  it("drops spaces around a profile name and ignores text after the closing bracket", () => {
    const doc = parseIni("[profile  spaced ] ; note\nregion = r\n", FILE);
    expect(section(doc, "profile", "spaced").values.region).toBe("r");
  });

  it("keeps the header of an unrecognised section as written (for the debug line)", () => {
    const doc = parseIni("[ default]\n[profile a b]\n[plugins]\n", FILE);
    expect(doc.ignoredSections).toEqual([" default", "profile a b", "plugins"]);
  });

  it("merges repeated sections into the first, later keys winning", () => {
    const doc = parseIni("[profile a]\nregion = one\n[profile b]\n[profile a]\nregion = two\nmfa_serial = m\n", FILE);
    expect(doc.sections.map((s) => s.name)).toEqual(["a", "b"]);
    expect({ ...section(doc, "profile", "a").values }).toEqual({ region: "two", mfa_serial: "m" });
    expect(section(doc, "profile", "a").line).toBe(1);
  });

  it("ignores keys before the first section and inside ignored sections", () => {
    const doc = parseIni("region = top\n[other]\nregion = x\n[profile a]\n", FILE);
    expect(section(doc, "profile", "a").values).toEqual({});
  });

  it("ignores a profile header with an empty name", () => {
    const doc = parseIni("[profile ]\nregion = x\n", FILE);
    expect(doc.sections).toEqual([]);
  });
});

describe("parseIni keys and values", () => {
  it("lower-cases keys and trims values", () => {
    const doc = parseIni("[profile a]\n  Role_ARN   =   arn:aws:iam::1:role/x   \nREGION=eu-west-1\n", FILE);
    expect({ ...section(doc, "profile", "a").values }).toEqual({ role_arn: "arn:aws:iam::1:role/x", region: "eu-west-1" });
  });

  it("splits at the first delimiter and accepts go-ini's ':' delimiter", () => {
    const doc = parseIni("[profile a]\nsession_tags = a=b,c=d\nregion: us-east-1\n", FILE);
    const values = section(doc, "profile", "a").values;
    expect(values.session_tags).toBe("a=b,c=d");
    expect(values.region).toBe("us-east-1");
  });

  it("skips ; and # full-line comments, including indented ones", () => {
    const doc = parseIni("; top\n# top\n[profile a]\n  # indented\n;region = no\nregion = yes\n", FILE);
    expect({ ...section(doc, "profile", "a").values }).toEqual({ region: "yes" });
  });

  it.each([
    ["region = moon-1 # comment", "moon-1"],
    ["region = moon-1 ; comment", "moon-1"],
    ["region = moon-1\t# comment", "moon-1"],
    ["region = moon-1#not-a-comment", "moon-1#not-a-comment"],
    ["region = moon-1;not-a-comment", "moon-1;not-a-comment"],
    ["sso_start_url = https://x.awsapps.com/start#/", "https://x.awsapps.com/start#/"],
    ["sso_start_url = https://x.awsapps.com/start#/ # trailing", "https://x.awsapps.com/start#/"],
    ["region = #leading", "#leading"],
    ["region =", ""],
    ['region = "quoted value"', "quoted value"],
    ["region = 'single'", "single"],
    ['region = "unbalanced', '"unbalanced'],
    ['region = "a"b"', '"a"b"'],
    ["region = 'a'b'", "'a'b'"],
    ['region = """v"""', '"""v"""'],
    ["region = `v`", "`v`"],
    ["region = %(other)s", "%(other)s"],
    ["region = v\\", "v\\"],
  ])("%s", (line, expected) => {
    const doc = parseIni(`[profile a]\n${line}\n`, FILE);
    expect(section(doc, "profile", "a").values.region ?? section(doc, "profile", "a").values.sso_start_url).toBe(expected);
  });

  it("accepts CRLF line endings and a BOM", () => {
    const doc = parseIni("\uFEFF[profile a]\r\nregion = r\r\n", FILE);
    expect(section(doc, "profile", "a").values.region).toBe("r");
  });

  it("keeps nested values as a map for their key", () => {
    const text = [
      "[profile a]",
      "region = us-east-1",
      "s3 =",
      "  max_concurrent_requests = 10",
      "",
      "  # comment inside the block",
      "\tMax_Queue_Size = 1000 # inline",
      "output = json",
      "[services local]",
      "sts =",
      "  endpoint_url = http://localhost:4566",
      "iam =",
      "  endpoint_url = http://localhost:4567",
    ].join("\n");
    const doc = parseIni(text, FILE);
    const a = section(doc, "profile", "a");
    expect(a.values.s3).toBe("");
    expect({ ...a.nested.s3 }).toEqual({ max_concurrent_requests: "10", max_queue_size: "1000" });
    expect(a.values.output).toBe("json");
    const services = section(doc, "services", "local");
    expect(services.nested.sts?.endpoint_url).toBe("http://localhost:4566");
    expect(services.nested.iam?.endpoint_url).toBe("http://localhost:4567");
  });

  // aws-vault (go-ini) nests any indented line under a key with an empty value; the AWS CLI refuses
  // the whole file when such a line is not `k = v`. Here it is nested text: kept out of the values.
  it.each([
    ["a bare word", "  bare"],
    ["a section header", "  [profile b]"],
    ["an indented header with a tab", "\t[default]"],
    ["a line with only a delimiter's right side", "  = value"],
  ])("keeps %s under an empty value as nested text, not a new section", (_label, line) => {
    const doc = parseIni(`[profile a]\nfoo =\n${line}\n  x = 1\nregion = r\n`, FILE);
    expect(doc.sections.map((s) => `${s.kind}:${s.name}`)).toEqual(["profile:a"]);
    const a = section(doc, "profile", "a");
    expect({ ...a.values }).toEqual({ foo: "", region: "r" });
    expect({ ...a.nested.foo }).toEqual({ x: "1" });
  });

  it("ends a nested block at the first line that is not indented", () => {
    const doc = parseIni("[profile a]\ns3 =\n  bare\n[profile b]\nregion = r\n", FILE);
    expect(doc.sections.map((s) => s.name)).toEqual(["a", "b"]);
    expect(section(doc, "profile", "a").nested.s3).toBeUndefined();
    expect(section(doc, "profile", "b").values.region).toBe("r");
  });

  it("parses an indented line after a non-empty value as a normal key", () => {
    const doc = parseIni("[profile a]\nregion = r\n  mfa_serial = m\n", FILE);
    expect({ ...section(doc, "profile", "a").values }).toEqual({ region: "r", mfa_serial: "m" });
  });

  it("uses null-prototype maps", () => {
    const doc = parseIni("[profile a]\nregion = r\ns3 =\n  x = 1\n", FILE);
    const a = section(doc, "profile", "a");
    expect(Object.getPrototypeOf(a.values)).toBeNull();
    expect(Object.getPrototypeOf(a.nested)).toBeNull();
    expect(Object.getPrototypeOf(a.nested.s3)).toBeNull();
    expect(a.values.toString).toBeUndefined();
  });
});

describe("parseIni errors", () => {
  it("names the file and line for a garbage line", () => {
    const err = parseError("[profile a]\nregion = r\n\n; c\n\n\ngarbage\n");
    expect(err.message).toBe(
      `Error parsing config file ${FILE}: line 7: expected "key = value" or "[section]", got "garbage"`,
    );
  });

  it("reports an unterminated section header", () => {
    const err = parseError("[default]\n[profile a\nregion = r\n");
    expect(err.message).toBe(`Error parsing config file ${FILE}: line 2: unterminated section header "[profile a"`);
  });

  it("rejects an empty key name and an empty section name", () => {
    expect(parseError("[profile a]\n = value\n").message).toMatch(/line 2: missing key name/);
    expect(parseError("[]\n").message).toMatch(/line 1: empty section name/);
  });

  it("truncates the offending text and never echoes values", () => {
    const long = "x".repeat(200);
    const err = parseError(`[profile a]\n${long}\n`);
    expect(err.message).toContain(`got "${"x".repeat(40)}..."`);
    expect(err.message.length).toBeLessThan(160);
  });

  it("masks secret-shaped garbage", () => {
    const err = parseError("[profile a]\nwJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n");
    expect(err.message).not.toContain("wJalrXUtnFEMI");
  });
});

describe("parseIni names", () => {
  it.each(["__proto__", "constructor", "prototype", "toString", "hasOwnProperty"])("treats %s as an ordinary name", (name) => {
    const doc = parseIni(
      `[profile ${name}]\n${name} = v\n[sso-session ${name}]\nsso_region = r\n[services ${name}]\n${name} =\n  ${name} = n\n`,
      FILE,
    );
    expect(doc.sections.map((s) => `${s.kind}:${s.name}`)).toEqual([`profile:${name}`, `sso-session:${name}`, `services:${name}`]);
    const key = name.toLowerCase(); // key names are case-insensitive, section names are not
    expect(Object.keys(section(doc, "profile", name).values)).toEqual([key]);
    expect(section(doc, "profile", name).values[key]).toBe("v");
    expect(section(doc, "services", name).nested[key]?.[key]).toBe("n");
  });

  // Inputs that would pollute Object.prototype through a parser built on `{}`: `nested[key][k] = v`
  // with key "__proto__" writes to Object.prototype itself.
  it("cannot be made to pollute Object.prototype", () => {
    const doc = parseIni("[profile a]\n__proto__ =\n  polluted = yes\nconstructor =\n  prototype = yes\n", FILE);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype.hasOwnProperty.call(Object.prototype, "polluted")).toBe(false);
    const a = section(doc, "profile", "a");
    expect(Object.getPrototypeOf(a.nested)).toBeNull();
    expect(a.nested["__proto__"]?.polluted).toBe("yes");
    expect(Object.getPrototypeOf(a.nested["__proto__"])).toBeNull();
    expect(a.nested.constructor?.prototype).toBe("yes");
  });
});

describe("parseIni where go-ini and the AWS CLI disagree: as the AWS CLI", () => {
  it.each(AWS_CLI_CASES.map((c) => [c.title, c] as const))("%s", (_title, c) => {
    expect(toSectionMap(parseIni(c.text, FILE))).toEqual(c.expected);
  });
});

describe("shellSplit (Python shlex.split)", () => {
  it.each([
    ["profile a", ["profile", "a"]],
    ["  profile \t a  ", ["profile", "a"]],
    ['profile "a b"', ["profile", "a b"]],
    ["profile 'a \\ b'", ["profile", "a \\ b"]],
    ['profile "a\\"b\\\\c\\d"', ["profile", 'a"b\\c\\d']],
    ["profile a\\ b", ["profile", "a b"]],
    ["profile x''", ["profile", "x"]],
    ["profile ''", ["profile", ""]],
    ['profile a"b c"d', ["profile", "ab cd"]],
    ["", []],
  ])("%j", (text, words) => {
    expect(shellSplit(text)).toEqual(words);
  });

  it.each(["profile 'x", 'profile "x', "profile x\\", 'profile "x\\"'])("%j does not split (shlex raises)", (text) => {
    expect(shellSplit(text)).toBeUndefined();
  });
});

describe("parseIni property", () => {
  const lineArb = fc.oneof(
    fc.string({ maxLength: 30 }),
    fc.constantFrom("[default]", "[profile a]", "[profile __proto__]", "[sso-session s]", "[services x]", "[", "]", "=", "  k = v", "s3 =", "# c", "; c", "__proto__ = 1", "__proto__ =", "constructor =", "  prototype = 1", "  polluted = 1", "\t", "\r"),
    fc.tuple(fc.string({ maxLength: 10 }), fc.string({ maxLength: 10 })).map(([k, v]) => `${k} = ${v}`),
  );

  it("throws nothing but ConfigError on arbitrary input, and never touches Object.prototype", () => {
    const before = Object.getOwnPropertyNames(Object.prototype).sort();
    fc.assert(
      fc.property(fc.array(lineArb, { maxLength: 30 }), fc.constantFrom("\n", "\r\n", "\r"), (lines, eol) => {
        try {
          const doc = parseIni(lines.join(eol), FILE);
          for (const s of doc.sections) {
            expect(Object.getPrototypeOf(s.values)).toBeNull();
          }
        } catch (e) {
          if (!(e instanceof ConfigError)) throw e;
          expect(e.message.startsWith(`Error parsing config file ${FILE}: line `)).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(before);
  });
});
