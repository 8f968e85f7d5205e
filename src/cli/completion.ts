// Shell completion (loaded only on the completion paths).
//
// The protocol is aws-vault's, i.e. kingpin's: `aws-vault --completion-bash WORDS...` prints the
// candidates for the last word, one per line, and the shell filters them by prefix. The words are the
// command line after the program name, up to and including the word being completed (which the
// aws-vault zsh and fish scripts leave out when it is empty). The candidates follow kingpin's rules:
//   - when the last word starts with `--`, or the one before it does: the flags of the selected
//     command (then the global ones), or the values of that flag when it is a known one with values;
//     a flag without values counts as complete, and completion goes on with commands and arguments;
//   - otherwise the values of the first argument not yet given (profile names for `profile`), or the
//     command names once the arguments are used up; a partly typed argument is matched by prefix,
//     and one that matches a value exactly counts as given.
// Everything comes from the commander program: new commands and flags complete without changes
// here. Values come from cli/hints.ts (explicit) or by name: an argument `profile`, the placeholders
// `<profile>`, `<backend>` and `<prompt>`.
import { type Argument, type Command, Help, type Option } from "commander";
import { promptDrivers } from "../prompt/prompt.ts";
import type { Runtime } from "../runtime/runtime.ts";
import { ConfigFile } from "../vault/config/loader.ts";
import { resolveGlobalOptions } from "./global.ts";
import { explicitHint, type Hint } from "./hints.ts";

export const SHELLS = ["bash", "zsh", "fish"] as const;
export type Shell = (typeof SHELLS)[number];

/** Where dynamic values come from; resolved only when a candidate list needs them. */
export interface HintSources {
  profiles(): string[];
  backends(): string[];
  prompts(): string[];
}

export function runtimeHintSources(rt: Runtime, availableBackends: () => string[]): HintSources {
  return {
    profiles: () => {
      try {
        const { configPath } = resolveGlobalOptions({}, rt, availableBackends());
        return ConfigFile.loadSync(configPath).profileNames();
      } catch {
        // A broken config completes nothing rather than printing an error into the command line.
        return [];
      }
    },
    backends: availableBackends,
    prompts: () => promptDrivers(rt),
  };
}

const help = new Help();

function visibleCommands(cmd: Command): Command[] {
  return help.visibleCommands(cmd);
}

function allCommands(cmd: Command): Command[] {
  // Hidden commands still parse (kingpin completes their flags once typed), they are just not offered.
  const implicitHelp = visibleCommands(cmd).filter((c) => !cmd.commands.includes(c));
  return [...cmd.commands, ...implicitHelp];
}

function optionName(o: Option): string | undefined {
  return o.long?.replace(/^--/, "");
}

function takesValue(o: Option): boolean {
  return o.required || o.optional;
}

function placeholder(o: Option): string | undefined {
  return /<([\w-]+)(?:\.\.\.)?>|\[([\w-]+)(?:\.\.\.)?\]/.exec(o.flags)?.slice(1).find(Boolean);
}

function resolveHint(hint: Hint | undefined, sources: HintSources): string[] {
  if (hint === undefined) return [];
  if (typeof hint !== "string") return [...hint];
  return sources[hint]();
}

function namedHint(name: string | undefined): Hint | undefined {
  if (name === "profile") return "profiles";
  if (name === "backend") return "backends";
  if (name === "prompt") return "prompts";
  return undefined;
}

function optionValues(o: Option, sources: HintSources): string[] {
  return resolveHint(explicitHint(o) ?? namedHint(placeholder(o)), sources);
}

function argumentValues(p: Parsed, a: Argument | undefined, sources: HintSources): string[] {
  if (a === undefined) return [];
  // `help COMMAND`: the command names.
  if (p.target.name() === "help" && a.name() === "command") {
    return visibleCommands(p.parent).map((c) => c.name()).filter((n) => n !== "help");
  }
  return resolveHint(explicitHint(a) ?? namedHint(a.name()), sources);
}

function argumentsOf(cmd: Command): readonly Argument[] {
  return cmd.registeredArguments;
}

