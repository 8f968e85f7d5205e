// The session cache decorator (vault/cached-session.ts): hits and misses, AWS_MIN_TTL, the
// duration a session must cover, unreadable cache entries, one inner call for concurrent callers
// (in this process and through the lock file), all on a fake clock.
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { KeyNotFoundError, KeyringError, WrongPassphraseError } from "../../src/errors.ts";
import { DamagedItemError } from "../../src/keyring/file-format.ts";
import type { ItemMetadata, Keyring, KeyringItem } from "../../src/keyring/keyring.ts";
import { MemoryKeyring } from "../../src/keyring/memory.ts";
import { maskKeyId } from "../../src/util/redact.ts";
import { Secret } from "../../src/util/secret.ts";
import { cachedSessionProvider } from "../../src/vault/cached-session.ts";
import type { Credentials } from "../../src/vault/credentials.ts";
import type { CredentialsProvider, VaultDeps } from "../../src/vault/providers/provider.ts";
import { formatSessionKey } from "../../src/vault/session-key.ts";
import { fakeRuntime, type FakeRuntime } from "../support/fake-runtime.ts";

const NOW = new Date("2026-03-01T12:00:00Z");
const HOUR = 3600_000;
const MIN = 60_000;
const LOOKUP = { type: "sts.GetSessionToken", profileName: "dev", mfaSerial: "arn:aws:iam::1:mfa/me" };

/** A keyring on the fake clock (items remember when they were written), with scriptable read failures. */
class ClockKeyring implements Keyring {
  readonly backend = "clock";
  readonly items = new Map<string, { item: KeyringItem; mtime: Date }>();
  failGet: Error | undefined;
  failMetadata = false;
  /** When set, getMetadata reports this issue time instead of the write time (clock skew). */
  issuedAt: Date | undefined;
  constructor(private readonly rt: FakeRuntime) {}
  async get(key: string): Promise<KeyringItem> {
    if (this.failGet) throw this.failGet;
    const e = this.items.get(key);
    if (!e) throw new KeyNotFoundError(key);
    return e.item;
  }
  async getMetadata(key: string): Promise<ItemMetadata> {
    const e = this.items.get(key);
    if (!e || this.failMetadata) throw new KeyNotFoundError(key);
    return { modificationTime: this.issuedAt ?? e.mtime };
  }
  async set(item: KeyringItem): Promise<void> {
    this.items.set(item.key, { item, mtime: this.rt.now() });
  }
  async remove(key: string): Promise<void> {
    if (!this.items.delete(key)) throw new KeyNotFoundError(key);
  }
  async keys(): Promise<string[]> {
    return [...this.items.keys()].sort();
  }
  describeLocation(key: string): string {
    return `clock:${key}`;
  }
}

/** The provider being cached: hands out numbered sessions of a given lifetime, or waits when told. */
class Inner implements CredentialsProvider {
  readonly kind = "session-token" as const;
  calls = 0;
  gate: Promise<void> | undefined;
  failNext: Error | undefined;
  started: () => void = () => undefined;
  constructor(
    private readonly rt: FakeRuntime,
    public lifetimeMs = HOUR,
  ) {}
  async retrieve(): Promise<Credentials> {
    this.calls++;
    const n = this.calls;
    this.started();
    if (this.gate) await this.gate;
    if (this.failNext) {
      const e = this.failNext;
      this.failNext = undefined;
      throw e;
    }
    return {
      accessKeyId: `ASIAINNER00000000${String(n).padStart(3, "0")}`,
      secretAccessKey: new Secret(`secret-${n}`),
      sessionToken: new Secret(`token-${n}`),
      expiration: new Date(this.rt.now().getTime() + this.lifetimeMs),
    };
  }
}

function setup(minTtlMs = 5 * MIN) {
  const rt = fakeRuntime({ now: NOW });
  const keyring = new ClockKeyring(rt);
  const inner = new Inner(rt);
  const lockDir = join(mkdtempSync(join(tmpdir(), "awsv-cache-")), "locks");
  const deps = {
    rt,
    keyring,
    aws: {} as VaultDeps["aws"],
    mfaToken: () => Promise.reject(new Error("no MFA here")),
    stsEndpoint: () => undefined,
    minTtlMs,
    lockDir,
  } satisfies VaultDeps;
  const provider = (requiredDurationMs?: number) =>
    cachedSessionProvider(deps, LOOKUP, inner, requiredDurationMs === undefined ? {} : { requiredDurationMs });
  return { rt, keyring, inner, deps, lockDir, provider };
}

const reuse = (id: string, left: string) => `Re-using cached credentials ${maskKeyId(id)} from sts.GetSessionToken, expires in ${left}`;

