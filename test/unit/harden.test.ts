// runtime/harden.ts in the runtime that runs it: Bun (the binary's runtime) and Node.
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { bundleForNode } from "../support/bundle.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const BUN = join(ROOT, "node_modules", ".bin", "bun");
const script = (from: string) => `
  import { hardenProcess } from ${JSON.stringify(from)};
  import { readFileSync } from "node:fs";
  const r = hardenProcess({ longRunning: process.argv.includes("long") });
  const line = readFileSync("/proc/self/limits", "utf8").split("\\n").find((l) => l.startsWith("Max core file size"));
  console.log(JSON.stringify({ ...r, soft: line.split(/\\s{2,}/)[1], hard: line.split(/\\s{2,}/)[2] }));
`;

/** Runs argv with the soft core limit raised first (the default here is often 0 already). */
function unlimited(argv: string[]): string {
  return execFileSync("/bin/sh", ["-c", 'ulimit -S -c unlimited && exec "$@"', "sh", ...argv], { encoding: "utf8" });
}

describe.skipIf(process.platform !== "linux")("hardenProcess", () => {
  it("Bun: non-dumpable and a soft core limit of 0, the hard limit kept", () => {
    const out = JSON.parse(unlimited([BUN, "-e", script(join(ROOT, "src/runtime/harden.ts"))]));
    expect(out).toMatchObject({ dumpable: false, coreLimitZero: true, soft: "0" });
    expect(out.hard).not.toBe("0");
  });

  it("Bun: the FFI type numbers harden.ts passes to Bun.FFI.dlopen are bun:ffi's", () => {
    const code = `import { FFI_TYPES } from ${JSON.stringify(join(ROOT, "src/runtime/harden.ts"))}; import { FFIType } from "bun:ffi";
      console.log(JSON.stringify({ ours: FFI_TYPES, bun: { i32: FFIType.i32, u64: FFIType.u64, ptr: FFIType.ptr }, native: typeof Bun.FFI?.dlopen }));`;
    const out = JSON.parse(execFileSync(BUN, ["-e", code], { encoding: "utf8" }));
    expect(out.ours).toEqual(out.bun);
    expect(out.native).toBe("function");
  });

  it("Node: a long-running process lowers its soft core limit to 0 (prlimit); a short one is left alone", async () => {
    const dir = mkdtempSync(join(tmpdir(), "awsv-harden-"));
    const bundle = await bundleForNode(join(ROOT, "src/runtime/harden.ts"), join(dir, "harden.mjs"));
    const main = join(dir, "main.mjs");
    writeFileSync(main, script(bundle));
    const runNode = (...args: string[]) => JSON.parse(unlimited([process.execPath, main, ...args]));
    const long = runNode("long");
    expect(long).toMatchObject({ dumpable: true, coreLimitZero: true, soft: "0" });
    expect(long.hard).not.toBe("0");
    const short = runNode();
    expect(short).toMatchObject({ coreLimitZero: false });
    expect(short.soft).toBe("unlimited");
  });
});
