import { hardenProcess } from "../runtime/harden.ts";
import { writeEarlyLine } from "../runtime/early-output.ts";
import { main, versionLine } from "../main.ts";

const argv = process.argv.slice(2);
// --version reads no secret: it is answered before the hardening and before the runtime loads.
const version = versionLine(argv);
if (version !== undefined) {
  writeEarlyLine(version);
} else {
  // Before anything reads a secret: no core file may hold one (Bun: non-dumpable, core limit 0).
  hardenProcess();
  // No top-level await: the bundles keep working as CommonJS too (Bun's --bytecode default format).
  void import("../runtime/node.ts").then(({ exitProcess, nodeRuntime }) => main(argv, nodeRuntime()).then(exitProcess));
}