describe("cached session provider", () => {
  it("a miss calls the inner provider once and stores the session under aws-vault's key", async () => {
    const { rt, keyring, inner, provider } = setup();
    const p = provider();
    expect(p.kind).toBe("session-token");
    expect(p.inner).toBe(inner);
    const creds = await p.retrieve();
    expect(inner.calls).toBe(1);
    expect(creds.accessKeyId).toBe("ASIAINNER00000000001");
    expect(await keyring.keys()).toEqual([formatSessionKey({ ...LOOKUP, expiration: new Date(NOW.getTime() + HOUR) })]);
    expect(rt.log.messages).toEqual([]);
  });

  it("a hit is reused by a later invocation, with the time left truncated to seconds", async () => {
    const { rt, inner, provider } = setup();
    const first = await provider().retrieve();
    rt.advance(MIN + 500);
    const second = await provider().retrieve();
    expect(inner.calls).toBe(1);
    expect(second.accessKeyId).toBe(first.accessKeyId);
    expect(second.sessionToken?.reveal()).toBe("token-1");
    expect(rt.log.messages).toEqual([reuse(first.accessKeyId, "58m59s")]);
  });

  it("refreshes a session with less than AWS_MIN_TTL left, saying so once; exactly the minimum is enough", async () => {
    const { rt, inner, provider } = setup(10 * MIN);
    await provider().retrieve();
    rt.advance(50 * MIN);
    await provider().retrieve();
    expect(inner.calls).toBe(1);
    rt.advance(1000);
    rt.log.messages.length = 0;
    const fresh = await provider().retrieve();
    expect(inner.calls).toBe(2);
    expect(fresh.accessKeyId).toBe("ASIAINNER00000000002");
    expect(rt.log.messages).toEqual([
      "cached session for dev expires in 9m59s, less than the minimum 10m0s: refreshing",
    ]);
  });

  it("with a duration asked for, reuses a session issued for it and refreshes one issued for less", async () => {
    const { rt, inner, provider } = setup();
    inner.lifetimeMs = HOUR;
    await provider().retrieve();
    rt.log.messages.length = 0;
    // Asked for 2h, the cached 1h session does not cover it.
    await provider(2 * HOUR).retrieve();
    expect(inner.calls).toBe(2);
    expect(rt.log.messages).toEqual(["cached session for dev was issued for 1h0m0s, less than the 2h0m0s asked for: refreshing"]);

    // Issued for 2h, 30 minutes ago: 1h30m left, but it was issued for the 2h asked for.
    inner.lifetimeMs = 2 * HOUR;
    await provider(3 * HOUR).retrieve();
    expect(inner.calls).toBe(3);
    rt.advance(30 * MIN);
    await provider(2 * HOUR).retrieve();
    expect(inner.calls).toBe(3);
    // A session issued for a minute less than asked is close enough (STS rounds); more is not.
    await provider(2 * HOUR + MIN).retrieve();
    expect(inner.calls).toBe(3);
    await provider(2 * HOUR + MIN + 1000).retrieve();
    expect(inner.calls).toBe(4);
  });

  it("with a duration asked for, enough time left is enough, whatever the recorded issue time says", async () => {
    const { rt, keyring, inner, provider } = setup();
    await provider().retrieve();
    // A skewed clock recorded the session as issued 50 minutes after it was.
    keyring.issuedAt = new Date(NOW.getTime() + 50 * MIN);
    rt.advance(MIN);
    await provider(HOUR).retrieve();
    expect(inner.calls).toBe(1);
    rt.advance(1000);
    await provider(HOUR).retrieve();
    expect(inner.calls).toBe(2);
  });

  it("judges the time left by the credentials' own expiry, to the millisecond (the key holds whole seconds)", async () => {
    const { rt, inner, provider } = setup();
    inner.lifetimeMs = 5 * MIN + 500;
    await provider().retrieve();
    rt.advance(300);
    // 5m0.2s left by the credentials, 4m59.7s by the key name's whole seconds.
    await provider().retrieve();
    expect(inner.calls).toBe(1);
    rt.advance(201);
    await provider().retrieve();
    expect(inner.calls).toBe(2);
  });

  it("with a duration asked for, time left within a minute of it needs no issue time", async () => {
    const { rt, keyring, inner, provider } = setup();
    await provider().retrieve();
    keyring.failMetadata = true;
    rt.advance(MIN);
    // 59m left + 1m slack covers 1h: no metadata needed.
    await provider(HOUR).retrieve();
    expect(inner.calls).toBe(1);
    rt.advance(1000);
    // Now it would need the issue time, which cannot be read: the time left counts as the lifetime.
    rt.log.messages.length = 0;
    await provider(HOUR).retrieve();
    expect(inner.calls).toBe(2);
    expect(rt.log.messages).toEqual(["cached session for dev was issued for 58m59s, less than the 1h0m0s asked for: refreshing"]);
  });

  it("an unreadable cached session is a miss, warned about once, and replaced", async () => {
    const { rt, keyring, inner, provider } = setup();
    await provider().retrieve();
    const [oldKey] = await keyring.keys();
    rt.advance(2000);
    keyring.failGet = new DamagedItemError("item is damaged", true);
    rt.log.messages.length = 0;
    const p = provider();
    inner.started = () => {
      keyring.failGet = undefined;
    };
    const creds = await p.retrieve();
    expect(creds.accessKeyId).toBe("ASIAINNER00000000002");
    expect(rt.log.messages).toEqual(["cached session for dev is unreadable (item is damaged): replacing it"]);
    const keys = await keyring.keys();
    expect(keys).toHaveLength(1);
    expect(keys[0]).not.toBe(oldKey);
  });

  it("a wrong passphrase, or an error that is not the keyring's, is not a miss", async () => {
    for (const error of [new WrongPassphraseError("wrong passphrase"), new TypeError("a bug")]) {
      const { keyring, inner, provider } = setup();
      await provider().retrieve();
      keyring.failGet = error;
      await expect(provider().retrieve()).rejects.toBe(error);
      expect(inner.calls).toBe(1);
    }
    const { keyring, inner, provider } = setup();
    await provider().retrieve();
    keyring.failGet = new KeyringError("backend hiccup");
    inner.started = () => {
      keyring.failGet = undefined;
    };
    await provider().retrieve();
    expect(inner.calls).toBe(2);
  });

  it("concurrent retrieves share one inner call; a failure is shared, then the next retrieve tries again", async () => {
    const { inner, provider } = setup();
    const p = provider();
    let open!: () => void;
    inner.gate = new Promise((r) => (open = r));
    inner.failNext = new Error("sts is down");
    const both = [p.retrieve(), p.retrieve()];
    open();
    for (const r of await Promise.allSettled(both)) expect(r).toMatchObject({ status: "rejected", reason: { message: "sts is down" } });
    expect(inner.calls).toBe(1);
    inner.gate = undefined;
    const again = await p.retrieve();
    expect(inner.calls).toBe(2);
    expect(again.accessKeyId).toBe("ASIAINNER00000000002");
  });

  it("holds a lock file per session (0700 folder, a name other invocations compute the same way) while fetching", async () => {
    const { keyring, inner, lockDir, provider } = setup();
    let seen: string[] = [];
    inner.started = () => {
      seen = readdirSync(lockDir);
    };
    await provider().retrieve();
    const id = createHash("sha256")
      .update(`clock\0clock:\0${LOOKUP.type}\0${LOOKUP.profileName}\0${LOOKUP.mfaSerial}`)
      .digest("hex")
      .slice(0, 32);
    expect(seen).toEqual([`${id}.lock`]);
    expect(statSync(lockDir).mode & 0o777).toBe(0o700);
    expect(readdirSync(lockDir)).toEqual([]);
    expect(keyring.items.size).toBe(1);
  });

  it("names the lock the same way for a keyring without a location and a session without an MFA serial", async () => {
    const rt = fakeRuntime({ now: NOW });
    const keyring = new MemoryKeyring();
    const inner = new Inner(rt);
    const lockDir = join(mkdtempSync(join(tmpdir(), "awsv-cache-")), "locks");
    const deps = { rt, keyring, aws: {} as VaultDeps["aws"], mfaToken: () => Promise.reject(new Error("no")), stsEndpoint: () => undefined, minTtlMs: MIN, lockDir } satisfies VaultDeps;
    let seen: string[] = [];
    inner.started = () => {
      seen = readdirSync(lockDir);
    };
    await cachedSessionProvider(deps, { type: "sts.AssumeRole", profileName: "p" }, inner).retrieve();
    const id = createHash("sha256").update("memory\0\0sts.AssumeRole\0p\0").digest("hex").slice(0, 32);
    expect(seen).toEqual([`${id}.lock`]);
  });

  it("a second invocation waiting on the lock reads what the first stored instead of calling again", async () => {
    const { rt, inner, provider } = setup();
    let open!: () => void;
    inner.gate = new Promise((r) => (open = r));
    let started!: () => void;
    const running = new Promise<void>((r) => (started = r));
    inner.started = () => started();
    const first = provider().retrieve();
    await running;
    const second = provider().retrieve();
    await new Promise((r) => setTimeout(r, 20));
    open();
    const [a, b] = await Promise.all([first, second]);
    expect(inner.calls).toBe(1);
    expect(b.accessKeyId).toBe(a.accessKeyId);
    expect(rt.log.messages.filter((m) => m.startsWith("Re-using cached credentials"))).toHaveLength(1);
  });

  it("waits up to ten minutes for a lock held by another live invocation, on the runtime's clock", async () => {
    const { rt, inner, lockDir, deps, provider } = setup();
    let open!: () => void;
    inner.gate = new Promise((r) => (open = r));
    let started!: () => void;
    const running = new Promise<void>((r) => (started = r));
    inner.started = () => started();
    // A holder in another process: same lookup, its own provider instance and an inner that never returns.
    const holder = cachedSessionProvider(deps, LOOKUP, inner).retrieve();
    await running;
    inner.started = () => undefined;
    const t0 = rt.now().getTime();
    const waiter = provider().retrieve();
    await expect(waiter).rejects.toThrow(/^timed out waiting for lock /);
    const waited = rt.now().getTime() - t0;
    expect(waited).toBeGreaterThanOrEqual(10 * MIN);
    expect(waited).toBeLessThan(11 * MIN);
    expect(existsSync(lockDir)).toBe(true);
    open();
    await holder;
  });
});
