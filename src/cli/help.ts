// The help screens' extras, attached only when help is asked for (main.ts loads this lazily): the
// environment variables and examples of cli/docs.ts after each command's flags, and defaults that
// read cleanly (no "(default: true)" on a flag that is on unless negated, no "(default: [])").
import { type Command, Help, type Option } from "commander";
import { type CommandDocs, docsFor } from "./docs.ts";

/** The command as cli/docs.ts keys it: "" for the program, "exec", "sso populate". */
export function docsKey(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(" ");
}

/** Plain-text "Environment variables:" and "Examples:" sections. */
export function docsText(docs: CommandDocs, isProgram: boolean): string {
  const out: string[] = [];
  const env = docs.env ?? [];
  if (env.length > 0) {
    const width = Math.min(Math.max(...env.map((e) => e.name.length)), 26);
    out.push("", "Environment variables:");
    for (const e of env) {
      out.push(e.name.length > width ? `  ${e.name}\n  ${" ".repeat(width)}  ${e.description}` : `  ${e.name.padEnd(width)}  ${e.description}`);
    }
    if (!isProgram) out.push("  (and the global ones: see aws-vault --help)");
  }
  const examples = docs.examples ?? [];
  if (examples.length > 0) {
    out.push("", "Examples:");
    for (const x of examples) out.push(`  ${x.command}`, `      ${x.description}`);
  }
  return out.length > 0 ? `${out.join("\n")}\n` : "";
}

/** Commander's option text, without defaults that say nothing (`true` on a negatable flag, `[]`). */
export function cleanOptionDescription(option: Option, base: (o: Option) => string): string {
  const d: unknown = option.defaultValue;
  const silent = (typeof d === "boolean" && option.isBoolean()) || (Array.isArray(d) && d.length === 0);
  if (!silent) return base(option);
  return option.description;
}

export function decorateHelp(program: Command): void {
  const walk = (cmd: Command) => {
    const base = new Help();
    cmd.configureHelp({ optionDescription: (o) => cleanOptionDescription(o, (x) => base.optionDescription(x)) });
    const text = docsText(docsFor(docsKey(cmd)), cmd.parent === null);
    if (text) cmd.addHelpText("after", text);
    for (const sub of cmd.commands) walk(sub);
  };
  walk(program);
}
