// Issue 9 item 4 at the choke points: every way runtime/ starts a program drops the passphrase
// variables, whatever env the caller passes.
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { nodeRuntime } from "../../src/runtime/node.ts";
import { spawnPiped } from "../../src/runtime/proxy-process.ts";

const ENV = {
  PATH: "/usr/bin:/bin",
  KEEP_ME: "1",
  AWS_VAULT_FILE_PASSPHRASE: "p1",
  AWS_VAULT_FILE_PASSPHRASE_CMD: "p2",
  AWS_VAULT_FILE_PASSPHRASE_ANYTHING: "p3",
};

function names(envOutput: string): string[] {
  return envOutput
    .split("\n")
    .filter(Boolean)
    .map((l) => l.slice(0, l.indexOf("=")));
}

function expectClean(envOutput: string): void {
  expect(names(envOutput)).toContain("KEEP_ME");
  expect(names(envOutput).filter((n) => n.startsWith("AWS_VAULT_FILE_PASSPHRASE"))).toEqual([]);
}

describe("spawning never passes the passphrase variables", () => {
  const rt = nodeRuntime();

  it("spawn.output", async () => {
    const r = await rt.spawn.output("/usr/bin/env", [], { env: ENV, stdio: "pipe-out" });
    expectClean(r.stdout);
  });

  it("spawn.shellOutput", async () => {
    const r = await rt.spawn.shellOutput("env", { env: ENV, stdio: "pipe-out" });
    expectClean(r.stdout);
  });

  it("spawn.start (exec's children)", async () => {
    // start() shares our stdio: the child writes its environment to a file instead.
    const out = join(mkdtempSync(join(tmpdir(), "awsv-env-")), "env");
    const child = await rt.spawn.start("/bin/sh", ["-c", `env > '${out}'`], { env: ENV, stdio: "inherit" });
    expect((await child.exited).code).toBe(0);
    expectClean(readFileSync(out, "utf8"));
  });

  it("spawnPiped (the root proxy)", async () => {
    const child = spawnPiped("/usr/bin/env", [], ENV);
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
    await new Promise((r) => child.on("close", r));
    expectClean(out);
  });
});
