import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError } from "../../src/errors.ts";
import {
  ConfigFile,
  ConfigLoader,
  parseSessionTags,
  parseTransitiveSessionTags,
  profileExists,
  resolveProfileValue,
  serviceEndpoint,
  type EndpointService,
} from "../../src/vault/config/loader.ts";
import { getSessionTokenDuration, isChained, type BaseConfig, type ProfileConfig } from "../../src/vault/config/profile.ts";

const FILE = "/home/u/.aws/config";
const H = 3_600_000;
const TAGS_MESSAGE = "session tags string must be <key1>=<value1>,[<key2>=<value2>[,...]]";

type Env = Record<string, string | undefined>;

interface Setup {
  env?: Env;
  base?: BaseConfig;
  active?: string;
}

function setup(text: string, opts: Setup & { profile?: string } = {}): { loader: ConfigLoader; logs: string[] } {
  const logs: string[] = [];
  const loader = new ConfigLoader({
    file: ConfigFile.fromText(text, FILE),
    baseConfig: opts.base ?? {},
    env: opts.env ?? {},
    activeProfile: opts.active ?? opts.profile ?? "",
    log: (m) => logs.push(m),
  });
  return { loader, logs };
}

function resolve(text: string, profile: string, opts: Setup = {}): ProfileConfig {
  return setup(text, { active: profile, ...opts }).loader.getProfileConfig(profile);
}

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error("expected a ConfigError");
}

const lines = (...l: string[]): string => l.join("\n") + "\n";

describe("profile, session and services names that are Object.prototype members", () => {
  // These once failed every command with "invalid section name". They are ordinary names.
  const text = lines(
    "[profile constructor]",
    "source_profile = __proto__",
    "role_arn = arn:aws:iam::1:role/c",
    "session_tags = prototype=1",
    "[profile __proto__]",
    "include_profile = prototype",
    "sso_session = toString",
    "services = hasOwnProperty",
    "[profile prototype]",
    "region = eu-west-1",
    "[sso-session toString]",
    "sso_start_url = https://x.awsapps.com/start",
    "sso_region = us-east-2",
    "[services hasOwnProperty]",
    "sts =",
    "  endpoint_url = http://localhost:4566",
  );

  it("lists them and resolves chains through them", () => {
    const file = ConfigFile.fromText(text, FILE);
    expect(file.profileNames()).toEqual(["constructor", "__proto__", "prototype"]);
    expect(profileExists(file, "__proto__")).toBe(true);
    expect(profileExists(file, "toString")).toBe(false);
    expect(profileExists(file, "valueOf")).toBe(false);
    const c = resolve(text, "constructor");
    expect(c).toMatchObject({ profileName: "constructor", roleArn: "arn:aws:iam::1:role/c", sessionTags: { prototype: "1" } });
    expect(c.sourceProfile).toMatchObject({
      profileName: "__proto__",
      region: "eu-west-1",
      ssoSession: "toString",
      ssoStartUrl: "https://x.awsapps.com/start",
      ssoRegion: "us-east-2",
    });
    expect(serviceEndpoint(file, "__proto__", "sts", {})).toBe("http://localhost:4566");
    expect(resolveProfileValue(file, "__proto__", "region")).toBe("eu-west-1");
  });

  it("does not find profiles, sessions or services that only Object.prototype has", () => {
    const file = ConfigFile.fromText(lines("[profile a]", "sso_session = valueOf", "services = isPrototypeOf", "include_profile = toString"), FILE);
    const { loader, logs } = setup(lines("[profile a]", "sso_session = valueOf", "services = isPrototypeOf", "include_profile = toString"), { active: "a" });
    const c = loader.getProfileConfig("a");
    expect(c.ssoStartUrl).toBeUndefined();
    expect(logs).toContain("[sso-session] 'valueOf' missing in config file");
    expect(logs).toContain("Profile 'toString' missing in config file");
    expect(serviceEndpoint(file, "a", "sts", {})).toBeUndefined();
  });
});

