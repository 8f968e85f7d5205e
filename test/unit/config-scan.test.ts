// config/scan.ts loads only the sections one profile needs. Whatever the file, resolving that
// profile must give exactly what the full parse gives: the same ProfileConfig chain, the same
// endpoints, the same debug lines and the same errors (parse errors included, line numbers and all).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ConfigFile, ConfigLoader, type EndpointService, profileExists, serviceEndpoint } from "../../src/vault/config/loader.ts";
import type { ProfileConfig } from "../../src/vault/config/profile.ts";
import { configForList, configForProfile } from "../../src/vault/config/scan.ts";

const FILE = "/home/u/.aws/config";
const SERVICES: EndpointService[] = ["sts", "sso", "sso_oidc"];

/** Everything resolution yields for one profile, as plain data (or the error it throws). */
function resolveAll(load: () => ConfigFile, profile: string): unknown {
  const logs: string[] = [];
  try {
    const file = load();
    const loader = new ConfigLoader({ file, baseConfig: {}, env: {}, activeProfile: profile, log: (m) => logs.push(m) });
    const chain: unknown[] = [];
    for (let c: ProfileConfig | undefined = loader.getProfileConfig(profile); c; c = c.sourceProfile) {
      const { sourceProfile: _s, chainedFromProfile: _c, ...own } = c;
      chain.push({ ...own, endpoints: SERVICES.map((svc) => serviceEndpoint(file, c as ProfileConfig, svc, {})) });
    }
    return { chain, exists: profileExists(file, profile), logs };
  } catch (e) {
    return { error: `${(e as Error).constructor.name}: ${(e as Error).message}`, logs };
  }
}

function same(text: string, profiles: string[]): void {
  for (const p of profiles) {
    expect(resolveAll(() => configForProfile(text, FILE, p), p), p).toEqual(resolveAll(() => ConfigFile.fromText(text, FILE), p));
  }
}

const NAMES = ["default", "a", "b", "c", "root", "missing"];

describe("configForProfile (only the sections a profile needs)", () => {
  it("resolves chains, includes, repeated headers, sso-sessions and services as the full parse", () => {
    const text = [
      "; leading comment",
      "[default]",
      "region = eu-west-1",
      "mfa_serial = arn:aws:iam::1:mfa/d",
      "[profile root]",
      "source_profile = root",
      "[profile a]",
      "source_profile = b",
      "role_arn = arn:aws:iam::1:role/a",
      "include_profile = c",
      "services = local",
      "[sso-session corp]",
      "sso_start_url = https://corp.example/start",
      "sso_region = us-east-1",
      "[profile b]",
      "sso_session = corp",
      "include_profile = root",
      "[preview]",
      "cloudfront = true",
      "[services local]",
      "sts =",
      "  endpoint_url = http://127.0.0.1:1",
      "[profile c]",
      "duration_seconds = 900",
      "[profile a]",
      "region = ap-south-1 ; last value wins",
      "[profile unrelated]",
      "source_profile = a",
      "[profile loop1]",
      "include_profile = loop2",
      "[profile loop2]",
      "include_profile = loop1",
    ].join("\n");
    same(text, [...NAMES, "unrelated", "loop1", "loop2", "corp", "local"]);
  });

  it("reports a malformed line anywhere with the full parse's error", () => {
    same("[profile a]\nregion = x\n[profile z]\nthis line is broken\n", ["a"]);
    same("[profile a]\nregion = x\n[profile z\n", ["a"]);
    same("[profile a]\n[profile __proto__]\nx = 1\n", ["a"]);
    same("[profile a]\n[other]\n = 1\n", ["a"]);
    same("[profile a]\n  nested = 1\ns3 =\n  broken\n", ["a"]);
  });

  it("an indented header under an empty value is nested text, as in the full parse", () => {
    same("[profile a]\ns3 =\n  [profile b]\n  region = nested\nregion = a\n[profile b]\nregion = b\n", ["a", "b"]);
    same("[profile a]\nregion = a\n  [profile b]\nregion = b\n", ["a", "b"]);
  });

  it("falls back to the full parse for CR line breaks, BOMs and non-ASCII keys", () => {
    same("\uFEFF[profile a]\r\nregion = x\r[profile b]\rsource_profile = a\n", ["a", "b"]);
    same("[profile a]\n\u00a0[profile b]\nregion = y\n", ["a", "b"]);
    same("[profile a]\nrégion = x\n", ["a"]);
  });

  it("matches the full parse on generated configs", () => {
    const line = fc.oneof(
      fc.constantFrom(
        "[default]", "[profile a]", "[profile b]", "[profile c]", "[ profile root ]", "[sso-session a]", "[services b]",
        "[DEFAULT]", "[preview]", "  [profile a]", "# c", "; c", "", "  ", "s3 =", "sts =", "  endpoint_url = http://x",
        "region = r1", "region=r2", "REGION: r3", "source_profile = a", "source_profile = b", "source_profile = root",
        "include_profile = b", "include_profile = c", "include_profile = default", "sso_session = a", "services = b",
        "role_arn = arn:aws:iam::1:role/x", "mfa_serial = m", "duration_seconds = 900", "endpoint_url = http://e",
        "sso_start_url = https://s", "region = 'quoted' # comment", "  region = indented", "\tsource_profile = c",
        "  [profile b]", '[profile "a"]', "[profile 'c' x]", "[profile  root]", "[sso-session 'a']", "s3 = ''", "  bare text",
      ),
      fc.tuple(fc.constantFrom("region", "source_profile", "include_profile", "x"), fc.string({ maxLength: 6 })).map(([k, v]) => `${k} = ${v}`),
      fc.string({ maxLength: 12 }),
    );
    fc.assert(
      fc.property(fc.array(line, { maxLength: 40 }), (lines) => {
        same(lines.join("\n"), NAMES);
      }),
      { numRuns: 300 },
    );
  });
});

