// The error taxonomy. Only cli/render.ts prints errors; every message here must be safe to print
// (no secret values). Underlying errors go in `cause` and are shown only under --debug.

export interface VaultErrorOptions {
  hints?: string[];
  cause?: unknown;
}

export abstract class VaultError extends Error {
  abstract readonly exitCode: number;
  readonly hints: string[];
  constructor(message: string, opts: VaultErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.hints = opts.hints ?? [];
  }
}

/** Bad flags or arguments. */
export class UsageError extends VaultError {
  readonly exitCode = 2;
}

/** An actionable problem; the message is shown verbatim. */
export class UserError extends VaultError {
  readonly exitCode: number = 1;
}

/** Config file problems (parse errors, loops). */
export class ConfigError extends UserError {}

/**
 * A credential source failed. `tryNext` is true only for "this source is not configured for the
 * profile"; every other failure is terminal.
 */
export class CredentialsError extends UserError {
  readonly tryNext: boolean;
  constructor(message: string, opts: VaultErrorOptions & { tryNext?: boolean } = {}) {
    super(message, opts);
    this.tryNext = opts.tryNext ?? false;
  }
}

/** Keyring backend unavailable, locked, timed out, or an item is unreadable. */
export class KeyringError extends UserError {}

/** The file keyring passphrase does not open existing items. */
export class WrongPassphraseError extends KeyringError {}

/** A keyring item does not exist. */
export class KeyNotFoundError extends KeyringError {
  constructor(readonly key: string) {
    super("The specified item could not be found in the keyring");
  }
}

/** An AWS API call failed. */
export class AwsCallError extends UserError {
  constructor(
    message: string,
    readonly code: string | undefined,
    opts: VaultErrorOptions = {},
  ) {
    super(message, opts);
  }
}

/** Ctrl-C or a dismissed prompt. */
export class CancelledError extends VaultError {
  readonly exitCode = 130;
  constructor(message = "cancelled") {
    super(message);
  }
}

/** exec passes its child's exit code through. */
export class ChildExitError extends VaultError {
  constructor(readonly exitCode: number) {
    super(`child exited with code ${exitCode}`);
  }
}

/** A bug: anything unexpected. */
export class InternalError extends VaultError {
  readonly exitCode = 70;
}

export function isVaultError(e: unknown): e is VaultError {
  return e instanceof VaultError;
}

export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}
