// Opening a URL in the user's browser: $BROWSER first (a `:`-separated list of commands, `%s`
// standing for the URL, as xdg-utils and Python's webbrowser read it), else the platform opener
// (xdg-open, open, rundll32). The URL is passed as one argv entry, never through a shell.
//
// The URL may carry a secret (login's SigninToken): errors and logs name the command, never the URL.
import { UserError } from "../errors.ts";
import type { Runtime } from "../runtime/runtime.ts";
import { definedEnv } from "./env.ts";

/** How long an opener may take to fail before we assume it has handed the URL to a browser. */
export const DEFAULT_SETTLE_MS = 3_000;

export interface BrowserCommand {
  cmd: string;
  args: string[];
}

/** Splits a command line on whitespace, honouring '…' and "…" quoting (no shell expansion). */
export function splitCommandLine(line: string): string[] {
  const words: string[] = [];
  let word = "";
  let inWord = false;
  let quote: "'" | '"' | undefined;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i] as string;
    if (quote) {
      if (ch === quote) quote = undefined;
      else if (ch === "\\" && quote === '"' && i + 1 < line.length) word += line[++i];
      else word += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
    } else if (ch === "\\" && i + 1 < line.length) {
      word += line[++i];
      inWord = true;
    } else {
      word += ch;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  return words;
}

/** `%s` → the URL and `%%` → `%` in one argument. */
function substitute(arg: string, url: string): string {
  return arg.replace(/%[s%]/g, (m) => (m === "%s" ? url : "%"));
}

/** The commands to try, in order, for this environment and platform. */
export function browserCommands(url: string, env: Readonly<Record<string, string | undefined>>, platform: NodeJS.Platform): BrowserCommand[] {
  const out: BrowserCommand[] = [];
  const browser = env.BROWSER?.trim();
  if (browser) {
    for (const entry of browser.split(platform === "win32" ? ";" : ":")) {
      const words = splitCommandLine(entry);
      if (words.length === 0) continue;
      const hasPlaceholder = words.some((w) => w.includes("%s"));
      const argv = hasPlaceholder ? words.map((w) => substitute(w, url)) : [...words, url];
      out.push({ cmd: argv[0] as string, args: argv.slice(1) });
    }
  }
  if (platform === "darwin") out.push({ cmd: "open", args: [url] });
  else if (platform === "win32") out.push({ cmd: "rundll32", args: ["url.dll,FileProtocolHandler", url] });
  else out.push({ cmd: "xdg-open", args: [url] });
  return out;
}

export interface OpenBrowserOptions {
  settleMs?: number;
}

/**
 * Opens `url`. Each candidate runs without a shell; the first that starts and does not exit with
 * an error within `settleMs` wins (a browser that keeps running is left running). Throws a
 * UserError that never contains the URL.
 */
export async function openBrowser(rt: Runtime, url: string, opts: OpenBrowserOptions = {}): Promise<void> {
  return openWithCommands(rt, browserCommands(url, rt.env, rt.platform), opts);
}

/** Runs the first of `commands` that works (see openBrowser); the error never contains their arguments. */
export async function openWithCommands(rt: Runtime, commands: BrowserCommand[], opts: OpenBrowserOptions = {}): Promise<void> {
  const settleMs = opts.settleMs ?? DEFAULT_SETTLE_MS;
  const env = definedEnv(rt.env);
  const failures: string[] = [];
  for (const { cmd, args } of commands) {
    if (rt.platform !== "win32" && !rt.spawn.which(cmd)) {
      failures.push(`${cmd}: not found`);
      continue;
    }
    let child;
    try {
      child = await rt.spawn.start(cmd, args, { env, stdio: "inherit" });
    } catch (e) {
      failures.push(`${cmd}: ${(e as NodeJS.ErrnoException)?.code ?? "could not start"}`);
      continue;
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const settled = new Promise<"running">((resolve) => {
      timer = setTimeout(() => resolve("running"), settleMs);
    });
    const result = await Promise.race([child.exited, settled]);
    if (timer) clearTimeout(timer);
    if (result === "running" || result.code === 0) {
      rt.log.debug(`Opened the browser with ${cmd}`);
      return;
    }
    failures.push(`${cmd}: ${result.code !== null ? `exit status ${result.code}` : `killed by ${result.signal}`}`);
  }
  for (const f of failures) rt.log.debug(`Opening the browser failed: ${f}`);
  throw new UserError(`could not open a browser (${failures.join(", ")}); re-run with --stdout`, {
    hints: ["--stdout prints the login URL instead of opening it"],
  });
}
