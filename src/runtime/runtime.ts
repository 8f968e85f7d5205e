// The Runtime is everything a command needs from the outside world. Production code gets
// runtime/node.ts; tests build their own. Nothing outside src/runtime touches `process`.

export interface OutputStream {
  write(text: string): void;
  readonly isTTY: boolean;
}

/** A line-oriented conversation with the controlling terminal (/dev/tty), even when stdio is captured. */
export interface Tty {
  write(text: string): void;
  /** Reads one line. With echo false, typed characters are not shown. Ctrl-C rejects with CancelledError. */
  readLine(opts: { echo: boolean }): Promise<string>;
  /**
   * Reads what the terminal sends next (keys, escape sequences), raw. Only one read is ever in
   * flight, and none after the caller stops asking, so nothing typed later is swallowed.
   */
  readKeys?(): Promise<string>;
  close(): void;
}

export interface ChildResult {
  code: number | null;
  signal: string | null;
}

export interface Child {
  readonly pid: number | undefined;
  kill(signal: string): void;
  readonly exited: Promise<ChildResult>;
}

export interface RunOptions {
  env: Record<string, string>;
  /** "inherit" shares our stdio (exec); "tty" wires stdin and stderr to /dev/tty (mfa_process). */
  stdio?: "inherit" | "tty" | "pipe-out";
  input?: string;
  cwd?: string;
}

export interface OutputResult {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

export interface Spawner {
  /** Starts a program (no shell) with inherited stdio. Rejects with ENOENT-like errors when it cannot start. */
  start(cmd: string, args: string[], opts: RunOptions): Promise<Child>;
  /** Runs a program and captures stdout (stderr inherited unless stdio is "pipe-out"). */
  output(cmd: string, args: string[], opts: RunOptions & { timeoutMs?: number }): Promise<OutputResult>;
  /** Runs `sh -c <command>` (cmd.exe /C on Windows) and captures stdout. */
  shellOutput(command: string, opts: RunOptions & { timeoutMs?: number }): Promise<OutputResult>;
  /** Finds a program on PATH. */
  which(cmd: string): string | undefined;
}

export interface DebugLogger {
  readonly enabled: boolean;
  debug(message: string): void;
}

export type SignalName = "SIGINT" | "SIGTERM" | "SIGHUP" | "SIGQUIT" | "SIGUSR1" | "SIGUSR2" | "SIGWINCH";

export interface HardenResult {
  dumpable: boolean | undefined;
  coreLimitZero: boolean;
  detail: string;
}

export interface Runtime {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly platform: NodeJS.Platform;
  readonly homedir: string;
  readonly cwd: string;
  readonly pid: number;
  /** The parent's pid (for the audit log's caller). */
  readonly ppid?: number;
  /** The argv that re-runs this program, e.g. [node, /path/aws-vault.mjs] or [/path/aws-vault]. */
  readonly selfCommand: string[];
  readonly stdout: OutputStream;
  readonly stderr: OutputStream;
  readonly stdinIsTTY: boolean;
  /** What runs us, e.g. "node v20.19.0 linux/x64" or "bun 1.2.0 linux/x64" (for `version`). */
  readonly engine?: string;
  now(): Date;
  sleep(ms: number): Promise<void>;
  random(bytes: number): Uint8Array;
  openTty(): Tty;
  readonly spawn: Spawner;
  /** Calls handler on the signal; returns a function that removes it. */
  onSignal(signal: SignalName, handler: () => void): () => void;
  readonly log: DebugLogger;
  /** Turns debug logging on (after --debug is parsed). */
  enableDebug(): void;
  /**
   * Core-dump hardening for a process that will hold secrets for long (credential servers, an
   * agent); see runtime/harden.ts. Absent in test runtimes.
   */
  hardenLongRunning?(): HardenResult;
  /** Points a stack trace at the original source files (--debug); absent where nothing needs mapping. */
  mapStackTrace?(stack: string): string;
}
