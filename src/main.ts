// Start-up dispatch. aws-vault runs before every AWS CLI call (credential_process), so this module
// loads almost nothing: `--version` is answered here, a plain `export`/`exec --json` goes to the
// fast path (no argument-parser library, no help text), and everything else loads the full
// commander program. Both paths run the same command code (cli/export.ts) and render errors the same way.
import type { Runtime } from "./runtime/runtime.ts";
import { isBuiltinFlag, parseFastCommand } from "./cli/fast-argv.ts";
import { VERSION } from "./version.ts";

/** The line `--version` prints (to stderr, as aws-vault's kingpin does), or undefined for any other command line. */
export function versionLine(argv: readonly string[]): string | undefined {
  const dashdash = argv.indexOf("--");
  const flags = dashdash === -1 ? argv : argv.slice(0, dashdash);
  return flags.includes("--version") && !flags.some(isBuiltinFlag) ? VERSION : undefined;
}

/** Runs aws-vault with argv (without node and script) and returns the exit code. */
export async function main(argv: string[], rt: Runtime): Promise<number> {
  const version = versionLine(argv);
  if (version !== undefined) {
    rt.stderr.write(`${version}\n`);
    return 0;
  }
  const fast = parseFastCommand(argv);
  if (fast) {
    const { runFastCommand } = await import("./cli/fast-path.ts");
    return runFastCommand(fast, rt);
  }
  const { runProgram } = await import("./cli/program-main.ts");
  return runProgram(argv, rt);
}