describe("ConfigFile", () => {
  it("lists profiles in file order, [profile default] as default", () => {
    const file = ConfigFile.fromText(
      lines("[profile b]", "[sso-session s]", "sso_region = x", "[profile default]", "[profile a]", "[other]"),
      FILE,
    );
    expect(file.profileNames()).toEqual(["b", "default", "a"]);
  });

  it("skips [default] when all its recognised keys are empty", () => {
    expect(ConfigFile.fromText(lines("[default]", "output = json", "region =", "[profile a]"), FILE).profileNames()).toEqual([
      "a",
    ]);
    expect(ConfigFile.fromText(lines("[default]", "region = r", "[profile a]"), FILE).profileNames()).toEqual([
      "default",
      "a",
    ]);
  });

  it("names the unquoted header aws-vault would have read for a profile with a space", () => {
    const file = ConfigFile.fromText(lines("[profile a b]", "region = r", '[profile "c d"]'), FILE);
    expect(file.unreadProfileHeader("a b")).toBe("profile a b");
    expect(file.unreadProfileHeader("c d")).toBeUndefined();
    expect(file.hasProfile("a b")).toBe(false);
    expect(file.hasProfile("c d")).toBe(true);
  });

  it("lists default once when both [default] and [profile default] exist", () => {
    const file = ConfigFile.fromText(lines("[default]", "region = r", "[profile default]"), FILE);
    expect(file.profileNames()).toEqual(["default"]);
  });

  it("reads [default] for lookups of default, never [profile default]", () => {
    const onlyProfileDefault = ConfigFile.fromText(lines("[profile default]", "region = p"), FILE);
    expect(onlyProfileDefault.hasProfile("default")).toBe(false);
    expect(onlyProfileDefault.profileSection("default")).toBeUndefined();
    expect(onlyProfileDefault.section("profile", "default")?.values.region).toBe("p");

    const both = ConfigFile.fromText(lines("[profile default]", "region = p", "[default]", "region = d"), FILE);
    expect(both.profileSection("default")?.region).toBe("d");
  });

  it("looks up sections by exact, case-sensitive name", () => {
    const file = ConfigFile.fromText(
      lines("[profile Dev]", "Region = r", "[sso-session S]", "SSO_Region = sr", "[services svc]", "sts =", "  endpoint_url = u"),
      FILE,
    );
    expect(file.hasProfile("Dev")).toBe(true);
    expect(file.hasProfile("dev")).toBe(false);
    expect(file.profileSection("Dev")?.region).toBe("r");
    expect(file.ssoSessionSection("S")?.sso_region).toBe("sr");
    expect(file.ssoSessionSection("s")).toBeUndefined();
    expect(file.servicesSection("svc")?.sts?.endpoint_url).toBe("u");
    expect(profileExists(file, "Dev")).toBe(true);
    expect(profileExists(file, "nope")).toBe(false);
  });

  it("profileExists is true for default only with a [default] section", () => {
    expect(profileExists(ConfigFile.fromText("[default]\n", FILE), "default")).toBe(true);
    expect(profileExists(ConfigFile.fromText("[profile a]\n", FILE), "default")).toBe(false);
  });

  describe("load", () => {
    let dir = "";
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), "config-loader-"));
    });
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it("treats a missing file as empty and does not create it", async () => {
      const path = join(dir, "missing", "config");
      const file = await ConfigFile.load(path);
      expect(file.profileNames()).toEqual([]);
      expect(file.path).toBe(path);
      expect(existsSync(path)).toBe(false);
      expect(ConfigFile.loadSync(path).profileNames()).toEqual([]);
    });

    it("reads and parses an existing file", async () => {
      const path = join(dir, "config");
      await writeFile(path, lines("[profile a]", "region = r"));
      expect((await ConfigFile.load(path)).profileSection("a")?.region).toBe("r");
      expect(ConfigFile.loadSync(path).profileNames()).toEqual(["a"]);
    });

    it("reports parse errors with the real path", async () => {
      const path = join(dir, "broken");
      await writeFile(path, "[profile a]\nnonsense\n");
      await expect(ConfigFile.load(path)).rejects.toThrow(`Error parsing config file ${path}: line 2:`);
    });

    it("wraps read errors other than ENOENT in ConfigError", async () => {
      await expect(ConfigFile.load(dir)).rejects.toBeInstanceOf(ConfigError);
    });
  });
});

describe("ConfigLoader precedence", () => {
  const full = lines(
    "[default]",
    "region = from-default",
    "[profile inc]",
    "region = from-include",
    "[profile p]",
    "include_profile = inc",
    "region = from-section",
  );

  it("flag > env > section > include > default", () => {
    const env = { AWS_REGION: "from-env" };
    expect(resolve(full, "p", { env, base: { region: "from-flag" } }).region).toBe("from-flag");
    expect(resolve(full, "p", { env }).region).toBe("from-env");
    expect(resolve(full, "p").region).toBe("from-section");
    expect(resolve(full.replace("region = from-section", ""), "p").region).toBe("from-include");
    expect(resolve(full.replace("region = from-section", "").replace("region = from-include", ""), "p").region).toBe(
      "from-default",
    );
    expect(resolve(lines("[profile p]"), "p").region).toBeUndefined();
  });

  it("AWS_REGION beats AWS_DEFAULT_REGION, which beats the file", () => {
    expect(resolve(full, "p", { env: { AWS_REGION: "a", AWS_DEFAULT_REGION: "b" } }).region).toBe("a");
    expect(resolve(full, "p", { env: { AWS_DEFAULT_REGION: "b" } }).region).toBe("b");
    expect(resolve(full, "p", { env: { AWS_REGION: "", AWS_DEFAULT_REGION: "" } }).region).toBe("from-section");
  });

  it("applies built-in duration defaults", () => {
    const c = resolve("", "p");
    expect(c.assumeRoleDuration).toBe(H);
    expect(c.nonChainedGetSessionTokenDuration).toBe(H);
    expect(c.getFederationTokenDuration).toBe(H);
    expect(c.chainedGetSessionTokenDuration).toBe(8 * H);
  });

  it("copies flag values to the config", () => {
    const base: BaseConfig = {
      mfaToken: "123456",
      mfaPromptMethod: "terminal",
      assumeRoleDuration: 2 * H,
      nonChainedGetSessionTokenDuration: 3 * H,
      chainedGetSessionTokenDuration: 4 * H,
      getFederationTokenDuration: 5 * H,
      ssoUseStdout: true,
    };
    const c = resolve(lines("[profile p]", "duration_seconds = 900"), "p", {
      base,
      env: { AWS_ASSUME_ROLE_TTL: "10m", AWS_SESSION_TOKEN_TTL: "10m" },
    });
    expect(c).toMatchObject(base);
  });

  it("gives every hop the flag values", () => {
    const c = resolve(lines("[profile a]", "source_profile = b", "[profile b]", "region = rb"), "a", {
      base: { region: "flag", mfaToken: "111111", assumeRoleDuration: 2 * H },
    });
    expect(c.sourceProfile?.region).toBe("flag");
    expect(c.sourceProfile?.mfaToken).toBe("111111");
    expect(c.sourceProfile?.assumeRoleDuration).toBe(2 * H);
  });
});

