// Core-dump hardening: a core file of this process would hold the master keys, session secrets
// and the file passphrase in clear. What each runtime can do:
//
//   Bun binary (Linux)  prctl(PR_SET_DUMPABLE, 0) and a soft RLIMIT_CORE of 0 through bun:ffi to
//                       libc, at start-up: no core file at any limit, and other processes of the
//                       same user can no longer ptrace it or read its /proc/<pid>/mem and environ.
//   Node bundle         Node has no prctl and no setrlimit. Long-running modes (credential servers,
//                       an agent) lower the soft RLIMIT_CORE to 0 through util-linux
//                       `prlimit --pid`; a short command is not worth a process start. The process
//                       stays dumpable: a same-user ptrace, or a core under a raised limit, can
//                       still read it.
//   Children inherit the soft limit 0 (not the dumpable flag, which execve resets); the hard limit
//   is left alone so they can raise it again.
//   elsewhere           nothing (fails soft): macOS and Windows write no cores by default.
//
// See docs/compatibility.md ("Core dumps").

const PR_GET_DUMPABLE = 3;
const PR_SET_DUMPABLE = 4;
const RLIMIT_CORE = 4;
const LIBC_NAMES = ["libc.so.6", "libc.so", "libc.musl-x86_64.so.1", "libc.musl-aarch64.so.1"];

export interface HardenOptions {
  /**
   * The process will hold secrets for a long time (credential servers, an agent): also do what
   * costs a process start (Node: `prlimit`). Off for ordinary short commands.
   */
  longRunning?: boolean;
}

/**
 * dumpable: false when the process can no longer be dumped (PR_GET_DUMPABLE is 0), undefined when
 * unknown; coreLimitZero: RLIMIT_CORE was set to 0; detail: what was done or why not, for --debug.
 */
export type { HardenResult } from "./runtime.ts";
import type { HardenResult } from "./runtime.ts";
import { isBun } from "./builtins.ts";

interface LibcSymbols {
  prctl(option: number, a: number, b: number, c: number, d: number): number;
  getrlimit(resource: number, rlim: unknown): number;
  setrlimit(resource: number, rlim: unknown): number;
}


type Dlopen = (name: string, symbols: Record<string, { args: number[]; returns: number }>) => { symbols: LibcSymbols };

function openLibc(dlopen: Dlopen, t: Record<"i32" | "u64" | "ptr", number>): LibcSymbols | undefined {
  for (const name of LIBC_NAMES) {
    try {
      return dlopen(name, {
        prctl: { args: [t.i32, t.u64, t.u64, t.u64, t.u64], returns: t.i32 },
        getrlimit: { args: [t.i32, t.ptr], returns: t.i32 },
        setrlimit: { args: [t.i32, t.ptr], returns: t.i32 },
      }).symbols;
    } catch {
      // try the next name
    }
  }
  return undefined;
}

/** bun:ffi's FFIType numbers for i32, u64 and ptr (Bun 1.x). */
export const FFI_TYPES = { i32: 5, u64: 8, ptr: 12 };

function bunLibc(): LibcSymbols | undefined {
  // Bun.FFI is the native half of bun:ffi: the same dlopen, without evaluating bun:ffi's module,
  // which cost ~0.45 ms of a ~4 ms start (the dlopen itself ~0.15 ms, whatever the symbol count).
  // bun:ffi stays the fallback should a Bun lack it.
  const native = (globalThis as { Bun?: { FFI?: { dlopen?: Dlopen } } }).Bun?.FFI?.dlopen;
  if (native) {
    const libc = openLibc(native, FFI_TYPES);
    if (libc) return libc;
  }
  // Reached only under Bun. The name is not a literal so that bundlers for Node leave it alone.
  const BUN_FFI = "bun:ffi";
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const ffi = require(BUN_FFI) as { dlopen: Dlopen; FFIType: Record<"i32" | "u64" | "ptr", number> };
  return openLibc(ffi.dlopen, ffi.FFIType);
}

/**
 * Makes this process non-dumpable and its core limit 0 where the runtime allows it. Never throws:
 * hardening that is not possible here is reported in the result, not an error.
 */
export function hardenProcess(opts: HardenOptions = {}): HardenResult {
  if (process.platform !== "linux") return { dumpable: undefined, coreLimitZero: false, detail: `nothing to do on ${process.platform}` };
  try {
    if (isBun()) {
      const libc = bunLibc();
      if (!libc) return { dumpable: undefined, coreLimitZero: false, detail: "libc not found" };
      libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
      // struct rlimit { rlim_cur, rlim_max }: the soft limit goes to 0, the hard one stays, so a
      // program exec starts may raise its own limit again (`ulimit -c unlimited`).
      const rlim = new BigUint64Array(2);
      if (libc.getrlimit(RLIMIT_CORE, rlim) !== 0) rlim[1] = 0n;
      rlim[0] = 0n;
      const coreLimitZero = libc.setrlimit(RLIMIT_CORE, rlim) === 0;
      const dumpable = libc.prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) !== 0;
      return { dumpable, coreLimitZero, detail: "prctl(PR_SET_DUMPABLE, 0) and RLIMIT_CORE 0" };
    }
    if (!opts.longRunning) return { dumpable: true, coreLimitZero: false, detail: "Node: short command, left as is" };
    // child_process is loaded here only: this runs at every start-up, prlimit only for long-running modes.
    const r = process.getBuiltinModule("node:child_process").spawnSync("prlimit", ["--pid", String(process.pid), "--core=0:"], { stdio: "ignore", env: { PATH: process.env.PATH ?? "/usr/bin:/bin" } });
    const coreLimitZero = r.status === 0;
    return { dumpable: true, coreLimitZero, detail: coreLimitZero ? "Node: RLIMIT_CORE 0 through prlimit" : "Node: prlimit unavailable" };
  } catch (e) {
    return { dumpable: undefined, coreLimitZero: false, detail: `failed: ${(e as Error).message}` };
  }
}
