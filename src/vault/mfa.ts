// Where MFA codes come from (aws-vault vault/mfa.go): --mfa-token, then mfa_process, then a prompt driver.
import { UserError } from "../errors.ts";
import { choosePromptDriver, getPrompt, type MfaPrompt } from "../prompt/prompt.ts";
import { exitStatus } from "../prompt/run.ts";
import { definedEnv } from "../util/env.ts";
import type { OutputResult, Runtime } from "../runtime/runtime.ts";
import { Secret } from "../util/secret.ts";

export type MfaTokenProvider = (serial: string, profile?: string) => Promise<Secret>;

export interface MfaTokenOptions {
  /** --mfa-token: reused for every MFA hop, as aws-vault does. */
  mfaToken?: string;
  /** The profile's mfa_process command. */
  mfaProcess?: string;
  /** The prompt driver name; auto-selected (§9.1) when absent. */
  promptMethod?: string;
}

export function mfaTokenProvider(rt: Runtime, opts: MfaTokenOptions): MfaTokenProvider {
  const { mfaToken, mfaProcess, promptMethod } = opts;
  if (mfaToken) {
    const token = new Secret(mfaToken.trim());
    return async () => token;
  }
  if (mfaProcess) return async () => runMfaProcess(rt, mfaProcess);
  let prompt: MfaPrompt | undefined;
  return async (serial, profile) => {
    prompt ??= getPrompt(rt, promptMethod ?? choosePromptDriver(rt, { avoidTerminal: false }));
    return prompt(serial, profile);
  };
}

/** Runs mfa_process via the shell with stdin/stderr on /dev/tty; returns trimmed stdout. */
export async function runMfaProcess(rt: Runtime, command: string): Promise<Secret> {
  rt.log.debug("Fetching MFA code using mfa_process");
  let result: OutputResult;
  try {
    result = await rt.spawn.shellOutput(command, { env: definedEnv(rt.env), stdio: "tty" });
  } catch (e) {
    throw new UserError(`mfa_process failed: ${(e as Error).message}`, { cause: e });
  }
  if (result.code !== 0) throw new UserError(`mfa_process failed: ${exitStatus(result)}`);
  const code = result.stdout.trim();
  if (code === "") throw new UserError("mfa_process failed: it printed no MFA code");
  return new Secret(code);
}
