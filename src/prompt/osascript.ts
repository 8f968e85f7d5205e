// The `osascript` driver: a macOS dialog via AppleScript.
import { CancelledError, UserError } from "../errors.ts";
import type { OutputResult, Runtime } from "../runtime/runtime.ts";
import { Secret } from "../util/secret.ts";

/** Go's strconv.Quote for the strings we pass (ASCII escapes; printable Unicode kept). */
export function goQuote(s: string): string {
  const named: Record<string, string> = {
    "\u0007": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\u000b": "\\v",
    '"': '\\"', "\\": "\\\\",
  };
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0;
    const esc = named[ch];
    if (esc !== undefined) out += esc;
    else if (cp < 0x20 || cp === 0x7f) out += `\\x${cp.toString(16).padStart(2, "0")}`;
    else out += ch;
  }
  return `${out}"`;
}

/** The AppleScript aws-vault runs (prompt/osascript.go), whitespace included. */
export function osascriptScript(message: string): string {
  return (
    `\n\t\tdisplay dialog ${goQuote(message)} default answer "" buttons {"OK", "Cancel"} default button 1\n` +
    "        text returned of the result\n" +
    "        return result"
  );
}

export async function osascriptPrompt(rt: Runtime, message: string): Promise<Secret> {
  let result: OutputResult;
  try {
    // stderr is captured only to recognise "User canceled. (-128)"; it is never shown.
    result = await rt.spawn.output("osascript", ["-e", osascriptScript(message)], {
      env: childEnv(rt.env),
      stdio: "pipe-out",
    });
  } catch (e) {
    throw new UserError(`osascript: ${(e as Error).message}`, { cause: e });
  }
  if (result.code !== 0) {
    if (result.stderr.includes("(-128)")) throw new CancelledError("osascript: MFA prompt cancelled");
    throw new UserError(`osascript: ${exitStatus(result)}`, {
      cause: new Error(result.stderr.trim()),
    });
  }
  return new Secret(result.stdout.trim());
}

function childEnv(env: Runtime["env"]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  return out;
}

/** Go's exec.ExitError wording: `exit status N` or `signal: X`. */
function exitStatus(r: OutputResult): string {
  return r.signal ? `signal: ${r.signal}` : `exit status ${r.code ?? -1}`;
}
