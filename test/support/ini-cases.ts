// Config files where aws-vault's go-ini and the AWS CLI (botocore's configloader) disagree (and a few where
// they agree but this tool used to differ), with what
// the AWS CLI makes of them, which is what our parser must produce. test/unit/config-ini.test.ts
// checks our parser against these expectations; test/unit/config-ini-aws-cli.test.ts checks the
// expectations themselves against botocore, so the table cannot drift from the AWS CLI.
import type { IniDocument } from "../../src/vault/config/ini.ts";

export type Values = Record<string, string | Record<string, string>>;

/** The shape of botocore's load_config() result that we compare: name → key → value or nested map. */
export interface SectionMap {
  profiles: Record<string, Values>;
  sso_sessions: Record<string, Values>;
  services: Record<string, Values>;
}

export interface AwsCliCase {
  title: string;
  text: string;
  expected: SectionMap;
  /** What aws-vault v7 (go-ini) does instead, for docs/compatibility.md. */
  goIni: string;
}

const only = (profiles: Record<string, Values>, rest: Partial<SectionMap> = {}): SectionMap => ({
  profiles,
  sso_sessions: rest.sso_sessions ?? {},
  services: rest.services ?? {},
});

export const AWS_CLI_CASES: AwsCliCase[] = [
  {
    title: "whitespace after `[` or before `]` of [default] makes it another section",
    text: "[ default]\nregion = a\n[default ]\nregion = b\n[profile p]\nregion = c\n",
    expected: only({ p: { region: "c" } }),
    goIni: "the same (go-ini does not trim the header; this tool used to)",
  },
  {
    title: "whitespace before `profile` makes it another section",
    text: "[ profile a]\nregion = a\n",
    expected: only({}),
    goIni: "the same (no `profile ` prefix)",
  },
  {
    title: "whitespace around the profile name is dropped (shell-style words)",
    text: "[profile  a]\nregion = a\n[profile b ]\nregion = b\n[profile\tc]\nregion = c\n",
    expected: only({ a: { region: "a" }, b: { region: "b" }, c: { region: "c" } }),
    goIni: "profiles ` a` and `b ` (everything after `profile `); `[profile\\tc]` is ignored",
  },
  {
    title: "a name with a space must be quoted; unquoted it is not a profile",
    text: "[profile a b]\nregion = x\n[profile \"q r\"]\nregion = q\n[profile 's t']\nregion = s\n[profile u\\ v]\nregion = u\n",
    expected: only({ "q r": { region: "q" }, "s t": { region: "s" }, "u v": { region: "u" } }),
    goIni: "`a b` is a profile; the quotes and the backslash are part of the names",
  },
  {
    title: "an unclosed quote or a bare [profile] is not a profile",
    text: "[profile 'x]\nregion = x\n[profile]\nregion = y\n[profile \"a\\\"b\"]\nregion = z\n",
    expected: only({ 'a"b': { region: "z" } }),
    goIni: "profiles `'x` and `\"a\\\"b\"`",
  },
  {
    title: "the header ends at the last `]`; anything starting with `profile` is split into words",
    text: "[profile a]b]\nregion = a\n[profilex y]\nregion = y\n[profile c] ; note\nregion = c\n",
    expected: only({ "a]b": { region: "a" }, y: { region: "y" }, c: { region: "c" } }),
    goIni: "`[profilex y]` is an unrecognised section",
  },
  {
    title: "sso-session and services names follow the same rule",
    text: "[sso-session  s ]\nsso_region = r\n[services \"my svc\"]\nsts =\n  endpoint_url = http://x\n",
    expected: only({}, { sso_sessions: { s: { sso_region: "r" } }, services: { "my svc": { sts: { endpoint_url: "http://x" } } } }),
    goIni: "names ` s` and `\"my svc\"`",
  },
  {
    title: "[profile a.b] inherits nothing from [profile a]",
    text: "[profile a]\nregion = r\nmfa_serial = m\n[profile a.b]\nrole_arn = arn:aws:iam::1:role/x\n",
    expected: only({ a: { region: "r", mfa_serial: "m" }, "a.b": { role_arn: "arn:aws:iam::1:role/x" } }),
    goIni: "a.b is a child section: its missing keys come from [profile a]",
  },
  {
    title: "%(key)s is literal text",
    text: "[profile a]\nregion = eu-west-1\nrole_session_name = s-%(region)s\n",
    expected: only({ a: { region: "eu-west-1", role_session_name: "s-%(region)s" } }),
    goIni: "interpolates: s-eu-west-1",
  },
  {
    title: "backquoted and triple-quoted values keep their quotes",
    text: '[profile a]\nregion = `us-east-1`\nmfa_serial = """arn:aws:iam::1:mfa/u"""\n',
    expected: only({ a: { region: "`us-east-1`", mfa_serial: '"""arn:aws:iam::1:mfa/u"""' } }),
    goIni: "strips them (and reads a backquoted value over several lines)",
  },
  {
    title: "a trailing backslash does not join lines",
    text: "[profile a]\nmfa_serial = arn:aws:iam::1:mfa/\\\nregion = r\n",
    expected: only({ a: { mfa_serial: "arn:aws:iam::1:mfa/\\", region: "r" } }),
    goIni: "joins: mfa_serial = `arn:aws:iam::1:mfa/region = r`",
  },
  {
    title: "quoted key names keep their quotes",
    text: '[profile a]\n"Region" = r\n`mfa_serial` = m\n"x=y" = z\n',
    expected: only({ a: { '"region"': "r", "`mfa_serial`": "m", '"x': 'y" = z' } }),
    goIni: "unquotes them: region, mfa_serial and `x=y`",
  },
  {
    title: "__proto__, constructor and prototype are ordinary names",
    text:
      "[profile __proto__]\n__proto__ = a\nconstructor = b\n[profile constructor]\nprototype =\n  __proto__ = c\n" +
      "[profile prototype]\nregion = r\n[sso-session __proto__]\nsso_region = s\n",
    // Computed keys: a literal `__proto__: x` would set the prototype instead of a property.
    expected: only(
      {
        ["__proto__"]: { ["__proto__"]: "a", constructor: "b" },
        constructor: { prototype: { ["__proto__"]: "c" } },
        prototype: { region: "r" },
      },
      { sso_sessions: { ["__proto__"]: { sso_region: "s" } } },
    ),
    goIni: "the same (these names were refused here before)",
  },
];

/** Our parse result in botocore's shape (a key with nested values maps to them). */
export function toSectionMap(doc: IniDocument): SectionMap {
  const out: SectionMap = { profiles: {}, sso_sessions: {}, services: {} };
  for (const s of doc.sections) {
    const values: Values = {};
    for (const [k, v] of Object.entries(s.values)) {
      const nested = s.nested[k];
      Object.defineProperty(values, k, { value: nested ? { ...nested } : v, enumerable: true, writable: true, configurable: true });
    }
    const target = s.kind === "sso-session" ? out.sso_sessions : s.kind === "services" ? out.services : out.profiles;
    Object.defineProperty(target, s.name, { value: values, enumerable: true, writable: true, configurable: true });
  }
  return out;
}
