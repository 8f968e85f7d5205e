// `sso populate` planning (pure) and appending: names from account and role (lower case, spaces to
// dashes, unsafe characters out), collisions made unique, pairs already configured skipped,
// existing text never rewritten.
import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { UsageError } from "../../src/errors.ts";
import { ConfigFile } from "../../src/vault/config/loader.ts";
import { planSsoProfiles, populateConfig, profileNamePart, renderSections, validatePrefix } from "../../src/vault/sso-populate.ts";

const OPTS = { ssoSession: "corp", startUrl: "https://corp.awsapps.com/start", region: "eu-west-1" };

describe("planSsoProfiles", () => {
  it("names <account>.<role>, lower case, spaces to dashes, sorted", () => {
    const plan = planSsoProfiles(ConfigFile.fromText("", "/c"), [
      { accountId: "2", accountName: "Prod  Main", roles: ["ReadOnly", "AdministratorAccess"] },
      { accountId: "1", accountName: "dev [eu]; #1", roles: ["Power User"] },
    ], OPTS);
    expect(plan.add.map((p) => p.name)).toEqual(["dev-eu-1.power-user", "prod-main.administratoraccess", "prod-main.readonly"]);
    expect(plan.add[0]!.values).toEqual([
      ["sso_session", "corp"],
      ["sso_account_id", "1"],
      ["sso_role_name", "Power User"],
      ["region", "eu-west-1"],
    ]);
  });

  it("makes taken names unique and skips pairs already configured for the same session or start URL", () => {
    const file = ConfigFile.fromText(
      `[profile team.admin]\nregion = us-east-1\n\n` +
        `[profile mine]\nsso_session = corp\nsso_account_id = 1\nsso_role_name = ReadOnly\n\n` +
        `[profile legacy]\nsso_start_url = https://corp.awsapps.com/start\nsso_account_id = 2\nsso_role_name = ReadOnly\n\n` +
        `[profile other-session]\nsso_session = elsewhere\nsso_account_id = 1\nsso_role_name = Admin\n`,
      "/c",
    );
    const plan = planSsoProfiles(file, [
      { accountId: "1", accountName: "Team", roles: ["Admin", "ReadOnly"] },
      { accountId: "2", accountName: "Team", roles: ["Admin", "ReadOnly"] },
    ], { ...OPTS, prefix: "corp-" });
    expect(plan.existing).toBe(2);
    expect(plan.add.map((p) => p.name)).toEqual(["corp-team.admin", "corp-team.admin-2"]);
    const noPrefix = planSsoProfiles(file, [
      { accountId: "1", accountName: "Team", roles: ["Admin"] },
      { accountId: "2", accountName: "Team", roles: ["Admin"] },
    ], OPTS);
    expect(noPrefix.add.map((p) => p.name)).toEqual(["team.admin-1", "team.admin-2"]);
  });

  it("renders sections and rejects unsafe prefixes", () => {
    expect(renderSections([{ name: "a.b", accountId: "1", roleName: "B", values: [["sso_account_id", "1"]] }])).toBe("\n[profile a.b]\nsso_account_id = 1\n");
    expect(profileNamePart("  My  Account ")).toBe("my-account");
    expect(() => validatePrefix("a b")).toThrow(UsageError);
    expect(() => validatePrefix("[x")).toThrow(UsageError);
    expect(() => validatePrefix("team-")).not.toThrow();
  });
});

describe("populateConfig", () => {
  it("appends after the untouched text (creating the file 0600), and a second run adds nothing", async () => {
    const dir = mkdtempSync(join(tmpdir(), "awsv-populate-"));
    const path = join(dir, "aws", "config");
    const accounts = [{ accountId: "1", accountName: "Dev", roles: ["Admin"] }];
    const first = await populateConfig(path, accounts, { ...OPTS, dryRun: false });
    expect(first.add).toHaveLength(1);
    expect(readFileSync(path, "utf8")).toBe("[profile dev.admin]\nsso_session = corp\nsso_account_id = 1\nsso_role_name = Admin\nregion = eu-west-1\n");
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, "aws")).mode & 0o777).toBe(0o700);

    const hand = "[sso-session corp]\nsso_start_url = x ; no newline at the end";
    writeFileSync(path, hand);
    const dry = await populateConfig(path, accounts, { ...OPTS, dryRun: true });
    expect(dry.add).toHaveLength(1);
    expect(readFileSync(path, "utf8")).toBe(hand);
    await populateConfig(path, accounts, { ...OPTS, dryRun: false });
    const text = readFileSync(path, "utf8");
    expect(text).toBe(`${hand}\n\n[profile dev.admin]\nsso_session = corp\nsso_account_id = 1\nsso_role_name = Admin\nregion = eu-west-1\n`);
    const again = await populateConfig(path, accounts, { ...OPTS, dryRun: false });
    expect(again).toEqual({ add: [], existing: 1 });
    expect(readFileSync(path, "utf8")).toBe(text);
  });
});
