// The e2e harness itself (support/cli.ts): a child that does not read its stdin must not fail the run.
// Here rather than in test/unit because support/cli.ts needs the built artifacts.
import { describe, expect, it } from "vitest";
import { run, type Artifact } from "../support/cli.ts";

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