describe("ConfigLoader env vars", () => {
  const chain = lines(
    "[profile target]",
    "source_profile = src",
    "role_arn = arn:file:target",
    "[profile src]",
    "mfa_serial = file-serial",
    "region = file-region",
  );

  it("applies region, sts endpoints, MFA serial, TTLs and endpoint URL to every hop", () => {
    const env: Env = {
      AWS_REGION: "env-region",
      AWS_STS_REGIONAL_ENDPOINTS: "legacy",
      AWS_MFA_SERIAL: "env-serial",
      AWS_ASSUME_ROLE_TTL: "2h",
      AWS_SESSION_TOKEN_TTL: "3h",
      AWS_CHAINED_SESSION_TOKEN_TTL: "4h",
      AWS_FEDERATION_TOKEN_TTL: "5h",
      AWS_ENDPOINT_URL: "http://localhost:1",
    };
    const target = resolve(chain, "target", { env });
    for (const hop of [target, target.sourceProfile as ProfileConfig]) {
      expect(hop).toMatchObject({
        region: "env-region",
        stsRegionalEndpoints: "legacy",
        mfaSerial: "env-serial",
        assumeRoleDuration: 2 * H,
        nonChainedGetSessionTokenDuration: 3 * H,
        chainedGetSessionTokenDuration: 4 * H,
        getFederationTokenDuration: 5 * H,
        endpointUrl: "http://localhost:1",
      });
    }
  });

  it("applies AWS_ROLE_ARN, AWS_ROLE_SESSION_NAME, AWS_SESSION_TAGS, AWS_TRANSITIVE_TAGS and AWS_SOURCE_IDENTITY only to the active profile", () => {
    const env: Env = {
      AWS_ROLE_ARN: "arn:env",
      AWS_ROLE_SESSION_NAME: "env-session",
      AWS_SESSION_TAGS: "a=1, b = 2",
      AWS_TRANSITIVE_TAGS: "a, b,,",
      AWS_SOURCE_IDENTITY: "env-id",
    };
    const target = resolve(chain.replace("role_arn = arn:file:target\n", ""), "target", { env });
    expect(target).toMatchObject({
      roleArn: "arn:env",
      roleSessionName: "env-session",
      sessionTags: { a: "1", b: "2" },
      transitiveSessionTags: ["a", "b"],
      sourceIdentity: "env-id",
    });
    const src = target.sourceProfile as ProfileConfig;
    expect(src.roleArn).toBeUndefined();
    expect(src.roleSessionName).toBeUndefined();
    expect(src.sessionTags).toBeUndefined();
    expect(src.transitiveSessionTags).toBeUndefined();
    expect(src.sourceIdentity).toBeUndefined();

    // The active profile is whatever the user asked for, even when resolving another profile.
    const { loader } = setup(chain, { env, active: "src" });
    expect(loader.getProfileConfig("src").roleArn).toBe("arn:env");
    expect(loader.getProfileConfig("target").roleArn).toBe("arn:file:target");
  });

  it("lets env beat the file (AWS_ROLE_ARN over role_arn, AWS_MFA_SERIAL over mfa_serial)", () => {
    const target = resolve(chain, "target", { env: { AWS_ROLE_ARN: "arn:env", AWS_MFA_SERIAL: "env-serial" } });
    expect(target.roleArn).toBe("arn:env");
    expect(target.sourceProfile?.mfaSerial).toBe("env-serial");
  });

  it("parses TTL env vars with Go syntax and ignores invalid ones", () => {
    const text = lines("[profile p]", "duration_seconds = 900");
    expect(resolve(text, "p", { env: { AWS_ASSUME_ROLE_TTL: "1h30m" } }).assumeRoleDuration).toBe(1.5 * H);
    expect(resolve(text, "p", { env: { AWS_ASSUME_ROLE_TTL: "90" } }).assumeRoleDuration).toBe(900_000);
    expect(resolve(text, "p", { env: { AWS_ASSUME_ROLE_TTL: "1d" } }).assumeRoleDuration).toBe(900_000);
    expect(resolve(text, "p", { env: { AWS_ASSUME_ROLE_TTL: "0s" } }).assumeRoleDuration).toBe(900_000);
    expect(resolve(text, "p", { env: { AWS_ASSUME_ROLE_TTL: "-1h" } }).assumeRoleDuration).toBe(900_000);
    expect(resolve("", "p", { env: { AWS_SESSION_TOKEN_TTL: "garbage" } }).nonChainedGetSessionTokenDuration).toBe(H);
    expect(resolve("", "p", { env: { AWS_CHAINED_SESSION_TOKEN_TTL: "12h" } }).chainedGetSessionTokenDuration).toBe(12 * H);
    expect(resolve("", "p", { env: { AWS_FEDERATION_TOKEN_TTL: "36h" } }).getFederationTokenDuration).toBe(36 * H);
    expect(
      resolve(text, "p", { env: { AWS_ASSUME_ROLE_TTL: "2h" }, base: { assumeRoleDuration: 3 * H } }).assumeRoleDuration,
    ).toBe(3 * H);
  });

  it("rejects a malformed AWS_SESSION_TAGS for a role profile, naming it", () => {
    const role = lines("[profile p]", "role_arn = arn:aws:iam::1:role/r");
    const err = configError(() => resolve(role, "p", { env: { AWS_SESSION_TAGS: "a=1,b" } }));
    expect(err.message).toBe(`Failed to parse AWS_SESSION_TAGS environment variable for profile 'p': ${TAGS_MESSAGE}`);
    // Not parsed for other hops.
    expect(() => resolve(role, "p", { env: { AWS_SESSION_TAGS: "a=1,b" }, active: "other" })).not.toThrow();
  });

  it("ignores a malformed AWS_SESSION_TAGS where no role is assumed, saying so under --debug", () => {
    const { loader, logs } = setup("", { env: { AWS_SESSION_TAGS: "a=1,b" }, active: "p" });
    expect(loader.getProfileConfig("p").sessionTags).toBeUndefined();
    expect(logs).toContain("Ignoring invalid AWS_SESSION_TAGS in profile 'p': it has no role_arn");
  });

  it("does not fall back to the file's session_tags when AWS_SESSION_TAGS is malformed", () => {
    const text = lines("[profile p]", "role_arn = arn:aws:iam::1:role/r", "session_tags = f=1");
    expect(() => resolve(text, "p", { env: { AWS_SESSION_TAGS: "bad" } })).toThrow(/AWS_SESSION_TAGS/);
  });

  it("lets env session tags beat the file", () => {
    const c = resolve(lines("[profile p]", "session_tags = f=1", "transitive_session_tags = f"), "p", {
      env: { AWS_SESSION_TAGS: "e=2", AWS_TRANSITIVE_TAGS: "e" },
    });
    expect(c.sessionTags).toEqual({ e: "2" });
    expect(c.transitiveSessionTags).toEqual(["e"]);
  });
});

