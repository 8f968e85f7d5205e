// The `kdialog` driver: a KDE input box.
import { CancelledError, UserError } from "../errors.ts";
import type { OutputResult, Runtime } from "../runtime/runtime.ts";
import { Secret } from "../util/secret.ts";

export function kdialogArgs(message: string): string[] {
  return ["--inputbox", message, "--title", "aws-vault"];
}

export async function kdialogPrompt(rt: Runtime, message: string): Promise<Secret> {
  let result: OutputResult;
  try {
    result = await rt.spawn.output("kdialog", kdialogArgs(message), { env: childEnv(rt.env) });
  } catch (e) {
    throw new UserError(`kdialog: ${(e as Error).message}`, { cause: e });
  }
  // kdialog exits 1 when the dialog is cancelled or closed.
  if (result.code === 1) throw new CancelledError("kdialog: MFA prompt cancelled");
  if (result.code !== 0) throw new UserError(`kdialog: ${exitStatus(result)}`);
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
