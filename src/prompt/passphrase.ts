// Where the file keyring's passphrase comes from when this process must ask for it (after
// AWS_VAULT_FILE_PASSPHRASE and an unlocked agent): AWS_VAULT_FILE_PASSPHRASE_CMD, then the terminal
// (/dev/tty), then, without a terminal, a password dialog (zenity, kdialog, osascript), else a
// one-line error saying what to do. The passphrase is never logged, and no message holds it or
// the command's output.
import { CancelledError, UserError } from "../errors.ts";
import type { OutputResult, Runtime, Tty } from "../runtime/runtime.ts";
import { definedEnv } from "../util/env.ts";
import { goQuote } from "../util/go-format.ts";
import { Secret } from "../util/secret.ts";
import { exitStatus } from "./run.ts";

export const ENV_PASSPHRASE = "AWS_VAULT_FILE_PASSPHRASE";
export const ENV_PASSPHRASE_CMD = "AWS_VAULT_FILE_PASSPHRASE_CMD";

export const NO_WAY_TO_ASK =
  "the file keyring is locked and there is no terminal to ask for its passphrase: run `aws-vault unlock` in a terminal, or set AWS_VAULT_FILE_PASSPHRASE_CMD to a command that prints it";

export interface AskPassphraseOptions {
  /** A new keyring: ask twice and check both answers match (not for the command). */
  confirm: boolean;
  /** --prompt / AWS_VAULT_PROMPT: the dialog to prefer without a terminal. */
  driver?: string;
  /** Called right before a person is asked (terminal or dialog), e.g. to suggest `aws-vault unlock`. */
  beforeAsking?: () => void;
}

/** The environment of programs we start for a passphrase: never the passphrase variables. */
function helperEnv(rt: Runtime): Record<string, string> {
  const env = definedEnv(rt.env);
  delete env[ENV_PASSPHRASE];
  delete env[ENV_PASSPHRASE_CMD];
  return env;
}

/** One trailing newline is the end of the output, not part of the passphrase. */
function stripNewline(s: string): string {
  return s.replace(/\r?\n$/, "");
}

export async function passphraseFromCommand(rt: Runtime, command: string): Promise<Secret> {
  rt.log.debug(`[keyring] running ${ENV_PASSPHRASE_CMD} for the file keyring passphrase`);
  let r: OutputResult;
  try {
    // stdin and stderr stay ours, so pinentry-style programs can talk to the user.
    r = await rt.spawn.shellOutput(command, { env: helperEnv(rt) });
  } catch (e) {
    throw new UserError(`${ENV_PASSPHRASE_CMD} (\`${command}\`) could not be started: ${(e as NodeJS.ErrnoException).code ?? "error"}`, { cause: e });
  }
  if (r.code !== 0) {
    throw new UserError(`${ENV_PASSPHRASE_CMD} (\`${command}\`) failed: ${exitStatus(r)}`, {
      hints: ["its output is not shown; run the command yourself to see what is wrong"],
    });
  }
  const pass = stripNewline(r.stdout);
  if (pass === "") throw new UserError(`${ENV_PASSPHRASE_CMD} (\`${command}\`) printed no passphrase`);
  return new Secret(pass);
}

function openTtyOrUndefined(rt: Runtime): Tty | undefined {
  try {
    return rt.openTty();
  } catch (e) {
    if (e instanceof UserError) return undefined;
    throw e;
  }
}

async function askTty(tty: Tty, message: string, confirm: boolean): Promise<Secret> {
  try {
    tty.write(message);
    const first = new Secret(await tty.readLine({ echo: false }));
    if (confirm) {
      tty.write("Enter passphrase again to confirm: ");
      const again = new Secret(await tty.readLine({ echo: false }));
      if (!first.equals(again)) throw new UserError("the passphrases do not match; nothing was stored");
    }
    return first;
  } finally {
    tty.close();
  }
}

const DIALOGS = ["kdialog", "osascript", "zenity"] as const;
type Dialog = (typeof DIALOGS)[number];

/** The argv of a password dialog (input hidden). */
export function passwordDialogArgs(dialog: Dialog, message: string): string[] {
  switch (dialog) {
    case "zenity":
      return ["--password", "--title", "aws-vault"];
    case "kdialog":
      return ["--password", message, "--title", "aws-vault"];
    case "osascript":
      return [
        "-e",
        `display dialog ${goQuote(message)} default answer "" with hidden answer buttons {"OK", "Cancel"} default button 1 with title "aws-vault"`,
        "-e",
        "text returned of the result",
      ];
  }
}

function chooseDialog(rt: Runtime, driver: string | undefined): Dialog | undefined {
  const usable = (d: string): d is Dialog =>
    (DIALOGS as readonly string[]).includes(d) && (d !== "osascript" || rt.platform === "darwin") && rt.spawn.which(d) !== undefined;
  if (driver && usable(driver)) return driver;
  return DIALOGS.find(usable);
}

async function askDialog(rt: Runtime, dialog: Dialog, message: string): Promise<Secret> {
  let r: OutputResult;
  try {
    // stderr is captured (and dropped): it is not for the user and may echo input.
    r = await rt.spawn.output(dialog, passwordDialogArgs(dialog, message), { env: helperEnv(rt), stdio: "pipe-out" });
  } catch (e) {
    throw new UserError(`${dialog}: ${(e as Error).message}`, { cause: e });
  }
  if (r.code !== 0) {
    if (r.code === 1 || r.stderr.includes("(-128)")) throw new CancelledError(`${dialog}: passphrase prompt cancelled`);
    throw new UserError(`${dialog}: ${exitStatus(r)}`);
  }
  return new Secret(stripNewline(r.stdout));
}

/** Asks for the file keyring passphrase (sources 3 to 6 of docs/agent.md). */
export async function askFilePassphrase(rt: Runtime, message: string, opts: AskPassphraseOptions): Promise<Secret> {
  const command = rt.env[ENV_PASSPHRASE_CMD];
  if (command) return passphraseFromCommand(rt, command);
  const tty = openTtyOrUndefined(rt);
  if (tty) {
    opts.beforeAsking?.();
    return askTty(tty, message, opts.confirm);
  }
  const dialog = chooseDialog(rt, opts.driver);
  if (dialog) {
    opts.beforeAsking?.();
    const first = await askDialog(rt, dialog, message);
    if (opts.confirm) {
      const again = await askDialog(rt, dialog, "Enter passphrase again to confirm: ");
      if (!first.equals(again)) throw new UserError("the passphrases do not match; nothing was stored");
    }
    return first;
  }
  throw new UserError(NO_WAY_TO_ASK);
}