interface Parsed {
  /** The selected command, or the program itself. */
  target: Command;
  /** The command the target was selected from. */
  parent: Command;
  selected: boolean;
  /** Positional words given to the target's arguments, in order. */
  args: string[];
  /** A `--` was seen: everything after it is an argument. */
  argsOnly: boolean;
}

function findOption(chain: Command[], match: (o: Option) => boolean): Option | undefined {
  for (const c of chain) {
    const found = c.options.find(match);
    if (found) return found;
  }
  return undefined;
}

/** Walks the words as the parser would, stopping at the first one it would reject. */
function parse(program: Command, words: string[]): Parsed {
  const p: Parsed = { target: program, parent: program, selected: false, args: [], argsOnly: false };
  // The flags of the selected command, then of each command above it.
  const chain = () => {
    const out: Command[] = [];
    for (let c: Command | null = p.target; c; c = c === program ? null : c.parent) out.push(c);
    if (out[out.length - 1] !== program) out.push(program);
    return out;
  };
  for (let i = 0; i < words.length; i++) {
    const w = words[i] as string;
    // A `--` still being typed is the start of a flag, not the end of them.
    if (!p.argsOnly && w === "--" && i < words.length - 1) {
      p.argsOnly = true;
      continue;
    }
    if (!p.argsOnly && w.startsWith("--")) {
      const eq = w.indexOf("=");
      const name = eq === -1 ? w : w.slice(0, eq);
      const o = findOption(chain(), (x) => x.long === name);
      if (!o) break;
      if (takesValue(o) && eq === -1) i++;
      continue;
    }
    if (!p.argsOnly && w.startsWith("-") && w.length > 1) {
      const o = findOption(chain(), (x) => x.short === w.slice(0, 2));
      if (!o) break;
      if (takesValue(o) && w.length === 2) i++;
      continue;
    }
    if (p.args.length === 0 && allCommands(p.target).length > 0) {
      const sub = allCommands(p.target).find((c) => c.name() === w || c.aliases().includes(w));
      if (!sub) break;
      p.parent = p.target;
      p.target = sub;
      p.selected = true;
      continue;
    }
    const declared = argumentsOf(p.target);
    const last = declared[declared.length - 1];
    if (p.args.length >= declared.length && !last?.variadic) break;
    p.args.push(w);
  }
  return p;
}

/** kingpin's CmdCompletion: the next argument's values, or the subcommands once arguments are given. */
function commandCompletion(p: Parsed, sources: HintSources): string[] {
  const declared = argumentsOf(p.target);
  let satisfied = 0;
  let allSatisfied = false;
  let options: string[] = [];
  for (const value of p.args) {
    allSatisfied = false;
    options = [];
    if (value === "") continue;
    const arg = declared[Math.min(satisfied, declared.length - 1)];
    const consumesRest = Boolean(arg?.variadic);
    const valid = argumentValues(p, arg, sources);
    if (valid.includes(value)) {
      if (!consumesRest) satisfied++;
      continue;
    }
    options = valid.filter((v) => v.startsWith(value));
    if (!consumesRest) {
      satisfied++;
      allSatisfied = true;
    }
  }
  if (satisfied < declared.length && !allSatisfied) return [...options, ...argumentValues(p, declared[satisfied], sources)];
  return [...options, ...visibleCommands(p.target).map((c) => c.name())];
}

interface FlagMatch {
  options: string[];
  flagMatched: boolean;
  valueMatched: boolean;
}

/** kingpin's FlagCompletion: a flag's values when it is named in full, else all visible flag names. */
function flagCompletion(cmd: Command, flagName: string, flagValue: string, sources: HintSources): FlagMatch {
  const names: string[] = [];
  for (const o of cmd.options) {
    const name = optionName(o);
    if (name === undefined) continue;
    if (name === flagName) {
      const values = takesValue(o) ? optionValues(o, sources) : [];
      if (values.length === 0) return { options: [], flagMatched: true, valueMatched: true };
      const exact = values.includes(flagValue);
      const prefix = values.some((v) => v !== flagValue && v.startsWith(flagValue));
      return { options: values, flagMatched: true, valueMatched: exact && !prefix };
    }
    if (!o.hidden) names.push(`--${name}`);
  }
  if (cmd.parent === null && !names.includes("--help")) names.push("--help");
  return { options: names, flagMatched: false, valueMatched: false };
}

