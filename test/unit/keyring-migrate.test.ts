// migrate-backend's pure parts: option validation and the plan. The moves themselves run end to
// end in test/e2e/os-keyrings.test.ts (file -> secret-service -> pass -> file, and a failing one).
import { describe, expect, it } from "vitest";
import { UsageError, UserError } from "../../src/errors.ts";
import { planMigration, validateMigrateBackendOptions } from "../../src/cli/migrate-backend.ts";

const base = { profiles: [], dryRun: false, overwrite: false, keepSource: false };

describe("migrate-backend", () => {
  it("rejects unknown and identical backends before opening anything", () => {
    expect(() => validateMigrateBackendOptions({ ...base, from: "file", to: "file" })).toThrow(new UsageError("source and destination backends must differ"));
    expect(() => validateMigrateBackendOptions({ ...base, from: "file", to: "vault" })).toThrow(UsageError);
    expect(() => validateMigrateBackendOptions({ ...base, from: "file", to: "pass" })).not.toThrow();
  });

  it("plans copies, skips what the destination has, and overwrites only when asked", () => {
    expect(planMigration(["a", "b"], ["b"], { profiles: [], overwrite: false })).toEqual([
      { profile: "a", action: "copy" },
      { profile: "b", action: "skip" },
    ]);
    expect(planMigration(["a", "b"], ["b"], { profiles: ["b"], overwrite: true })).toEqual([{ profile: "b", action: "overwrite" }]);
  });

  it("names a requested profile the source does not have", () => {
    expect(() => planMigration(["a"], [], { profiles: ["zz"], overwrite: false })).toThrow(new UserError('profile "zz" not found in source backend'));
  });
});
