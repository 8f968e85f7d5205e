// kingpin's built-in hidden flags, handled before the command line is parsed (main.ts loads this
// module only when one of them is present): --completion-bash, --completion-script-bash,
// --completion-script-zsh and --help-man.
import type { Command } from "commander";
import { BACKEND_ORDER } from "../keyring/open.ts";
import type { Runtime } from "../runtime/runtime.ts";
import { completionCandidates, completionScript, runtimeHintSources } from "./completion.ts";
import type { CliContext } from "./context.ts";
import { decorateHelp } from "./help.ts";
import { manPage } from "./man.ts";

export const BUILTIN_FLAGS = ["--completion-bash", "--completion-script-bash", "--completion-script-zsh", "--help-man"] as const;

export function runBuiltinFlag(
  flag: (typeof BUILTIN_FLAGS)[number],
  argv: string[],
  rt: Runtime,
  ctx: CliContext,
  build: (ctx: CliContext) => Command,
): number {
  switch (flag) {
    case "--completion-bash": {
      const words = [...argv];
      words.splice(words.indexOf(flag), 1);
      const candidates = completionCandidates(build(ctx), words, runtimeHintSources(rt, () => ctx.availableBackends()));
      rt.stdout.write(candidates.map((c) => `${c}\n`).join(""));
      return 0;
    }
    case "--completion-script-bash":
      rt.stdout.write(completionScript("bash"));
      return 0;
    case "--completion-script-zsh":
      rt.stdout.write(completionScript("zsh"));
      return 0;
    case "--help-man": {
      // The page documents the program, not this machine: every backend is listed.
      const program = build({ ...ctx, availableBackends: () => [...BACKEND_ORDER] });
      decorateHelp(program);
      rt.stdout.write(manPage(program));
      return 0;
    }
  }
}
