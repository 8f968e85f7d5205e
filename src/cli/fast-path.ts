// The fast path for the credential_process command lines (`export PROFILE`, `exec --json PROFILE`)
// and `list`:
// the same command code and error rendering as the commander program (program-main.ts), minus the
// argument-parser library, the command table and its help text. Global flags are never on this
// path (fast-argv.ts refuses them), so they come from the environment and defaults, as they would
// under commander.
import type { Runtime } from "../runtime/runtime.ts";
import { createContext } from "./context.ts";
import { runExport, validateExportOptions } from "./export.ts";
import { runList } from "./list.ts";
import type { FastCommand } from "./fast-argv.ts";
import { renderError } from "./render.ts";

export async function runFastCommand(c: FastCommand, rt: Runtime): Promise<number> {
  const ctx = createContext(rt);
  try {
    // As commander's preAction hook: global options first, their errors untagged.
    const session = ctx.sessionFor({});
    if (c.command === "list") {
      await ctx.run("list", () => runList(c.options, session));
    } else {
      const flags = c.command === "exec" ? { ...c.flags, format: "json" } : c.flags;
      await ctx.run(c.command, () => runExport(validateExportOptions(c.profile, flags), session, c.command));
    }
    return ctx.exitCode;
  } catch (e) {
    return renderError(rt, e);
  }
}