describe("ConfigLoader sections", () => {
  it("maps every honoured key", () => {
    const c = resolve(
      lines(
        "[profile p]",
        "mfa_serial = arn:mfa",
        "mfa_process = echo 123456",
        "role_arn = arn:role",
        "external_id = ext",
        "region = r",
        "role_session_name = sess",
        "duration_seconds = 7200",
        "source_profile = s",
        "sso_session = ss",
        "sso_start_url = https://x.awsapps.com/start#/",
        "sso_region = sr",
        "sso_account_id = 123",
        "sso_role_name = Admin",
        "sso_registration_scopes = sso:account:access",
        "web_identity_token_file = /tok",
        "web_identity_token_process = cat /tok",
        "sts_regional_endpoints = regional",
        "session_tags = k1=v1,k2=v2",
        "transitive_session_tags = k1,k2",
        "source_identity = me",
        "credential_process = cred-helper --json",
        "endpoint_url = http://localhost:4566",
        "services = local",
        "[profile s]",
      ),
      "p",
    );
    expect(c).toMatchObject({
      profileName: "p",
      mfaSerial: "arn:mfa",
      mfaProcess: "echo 123456",
      roleArn: "arn:role",
      externalId: "ext",
      region: "r",
      roleSessionName: "sess",
      assumeRoleDuration: 2 * H,
      sourceProfileName: "s",
      ssoSession: "ss",
      ssoStartUrl: "https://x.awsapps.com/start#/",
      ssoRegion: "sr",
      ssoAccountId: "123",
      ssoRoleName: "Admin",
      ssoRegistrationScopes: "sso:account:access",
      webIdentityTokenFile: "/tok",
      webIdentityTokenProcess: "cat /tok",
      stsRegionalEndpoints: "regional",
      sessionTags: { k1: "v1", k2: "v2" },
      transitiveSessionTags: ["k1", "k2"],
      sourceIdentity: "me",
      credentialProcess: "cred-helper --json",
      endpointUrl: "http://localhost:4566",
      servicesSection: "local",
    });
    expect(c.sourceProfile?.profileName).toBe("s");
  });

  it("reads keys case-insensitively", () => {
    const c = resolve(lines("[profile p]", "Role_ARN = arn:x", "MFA_SERIAL = m"), "p");
    expect(c.roleArn).toBe("arn:x");
    expect(c.mfaSerial).toBe("m");
  });

  it("treats profile names case-sensitively", () => {
    const text = lines("[profile Dev]", "region = upper", "[profile dev]", "region = lower");
    expect(resolve(text, "Dev").region).toBe("upper");
    expect(resolve(text, "dev").region).toBe("lower");
  });

  it("parses duration_seconds as integer seconds and ignores junk", () => {
    expect(resolve(lines("[profile p]", "duration_seconds = 900"), "p").assumeRoleDuration).toBe(900_000);
    for (const junk of ["abc", "1h", "-5", "0", "1.5", "99999999999999999999"]) {
      expect(resolve(lines("[profile p]", `duration_seconds = ${junk}`), "p").assumeRoleDuration).toBe(H);
    }
  });

  it("uses an empty value as unset, so lower levels fill it", () => {
    const c = resolve(lines("[default]", "region = d", "[profile p]", "region ="), "p");
    expect(c.region).toBe("d");
  });

  it("inherits any key from [default]", () => {
    const c = resolve(
      lines(
        "[default]",
        "mfa_serial = default-mfa",
        "role_arn = default-role",
        "source_profile = base",
        "sso_start_url = https://d",
        "sso_account_id = 1",
        "credential_process = d-proc",
        "endpoint_url = http://d",
        "[profile p]",
        "role_arn = own-role",
        "[profile base]",
      ),
      "p",
    );
    expect(c).toMatchObject({
      mfaSerial: "default-mfa",
      roleArn: "own-role",
      sourceProfileName: "base",
      ssoStartUrl: "https://d",
      ssoAccountId: "1",
      credentialProcess: "d-proc",
      endpointUrl: "http://d",
    });
  });

  it("resolves a missing profile from [default] and logs it", () => {
    const { loader, logs } = setup(lines("[default]", "region = d"), { active: "typo" });
    const c = loader.getProfileConfig("typo");
    expect(c.profileName).toBe("typo");
    expect(c.region).toBe("d");
    expect(logs).toContain("Profile 'typo' missing in config file");
  });

  it("allows a file with no [default]", () => {
    const { loader, logs } = setup(lines("[profile p]", "region = r"), { active: "p" });
    expect(loader.getProfileConfig("p").region).toBe("r");
    expect(logs).toContain("Profile 'default' missing in config file");
  });

  it("resolves default from [default], not [profile default]", () => {
    const text = lines("[profile default]", "region = p", "[default]", "region = d");
    expect(resolve(text, "default").region).toBe("d");
    expect(resolve(lines("[profile default]", "region = p"), "default").region).toBeUndefined();
  });

  it("logs unrecognised sections", () => {
    const { logs } = setup(lines("[preview]", "x = 1", "[DEFAULT]"));
    expect(logs).toEqual(["Unrecognised ini file section: preview", "Unrecognised ini file section: DEFAULT"]);
  });
});

