import { main } from "../main.ts";
import { hardenProcess } from "../runtime/harden.ts";
import { exitProcess, nodeRuntime } from "../runtime/node.ts";

// Before anything reads a secret: no core file may hold one (Bun: non-dumpable, core limit 0).
hardenProcess();
// No top-level await: the bundles keep working as CommonJS too (Bun's --bytecode default format).
void main(process.argv.slice(2), nodeRuntime()).then(exitProcess);
