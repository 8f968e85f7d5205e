import type { Command } from "commander";
import { availableBackends } from "../keyring/open.ts";
import { validatePromptName } from "../prompt/prompt.ts";
import type { Runtime } from "../runtime/runtime.ts";
import { VERSION } from "../version.ts";
import { type GlobalFlags, resolveGlobalOptions, Session } from "./global.ts";
import { CommandFailure } from "./render.ts";

/** What every command's register function receives. */
export interface CliContext {
  rt: Runtime;
  /** Backends usable here, probed once per process. */
  availableBackends(): string[];
  /** Resolves global flags (flag > env > default) and opens nothing yet. */
  session(cmd: Command): Session;
  /** The same, from flags already parsed (the fast path has none: environment and defaults). */
  sessionFor(flags: GlobalFlags): Session;
  /** Runs a command body; errors are tagged with the command name; the result is the exit code. */
  run(name: string, body: () => Promise<number>): Promise<void>;
  exitCode: number;
}

export function createContext(rt: Runtime): CliContext {
  let session: Session | undefined;
  let backends: string[] | undefined;
  const ctx: CliContext = {
    rt,
    availableBackends: () => (backends ??= availableBackends(rt.env, rt.platform)),
    exitCode: 0,
    session: (cmd) => ctx.sessionFor(cmd.optsWithGlobals<GlobalFlags>()),
    sessionFor(flags) {
      if (session) return session;
      const options = resolveGlobalOptions(flags, rt, ctx.availableBackends);
      if (options.debug) {
        rt.enableDebug();
        rt.log.debug(`aws-vault ${VERSION}`);
      }
      // As aws-vault: a bad --prompt is refused up front, whatever the command.
      if (options.prompt) validatePromptName(rt, options.prompt);
      session = new Session(rt, options);
      return session;
    },
    async run(name, body) {
      try {
        ctx.exitCode = await body();
      } catch (e) {
        throw new CommandFailure(name, e);
      }
    },
  };
  return ctx;
}