describe("ConfigLoader include_profile", () => {
  it("recurses through include_profile, nearest first", () => {
    const text = lines(
      "[default]",
      "external_id = from-default",
      "[profile c]",
      "region = rc",
      "mfa_serial = mc",
      "role_arn = arn:c",
      "[profile b]",
      "include_profile = c",
      "region = rb",
      "mfa_serial = mb",
      "[profile a]",
      "include_profile = b",
      "region = ra",
    );
    const a = resolve(text, "a");
    expect(a).toMatchObject({ region: "ra", mfaSerial: "mb", roleArn: "arn:c", externalId: "from-default" });
  });

  it("skips [default] for a section with include_profile until the included chain reaches it", () => {
    const text = lines("[default]", "region = d", "[profile base]", "include_profile = other", "[profile other]", "[profile p]", "include_profile = base");
    // p → base → other → [default]
    expect(resolve(text, "p").region).toBe("d");
  });

  it("includes a missing profile and still falls back to [default]", () => {
    const { loader, logs } = setup(lines("[default]", "region = d", "[profile p]", "include_profile = ghost"), { active: "p" });
    expect(loader.getProfileConfig("p").region).toBe("d");
    expect(logs).toContain("Profile 'ghost' missing in config file");
  });

  it("can include default explicitly", () => {
    expect(resolve(lines("[default]", "region = d", "[profile p]", "include_profile = default"), "p").region).toBe("d");
  });

  it("handles long chains without recursion", () => {
    const parts: string[] = [];
    const n = 5000;
    for (let i = 0; i < n; i++) parts.push(`[profile p${i}]`, i === n - 1 ? "region = deep" : `include_profile = p${i + 1}`);
    expect(resolve(lines(...parts), "p0").region).toBe("deep");
  });
});

describe("ConfigLoader source_profile", () => {
  it("hydrates the source chain and links both ways", () => {
    const text = lines(
      "[profile a]",
      "source_profile = b",
      "role_arn = arn:a",
      "[profile b]",
      "source_profile = c",
      "role_arn = arn:b",
      "[profile c]",
    );
    const a = resolve(text, "a");
    const b = a.sourceProfile as ProfileConfig;
    const c = b.sourceProfile as ProfileConfig;
    expect([a.profileName, b.profileName, c.profileName]).toEqual(["a", "b", "c"]);
    expect(b.chainedFromProfile).toBe(a);
    expect(c.chainedFromProfile).toBe(b);
    expect(c.sourceProfile).toBeUndefined();
    expect(a.chainedFromProfile).toBeUndefined();
    expect(isChained(a)).toBe(false);
    expect(isChained(b)).toBe(true);
    expect(getSessionTokenDuration(a)).toBe(H);
    expect(getSessionTokenDuration(c)).toBe(8 * H);
  });

  it("drops a source_profile naming the profile itself", () => {
    const c = resolve(lines("[profile a]", "source_profile = a", "role_arn = arn:a"), "a");
    expect(c.sourceProfileName).toBeUndefined();
    expect(c.sourceProfile).toBeUndefined();
  });

  it("supports the parent style: [profile root] source_profile=root with include_profile=root", () => {
    const text = lines(
      "[profile root]",
      "source_profile = root",
      "region = eu-west-1",
      "mfa_serial = arn:mfa",
      "[profile child]",
      "include_profile = root",
      "role_arn = arn:child",
    );
    const child = resolve(text, "child");
    expect(child).toMatchObject({ sourceProfileName: "root", roleArn: "arn:child", region: "eu-west-1", mfaSerial: "arn:mfa" });
    const root = child.sourceProfile as ProfileConfig;
    expect(root.profileName).toBe("root");
    expect(root.sourceProfileName).toBeUndefined();
    expect(root.sourceProfile).toBeUndefined();
    expect(root.chainedFromProfile).toBe(child);
  });

  it("does not inherit mfa_serial from the source profile", () => {
    const a = resolve(lines("[profile a]", "source_profile = b", "[profile b]", "mfa_serial = mb"), "a");
    expect(a.mfaSerial).toBeUndefined();
    expect(a.sourceProfile?.mfaSerial).toBe("mb");
  });

  it("inherits source_profile from [default] but drops it on [default] itself", () => {
    const text = lines("[default]", "source_profile = base", "[profile p]", "[profile base]");
    const p = resolve(text, "p");
    expect(p.sourceProfileName).toBe("base");
    // base inherits source_profile = base from [default], which is itself, so it is dropped.
    expect(p.sourceProfile?.sourceProfileName).toBeUndefined();
  });
});

