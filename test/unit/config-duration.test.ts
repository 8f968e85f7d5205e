// Issue 9 item 11: duration_seconds from the config is range-checked when the profile is loaded,
// before any STS call or MFA prompt, naming the file and the profile that holds the value.
import { describe, expect, it } from "vitest";
import { ConfigError } from "../../src/errors.ts";
import { ConfigFile, ConfigLoader } from "../../src/vault/config/loader.ts";

const FILE = "/home/u/.aws/config";

function load(text: string, profile: string) {
  return new ConfigLoader({ file: ConfigFile.fromText(text, FILE), baseConfig: {}, env: {}, activeProfile: profile, log: () => undefined }).getProfileConfig(
    profile,
  );
}

function error(text: string, profile: string): ConfigError {
  try {
    load(text, profile);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error("no error");
}

describe("duration_seconds range", () => {
  it.each(["60", "899", "43201", "999999"])("refuses %s", (v) => {
    const e = error(`[profile r]\nrole_arn = arn:aws:iam::1:role/r\nduration_seconds = ${v}\n`, "r");
    expect(e.message).toBe(`invalid duration_seconds ${v} in profile 'r' of ${FILE}: roles allow 900 to 43200 seconds (15m to 12h)`);
    expect(e.hints).toEqual(["set duration_seconds within that range (and at most the role's maximum session duration), or remove it"]);
  });

  it.each([["900", 900_000], ["43200", 43_200_000], ["3600", 3_600_000]])("accepts %s", (v, ms) => {
    expect(load(`[profile r]\nrole_arn = arn:aws:iam::1:role/r\nduration_seconds = ${v}\n`, "r").assumeRoleDuration).toBe(ms);
  });

  it("names the section that holds the value (include_profile)", () => {
    const e = error(`[profile base]\nduration_seconds = 60\n[profile r]\ninclude_profile = base\nrole_arn = arn:aws:iam::1:role/r\n`, "r");
    expect(e.message).toContain("in profile 'base' of /home/u/.aws/config");
  });

  it("a value set closer to the profile wins before the check", () => {
    expect(load(`[profile base]\nduration_seconds = 60\n[profile r]\ninclude_profile = base\nduration_seconds = 1200\n`, "r").assumeRoleDuration).toBe(1_200_000);
  });
});
