// Runs a prompt program (ykman, zenity, kdialog, osascript, mfa_process) and returns its trimmed stdout.
import { CancelledError, UserError } from "../errors.ts";
import type { OutputResult, RunOptions, Runtime } from "../runtime/runtime.ts";
import { Secret } from "../util/secret.ts";
import { definedEnv } from "../util/env.ts";

/** Go's exec.ExitError wording: `exit status N` or `signal: X`. */
export function exitStatus(r: OutputResult): string {
  return r.signal ? `signal: ${r.signal}` : `exit status ${r.code ?? -1}`;
}

export interface PromptProgram {
  /** Name used in errors, e.g. "zenity". */
  name: string;
  run: (rt: Runtime, env: Record<string, string>) => Promise<OutputResult>;
  /** True when the result means the user dismissed the prompt. */
  cancelled?: (r: OutputResult) => boolean;
}

export async function runPromptProgram(rt: Runtime, p: PromptProgram): Promise<Secret> {
  let result: OutputResult;
  try {
    result = await p.run(rt, definedEnv(rt.env));
  } catch (e) {
    throw new UserError(`${p.name}: ${(e as Error).message}`, { cause: e });
  }
  if (result.code !== 0) {
    if (p.cancelled?.(result)) throw new CancelledError(`${p.name}: MFA prompt cancelled`);
    // stderr may hold what the user typed or a secret: keep it out of the message.
    throw new UserError(`${p.name}: ${exitStatus(result)}`);
  }
  return new Secret(result.stdout.trim());
}

/** Runs `bin args` with stdout captured. */
export function program(bin: string, args: string[], stdio?: RunOptions["stdio"]): PromptProgram["run"] {
  return (rt, env) => rt.spawn.output(bin, args, { env, ...(stdio ? { stdio } : {}) });
}

/** Dialog programs exit 1 when the dialog is cancelled or closed. */
export const exitOneIsCancel = (r: OutputResult): boolean => r.code === 1;
