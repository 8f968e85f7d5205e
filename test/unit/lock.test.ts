import { spawn, spawnSync } from "node:child_process";
import { readFile, mkdtemp, rm, stat, utimes, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UserError } from "../../src/errors.ts";
import { withFileLock } from "../../src/runtime/lock.ts";
import { bundleForNode } from "../support/bundle.ts";

let dir = "";
let counter = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "lock-test-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function freshLockPath(): string {
  counter++;
  return join(dir, `l${counter}.lock`);
}

const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A pid that belonged to a process that has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
  return Number(child.stdout);
}

async function ageFile(path: string, ageMs: number): Promise<void> {
  const then = new Date(Date.now() - ageMs);
  await utimes(path, then, then);
}

describe("withFileLock", () => {
  it("runs fn, returns its value and removes the lock", async () => {
    const lockPath = freshLockPath();
    let contentDuring = "";
    let modeDuring = 0;
    const result = await withFileLock(lockPath, async () => {
      contentDuring = await readFile(lockPath, "utf8");
      modeDuring = (await stat(lockPath)).mode & 0o777;
      return 42;
    });
    expect(result).toBe(42);
    expect(contentDuring.split("\n")[0]).toBe(String(process.pid));
    expect(contentDuring.split("\n")[1]).toBe(hostname());
    expect(modeDuring).toBe(0o600);
    expect(existsSync(lockPath)).toBe(false);
  });

  it("releases the lock when fn throws", async () => {
    const lockPath = freshLockPath();
    await expect(
      withFileLock(lockPath, async () => {
        throw new Error("boom");
      }),
    ).rejects.toThrow("boom");
    expect(existsSync(lockPath)).toBe(false);
  });

  it("serialises concurrent callers in one process", async () => {
    const lockPath = freshLockPath();
    let inside = 0;
    let maxInside = 0;
    const order: number[] = [];
    await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        withFileLock(lockPath, async () => {
          inside++;
          maxInside = Math.max(maxInside, inside);
          await delay(3);
          order.push(i);
          inside--;
        }),
      ),
    );
    expect(maxInside).toBe(1);
    expect(order.sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it("times out with a UserError and a hint when a live holder keeps the lock", async () => {
    const lockPath = freshLockPath();
    await writeFile(lockPath, `${process.pid}\n${hostname()}\nother\n`);
    let caught: unknown;
    try {
      await withFileLock(lockPath, async () => "never", { timeoutMs: 100 });
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(UserError);
    expect((caught as UserError).message).toBe(`timed out waiting for lock ${lockPath}`);
    expect((caught as UserError).hints.join(" ")).toContain(lockPath);
    expect(await readFile(lockPath, "utf8")).toContain("other");
  });

  it("counts injected sleeps toward the timeout", async () => {
    const lockPath = freshLockPath();
    await writeFile(lockPath, `${process.pid}\n${hostname()}\nother\n`);
    const sleeps: number[] = [];
    const started = Date.now();
    await expect(
      withFileLock(lockPath, async () => "never", {
        timeoutMs: 10_000,
        sleep: async (ms) => {
          sleeps.push(ms);
        },
      }),
    ).rejects.toThrow(/timed out/);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(sleeps.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(10_000);
    expect(Math.max(...sleeps)).toBeLessThan(200);
  });

  it("breaks a lock older than staleMs", async () => {
    const lockPath = freshLockPath();
    await writeFile(lockPath, `${process.pid}\n${hostname()}\nold\n`);
    await ageFile(lockPath, 60_000);
    expect(await withFileLock(lockPath, async () => "got it", { timeoutMs: 1000 })).toBe("got it");
    expect(existsSync(lockPath)).toBe(false);
  });

  it("honours a custom staleMs", async () => {
    const lockPath = freshLockPath();
    await writeFile(lockPath, `${process.pid}\n${hostname()}\nold\n`);
    await ageFile(lockPath, 2_000);
    expect(await withFileLock(lockPath, async () => "ok", { staleMs: 1_000, timeoutMs: 1000 })).toBe("ok");
  });

  it("breaks a fresh lock whose pid is dead on this host", async () => {
    const lockPath = freshLockPath();
    await writeFile(lockPath, `${deadPid()}\n${hostname()}\ndead\n`);
    expect(await withFileLock(lockPath, async () => "ok", { timeoutMs: 1000 })).toBe("ok");
  });

  it("does not judge pids from another host", async () => {
    const lockPath = freshLockPath();
    await writeFile(lockPath, `${deadPid()}\nsome-other-host.invalid\nremote\n`);
    await expect(withFileLock(lockPath, async () => "x", { timeoutMs: 100 })).rejects.toThrow(/timed out/);
  });

  it("treats a fresh lock with unreadable content as held", async () => {
    const lockPath = freshLockPath();
    await writeFile(lockPath, "");
    await expect(withFileLock(lockPath, async () => "x", { timeoutMs: 100 })).rejects.toThrow(/timed out/);
    await ageFile(lockPath, 60_000);
    expect(await withFileLock(lockPath, async () => "ok", { timeoutMs: 1000 })).toBe("ok");
  });

  it("lets exactly one of many waiters break a stale lock at a time", async () => {
    const lockPath = freshLockPath();
    await writeFile(lockPath, `${deadPid()}\n${hostname()}\ndead\n`);
    await ageFile(lockPath, 60_000);
    let inside = 0;
    let maxInside = 0;
    await Promise.all(
      Array.from({ length: 10 }, () =>
        withFileLock(lockPath, async () => {
          inside++;
          maxInside = Math.max(maxInside, inside);
          await delay(2);
          inside--;
        }),
      ),
    );
    expect(maxInside).toBe(1);
  });

  it("waits for a busy breaker and clears an abandoned break guard", async () => {
    const lockPath = freshLockPath();
    await writeFile(lockPath, `${deadPid()}\n${hostname()}\ndead\n`);
    await writeFile(`${lockPath}.break`, "");
    // A fresh guard means another breaker is at work: wait.
    await expect(withFileLock(lockPath, async () => "x", { timeoutMs: 100 })).rejects.toThrow(/timed out/);
    await ageFile(`${lockPath}.break`, 60_000);
    expect(await withFileLock(lockPath, async () => "ok", { timeoutMs: 2000 })).toBe("ok");
    expect(existsSync(`${lockPath}.break`)).toBe(false);
  });

  it("refreshes the lock while held so a long holder is not broken", async () => {
    const lockPath = freshLockPath();
    let inside = 0;
    let maxInside = 0;
    const body = async (): Promise<void> => {
      inside++;
      maxInside = Math.max(maxInside, inside);
      await delay(450);
      inside--;
    };
    await Promise.all([
      withFileLock(lockPath, body, { staleMs: 150 }),
      delay(20).then(() => withFileLock(lockPath, body, { staleMs: 150 })),
    ]);
    expect(maxInside).toBe(1);
  });

  it("does not remove a lock it no longer owns", async () => {
    const lockPath = freshLockPath();
    await withFileLock(lockPath, async () => {
      await writeFile(lockPath, `${process.pid}\n${hostname()}\nsomeone-else\n`);
    });
    expect(await readFile(lockPath, "utf8")).toContain("someone-else");
  });

  it("fails clearly when the lock directory does not exist", async () => {
    await expect(withFileLock(join(dir, "no-such-dir", "x.lock"), async () => 1)).rejects.toThrow(
      /could not create lock file/,
    );
  });
});

describe("withFileLock across processes", () => {
  let bundle = "";

  beforeAll(async () => {
    bundle = await bundleForNode(resolve(import.meta.dirname, "../../src/runtime/lock.ts"), join(dir, "lock-bundle.mjs"));
  });

  const worker = `
    import { appendFileSync } from "node:fs";
    const [bundle, lockPath, shared, id, iterations] = process.argv.slice(1);
    const { withFileLock } = await import(bundle);
    for (let i = 0; i < Number(iterations); i++) {
      await withFileLock(lockPath, async () => {
        appendFileSync(shared, "start " + id + "\\n");
        await new Promise((r) => setTimeout(r, 1 + Math.floor(Math.random() * 3)));
        appendFileSync(shared, "end " + id + "\\n");
      }, { timeoutMs: 30000 });
    }
  `;

  function runWorker(lockPath: string, shared: string, id: number, iterations: number): Promise<number> {
    return new Promise((resolvePromise, reject) => {
      const child = spawn(
        process.execPath,
        ["--input-type=module", "-e", worker, bundle, lockPath, shared, String(id), String(iterations)],
        { stdio: ["ignore", "ignore", "inherit"] },
      );
      child.on("error", reject);
      child.on("exit", (code) => resolvePromise(code ?? -1));
    });
  }

  function assertExclusive(log: string, workers: number, iterations: number): void {
    const entries = log.trim().split("\n");
    expect(entries.length).toBe(workers * iterations * 2);
    for (let i = 0; i < entries.length; i += 2) {
      const start = entries[i] ?? "";
      const end = entries[i + 1] ?? "";
      expect(start.startsWith("start ")).toBe(true);
      expect(end).toBe(start.replace("start", "end"));
    }
  }

  it("gives mutual exclusion to parallel node processes", async () => {
    const lockPath = freshLockPath();
    const shared = join(dir, `shared-${counter}.log`);
    const workers = 6;
    const iterations = 15;
    const codes = await Promise.all(Array.from({ length: workers }, (_, i) => runWorker(lockPath, shared, i, iterations)));
    expect(codes).toEqual(Array(workers).fill(0));
    assertExclusive(await readFile(shared, "utf8"), workers, iterations);
    expect(existsSync(lockPath)).toBe(false);
  });

  it("recovers from a stale lock left by a dead process", async () => {
    const lockPath = freshLockPath();
    const shared = join(dir, `shared-${counter}.log`);
    await writeFile(lockPath, `${deadPid()}\n${hostname()}\ncrashed\n`);
    await ageFile(lockPath, 60_000);
    const workers = 4;
    const iterations = 5;
    const codes = await Promise.all(Array.from({ length: workers }, (_, i) => runWorker(lockPath, shared, i, iterations)));
    expect(codes).toEqual(Array(workers).fill(0));
    assertExclusive(await readFile(shared, "utf8"), workers, iterations);
  });
});