describe("ConfigLoader loops", () => {
  const loopMessage = (name: string): string => `Loop detected in config file for profile '${name}'`;

  it.each([
    ["self include", lines("[profile a]", "include_profile = a"), "a", "a"],
    ["2-cycle include", lines("[profile a]", "include_profile = b", "[profile b]", "include_profile = a"), "a", "a"],
    [
      "3-cycle include",
      lines("[profile a]", "include_profile = b", "[profile b]", "include_profile = c", "[profile c]", "include_profile = b"),
      "a",
      "b",
    ],
    ["[default] including itself", lines("[default]", "include_profile = default"), "p", "default"],
    ["[default] including a profile that falls back to it", lines("[default]", "include_profile = a", "[profile a]"), "a", "a"],
    ["2-cycle source", lines("[profile a]", "source_profile = b", "[profile b]", "source_profile = a"), "a", "a"],
    [
      "3-cycle source",
      lines("[profile a]", "source_profile = b", "[profile b]", "source_profile = c", "[profile c]", "source_profile = b"),
      "a",
      "b",
    ],
    ["source via [default]", lines("[default]", "source_profile = a", "[profile a]", "source_profile = b", "[profile b]"), "b", "b"],
    [
      "source loop through include",
      lines("[profile a]", "include_profile = mix", "[profile mix]", "source_profile = b", "[profile b]", "source_profile = a"),
      "a",
      "a",
    ],
  ])("detects %s", (_label, text, profile, loopName) => {
    const err = configError(() => resolve(text, profile));
    expect(err.message).toBe(loopMessage(loopName));
  });

  it("detects long source_profile cycles without a stack overflow", () => {
    const parts: string[] = [];
    const n = 3000;
    for (let i = 0; i < n; i++) parts.push(`[profile p${i}]`, `source_profile = p${(i + 1) % n}`);
    expect(configError(() => resolve(lines(...parts), "p0")).message).toBe(loopMessage("p0"));
  });

  it("resolveProfileValue detects include loops too", () => {
    const file = ConfigFile.fromText(lines("[profile a]", "include_profile = b", "[profile b]", "include_profile = a"), FILE);
    expect(() => resolveProfileValue(file, "a", "region")).toThrow(loopMessage("a"));
  });
});

describe("ConfigLoader sso-session", () => {
  const sso = lines("[sso-session corp]", "sso_start_url = https://corp.awsapps.com/start", "sso_region = eu-west-1", "sso_registration_scopes = sso:account:access");

  it("pulls start URL, region and scopes from [sso-session]", () => {
    const c = resolve(sso + lines("[profile p]", "sso_session = corp", "sso_account_id = 1", "sso_role_name = R"), "p");
    expect(c).toMatchObject({
      ssoSession: "corp",
      ssoStartUrl: "https://corp.awsapps.com/start",
      ssoRegion: "eu-west-1",
      ssoRegistrationScopes: "sso:account:access",
      ssoAccountId: "1",
      ssoRoleName: "R",
    });
  });

  it("lets inline values in a higher-priority section beat an [sso-session] named lower down (fixed quirk)", () => {
    const text = sso + lines("[default]", "sso_session = corp", "[profile p]", "sso_start_url = https://inline/start");
    const c = resolve(text, "p");
    expect(c.ssoStartUrl).toBe("https://inline/start");
    expect(c.ssoRegion).toBe("eu-west-1");
    expect(c.ssoSession).toBe("corp");
  });

  it("lets inline values beat the [sso-session] named in the same section", () => {
    const c = resolve(sso + lines("[profile p]", "sso_session = corp", "sso_region = us-east-2"), "p");
    expect(c.ssoRegion).toBe("us-east-2");
    expect(c.ssoStartUrl).toBe("https://corp.awsapps.com/start");
  });

  it("lets [sso-session] values beat inline values from lower-priority sections", () => {
    const text = sso + lines("[default]", "sso_start_url = https://default/start", "[profile p]", "sso_session = corp");
    expect(resolve(text, "p").ssoStartUrl).toBe("https://corp.awsapps.com/start");
  });

  it("uses the first sso_session in priority order", () => {
    const text =
      sso +
      lines("[sso-session other]", "sso_start_url = https://other/start", "[profile base]", "sso_session = other", "[profile p]", "include_profile = base", "sso_session = corp");
    expect(resolve(text, "p").ssoStartUrl).toBe("https://corp.awsapps.com/start");
  });

  it("fills fields the [sso-session] lacks from lower sections", () => {
    const text = lines("[sso-session partial]", "sso_start_url = https://p/start", "[default]", "sso_region = d-region", "[profile p]", "sso_session = partial");
    expect(resolve(text, "p")).toMatchObject({ ssoStartUrl: "https://p/start", ssoRegion: "d-region" });
  });

  it("logs and ignores a missing [sso-session]", () => {
    const { loader, logs } = setup(lines("[profile p]", "sso_session = ghost", "sso_region = r"), { active: "p" });
    expect(loader.getProfileConfig("p")).toMatchObject({ ssoSession: "ghost", ssoRegion: "r" });
    expect(logs).toContain("[sso-session] 'ghost' missing in config file");
  });
});

