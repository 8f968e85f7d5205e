// Issue 9 item 1 at the runtime level, in both runtimes: exitProcess waits for every write. The
// pattern that lost output under Node: a write that fills the pipe, then one smaller than the
// stream's high-water mark that is only partly written (not "needs drain", still queued). The old
// exitProcess (wait for "drain" only when writableNeedDrain) fails this in both runtimes.
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { bundleForNode } from "../support/bundle.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const BUN = join(ROOT, "node_modules", ".bin", "bun");
const dir = mkdtempSync(join(tmpdir(), "awsv-flush-"));
const EXPECTED = 60_001 + 10_001 + "LAST-LINE\n".length;

function script(from: string): string {
  return `
    import { exitProcess, nodeRuntime } from ${JSON.stringify(from)};
    const rt = nodeRuntime();
    const out = process.argv.includes("stderr") ? rt.stderr : rt.stdout;
    out.write("a".repeat(60_000) + "\\n");
    out.write("b".repeat(10_000) + "\\nLAST-LINE\\n");
    void exitProcess(0);
  `;
}

/**
 * Runs argv with one stream on a real pipe (a child's own stdio pipes are socket pairs with far
 * larger buffers) that a reader empties only after a pause, and returns what the reader got.
 */
function throughSlowPipe(argv: string[], stream: "stdout" | "stderr"): Promise<string> {
  const redirect = stream === "stdout" ? '"$@" 2>/dev/null' : '"$@" 2>&1 >/dev/null';
  return new Promise((resolvePromise, reject) => {
    const child = spawn("/bin/sh", ["-c", `${redirect} | { sleep 0.3; cat; }`, "sh", ...argv, stream], { stdio: ["ignore", "pipe", "inherit"] });
    let text = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (text += d));
    child.on("error", reject);
    child.on("close", () => resolvePromise(text));
  });
}

describe("exitProcess flushes stdout and stderr", () => {
  let nodeMain = "";
  beforeAll(async () => {
    const bundle = await bundleForNode(join(ROOT, "src/runtime/node.ts"), join(dir, "node-runtime.mjs"));
    nodeMain = join(dir, "main.mjs");
    writeFileSync(nodeMain, script(bundle));
  });

  it.each(["node", "bun"])("%s, three times each", async (runtime) => {
    const argv = runtime === "node" ? [process.execPath, nodeMain] : [BUN, "-e", script(join(ROOT, "src/runtime/node.ts"))];
    for (let i = 0; i < 3; i++) {
      for (const stream of ["stdout", "stderr"] as const) {
        const text = await throughSlowPipe(argv, stream);
        expect(text.length, stream).toBe(EXPECTED);
        expect(text.endsWith("\nLAST-LINE\n")).toBe(true);
      }
    }
  });
});
