// Prompts on the controlling terminal (/dev/tty), even when stdin/stdout are redirected.
import { UserError } from "../errors.ts";
import type { Runtime, Tty } from "../runtime/runtime.ts";
import { Secret } from "../util/secret.ts";

/** What to do instead of answering a prompt, for the case where there is no terminal. */
export interface PromptOptions {
  withoutTerminal?: string;
}

/** rt.openTty(), with the caller's own "without a terminal" hint instead of the generic one. */
function openTty(rt: Runtime, opts: PromptOptions): Tty {
  try {
    return rt.openTty();
  } catch (e) {
    if (!(e instanceof UserError) || opts.withoutTerminal === undefined) throw e;
    throw new UserError(e.message, { hints: [opts.withoutTerminal], cause: e });
  }
}

async function readFromTty(rt: Runtime, message: string, echo: boolean, opts: PromptOptions = {}): Promise<string> {
  return readLineFrom(openTty(rt, opts), message, echo);
}

/** Writes the prompt, reads a line and closes the tty. */
async function readLineFrom(tty: Tty, message: string, echo: boolean): Promise<string> {
  try {
    tty.write(message);
    return await tty.readLine({ echo });
  } finally {
    tty.close();
  }
}

/** The `terminal` MFA driver: reads the code with echo on, as aws-vault does. */
export async function terminalMfaPrompt(rt: Runtime, message: string): Promise<Secret> {
  let tty: Tty;
  try {
    tty = rt.openTty();
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    // This hint replaces the generic one: it says what "another way" is.
    throw new UserError(`cannot ask for the MFA code: ${e.message}`, {
      hints: ["without a terminal, pass the code with --mfa-token or set mfa_process in the profile"],
      cause: e,
    });
  }
  const code = (await readLineFrom(tty, message, true)).trim();
  if (code === "") throw new UserError("no MFA code entered");
  return new Secret(code);
}

/** Reads a trimmed line with echo on (aws-vault TerminalPrompt). */
export async function promptLine(rt: Runtime, message: string, opts: PromptOptions = {}): Promise<string> {
  return (await readFromTty(rt, message, true, opts)).trim();
}

/**
 * Reads a line with echo off (aws-vault TerminalSecretPrompt). Trimmed unless `trim` is false,
 * which passphrases use so that surrounding spaces stay significant.
 */
export async function promptSecretLine(rt: Runtime, message: string, opts: { trim?: boolean } & PromptOptions = {}): Promise<Secret> {
  const line = await readFromTty(rt, message, false, opts);
  return new Secret(opts.trim === false ? line : line.trim());
}

/** Asks a yes/no question; only `y` or `yes` (any case) means yes. */
export async function confirm(rt: Runtime, message: string, opts: PromptOptions = {}): Promise<boolean> {
  const answer = (await promptLine(rt, message, opts)).toLowerCase();
  return answer === "y" || answer === "yes";
}
