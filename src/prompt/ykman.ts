// The `ykman` driver: reads a TOTP code from a YubiKey's OATH applet.
import type { Runtime } from "../runtime/runtime.ts";
import type { Secret } from "../util/secret.ts";
import { program, runPromptProgram } from "./run.ts";

/** The argv after `ykman` (aws-vault prompt/ykman.go). */
export function ykmanArgs(env: Runtime["env"], serial: string): string[] {
  const name = env.YKMAN_OATH_CREDENTIAL_NAME || serial;
  const device = env.YKMAN_OATH_DEVICE_SERIAL;
  const args = device ? ["--device", device] : [];
  const legacy = ["1", "2", "3"].includes(env.AWS_VAULT_YKMAN_VERSION ?? "");
  return legacy ? [...args, "oath", "code", "--single", name] : [...args, "oath", "accounts", "code", "--single", name];
}

/** What the user is told before ykman runs: it may wait for a touch, silently. */
export function ykmanTouchNotice(serial: string, profile?: string): string {
  return `aws-vault: getting the MFA code for ${serial}${profile ? ` (profile ${profile})` : ""} from your YubiKey: touch it if it flashes\n`;
}

export function ykmanPrompt(rt: Runtime, serial: string, profile?: string): Promise<Secret> {
  const args = ykmanArgs(rt.env, serial);
  rt.log.debug(`Fetching MFA code using \`ykman ${args.join(" ")}\``);
  rt.stderr.write(ykmanTouchNotice(serial, profile));
  // stdin and stderr on /dev/tty so touch and password prompts work under credential_process.
  return runPromptProgram(rt, { name: "ykman", run: program("ykman", args, "tty") });
}
