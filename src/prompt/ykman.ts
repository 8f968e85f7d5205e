// The `ykman` driver: reads a TOTP code from a YubiKey's OATH applet.
import { UserError } from "../errors.ts";
import type { OutputResult, Runtime } from "../runtime/runtime.ts";
import { Secret } from "../util/secret.ts";

/** The argv after `ykman` (aws-vault prompt/ykman.go). */
export function ykmanArgs(env: Runtime["env"], serial: string): string[] {
  const name = env.YKMAN_OATH_CREDENTIAL_NAME || serial;
  const device = env.YKMAN_OATH_DEVICE_SERIAL;
  const args = device ? ["--device", device] : [];
  const legacy = ["1", "2", "3"].includes(env.AWS_VAULT_YKMAN_VERSION ?? "");
  return legacy ? [...args, "oath", "code", "--single", name] : [...args, "oath", "accounts", "code", "--single", name];
}

export async function ykmanPrompt(rt: Runtime, serial: string): Promise<Secret> {
  const args = ykmanArgs(rt.env, serial);
  rt.log.debug(`Fetching MFA code using \`ykman ${args.join(" ")}\``);
  let result: OutputResult;
  try {
    // stdin and stderr on /dev/tty so touch and password prompts work under credential_process.
    result = await rt.spawn.output("ykman", args, { env: childEnv(rt.env), stdio: "tty" });
  } catch (e) {
    throw new UserError(`ykman: ${(e as Error).message}`, { cause: e });
  }
  if (result.code !== 0) throw new UserError(`ykman: ${exitStatus(result)}`);
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
