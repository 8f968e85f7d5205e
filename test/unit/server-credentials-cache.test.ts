// The servers' in-memory credentials: one refresh for any number of concurrent requests, refreshed
// ahead of expiry (AWS_MIN_TTL window), stale-but-valid credentials served while a refresh runs or
// after it fails, and no refresh storm when credentials are issued for less than the window.
import { describe, expect, it } from "vitest";
import { UserError } from "../../src/errors.ts";
import { CredentialsCache } from "../../src/server/credentials-cache.ts";
import { Secret } from "../../src/util/secret.ts";
import type { Credentials } from "../../src/vault/credentials.ts";
import type { CredentialsProvider } from "../../src/vault/providers/provider.ts";

const MIN = 60_000;
const WINDOW = 5 * MIN;

function clock(start = Date.parse("2024-01-01T00:00:00Z")) {
  let t = start;
  return { now: () => new Date(t), advance: (ms: number) => void (t += ms), t: () => t };
}

/** A provider whose answers the test releases one by one. */
function gatedProvider(c: ReturnType<typeof clock>, lifetimeMs = 60 * MIN) {
  let calls = 0;
  const waiting: Array<{ resolve: (v: Credentials) => void; reject: (e: unknown) => void }> = [];
  const provider: CredentialsProvider = {
    kind: "assume-role",
    retrieve: () => {
      calls++;
      return new Promise<Credentials>((resolve, reject) => waiting.push({ resolve, reject }));
    },
  };
  return {
    provider,
    calls: () => calls,
    pending: () => waiting.length,
    release(id = `ASIA${calls}`) {
      const w = waiting.shift();
      if (!w) throw new Error("no retrieve waiting");
      w.resolve({ accessKeyId: id, secretAccessKey: new Secret("s"), sessionToken: new Secret("t"), expiration: new Date(c.t() + lifetimeMs) });
    },
    fail(e: unknown) {
      const w = waiting.shift();
      if (!w) throw new Error("no retrieve waiting");
      w.reject(e);
    },
  };
}

const flush = () => new Promise((r) => setImmediate(r));