describe("session tags", () => {
  it.each([
    ["a=1", { a: "1" }],
    [" a = 1 , b=2 ", { a: "1", b: "2" }],
    ["a=1=2", { a: "1=2" }],
    ["a=", { a: "" }],
    ["a=1,a=2", { a: "2" }],
  ])("parses %j", (text, tags) => {
    expect(parseSessionTags(text)).toEqual(tags);
    expect(resolve(lines("[profile p]", `session_tags = ${text}`), "p").sessionTags).toEqual(tags);
  });

  it.each(["a", "a=1,", "a=1,,b=2", ",a=1", "a=1,b", "=1", " = 1", "=", "==1"])("rejects %j in a role profile, naming it", (text) => {
    expect(() => parseSessionTags(text)).toThrow(TAGS_MESSAGE);
    const err = configError(() =>
      resolve(lines("[profile p]", "role_arn = arn:aws:iam::1:role/r", `session_tags = ${text}`), "p"),
    );
    expect(err.message).toBe(`Failed to parse session_tags profile setting in profile 'p' (${FILE}): ${TAGS_MESSAGE}`);
  });

  it.each(["=1", "a", "a=1,"])("ignores %j in a profile that assumes no role", (text) => {
    const { loader, logs } = setup(lines("[profile p]", `session_tags = ${text}`), { active: "p" });
    expect(loader.getProfileConfig("p").sessionTags).toBeUndefined();
    expect(logs).toContain("Ignoring invalid session_tags in profile 'p': it has no role_arn");
  });

  it("validates tags inherited from [default] only in the profiles that assume a role", () => {
    const text = lines("[default]", "session_tags = =1", "[profile plain]", "[profile role]", "role_arn = arn:aws:iam::1:role/r");
    expect(resolve(text, "plain").sessionTags).toBeUndefined();
    expect(configError(() => resolve(text, "role")).message).toMatch(/^Failed to parse session_tags profile setting in profile 'role' /);
  });

  it("validates a source profile's tags only if that hop assumes a role", () => {
    const text = lines(
      "[profile keys]",
      "session_tags = =1",
      "[profile role]",
      "source_profile = keys",
      "role_arn = arn:aws:iam::1:role/r",
      "session_tags = a=1",
    );
    const c = resolve(text, "role");
    expect(c.sessionTags).toEqual({ a: "1" });
    expect(c.sourceProfile?.sessionTags).toBeUndefined();
  });

  it("inherits session tags from [default] only when the profile has none", () => {
    const text = lines("[default]", "session_tags = d=1", "transitive_session_tags = d", "[profile p]", "[profile q]", "session_tags = q=1");
    expect(resolve(text, "p").sessionTags).toEqual({ d: "1" });
    expect(resolve(text, "p").transitiveSessionTags).toEqual(["d"]);
    expect(resolve(text, "q").sessionTags).toEqual({ q: "1" });
  });

  it("parses transitive tags as a trimmed list without empties", () => {
    expect(parseTransitiveSessionTags(" a, b ,,c,")).toEqual(["a", "b", "c"]);
    expect(resolve(lines("[profile p]", "transitive_session_tags = ,,"), "p").transitiveSessionTags).toBeUndefined();
  });

  it("keeps __proto__ tags as plain data", () => {
    // On a `{}` map, `tags["__proto__"] = "x"` would be dropped silently (a string cannot be a prototype).
    const tags = parseSessionTags("__proto__=x,constructor=y");
    expect(Object.keys(tags)).toEqual(["__proto__", "constructor"]);
    expect(tags["__proto__"]).toBe("x");
    expect(Object.getPrototypeOf(tags)).toBeNull();
  });
});

describe("serviceEndpoint", () => {
  const text = lines(
    "[default]",
    "services = shared",
    "[services shared]",
    "sts =",
    "  endpoint_url = http://svc-sts",
    "sso_oidc =",
    "  endpoint_url = http://svc-oidc",
    "[services own]",
    "iam =",
    "  endpoint_url = http://own-iam",
    "[profile p]",
    "endpoint_url = http://profile",
    "[profile q]",
    "services = own",
    "include_profile = p",
    "[profile bare]",
    "services = ghost",
  );
  const file = ConfigFile.fromText(text, FILE);

  const cases: Array<[string, string, EndpointService, Env, string | undefined]> = [
    ["service env beats everything", "p", "sts", { AWS_ENDPOINT_URL_STS: "http://env-sts", AWS_ENDPOINT_URL: "http://env" }, "http://env-sts"],
    ["global env beats the file", "p", "sts", { AWS_ENDPOINT_URL: "http://env", AWS_ENDPOINT_URL_IAM: "http://env-iam" }, "http://env"],
    ["services section (via [default]) beats endpoint_url", "p", "sts", {}, "http://svc-sts"],
    ["sso_oidc key and env name", "p", "sso_oidc", {}, "http://svc-oidc"],
    ["sso_oidc env", "p", "sso_oidc", { AWS_ENDPOINT_URL_SSO_OIDC: "http://env-oidc" }, "http://env-oidc"],
    ["signin env", "p", "signin", { AWS_ENDPOINT_URL_SIGNIN: "http://env-signin" }, "http://env-signin"],
    ["falls back to endpoint_url", "p", "iam", {}, "http://profile"],
    ["own services section", "q", "iam", {}, "http://own-iam"],
    ["own services section without the service", "q", "sts", {}, "http://profile"],
    ["missing services section", "bare", "sts", {}, undefined],
    ["ignore env disables env", "p", "sts", { AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: "true", AWS_ENDPOINT_URL_STS: "http://x" }, undefined],
    ["ignore env disables the file", "p", "iam", { AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: "TRUE" }, undefined],
    ["ignore=false keeps endpoints", "p", "iam", { AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: "false" }, "http://profile"],
    ["empty env is unset", "p", "iam", { AWS_ENDPOINT_URL: "", AWS_ENDPOINT_URL_IAM: "" }, "http://profile"],
  ];

  it.each(cases)("%s", (_label, profile, service, env, expected) => {
    expect(serviceEndpoint(file, profile, service, env)).toBe(expected);
    const config = setup(text, { env, active: profile }).loader.getProfileConfig(profile);
    expect(serviceEndpoint(file, config, service, env)).toBe(expected);
  });

  it("honours ignore_configured_endpoint_urls in the profile when the env var is unset", () => {
    const f = ConfigFile.fromText(lines("[profile p]", "endpoint_url = http://x", "ignore_configured_endpoint_urls = true"), FILE);
    expect(serviceEndpoint(f, "p", "sts", {})).toBeUndefined();
    expect(serviceEndpoint(f, "p", "sts", { AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: "false" })).toBe("http://x");
  });

  it("returns undefined with nothing configured", () => {
    expect(serviceEndpoint(ConfigFile.fromText("", FILE), "p", "sts", {})).toBeUndefined();
  });
});

