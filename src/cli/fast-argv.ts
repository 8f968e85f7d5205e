// Recognises the command lines the fast path may run without commander: `export` and `exec --json`
// with their credential flags and one profile, and `list`/`ls` with its three switches; nothing else. It imports nothing, so it costs nothing
// at start-up. Anything it is not sure about (help, global flags, `--`, bundled short flags, a
// repeated flag, a value that looks like a flag, a second positional) returns undefined, and the
// full commander program parses the line exactly as before.
import type { ExportFlags } from "./export.ts";
import type { ListOptions } from "./list.ts";

export type FastCommand =
  | { command: "export" | "exec"; profile: string; flags: ExportFlags }
  | { command: "list"; options: ListOptions };

const LIST_SWITCHES: Readonly<Record<string, keyof ListOptions>> = {
  "--profiles": "profiles",
  "--sessions": "sessions",
  "--credentials": "credentials",
};

/** `list`/`ls` with nothing but its switches (each at most once). */
function parseList(argv: readonly string[]): FastCommand | undefined {
  const options: ListOptions = { profiles: false, sessions: false, credentials: false };
  for (const arg of argv.slice(1)) {
    const name = Object.hasOwn(LIST_SWITCHES, arg) ? LIST_SWITCHES[arg] : undefined;
    if (name === undefined || options[name]) return undefined;
    options[name] = true;
  }
  return { command: "list", options };
}

type FlagName = "duration" | "session" | "region" | "mfaToken" | "format" | "stdout" | "json";

/** Spellings → the commander attribute they set; `value` flags take an argument. */
const FLAGS: Readonly<Record<string, { name: FlagName; value: boolean }>> = {
  "-d": { name: "duration", value: true },
  "--duration": { name: "duration", value: true },
  "-n": { name: "session", value: false },
  "--no-session": { name: "session", value: false },
  "--region": { name: "region", value: true },
  "-t": { name: "mfaToken", value: true },
  "--mfa-token": { name: "mfaToken", value: true },
  "--format": { name: "format", value: true },
  "--stdout": { name: "stdout", value: false },
  "-j": { name: "json", value: false },
  "--json": { name: "json", value: false },
};

/** Which flags each command takes (exec only on the `--json` path, where it behaves as export). */
const ACCEPTS: Readonly<Record<"export" | "exec", ReadonlySet<FlagName>>> = {
  export: new Set<FlagName>(["duration", "session", "region", "mfaToken", "format", "stdout"]),
  exec: new Set<FlagName>(["duration", "session", "region", "mfaToken", "stdout", "json"]),
};

export function parseFastCommand(argv: readonly string[]): FastCommand | undefined {
  const command = argv[0];
  if (command === "list" || command === "ls") return parseList(argv);
  if (command !== "export" && command !== "exec") return undefined;
  const accepts = ACCEPTS[command];
  const seen = new Set<FlagName>();
  const flags: Partial<Record<FlagName, string | boolean>> = {};
  let profile: string | undefined;
  for (let i = 1; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (!arg.startsWith("-")) {
      if (profile !== undefined || arg === "") return undefined;
      profile = arg;
      continue;
    }
    const eq = arg.startsWith("--") ? arg.indexOf("=") : -1;
    const spelling = eq === -1 ? arg : arg.slice(0, eq);
    const flag = Object.hasOwn(FLAGS, spelling) ? FLAGS[spelling] : undefined;
    if (!flag || !accepts.has(flag.name) || seen.has(flag.name)) return undefined;
    seen.add(flag.name);
    if (!flag.value) {
      if (eq !== -1) return undefined;
      flags[flag.name] = flag.name !== "session"; // --no-session sets session = false, as commander does
      continue;
    }
    const value = eq !== -1 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined || value === "" || value.startsWith("-")) return undefined;
    flags[flag.name] = value;
  }
  if (profile === undefined) return undefined;
  if (command === "exec") {
    if (!flags.json) return undefined;
    delete flags.json;
  }
  return { command, profile, flags: flags as ExportFlags };
}

/** kingpin's hidden built-in flags, handled by the full program (cli/builtin-flags.ts). */
export function isBuiltinFlag(flag: string): boolean {
  return flag === "--completion-bash" || flag === "--completion-script-bash" || flag === "--completion-script-zsh" || flag === "--help-man";
}
