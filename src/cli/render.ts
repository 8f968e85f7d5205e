// The only place errors become text and exit codes.
import { CancelledError, ChildExitError, InternalError, UsageError, VaultError } from "../errors.ts";
import type { Runtime } from "../runtime/runtime.ts";
import { redact } from "../util/redact.ts";
import { environmentError } from "../util/environment-error.ts";

/** An error raised while running a command carries the command name, as aws-vault prints it. */
export class CommandFailure extends Error {
  constructor(
    readonly command: string,
    readonly error: unknown,
  ) {
    super(command);
  }
}

export function renderError(rt: Runtime, e: unknown): number {
  let command: string | undefined;
  let err = e;
  if (err instanceof CommandFailure) {
    command = err.command;
    err = err.error;
  }
  if (err instanceof ChildExitError) return err.exitCode;
  const ve: VaultError =
    err instanceof VaultError ? err : environmentError(err) ?? new InternalError(`bug: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  const lines: string[] = [];
  if (ve instanceof UsageError) {
    lines.push(`aws-vault: error: ${ve.message}, try --help`);
  } else if (ve instanceof CancelledError) {
    lines.push(`aws-vault: error: ${command ? `${command}: ` : ""}${ve.message}`);
  } else {
    lines.push(`aws-vault: error: ${command ? `${command}: ` : ""}${ve.message}`);
  }
  // An error that names a file system failure of the machine but gives no fix gets the fix for its errno.
  const hints = ve.hints.length > 0 || ve instanceof InternalError ? ve.hints : (environmentError(ve.cause)?.hints ?? []);
  for (const hint of hints) lines.push(`aws-vault: hint: ${hint}`);
  if (ve instanceof InternalError) lines.push("aws-vault: hint: this is a bug; please report it with the output of --debug");
  if (rt.log.enabled) {
    let cause: unknown = ve instanceof InternalError ? err : ve.cause;
    while (cause) {
      const text = cause instanceof Error ? (cause.stack ?? cause.message) : String(cause);
      lines.push(`aws-vault: debug: caused by: ${rt.mapStackTrace ? rt.mapStackTrace(text) : text}`);
      cause = cause instanceof Error ? cause.cause : undefined;
    }
  }
  rt.stderr.write(`${redact(lines.join("\n"))}\n`);
  return ve.exitCode;
}
