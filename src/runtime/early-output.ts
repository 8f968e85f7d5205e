// One line on stderr before the runtime is built (`--version`). Under Bun, console.error is
// native and loads nothing, while node:fs costs about a millisecond of a 4 ms start; Node writes
// with a blocking write(2) and falls back to the stream, as runtime/node.ts's output does.
import { isBun } from "./builtins.ts";

export function writeEarlyLine(line: string): void {
  if (isBun()) {
    console.error(line);
    return;
  }
  try {
    process.getBuiltinModule("node:fs").writeSync(2, `${line}\n`);
  } catch {
    process.stderr.write(`${line}\n`);
  }
}