/** What `list` reads from a config (without SSO tokens): the profile names, and each one's login_session. */
function listView(load: () => ConfigFile): unknown {
  try {
    const file = load();
    return file.profileNames().map((n) => [n, file.profileSection(n)?.["login_session"]]);
  } catch (e) {
    return { error: `${(e as Error).constructor.name}: ${(e as Error).message}` };
  }
}

describe("configForList (headers, [default] and login_session only)", () => {
  const sameList = (text: string) => expect(listView(() => configForList(text, FILE)), text).toEqual(listView(() => ConfigFile.fromText(text, FILE)));

  it("lists the profiles of the full parse, an empty [default] left out, repeated headers once", () => {
    sameList("[default]\n[profile a]\nregion = x\n[profile b]\n[profile a]\nregion = y\n[sso-session s]\nsso_region = r\n");
    sameList("[default]\nregion = x\n[profile default]\n[profile  c]\n[preview]\nx = 1\n");
    sameList("[profile a]\nlogin_session = arn:aws:iam::1:user/a\n[profile b]\n");
    sameList("[profile a]\nregion = x\n[profile z]\nthis line is broken\n");
    sameList("\uFEFF[default]\r\nregion = x\r\n");
  });

  it("matches the full parse on generated configs", () => {
    const line = fc.oneof(
      fc.constantFrom(
        "[default]", "[profile a]", "[profile b]", "[ profile root ]", "[sso-session a]", "[services b]", "[DEFAULT]",
        "[profile default]", "  [profile a]", "# c", "", "s3 =", "  endpoint_url = http://x", "region = r1", "REGION: r3",
        "mfa_serial = m", "login_session = arn:aws:iam::1:user/x", "  bare text", '[profile "a"]', "[profile 'c' x]",
      ),
      fc.string({ maxLength: 12 }),
    );
    fc.assert(
      fc.property(fc.array(line, { maxLength: 30 }), (lines) => {
        sameList(lines.join("\n"));
      }),
      { numRuns: 300 },
    );
  });
});
