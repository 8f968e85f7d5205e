// A cross-process exclusive lock built on `open(path, "wx")`. The lock file holds
// "<pid>\n<hostname>\n<token>\n". A lock is stale when its mtime is older than staleMs (holders
// refresh it while they run) or, on the same host, when its pid is no longer alive.
// Not re-entrant: nesting withFileLock on one path in one process waits until the timeout.

import type * as FsPromises from "node:fs/promises";
import { nodeCrypto, nodeOs } from "./builtins.ts";
import { UserError } from "../errors.ts";

export interface FileLockOptions {
  /** Give up after this long (default 10 s). */
  timeoutMs?: number;
  /** A lock not refreshed for this long is broken (default 30 s). */
  staleMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

// node:fs/promises is loaded when a lock is first taken: loading it cost a cached `export` under Bun
// ~0.8 ms, and that path takes no lock (a cache miss, a write or a reminder does).
let fsPromises: Promise<typeof FsPromises> | undefined;
const fsp = (): Promise<typeof FsPromises> => (fsPromises ??= import("node:fs/promises"));

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_STALE_MS = 30_000;
const MIN_RETRY_MS = 5;
const MAX_RETRY_MS = 100;
/** The break guard is held for one stat and one unlink; older than this, its holder died. */
const GUARD_STALE_MS = 5_000;

interface LockSnapshot {
  ino: number;
  mtimeMs: number;
  content: string;
}

interface LockOwner {
  pid: number;
  host: string;
  token: string;
}

function errorCode(e: unknown): string | undefined {
  if (typeof e === "object" && e !== null && "code" in e) {
    const code = (e as { code: unknown }).code;
    return typeof code === "string" ? code : undefined;
  }
  return undefined;
}

function defaultSleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function parseOwner(content: string): LockOwner | undefined {
  const [pidText, host, token] = content.split("\n");
  if (pidText === undefined || !/^[1-9][0-9]*$/.test(pidText) || host === undefined || token === undefined) {
    return undefined;
  }
  return { pid: Number(pidText), host, token };
}

export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return errorCode(e) !== "ESRCH";
  }
}

async function snapshot(path: string): Promise<LockSnapshot | undefined> {
  const { open } = await fsp();
  let handle;
  try {
    handle = await open(path, "r");
  } catch (e) {
    if (errorCode(e) === "ENOENT") return undefined;
    throw e;
  }
  try {
    const st = await handle.stat();
    const content = await handle.readFile("utf8");
    return { ino: st.ino, mtimeMs: st.mtimeMs, content };
  } finally {
    await handle.close();
  }
}

function isStale(snap: LockSnapshot, staleMs: number, localHost: string): boolean {
  if (Date.now() - snap.mtimeMs > staleMs) return true;
  const owner = parseOwner(snap.content);
  return owner !== undefined && owner.host === localHost && !isProcessAlive(owner.pid);
}

function sameLock(a: LockSnapshot, b: LockSnapshot): boolean {
  return a.ino === b.ino && a.mtimeMs === b.mtimeMs && a.content === b.content;
}

/**
 * Removes a stale lock. Breakers serialise on `<lock>.break` and re-check, under it, that the lock
 * is still the very file judged stale, so two breakers never both win. Returns false if another
 * breaker is busy (the caller then waits and retries).
 */
async function breakStaleLock(lockPath: string, stale: LockSnapshot): Promise<boolean> {
  const guard = `${lockPath}.break`;
  const { open, stat, unlink } = await fsp();
  try {
    const handle = await open(guard, "wx", 0o600);
    await handle.close();
  } catch (e) {
    if (errorCode(e) !== "EEXIST") throw new UserError(`could not create lock file ${guard}`, { cause: e });
    const abandoned = await stat(guard).then(
      (st) => Date.now() - st.mtimeMs > GUARD_STALE_MS,
      () => false,
    );
    if (abandoned) await unlink(guard).catch(() => undefined);
    return false;
  }
  try {
    const current = await snapshot(lockPath);
    if (current === undefined || !sameLock(current, stale)) return true;
    await unlink(lockPath).catch((e: unknown) => {
      if (errorCode(e) !== "ENOENT") throw e;
    });
    return true;
  } finally {
    await unlink(guard).catch(() => undefined);
  }
}

async function tryCreate(lockPath: string, content: string): Promise<boolean> {
  const { open, unlink } = await fsp();
  let handle;
  try {
    handle = await open(lockPath, "wx", 0o600);
  } catch (e) {
    if (errorCode(e) === "EEXIST") return false;
    throw new UserError(`could not create lock file ${lockPath}`, { cause: e });
  }
  try {
    await handle.writeFile(content);
  } catch (e) {
    await handle.close().catch(() => undefined);
    await unlink(lockPath).catch(() => undefined);
    throw new UserError(`could not write lock file ${lockPath}`, { cause: e });
  }
  await handle.close();
  return true;
}

async function release(lockPath: string, token: string): Promise<void> {
  const snap = await snapshot(lockPath).catch(() => undefined);
  if (snap === undefined || parseOwner(snap.content)?.token !== token) return;
  const { unlink } = await fsp();
  await unlink(lockPath).catch(() => undefined);
}

/** Runs fn while holding an exclusive lock file; the lock is always released afterwards. */
export async function withFileLock<T>(lockPath: string, fn: () => Promise<T>, opts: FileLockOptions = {}): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const staleMs = opts.staleMs ?? DEFAULT_STALE_MS;
  const sleep = opts.sleep ?? defaultSleep;
  const { utimes } = await fsp();
  const localHost = nodeOs().hostname();
  const token = nodeCrypto().randomBytes(12).toString("hex");
  const content = `${process.pid}\n${localHost}\n${token}\n`;

  const started = Date.now();
  let slept = 0;
  let delay = MIN_RETRY_MS;
  while (!(await tryCreate(lockPath, content))) {
    if (Math.max(Date.now() - started, slept) >= timeoutMs) {
      throw new UserError(`timed out waiting for lock ${lockPath}`, {
        hints: [`another aws-vault process is holding it; if none is running, delete ${lockPath}`],
      });
    }
    const current = await snapshot(lockPath);
    if (current === undefined) continue;
    if (isStale(current, staleMs, localHost) && (await breakStaleLock(lockPath, current))) continue;
    const wait = delay + Math.floor(Math.random() * delay);
    await sleep(wait);
    slept += wait;
    delay = Math.min(delay * 2, MAX_RETRY_MS);
  }

  // Keep the lock fresh while fn runs (e.g. a user typing an MFA code for longer than staleMs).
  const heartbeat = setInterval(
    () => {
      const now = new Date();
      utimes(lockPath, now, now).catch(() => undefined);
    },
    Math.max(Math.floor(staleMs / 3), 10),
  );
  heartbeat.unref();
  try {
    return await fn();
  } finally {
    clearInterval(heartbeat);
    await release(lockPath, token);
  }
}