describe("parser + loader property", () => {
  const names = ["default", "a", "b", "c", "__proto__", "constructor", "toString"];
  const keys = [
    "region",
    "include_profile",
    "source_profile",
    "sso_session",
    "session_tags",
    "transitive_session_tags",
    "duration_seconds",
    "services",
    "role_arn",
    "mfa_serial",
    "__proto__",
    "hasOwnProperty",
  ];
  const valueArb = fc.oneof(fc.constantFrom(...names), fc.string({ maxLength: 12 }), fc.constantFrom("a=1,b=2", "a=1,", "x", "3600", "-1", "", " # c"));
  const headerArb = fc.oneof(
    fc.constantFrom(...names).map((n) => (n === "default" ? "[default]" : `[profile ${n}]`)),
    fc.constantFrom(...names).map((n) => `[sso-session ${n}]`),
    fc.constantFrom(...names).map((n) => `[services ${n}]`),
    fc.constantFrom("[DEFAULT]", "[profile", "[]"),
  );
  const lineArb = fc.oneof(
    headerArb,
    fc.tuple(fc.constantFrom(...keys), valueArb).map(([k, v]) => `${k} = ${v}`),
    fc.constantFrom("sts =", "__proto__ =", "  endpoint_url = http://x", "  garbage", "# comment"),
    fc.string({ maxLength: 20 }),
  );

  const valid = lines(
    "[default]",
    "region = us-east-1",
    "[profile a]",
    "source_profile = b",
    "role_arn = arn:a",
    "services = s",
    "[profile b]",
    "include_profile = c",
    "session_tags = k=v",
    "[profile c]",
    "sso_session = sso",
    "[sso-session sso]",
    "sso_start_url = https://x/start#/",
    "[services s]",
    "sts =",
    "  endpoint_url = http://localhost",
  ).split("\n");

  const mutationArb = fc.oneof(
    fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), line: lineArb }),
    fc.record({ kind: fc.constant("delete" as const), at: fc.nat() }),
    fc.record({ kind: fc.constant("replace" as const), at: fc.nat(), line: lineArb }),
  );

  function exercise(text: string, env: Env): void {
    try {
      const file = ConfigFile.fromText(text, FILE);
      for (const name of [...file.profileNames(), ...names]) {
        const loader = new ConfigLoader({ file, baseConfig: {}, env, activeProfile: name });
        try {
          const config = loader.getProfileConfig(name);
          expect(config.profileName).toBe(name);
          serviceEndpoint(file, config, "sts", env);
          serviceEndpoint(file, name, "sso_oidc", env);
        } catch (e) {
          if (!(e instanceof ConfigError)) throw e;
        }
      }
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
    }
  }

  const envArb = fc.record(
    {
      AWS_SESSION_TAGS: fc.constantFrom("a=1", "bad", ""),
      AWS_ASSUME_ROLE_TTL: fc.string({ maxLength: 6 }),
      AWS_REGION: fc.string({ maxLength: 5 }),
    },
    { requiredKeys: [] },
  );

  it("random text never throws anything but ConfigError", () => {
    fc.assert(
      fc.property(fc.array(lineArb, { maxLength: 25 }), envArb, (ls, env) => exercise(ls.join("\n"), env)),
      { numRuns: 300 },
    );
  });

  it("random mutations of a valid config never throw anything but ConfigError, nor touch Object.prototype", () => {
    const before = Object.getOwnPropertyNames(Object.prototype).sort();
    fc.assert(
      fc.property(fc.array(mutationArb, { minLength: 1, maxLength: 8 }), envArb, (mutations, env) => {
        const ls = [...valid];
        for (const m of mutations) {
          const at = m.at % (ls.length + 1);
          if (m.kind === "insert") ls.splice(at, 0, m.line);
          else if (m.kind === "delete") ls.splice(at, 1);
          else ls[Math.min(at, ls.length - 1)] = m.line;
        }
        exercise(ls.join("\n"), env);
      }),
      { numRuns: 300 },
    );
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(before);
  });
});