describe("CredentialsCache", () => {
  it("50 concurrent first requests share one retrieve", async () => {
    const c = clock();
    const p = gatedProvider(c);
    const cache = new CredentialsCache(p.provider, { now: c.now, windowMs: WINDOW });
    const all = Promise.all(Array.from({ length: 50 }, () => cache.get()));
    await flush();
    expect(p.calls()).toBe(1);
    p.release("ASIAFIRST");
    const got = await all;
    expect(new Set(got.map((g) => g.credentials.accessKeyId))).toEqual(new Set(["ASIAFIRST"]));
    expect(got.every((g) => g === got[0])).toBe(true);
    expect(got[0]?.fetchedAt.getTime()).toBe(c.t());
  });

  it("serves from memory until the window, then refreshes once in the background while serving the old ones", async () => {
    const c = clock();
    const p = gatedProvider(c);
    const cache = new CredentialsCache(p.provider, { now: c.now, windowMs: WINDOW });
    const first = cache.get();
    p.release("ASIAOLD");
    await first;
    c.advance(55 * MIN - 1); // 5m + 1ms left: still fresh
    expect((await cache.get()).credentials.accessKeyId).toBe("ASIAOLD");
    expect(p.calls()).toBe(1);
    c.advance(2); // inside the window, 4m59s left: answer now, refresh behind
    const during = await Promise.all(Array.from({ length: 20 }, () => cache.get()));
    expect(during.every((d) => d.credentials.accessKeyId === "ASIAOLD")).toBe(true);
    expect(p.calls()).toBe(2);
    p.release("ASIANEW");
    await flush();
    expect((await cache.get()).credentials.accessKeyId).toBe("ASIANEW");
    expect(p.calls()).toBe(2);
  });

  it("close to expiry, requests wait for the shared refresh", async () => {
    const c = clock();
    const p = gatedProvider(c);
    const cache = new CredentialsCache(p.provider, { now: c.now, windowMs: WINDOW });
    const first = cache.get();
    p.release("ASIAOLD");
    await first;
    c.advance(59.5 * MIN); // 30s left
    let settled = 0;
    const waiting = Promise.all(Array.from({ length: 10 }, () => cache.get().then((v) => (settled++, v))));
    await flush();
    expect(settled).toBe(0);
    expect(p.calls()).toBe(2);
    p.release("ASIANEW");
    expect((await waiting).map((w) => w.credentials.accessKeyId)).toEqual(Array(10).fill("ASIANEW"));
  });

  it("expired credentials are never served; a failed refresh rejects every waiter with the same error", async () => {
    const c = clock();
    const p = gatedProvider(c);
    const cache = new CredentialsCache(p.provider, { now: c.now, windowMs: WINDOW });
    const first = cache.get();
    p.release();
    await first;
    c.advance(61 * MIN);
    const waiters = Promise.allSettled([cache.get(), cache.get(), cache.get()]);
    await flush();
    const boom = new UserError("profile x: AssumeRole failed");
    p.fail(boom);
    const results = await waiters;
    expect(results.map((r) => r.status)).toEqual(["rejected", "rejected", "rejected"]);
    expect(results.every((r) => r.status === "rejected" && r.reason === boom)).toBe(true);
    // Within a second the failure is reused rather than retried...
    await expect(cache.get()).rejects.toBe(boom);
    expect(p.calls()).toBe(2);
    // ...then the next request tries again.
    c.advance(1_000);
    const retry = cache.get();
    await flush();
    expect(p.calls()).toBe(3);
    p.release("ASIARETRY");
    expect((await retry).credentials.accessKeyId).toBe("ASIARETRY");
  });

  it("a failed background refresh keeps serving valid credentials, reports once, and retries only after a pause", async () => {
    const c = clock();
    const p = gatedProvider(c);
    const errors: unknown[] = [];
    const cache = new CredentialsCache(p.provider, { now: c.now, windowMs: WINDOW, onRefreshError: (e) => errors.push(e) });
    const first = cache.get();
    p.release("ASIAOLD");
    await first;
    c.advance(56 * MIN);
    expect((await cache.get()).credentials.accessKeyId).toBe("ASIAOLD");
    p.fail(new UserError("mfa refused"));
    await flush();
    expect(errors).toHaveLength(1);
    for (let i = 0; i < 5; i++) expect((await cache.get()).credentials.accessKeyId).toBe("ASIAOLD");
    expect(p.calls()).toBe(2);
    c.advance(10_000);
    expect((await cache.get()).credentials.accessKeyId).toBe("ASIAOLD");
    expect(p.calls()).toBe(3);
    // Near expiry a failing refresh still falls back to the valid credentials.
    p.fail(new UserError("again"));
    await flush();
    c.advance(3.5 * MIN); // 20s left, last failure long ago
    const nearEnd = cache.get();
    await flush();
    p.fail(new UserError("and again"));
    expect((await nearEnd).credentials.accessKeyId).toBe("ASIAOLD");
    expect(errors).toHaveLength(3);
  });

  it("credentials issued for less than the window are not refreshed on every request", async () => {
    const c = clock();
    const p = gatedProvider(c, 4 * MIN); // shorter than the 5m window
    const cache = new CredentialsCache(p.provider, { now: c.now, windowMs: WINDOW });
    const first = cache.get();
    p.release();
    await first;
    for (let i = 0; i < 100; i++) await cache.get();
    expect(p.calls()).toBe(1);
    c.advance(30_000);
    void cache.get();
    await flush();
    expect(p.calls()).toBe(2);
    expect(p.pending()).toBe(1);
  });

  it("long-lived credentials are fetched once", async () => {
    const c = clock();
    let calls = 0;
    const cache = new CredentialsCache(
      { kind: "master", retrieve: async () => (calls++, { accessKeyId: "AKIA", secretAccessKey: new Secret("s") }) },
      { now: c.now, windowMs: WINDOW },
    );
    await cache.get();
    c.advance(1e10);
    await cache.get();
    expect(calls).toBe(1);
    expect(cache.refreshes).toBe(1);
  });
});
