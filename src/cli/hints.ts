// Completion hints for flag values and arguments, read by the shell completion (cli/completion.ts)
// when it walks the commander program. Most need no call here: an argument named `profile` and the
// placeholders `<profile>`, `<backend>` and `<prompt>` are recognised by name. A fixed set of values
// (like `export --format`) is attached with `withHint`.
import type { Argument, Option } from "commander";

/** Dynamic sources the completion resolves at completion time, or a fixed list of values. */
export type Hint = "profiles" | "backends" | "prompts" | readonly string[];

const HINTS = new WeakMap<Option | Argument, Hint>();

export function withHint<T extends Option | Argument>(target: T, hint: Hint): T {
  HINTS.set(target, hint);
  return target;
}

export function explicitHint(target: Option | Argument): Hint | undefined {
  return HINTS.get(target);
}
