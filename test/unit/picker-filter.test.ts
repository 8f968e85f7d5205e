import { describe, expect, it } from "vitest";
import { filterProfiles } from "../../src/prompt/picker.ts";
import { colorEnabled } from "../../src/util/color.ts";

describe("profile picker filter", () => {
  const profiles = ["default", "dev", "prod", "prod-admin", "staging-dev"];
  it("keeps the order without a term; matches anywhere, case-insensitively, earliest match first", () => {
    expect(filterProfiles(profiles, undefined)).toEqual(profiles);
    expect(filterProfiles(profiles, "")).toEqual(profiles);
    expect(filterProfiles(profiles, "DEV")).toEqual(["dev", "staging-dev"]);
    expect(filterProfiles(profiles, "min")).toEqual(["prod-admin"]);
    expect(filterProfiles(profiles, "zzz")).toEqual([]);
  });
});

describe("colour", () => {
  it("only on a terminal, never with NO_COLOR or TERM=dumb", () => {
    expect(colorEnabled({}, true)).toBe(true);
    expect(colorEnabled({}, false)).toBe(false);
    expect(colorEnabled({ NO_COLOR: "1" }, true)).toBe(false);
    expect(colorEnabled({ NO_COLOR: "" }, true)).toBe(true);
    expect(colorEnabled({ TERM: "dumb" }, true)).toBe(false);
  });
});