/** The candidates for the last of `words` (the command line after the program name). */
export function completionCandidates(program: Command, words: string[], sources: HintSources): string[] {
  const p = parse(program, words);
  const curr = words.length > 0 ? (words[words.length - 1] as string) : "";
  const prev = words.length > 1 ? (words[words.length - 2] as string) : "";
  if ((curr !== "" && curr.startsWith("--")) || prev.startsWith("--")) {
    if (p.argsOnly) return [];
    let flagName = "";
    let flagValue = "";
    if (prev.startsWith("--") && !curr.startsWith("--")) {
      flagName = prev.slice(2);
      flagValue = curr;
    } else if (curr.startsWith("--")) {
      flagName = curr.slice(2);
    }
    const own = flagCompletion(p.target, flagName, flagValue, sources);
    if (own.valueMatched) return unique(commandCompletion(p, sources));
    if (p.selected && !own.flagMatched) {
      const top = flagCompletion(program, flagName, flagValue, sources);
      if (top.valueMatched) return unique(commandCompletion(p, sources));
      return unique(top.flagMatched ? top.options : [...own.options, ...top.options]);
    }
    return unique(own.options);
  }
  return unique(commandCompletion(p, sources));
}

function unique(xs: string[]): string[] {
  return [...new Set(xs)];
}

/**
 * The completion scripts. Each one hands the words to `aws-vault --completion-bash` (the same
 * binary that was typed) and, after a `--`, completes the wrapped command as the shell would.
 */
export function completionScript(shell: Shell): string {
  switch (shell) {
    case "bash":
      return `# bash completion for aws-vault: eval "$(aws-vault completion bash)"
_aws_vault_complete() {
    local i cur="\${COMP_WORDS[COMP_CWORD]}"
    for (( i = 1; i < COMP_CWORD; i++ )); do
        if [[ \${COMP_WORDS[i]} == -- ]]; then
            if declare -F _command_offset >/dev/null; then _command_offset $((i + 1)); fi
            return
        fi
    done
    local IFS=$'\\n'
    COMPREPLY=( $(compgen -W "$("\${COMP_WORDS[0]}" --completion-bash "\${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null)" -- "$cur") )
}
complete -o default -F _aws_vault_complete aws-vault
`;
    case "zsh":
      return `#compdef aws-vault
# zsh completion for aws-vault: eval "$(aws-vault completion zsh)", or save as _aws-vault in $fpath
_aws-vault() {
    local i
    for (( i = 2; i < CURRENT; i++ )); do
        if [[ \${words[i]} == -- ]]; then
            shift $i words
            (( CURRENT -= i ))
            _normal
            return
        fi
    done
    local -a matches
    matches=( \${(f)"$(\${words[1]} --completion-bash "\${(@)words[2,CURRENT]}" 2>/dev/null)"} )
    compadd -a matches
    if (( compstate[nmatches] == 0 )) && [[ \${words[CURRENT]} != -* ]]; then
        _files
    fi
}
if [[ "\${funcstack[1]}" == "_aws-vault" ]]; then
    _aws-vault "$@"
else
    compdef _aws-vault aws-vault
fi
`;
    case "fish":
      return `# fish completion for aws-vault: aws-vault completion fish | source
function __aws_vault_complete
    set -l words (commandline -opc)
    set -l program $words[1]
    set -e words[1]
    set -l dashdash (contains -i -- -- $words)
    if test -n "$dashdash"
        set -l wrapped $words[(math $dashdash + 1)..-1] (commandline -ct)
        complete -C (string join -- ' ' $wrapped)
        return
    end
    $program --completion-bash $words (commandline -ct) 2>/dev/null
end
complete -c aws-vault -f -a '(__aws_vault_complete)'
`;
  }
}
