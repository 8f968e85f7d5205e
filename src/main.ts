import { CommanderError } from "commander";
import { buildProgram } from "./cli/program.ts";
import { createContext } from "./cli/context.ts";
import { renderError } from "./cli/render.ts";
import { UsageError } from "./errors.ts";
import type { Runtime } from "./runtime/runtime.ts";
import { VERSION } from "./version.ts";

/** Runs aws-vault with argv (without node and script) and returns the exit code. */
export async function main(argv: string[], rt: Runtime): Promise<number> {
  const dashdash = argv.indexOf("--");
  const flags = dashdash === -1 ? argv : argv.slice(0, dashdash);
  if (flags.includes("--version")) {
    // aws-vault (kingpin) prints the version to stderr.
    rt.stderr.write(`${VERSION}\n`);
    return 0;
  }
  const ctx = createContext(rt);
  const program = buildProgram(ctx);
  try {
    if (argv.length === 0) {
      program.outputHelp();
      return 0;
    }
    await program.parseAsync(argv, { from: "user" });
    return ctx.exitCode;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === "commander.helpDisplayed" || e.code === "commander.help" || e.code === "commander.version") return 0;
      return renderError(rt, new UsageError(commanderMessage(e), { hints: usageHints(e, argv) }));
    }
    return renderError(rt, e);
  }
}

/** `aws-vault exec p ls -la`: the program's own flags need `--` before the command. */
function usageHints(e: CommanderError, argv: string[]): string[] {
  if (e.code === "commander.unknownOption" && argv[0] === "exec" && !argv.includes("--")) {
    return ["put the command after --, e.g. aws-vault exec PROFILE -- COMMAND ARGS..."];
  }
  return [];
}

/** Commander's messages, phrased as aws-vault (kingpin) phrases the common ones. */
function commanderMessage(e: CommanderError): string {
  const msg = e.message.replace(/^error: /, "");
  const missing = /^missing required argument '([^']+)'/.exec(msg);
  if (missing) return `required argument '${missing[1]}' not provided`;
  const unknownCmd = /^unknown command '([^']+)'/.exec(msg);
  if (unknownCmd) return `expected command but got "${unknownCmd[1]}"`;
  return msg.replace(/\.$/, "");
}
