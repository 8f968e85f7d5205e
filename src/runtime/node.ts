// The production Runtime: the only module that touches `process`.
import type { StdioOptions } from "node:child_process";
import { accessSync, closeSync, constants, openSync, read, statSync, writeSync } from "node:fs";
import { delimiter, isAbsolute, join } from "node:path";
import { CancelledError, UserError } from "../errors.ts";
import { redact } from "../util/redact.ts";
import { withoutSecretVars } from "./secret-env.ts";
import { isBun } from "./builtins.ts";
import { hardenProcess } from "./harden.ts";
import { mapStackTrace } from "./source-map.ts";
import type {
  Child,
  DebugLogger,
  OutputStream,
  OutputResult,
  RunOptions,
  Runtime,
  SignalName,
  Spawner,
  Tty,
} from "./runtime.ts";

// Built-ins that only some commands need are loaded on first use: under Bun each of
// child_process, crypto, os and tty costs a noticeable share of a whole `--version`.
const nodeSpawn = (cmd: string, args: string[], opts: import("node:child_process").SpawnOptions) =>
  process.getBuiltinModule("node:child_process").spawn(cmd, args, opts);
const isatty = (fd: number): boolean => process.getBuiltinModule("node:tty").isatty(fd);

function pad(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** Go's std log prefix: `2006/01/02 15:04:05 `. */
function logStamp(d: Date): string {
  return `${d.getFullYear()}/${pad(d.getMonth() + 1)}/${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/**
 * stdout or stderr with a count of writes not yet handed to the OS. Both runtimes write pipes
 * asynchronously, and process.exit drops what is still queued (Bun after 64 KiB, Node after a
 * few hundred): exitProcess waits for every write's callback first. Only a real write's callback
 * means "flushed" (Bun calls an empty write's callback at once), so each write is counted.
 */
class TrackedOutput {
  #pending = 0;
  #idle: Array<() => void> = [];
  constructor(readonly stream: NodeJS.WriteStream) {}
  write(text: string | Uint8Array): void {
    if (text.length === 0) return;
    this.#pending++;
    this.stream.write(text, () => {
      this.#pending--;
      if (this.#pending === 0) for (const r of this.#idle.splice(0)) r();
    });
  }
  flushed(): Promise<void> {
    return this.#pending === 0 ? Promise.resolve() : new Promise((r) => this.#idle.push(r));
  }
}


class StderrLogger implements DebugLogger {
  enabled = false;
  constructor(private readonly out: OutputStream) {}
  debug(message: string): void {
    if (!this.enabled) return;
    this.out.write(`${logStamp(new Date())} ${redact(message)}\n`);
  }
}

/** process.stdout/stderr once something had to use them (so exitProcess knows what to wait for). */
const openedStreams: TrackedOutput[] = [];

/**
 * stdout or stderr. Text goes straight to the file descriptor with a blocking write: creating
 * process.stdout/stderr costs more than a whole cached `export` under Bun (it loads the stream
 * machinery), and the credential_process path writes one short document. If the descriptor cannot
 * take a direct write (a non-blocking pipe that is full: EAGAIN; a closed pipe: EPIPE; anything
 * else), the rest of the text and everything after it goes through the stream, which keeps Node's
 * own behaviour for those cases; the order of the output is kept.
 */
function fdOutput(fd: 1 | 2): OutputStream {
  let stream: TrackedOutput | undefined;
  const viaStream = (): TrackedOutput => {
    if (!stream) {
      stream = new TrackedOutput(fd === 1 ? process.stdout : process.stderr);
      openedStreams.push(stream);
    }
    return stream;
  };
  let tty: boolean | undefined;
  return {
    write(text) {
      if (stream) {
        stream.write(text);
        return;
      }
      const bytes = Buffer.from(text, "utf8");
      let off = 0;
      try {
        while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
      } catch {
        viaStream().write(bytes.subarray(off));
      }
    },
    get isTTY() {
      tty ??= isatty(fd);
      return tty;
    },
  };
}

function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function whichOnPath(cmd: string, env: Record<string, string | undefined>): string | undefined {
  if (cmd.includes("/")) return isExecutableFile(cmd) ? cmd : undefined;
  for (const dir of (env.PATH ?? "").split(delimiter)) {
    const candidate = join(dir || ".", cmd);
    if (dir && isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

function openDevTty(flags: string): number {
  try {
    return openSync("/dev/tty", flags);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserError(`open /dev/tty: ${code === "ENXIO" ? "no such device or address" : (e as Error).message}`, {
      hints: ["no terminal is available to prompt on: run the command from a terminal"],
    });
  }
}

function readTty(fd: number, buf: Buffer): Promise<number> {
  return new Promise((resolve, reject) => read(fd, buf, 0, buf.length, null, (e, n) => (e ? reject(e) : resolve(n))));
}

/**
 * The controlling terminal, in raw mode from open to close, so the prompt appears only once
 * keystrokes can no longer be echoed or turned into signals by the terminal itself. Reads and
 * writes use a plain blocking fd (fs.read on the thread pool), so nothing keeps reading the
 * terminal after close and the program exec starts gets every keystroke. A tty.ReadStream on a
 * second fd only switches raw mode and is never read: tty streams keep reading after pause() (and
 * in Bun after destroy()), which swallowed the next prompt's or the child's input.
 */
class DevTty implements Tty {
  readonly #fd: number;
  readonly #mode: import("node:tty").ReadStream;
  constructor() {
    this.#fd = openDevTty("r+");
    try {
      this.#mode = new (process.getBuiltinModule("node:tty").ReadStream)(openDevTty("r"));
      this.#mode.setRawMode(true);
    } catch (e) {
      closeSync(this.#fd);
      throw e;
    }
  }
  write(text: string): void {
    writeSync(this.#fd, text);
  }
  async readLine(opts: { echo: boolean }): Promise<string> {
    const echo = (text: string) => {
      if (opts.echo) this.write(text);
    };
    const decoder = new (process.getBuiltinModule("node:string_decoder").StringDecoder)("utf8");
    const buf = Buffer.alloc(256);
    let line = "";
    try {
      for (;;) {
        const n = await readTty(this.#fd, buf);
        if (n === 0) throw new CancelledError();
        for (const ch of decoder.write(buf.subarray(0, n))) {
          if (ch === "\r" || ch === "\n") return line;
          if (ch === "\u0003") throw new CancelledError();
          if (ch === "\u0004") {
            if (line.length === 0) throw new CancelledError();
            continue;
          }
          if (ch === "\u007f" || ch === "\b") {
            if (line.length > 0) {
              line = line.slice(0, -1);
              echo("\b \b");
            }
            continue;
          }
          if (ch === "\u0015") {
            // Ctrl-U: clear the line
            echo("\b \b".repeat(line.length));
            line = "";
            continue;
          }
          if (ch < " ") continue;
          line += ch;
          echo(ch);
        }
      }
    } finally {
      this.write("\n");
    }
  }
  readonly #keys = new (process.getBuiltinModule("node:string_decoder").StringDecoder)("utf8");
  async readKeys(): Promise<string> {
    const buf = Buffer.alloc(256);
    const n = await readTty(this.#fd, buf);
    if (n === 0) throw new CancelledError();
    return this.#keys.write(buf.subarray(0, n));
  }
  close(): void {
    try {
      this.#mode.setRawMode(false);
    } finally {
      this.#mode.destroy();
      closeSync(this.#fd);
    }
  }
}

function stdioFor(opts: RunOptions, capture: boolean): { stdio: StdioOptions; ttyFd?: number } {
  if (opts.stdio === "tty") {
    let ttyFd: number | undefined;
    try {
      ttyFd = openSync("/dev/tty", "r+");
    } catch {
      ttyFd = undefined;
    }
    const inOut = ttyFd ?? "ignore";
    return { stdio: [inOut, capture ? "pipe" : "inherit", ttyFd ?? "inherit"], ttyFd };
  }
  if (opts.stdio === "pipe-out") return { stdio: [opts.input !== undefined ? "pipe" : "ignore", "pipe", "pipe"] };
  return { stdio: [opts.input !== undefined ? "pipe" : "inherit", capture ? "pipe" : "inherit", "inherit"] };
}

function nodeSpawner(env: Record<string, string | undefined>): Spawner {
  const capture = (cmd: string, args: string[], opts: RunOptions & { timeoutMs?: number }): Promise<OutputResult> =>
    new Promise((resolve, reject) => {
      const { stdio, ttyFd } = stdioFor(opts, true);
      const child = nodeSpawn(cmd, args, { env: withoutSecretVars(opts.env), stdio, cwd: opts.cwd, windowsHide: true });
      let stdout = "";
      let stderr = "";
      child.stdout?.setEncoding("utf8").on("data", (d: string) => (stdout += d));
      child.stderr?.setEncoding("utf8").on("data", (d: string) => (stderr += d));
      // A child may exit without reading its input; that is its answer, not our crash (EPIPE).
      child.stdin?.on("error", () => undefined);
      if (opts.input !== undefined) child.stdin?.end(opts.input);
      const timer =
        opts.timeoutMs !== undefined
          ? setTimeout(() => {
              child.kill("SIGKILL");
            }, opts.timeoutMs)
          : undefined;
      child.on("error", (e) => {
        if (timer) clearTimeout(timer);
        if (ttyFd !== undefined) closeSync(ttyFd);
        reject(e);
      });
      child.on("close", (code, signal) => {
        if (timer) clearTimeout(timer);
        if (ttyFd !== undefined) closeSync(ttyFd);
        resolve({ code, signal, stdout, stderr });
      });
    });
  return {
    start(cmd, args, opts) {
      return new Promise((resolve, reject) => {
        const child = nodeSpawn(cmd, args, { env: withoutSecretVars(opts.env), stdio: stdioFor(opts, false).stdio, cwd: opts.cwd });
        const exited = new Promise<{ code: number | null; signal: string | null }>((res) => {
          child.on("exit", (code, signal) => res({ code, signal }));
        });
        child.once("error", reject);
        child.once("spawn", () => {
          const handle: Child = {
            pid: child.pid,
            kill: (signal) => {
              try {
                child.kill(signal as NodeJS.Signals);
              } catch {
                // already gone
              }
            },
            exited,
          };
          resolve(handle);
        });
      });
    },
    output: capture,
    shellOutput(command, opts) {
      if (process.platform === "win32") {
        const comspec = join(env.SystemRoot ?? "C:\\Windows", "System32", "cmd.exe");
        return capture(comspec, ["/C", command], opts);
      }
      return capture("/bin/sh", ["-c", command], opts);
    },
    which: (cmd) => whichOnPath(cmd, env),
  };
}

function engine(): string {
  const bun = (globalThis as { Bun?: { version?: string } }).Bun;
  const name = bun?.version ? `bun ${bun.version}` : `node ${process.version}`;
  return `${name} ${process.platform}/${process.arch}`;
}

function selfCommand(): string[] {
  // Under a Bun-compiled binary, argv[1] is a virtual path inside the executable.
  const isCompiled = isBun() && !process.execPath.endsWith("/bun");
  if (isCompiled) return [process.execPath];
  const script = process.argv[1];
  if (script && isAbsolute(script)) return [process.execPath, script];
  return [process.execPath, join(process.cwd(), script ?? "")];
}

export function nodeRuntime(): Runtime {
  const env = { ...process.env };
  // The SDK's Node-support notice is about our bundled SDK, not something the user can act on;
  // it would also pollute credential_process stderr. Set after copying env, so children never see it.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
  const stdout = fdOutput(1);
  const stderr = fdOutput(2);
  const log = new StderrLogger(stderr);
  return {
    env,
    platform: process.platform,
    homedir: env.HOME || process.getBuiltinModule("node:os").homedir(),
    cwd: process.cwd(),
    pid: process.pid,
    ppid: process.ppid,
    selfCommand: selfCommand(),
    stdout,
    stderr,
    get stdinIsTTY() {
      return isatty(0);
    },
    get engine() {
      return engine();
    },
    now: () => new Date(),
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    random: (n) => new Uint8Array(process.getBuiltinModule("node:crypto").randomBytes(n)),
    openTty: () => new DevTty(),
    spawn: nodeSpawner(env),
    onSignal(signal: SignalName, handler: () => void) {
      process.on(signal, handler);
      return () => void process.off(signal, handler);
    },
    log,
    enableDebug() {
      log.enabled = true;
    },
    hardenLongRunning: () => hardenProcess({ longRunning: true }),
    mapStackTrace,
  };
}

/**
 * Waits until everything written to stdout and stderr has reached the OS, then exits. Only bin/
 * calls this. Direct writes (fdOutput) are complete when they return; what went through a stream is
 * waited for.
 */
export async function exitProcess(code: number): Promise<never> {
  await Promise.all(openedStreams.map((s) => s.flushed()));
  process.exit(code);
}
