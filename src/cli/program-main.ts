// Every command line the fast path (fast-path.ts) does not take: the commander program.
import { CommanderError } from "commander";
import { buildProgram } from "./program.ts";
import { createContext } from "./context.ts";
import { renderError } from "./render.ts";
import { UsageError } from "../errors.ts";
import type { Runtime } from "../runtime/runtime.ts";
import { isBuiltinFlag } from "./fast-argv.ts";

/** Parses argv with the full command table, runs the command and returns the exit code. */
export async function runProgram(argv: string[], rt: Runtime): Promise<number> {
  const dashdash = argv.indexOf("--");
  const flags = dashdash === -1 ? argv : argv.slice(0, dashdash);
  const builtin = flags.find(isBuiltinFlag);
  if (builtin !== undefined) {
    const { runBuiltinFlag, BUILTIN_FLAGS } = await import("./builtin-flags.ts");
    const flag = BUILTIN_FLAGS.find((f) => f === builtin) ?? BUILTIN_FLAGS[0];
    return runBuiltinFlag(flag, argv, rt, createContext(rt), buildProgram);
  }
  const ctx = createContext(rt);
  const program = buildProgram(ctx);
  if (argv.length === 0 || argv[0] === "help" || flags.includes("--help") || flags.includes("-h")) {
    (await import("./help.ts")).decorateHelp(program);
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
