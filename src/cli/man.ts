// `aws-vault --help-man`: a man page in roff, as kingpin prints one, generated from the commander
// program (every visible command, argument and flag) and cli/docs.ts. The build writes it to
// dist/aws-vault.1, which the npm package installs (`man aws-vault`). Nothing in it depends on the
// machine: the backend list is the full one, and there is no date.
import { type Command, Help, type Option } from "commander";
import { VERSION } from "../version.ts";
import { type CommandDocs, COMMAND_DOCS, docsFor, type EnvDoc } from "./docs.ts";
import { cleanOptionDescription, docsKey } from "./help.ts";

const help = new Help();

/** Escapes text for roff: backslashes, hyphens in words, and a leading dot or quote. */
export function roffEscape(text: string): string {
  const escaped = text.replace(/\\/g, "\\e").replace(/-/g, "\\-");
  return /^[.']/.test(escaped) ? `\\&${escaped}` : escaped;
}

function bold(s: string): string {
  return `\\fB${roffEscape(s)}\\fR`;
}

function italic(s: string): string {
  return `\\fI${roffEscape(s)}\\fR`;
}

function optionLines(o: Option): string[] {
  const names = [o.short, o.long].filter((n): n is string => Boolean(n)).map(bold).join(", ");
  const value = /[<[]([^>\]]+)[>\]]/.exec(o.flags)?.[1];
  const head = value ? `${names} ${italic(value)}` : names;
  const text = cleanOptionDescription(o, (x) => help.optionDescription(x));
  return [".TP", head, roffEscape(text)];
}

function usage(cmd: Command, path: string): string {
  const args = cmd.registeredArguments.map((a) => {
    const name = `${a.name()}${a.variadic ? "..." : ""}`;
    return a.required ? `<${name}>` : `[<${name}>]`;
  });
  const flags = help.visibleOptions(cmd).length > 1 ? ["[<flags>]"] : [];
  return [path, ...flags, ...args].join(" ");
}

function docsSection(docs: CommandDocs, heading: (t: string) => string): string[] {
  const out: string[] = [];
  if (docs.env && docs.env.length > 0) {
    out.push(heading("Environment variables"));
    for (const e of docs.env) out.push(".TP", bold(e.name), roffEscape(e.description));
  }
  if (docs.examples && docs.examples.length > 0) {
    out.push(heading("Examples"));
    for (const x of docs.examples) out.push(".TP", `\\fC${roffEscape(x.command)}\\fR`, roffEscape(x.description));
  }
  return out;
}

function allEnv(): EnvDoc[] {
  const seen = new Map<string, EnvDoc>();
  for (const docs of Object.values(COMMAND_DOCS)) for (const e of docs.env ?? []) if (!seen.has(e.name)) seen.set(e.name, e);
  return [...seen.values()].sort((a, b) => a.name.localeCompare(b.name));
}

export function manPage(program: Command): string {
  const name = program.name();
  const out: string[] = [
    `.TH ${roffEscape(name.toUpperCase())} 1 "" "${roffEscape(`${name} ${VERSION}`)}" "User Commands"`,
    ".SH NAME",
    `${roffEscape(name)} \\- ${roffEscape(program.description())}`,
    ".SH SYNOPSIS",
    `${bold(name)} [${italic("global flags")}] ${italic("command")} [${italic("flags")}] [${italic("args")}...]`,
    ".SH DESCRIPTION",
    roffEscape(program.description()),
    ".SH GLOBAL FLAGS",
  ];
  for (const o of help.visibleOptions(program)) out.push(...optionLines(o));
  out.push(".SH COMMANDS");
  const section = (cmd: Command) => {
    const path = docsKey(cmd);
    const aliases = cmd.aliases().length > 0 ? ` (alias: ${cmd.aliases().join(", ")})` : "";
    out.push(`.SS "${roffEscape(usage(cmd, path))}"`, `${roffEscape(cmd.description())}${roffEscape(aliases)}`);
    for (const a of cmd.registeredArguments) out.push(".TP", italic(a.name()), roffEscape(a.description));
    for (const o of help.visibleOptions(cmd)) if (o.long !== "--help") out.push(...optionLines(o));
    out.push(...docsSection(docsFor(path), (t) => `.PP\n\\fB${roffEscape(t)}:\\fR`));
    for (const sub of help.visibleCommands(cmd)) if (sub.name() !== "help") section(sub);
  };
  for (const cmd of help.visibleCommands(program)) if (cmd.name() !== "help") section(cmd);
  out.push(".SH ENVIRONMENT");
  for (const e of allEnv()) out.push(".TP", bold(e.name), roffEscape(e.description));
  out.push(...docsSection({ examples: docsFor("").examples ?? [] }, () => ".SH EXAMPLES"));
  out.push(
    ".SH FILES",
    ".TP",
    bold("~/.aws/config"),
    roffEscape("profiles (or AWS_CONFIG_FILE)"),
    ".TP",
    bold("~/.awsvault/keys/"),
    roffEscape("the file backend's encrypted items (or AWS_VAULT_FILE_DIR)"),
    ".SH SEE ALSO",
    `${bold("aws")}(1)`,
  );
  return `${out.join("\n")}\n`;
}
