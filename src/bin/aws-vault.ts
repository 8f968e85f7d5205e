import { main } from "../main.ts";
import { exitProcess, nodeRuntime } from "../runtime/node.ts";

// No top-level await: the bundles keep working as CommonJS too (Bun's --bytecode default format).
void main(process.argv.slice(2), nodeRuntime()).then(exitProcess);
