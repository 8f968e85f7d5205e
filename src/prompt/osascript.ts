// The `osascript` driver: a macOS dialog via AppleScript.
import type { Runtime } from "../runtime/runtime.ts";
import { goQuote } from "../util/go-format.ts";
import type { Secret } from "../util/secret.ts";
import { program, runPromptProgram } from "./run.ts";

/** The AppleScript aws-vault runs (prompt/osascript.go), whitespace included. */
export function osascriptScript(message: string): string {
  return (
    `\n\t\tdisplay dialog ${goQuote(message)} default answer "" buttons {"OK", "Cancel"} default button 1\n` +
    "        text returned of the result\n" +
    "        return result"
  );
}

export function osascriptPrompt(rt: Runtime, message: string): Promise<Secret> {
  return runPromptProgram(rt, {
    name: "osascript",
    // stderr is captured only to recognise "User canceled. (-128)"; it is never shown.
    run: program("osascript", ["-e", osascriptScript(message)], "pipe-out"),
    cancelled: (r) => r.stderr.includes("(-128)"),
  });
}
