// A Runtime for tests: captured output, a scripted tty, a controllable clock, recorded spawns.
// By default `spawn` runs real programs (through the production spawner) with the PATH given in `env`.
import { randomBytes } from "node:crypto";
import { accessSync, constants, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { UserError } from "../../src/errors.ts";
import { nodeRuntime } from "../../src/runtime/node.ts";
import type {
  DebugLogger,
  OutputResult,
  OutputStream,
  RunOptions,
  Runtime,
  SignalName,
  Spawner,
  Tty,
} from "../../src/runtime/runtime.ts";

export class FakeOutput implements OutputStream {
  text = "";
  constructor(public isTTY = false) {}
  write(text: string): void {
    this.text += text;
  }
}

/** One queued tty answer: a typed line, or an error readLine rejects with (e.g. new CancelledError()). */
export type TtyAnswer = string | Error;

/**
 * A scripted /dev/tty shared by every openTty() call. `transcript` is what the user would see:
 * prompts, echoed answers (only when echo was on) and the newline after each answer.
 */
export class FakeTty {
  readonly answers: TtyAnswer[];
  transcript = "";
  readonly reads: Array<{ echo: boolean }> = [];
  opened = 0;
  closed = 0;
  constructor(answers: TtyAnswer[] = []) {
    this.answers = [...answers];
  }
  queue(...answers: TtyAnswer[]): void {
    this.answers.push(...answers);
  }
  open(): Tty {
    this.opened++;
    let isClosed = false;
    const ensureOpen = () => {
      if (isClosed) throw new Error("fake tty: used after close");
    };
    return {
      write: (text) => {
        ensureOpen();
        this.transcript += text;
      },
      readLine: async ({ echo }) => {
        ensureOpen();
        this.reads.push({ echo });
        const answer = this.answers.shift();
        if (answer === undefined) throw new Error("fake tty: no answer queued");
        this.transcript += typeof answer === "string" && echo ? `${answer}\n` : "\n";
        if (answer instanceof Error) throw answer;
        return answer;
      },
      close: () => {
        if (!isClosed) this.closed++;
        isClosed = true;
      },
    };
  }
}

export class FakeLogger implements DebugLogger {
  readonly messages: string[] = [];
  constructor(public enabled = true) {}
  debug(message: string): void {
    if (this.enabled) this.messages.push(message);
  }
}

export interface SpawnCall {
  kind: "start" | "output" | "shellOutput";
  cmd: string;
  args: string[];
  opts: RunOptions;
}

export interface FakeRuntimeOptions {
  env?: Record<string, string | undefined>;
  platform?: NodeJS.Platform;
  homedir?: string;
  cwd?: string;
  pid?: number;
  selfCommand?: string[];
  stdoutIsTTY?: boolean;
  stderrIsTTY?: boolean;
  stdinIsTTY?: boolean;
  /** Initial clock; defaults to 2024-01-01T00:00:00Z. sleep() advances it. */
  now?: Date;
  /** Scripted tty answers, or false for "no controlling terminal". */
  tty?: TtyAnswer[] | FakeTty | false;
  /** Overrides for individual spawner methods (the rest run real programs). */
  spawn?: Partial<Spawner>;
  /** Whether debug logging starts enabled; messages are recorded only while enabled (default true). */
  debug?: boolean;
}

export interface FakeRuntime extends Runtime {
  readonly env: Record<string, string | undefined>;
  readonly stdout: FakeOutput;
  readonly stderr: FakeOutput;
  readonly tty: FakeTty;
  readonly log: FakeLogger;
  readonly spawnCalls: SpawnCall[];
  setNow(d: Date): void;
  advance(ms: number): void;
  /** Runs the handlers registered with onSignal; returns how many ran. */
  emitSignal(signal: SignalName): number;
}

/** Finds `cmd` on the PATH of `env` (not the test process's PATH). */
export function whichIn(env: Record<string, string | undefined>, cmd: string): string | undefined {
  if (cmd.includes("/")) return cmd;
  for (const dir of (env.PATH ?? "").split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, cmd);
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

export function fakeRuntime(opts: FakeRuntimeOptions = {}): FakeRuntime {
  const env: Record<string, string | undefined> = { ...(opts.env ?? {}) };
  let clock = (opts.now ?? new Date("2024-01-01T00:00:00Z")).getTime();
  const tty = opts.tty instanceof FakeTty ? opts.tty : new FakeTty(opts.tty === false ? [] : (opts.tty ?? []));
  const noTty = opts.tty === false;
  const log = new FakeLogger(opts.debug ?? true);
  const spawnCalls: SpawnCall[] = [];
  const real = nodeRuntime().spawn;
  const o = opts.spawn ?? {};
  const spawn: Spawner = {
    start: (cmd, args, runOpts) => {
      spawnCalls.push({ kind: "start", cmd, args, opts: runOpts });
      return (o.start ?? real.start)(cmd, args, runOpts);
    },
    output: (cmd, args, runOpts): Promise<OutputResult> => {
      spawnCalls.push({ kind: "output", cmd, args, opts: runOpts });
      return (o.output ?? real.output)(cmd, args, runOpts);
    },
    shellOutput: (command, runOpts): Promise<OutputResult> => {
      spawnCalls.push({ kind: "shellOutput", cmd: command, args: [], opts: runOpts });
      return (o.shellOutput ?? real.shellOutput)(command, runOpts);
    },
    which: (cmd) => (o.which ?? ((c: string) => whichIn(env, c)))(cmd),
  };
  const handlers = new Map<SignalName, Set<() => void>>();
  return {
    env,
    platform: opts.platform ?? "linux",
    homedir: opts.homedir ?? "/home/test",
    cwd: opts.cwd ?? "/home/test",
    pid: opts.pid ?? 4242,
    selfCommand: opts.selfCommand ?? ["/usr/bin/node", "/opt/aws-vault/aws-vault.mjs"],
    stdout: new FakeOutput(opts.stdoutIsTTY ?? false),
    stderr: new FakeOutput(opts.stderrIsTTY ?? false),
    stdinIsTTY: opts.stdinIsTTY ?? false,
    now: () => new Date(clock),
    sleep: async (ms) => {
      clock += ms;
      await new Promise((r) => setImmediate(r));
    },
    random: (n) => new Uint8Array(randomBytes(n)),
    openTty: () => {
      if (noTty) throw new UserError("open /dev/tty: no such device or address");
      return tty.open();
    },
    spawn,
    onSignal(signal, handler) {
      const set = handlers.get(signal) ?? new Set<() => void>();
      handlers.set(signal, set);
      set.add(handler);
      return () => void set.delete(handler);
    },
    log,
    enableDebug() {
      log.enabled = true;
    },
    tty,
    spawnCalls,
    setNow(d) {
      clock = d.getTime();
    },
    advance(ms) {
      clock += ms;
    },
    emitSignal(signal) {
      const set = handlers.get(signal);
      const list = [...(set ?? [])];
      for (const h of list) h();
      return list.length;
    },
  };
}

export interface FakeToolOptions {
  /** Printed on stdout. */
  stdout?: string;
  /** Printed on stderr. */
  stderr?: string;
  exitCode?: number;
  /** Extra shell lines run before printing. */
  script?: string;
}

/**
 * A temp dir of tiny shell-script programs. Each records its argv (NUL-separated) so tests can
 * assert the exact invocation; `PATH` puts the dir first, followed by the system dirs.
 */
export class FakeBinDir {
  readonly dir: string;
  readonly PATH: string;
  constructor(prefix = "aws-vault-bin-") {
    this.dir = mkdtempSync(join(tmpdir(), prefix));
    this.PATH = [this.dir, "/usr/bin", "/bin"].join(delimiter);
  }
  tool(name: string, opts: FakeToolOptions = {}): string {
    const file = join(this.dir, name);
    const lines = [
      "#!/bin/sh",
      `: > ${shQuote(this.argvFile(name))}`,
      `for a in "$@"; do printf '%s\\0' "$a" >> ${shQuote(this.argvFile(name))}; done`,
      opts.script ?? "",
      opts.stderr !== undefined ? `printf '%s' ${shQuote(opts.stderr)} >&2` : "",
      opts.stdout !== undefined ? `printf '%s' ${shQuote(opts.stdout)}` : "",
      `exit ${opts.exitCode ?? 0}`,
    ];
    writeFileSync(file, `${lines.join("\n")}\n`, { mode: 0o755 });
    return file;
  }
  /** The argv of the last run of `name`, or undefined if it never ran. */
  argv(name: string): string[] | undefined {
    if (!existsSync(this.argvFile(name))) return undefined;
    const raw = readFileSync(this.argvFile(name), "utf8");
    return raw === "" ? [] : raw.slice(0, -1).split("\0");
  }
  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
  private argvFile(name: string): string {
    return join(this.dir, `${name}.argv`);
  }
}

export function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
