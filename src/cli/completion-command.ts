// `aws-vault completion bash|zsh|fish`: prints the shell's completion script (cli/completion.ts,
// loaded only here).
import { type Command, Argument } from "commander";
import { UsageError } from "../errors.ts";
import type { CliContext } from "./context.ts";
import { withHint } from "./hints.ts";

const SHELL_NAMES = ["bash", "zsh", "fish"] as const;

export function registerCompletion(program: Command, ctx: CliContext): void {
  program
    .command("completion")
    .description("Print a shell completion script (bash, zsh or fish).")
    .addArgument(withHint(new Argument("<shell>", "Shell to complete for: bash, zsh or fish"), SHELL_NAMES))
    .action((shell: string) =>
      ctx.run("completion", async () => {
        if (!(SHELL_NAMES as readonly string[]).includes(shell)) {
          throw new UsageError(`enum value must be one of ${SHELL_NAMES.join(",")}, got '${shell}'`);
        }
        const { completionScript } = await import("./completion.ts");
        ctx.rt.stdout.write(completionScript(shell as (typeof SHELL_NAMES)[number]));
        return 0;
      }),
    );
}
