import { main } from "../main.ts";
import { exitProcess, nodeRuntime } from "../runtime/node.ts";

// No top-level await: Bun's --bytecode output is CommonJS.
void main(process.argv.slice(2), nodeRuntime()).then(exitProcess);
