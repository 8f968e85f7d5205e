// The test harness itself: the CLI runner and the summary reporter must not hide a failed run.
import { spawnSync } from "node:child_process";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { run, type Artifact } from "../support/cli.ts";

const ROOT = resolve(import.meta.dirname, "../..");

describe("support/cli run()", () => {
  // A child that exits without reading its stdin. 8 MiB cannot fit in a pipe buffer, so the write
  // always fails with EPIPE; without a listener that is an uncaught exception in this worker, and
  // vitest then fails the run although every test passed.
  const exitsAtOnce: Artifact = { name: "node", argv: ["/bin/sh", "-c", "exit 3", "sh"] };

  it("survives a child that exits without reading its stdin (EPIPE)", async () => {
    const r = await run(exitsAtOnce, [], { input: "x".repeat(8 * 1024 * 1024), env: { PATH: "/usr/bin:/bin" } });
    expect(r.code).toBe(3);
  });

  it("still hands the input to a child that reads it", async () => {
    const cat: Artifact = { name: "node", argv: ["/bin/sh", "-c", "head -c 5", "sh"] };
    const r = await run(cat, [], { input: "hello world", env: { PATH: "/usr/bin:/bin" } });
    expect(r.stdout).toBe("hello");
  });
});

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
