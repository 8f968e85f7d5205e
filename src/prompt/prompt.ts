// MFA prompt drivers (aws-vault prompt/): an explicit registry, filtered by what is installed.
import { UsageError, UserError } from "../errors.ts";
import type { Runtime } from "../runtime/runtime.ts";
import type { Secret } from "../util/secret.ts";
import { kdialogPrompt } from "./kdialog.ts";
import { osascriptPrompt } from "./osascript.ts";
import { terminalMfaPrompt } from "./terminal.ts";
import { ykmanPrompt } from "./ykman.ts";
import { zenityPrompt } from "./zenity.ts";

/** Asks for the code of the MFA device `serial`, for `profile` (named in the prompt). */
export type MfaPrompt = (serial: string, profile?: string) => Promise<Secret>;

export const TERMINAL_DRIVER = "terminal";

export const PASS_PROMPT_REMOVED_MESSAGE =
  "--prompt=pass (or AWS_VAULT_PROMPT=pass) has been removed from aws-vault as using TOTPs without " +
  "a dedicated device goes against security best practices. If you wish to continue using pass, " +
  "add `mfa_process = pass otp <your mfa_serial>` to profiles in your ~/.aws/config file.";

export function mfaPromptText(serial: string, profile?: string): string {
  return `Enter MFA code for ${serial}${profile ? ` (profile ${profile})` : ""}: `;
}

interface PromptDriver {
  /** Listed only when this program is on PATH. */
  readonly binary?: string;
  /** Listed only on this platform. */
  readonly platform?: NodeJS.Platform;
  /** False for drivers that only fail in this build, so auto-selection skips them. */
  readonly autoSelect?: boolean;
  create(rt: Runtime): MfaPrompt;
}

const DRIVERS: ReadonlyMap<string, PromptDriver> = new Map<string, PromptDriver>([
  ["kdialog", { binary: "kdialog", create: (rt) => (serial, profile) => kdialogPrompt(rt, mfaPromptText(serial, profile)) }],
  ["osascript", { binary: "osascript", create: (rt) => (serial, profile) => osascriptPrompt(rt, mfaPromptText(serial, profile)) }],
  [TERMINAL_DRIVER, { create: (rt) => (serial, profile) => terminalMfaPrompt(rt, mfaPromptText(serial, profile)) }],
  [
    "wincredui",
    {
      platform: "win32",
      autoSelect: false,
      create: () => () =>
        Promise.reject(new UserError("wincredui is not supported by this build; use --prompt=terminal")),
    },
  ],
  ["ykman", { binary: "ykman", create: (rt) => (serial, profile) => ykmanPrompt(rt, serial, profile) }],
  ["zenity", { binary: "zenity", create: (rt) => (serial, profile) => zenityPrompt(rt, mfaPromptText(serial, profile)) }],
]);

function isAvailable(rt: Runtime, driver: PromptDriver): boolean {
  if (driver.platform !== undefined && driver.platform !== rt.platform) return false;
  if (driver.binary !== undefined && rt.spawn.which(driver.binary) === undefined) return false;
  return true;
}

/** The usable driver names, sorted like aws-vault's prompt.Available(). */
export function promptDrivers(rt: Runtime): string[] {
  return [...DRIVERS].filter(([, d]) => isAvailable(rt, d)).map(([name]) => name).sort();
}

/** Throws UsageError unless `name` is a usable driver (aws-vault's --prompt validation). */
export function validatePromptName(rt: Runtime, name: string): void {
  // aws-vault reports this with kingpin.Fatalf: a plain error, exit 1.
  if (name === "pass") throw new UserError(PASS_PROMPT_REMOVED_MESSAGE);
  const available = promptDrivers(rt);
  if (!available.includes(name)) {
    throw new UsageError(`--prompt value must be one of ${available.join(",")}, got '${name}'`);
  }
}

export function getPrompt(rt: Runtime, name: string): MfaPrompt {
  validatePromptName(rt, name);
  const driver = DRIVERS.get(name);
  if (driver === undefined) throw new UsageError(`unknown prompt driver '${name}'`);
  return driver.create(rt);
}

export interface ChoosePromptOptions {
  /** --prompt or AWS_VAULT_PROMPT. */
  explicit?: string;
  /** exec with --ec2-server or --ecs-server. */
  avoidTerminal: boolean;
}

/** aws-vault's PromptDriver(avoidTerminal): returns the driver name to use. */
export function choosePromptDriver(rt: Runtime, opts: ChoosePromptOptions): string {
  let name = TERMINAL_DRIVER;
  if (opts.explicit) {
    validatePromptName(rt, opts.explicit);
    name = opts.explicit;
  } else if (!rt.stdout.isTTY || opts.avoidTerminal) {
    const candidates = promptDrivers(rt).filter((d) => d !== TERMINAL_DRIVER && DRIVERS.get(d)?.autoSelect !== false);
    name = candidates[0] ?? TERMINAL_DRIVER;
  }
  rt.log.debug(`Using prompt driver: ${name}`);
  return name;
}
