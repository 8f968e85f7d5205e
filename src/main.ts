import { CommanderError } from "commander";
import { buildProgram } from "./cli/program.ts";
import { createContext } from "./cli/context.ts";
import { renderError } from "./cli/render.ts";
import { UsageError } from "./errors.ts";
import type { Runtime } from "./runtime/runtime.ts";
import { VERSION } from "./version.ts";

/** kingpin's hidden built-in flags (cli/builtin-flags.ts, loaded only when one is given). */
const BUILTIN_FLAG_NAMES = new Set(["--completion-bash", "--completion-script-bash", "--completion-script-zsh", "--help-man"]);

/** Runs aws-vault with argv (without node and script) and returns the exit code. */
export async function main(argv: string[], rt: Runtime): Promise<number> {
  const dashdash = argv.indexOf("--");
  const flags = dashdash === -1 ? argv : argv.slice(0, dashdash);
  const builtin = flags.find((f) => BUILTIN_FLAG_NAMES.has(f));
  if (builtin !== undefined) {
    const { runBuiltinFlag, BUILTIN_FLAGS } = await import("./cli/builtin-flags.ts");
    const flag = BUILTIN_FLAGS.find((f) => f === builtin) ?? BUILTIN_FLAGS[0];
    return runBuiltinFlag(flag, argv, rt, createContext(rt), buildProgram);
  }
  if (flags.includes("--version")) {
    // aws-vault (kingpin) prints the version to stderr.
    rt.stderr.write(`${VERSION}\n`);
    return 0;
  }
  const ctx = createContext(rt);
  const program = buildProgram(ctx);
  if (argv.length === 0 || argv[0] === "help" || flags.includes("--help") || flags.includes("-h")) {
    (await import("./cli/help.ts")).decorateHelp(program);
  }
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
