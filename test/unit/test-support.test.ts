// The test harness itself: the summary reporter must not hide a failed run.
import { spawnSync } from "node:child_process";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "../..");

describe("summary reporter", () => {
  function runFixture(name: string): { status: number | null; stdout: string } {
    const r = spawnSync(
      process.execPath,
      [join(ROOT, "node_modules/vitest/vitest.mjs"), "run", "--config", "test/fixtures/reporter/vitest.config.ts"],
      { cwd: ROOT, env: { ...process.env, SUMMARY_FIXTURE: `test/fixtures/reporter/${name}` }, encoding: "utf8" },
    );
    return { status: r.status, stdout: r.stdout };
  }

  it("counts an error thrown outside any test, so a failed run never reads as passed", () => {
    const r = runFixture("uncaught.fixture.ts");
    expect(r.status).toBe(1);
    expect(r.stdout.trim().split("\n").at(-1)).toBe("1 passed, 0 failed, 0 skipped, 1 error: run failed");
  });

  it("reads as passed on a clean run", () => {
    const r = runFixture("clean.fixture.ts");
    expect(r.status).toBe(0);
    expect(r.stdout.trim().split("\n").at(-1)).toBe("1 passed, 0 failed, 0 skipped, 0 errors: run passed");
  });
});
