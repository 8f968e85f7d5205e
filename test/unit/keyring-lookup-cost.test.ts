// What a lookup costs in a big file keyring, counted rather than timed: a cached session or a
// stored-key check reads the files it needs, not every item (each read of the 2,000-item bench
// keyring was a syscall round trip per file), and a lookup through an unlocked agent is one
// request with no key derived in the client.
import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { agentRequest, agentRequestCount } from "../../src/agent/client.ts";
import { AgentServer } from "../../src/agent/server.ts";
import { AgentKeyring } from "../../src/keyring/agent.ts";
import { FileKeyring, type FileKeyringOptions, fileKeyringListings, fileKeyringReads } from "../../src/keyring/file.ts";
import { pbes2Derivations } from "../../src/keyring/file-format.ts";
import { newItem } from "../../src/keyring/keyring.ts";
import { Secret } from "../../src/util/secret.ts";
import { CredentialStore } from "../../src/vault/credential-store.ts";
import { encodeSessionCredentials } from "../../src/vault/credentials.ts";
import { formatSessionKey } from "../../src/vault/session-key.ts";
import { cachedSessionProvider } from "../../src/vault/cached-session.ts";
import type { Credentials } from "../../src/vault/credentials.ts";
import type { VaultDeps } from "../../src/vault/providers/provider.ts";
import { SessionStore } from "../../src/vault/session-store.ts";
import { fakeRuntime } from "../support/fake-runtime.ts";

const PASS = "lookup cost pass";
const N = 60;
const HOUR = 3600_000;
const TYPE = "sts.GetSessionToken";

/** A folder with N stored keys, N valid sessions and `expired` expired ones (cheap PBES2: p2c 1). */
async function filled(expired = 0) {
  const rt = fakeRuntime({ tty: false });
  const dir = join(mkdtempSync(join(tmpdir(), "awsv-cost-")), "keys");
  const opts: FileKeyringOptions = {
    dir,
    passphrase: { fromEnv: new Secret(PASS), prompt: () => Promise.reject(new Error("no prompt")) },
    now: () => rt.now(),
    random: (n) => rt.random(n),
    p2c: 1,
  };
  const kr = new FileKeyring(opts);
  const data = encodeSessionCredentials({
    accessKeyId: "ASIAEXAMPLEEXAMPLE01",
    secretAccessKey: new Secret("s".repeat(40)),
    sessionToken: new Secret("token"),
    expiration: new Date(rt.now().getTime() + HOUR),
  });
  const item = (key: string) => ({ key, data, label: key, description: "", keychainNotTrustApplication: false, keychainNotSynchronizable: false });
  for (let i = 0; i < N; i++) {
    await kr.set(item(`p-${i}`));
    await kr.set(item(formatSessionKey({ type: TYPE, profileName: `p-${i}`, mfaSerial: "", expiration: new Date(rt.now().getTime() + HOUR) })));
  }
  for (let i = 0; i < expired; i++) {
    await kr.set(item(formatSessionKey({ type: TYPE, profileName: `gone-${i}`, mfaSerial: "", expiration: new Date(rt.now().getTime() - HOUR) })));
  }
  return { rt, dir, opts };
}

/** The number of files read while `work` runs. */
async function reads(work: () => Promise<unknown>): Promise<number> {
  const before = fileKeyringReads();
  await work();
  return fileKeyringReads() - before;
}

describe("file keyring lookups read only the files they need", () => {
  it("a cached session: its own file (checked, then read), whatever the folder holds", async () => {
    const { rt, opts } = await filled();
    const store = new SessionStore(new FileKeyring(opts), () => rt.now());
    let hit: Awaited<ReturnType<SessionStore["get"]>>;
    // The lookup's shape check is the read the decrypt uses (one read, not two).
    expect(await reads(async () => (hit = await store.get({ type: TYPE, profileName: "p-7" })))).toBe(1);
    expect(hit?.session.profileName).toBe("p-7");
    // A miss reads nothing at all.
    expect(await reads(() => store.get({ type: TYPE, profileName: "nobody" }))).toBe(0);
  });

  it("the old-session sweep reads the expired sessions it removes, and nothing else", async () => {
    const { rt, dir, opts } = await filled(3);
    const store = new SessionStore(new FileKeyring(opts), () => rt.now());
    expect(await reads(() => store.get({ type: TYPE, profileName: "p-1" }))).toBe(2 + 3);
    expect(readdirSync(dir)).toHaveLength(2 * N); // the expired ones are gone
    expect(await store.list()).toHaveLength(N);
  });

  it("a write checks the passphrase with the first item that answers, not with every item", async () => {
    const { opts } = await filled();
    const kr = new FileKeyring(opts);
    // The first item in name order: its shape checked, then opened.
    expect(await reads(() => kr.set(newItem("new", new TextEncoder().encode("{}"), "new")))).toBe(2);
  });

  it("a stored-key check reads that key's file only", async () => {
    const { opts } = await filled();
    const creds = new CredentialStore(new FileKeyring(opts));
    expect(await reads(async () => expect(await creds.has("p-3")).toBe(true))).toBe(1);
    expect(await reads(async () => expect(await creds.has("p-missing")).toBe(false))).toBe(0);
  });
});

/** The number of folder listings while `work` runs. */
async function listings(work: () => Promise<unknown>): Promise<number> {
  const before = fileKeyringListings();
  await work();
  return fileKeyringListings() - before;
}

describe("a cached export lists the folder once", () => {
  it("the stored-key check's listing answers the session lookup right after it (recent), which reads only its session", async () => {
    const { rt, opts } = await filled();
    const kr = new FileKeyring(opts);
    const creds = new CredentialStore(kr);
    const store = new SessionStore(kr, () => rt.now());
    let hit: Awaited<ReturnType<SessionStore["get"]>>;
    const n = await listings(async () => {
      expect(await creds.has("p-4")).toBe(true);
      expect(await reads(async () => (hit = await store.get({ type: TYPE, profileName: "p-4" }, { recent: true })))).toBe(1);
    });
    expect(n).toBe(1);
    expect(hit?.session.profileName).toBe("p-4");
    // Used once: the next lookup lists again, and so does one without `recent`.
    expect(await listings(() => store.get({ type: TYPE, profileName: "p-4" }, { recent: true }))).toBe(1);
    expect(await listings(() => store.get({ type: TYPE, profileName: "p-4" }))).toBe(1);
  });

  it("a lookup after a write lists afresh and sees what was written", async () => {
    const { rt, opts } = await filled();
    const kr = new FileKeyring(opts);
    const store = new SessionStore(kr, () => rt.now());
    const lookup = { type: TYPE, profileName: "fresh" };
    expect(await store.get(lookup)).toBeUndefined();
    await store.set(lookup, { accessKeyId: "ASIAFRESHFRESHFRESH1", secretAccessKey: new Secret("s"), sessionToken: new Secret("t"), expiration: new Date(rt.now().getTime() + HOUR) });
    expect(await listings(async () => expect((await store.get(lookup, { recent: true }))?.session.profileName).toBe("fresh"))).toBe(1);
  });

  it("the re-check under the session lock lists afresh: a session another process stored meanwhile is used (no second STS call)", async () => {
    const { rt, dir, opts } = await filled();
    const lookup = { type: TYPE, profileName: "raced" };
    const other = new SessionStore(new FileKeyring(opts), () => rt.now()); // another process, same folder
    const stored: Credentials = {
      accessKeyId: "ASIAOTHEROTHEROTHER1",
      secretAccessKey: new Secret("s".repeat(40)),
      sessionToken: new Secret("other"),
      expiration: new Date(rt.now().getTime() + HOUR),
    };
    const kr = new FileKeyring(opts);
    // Right after this process's first look (a miss), the other one stores the session.
    let first = true;
    const keyring = new Proxy(kr, {
      get(target, prop) {
        if (prop === "keysMatching") {
          return async (...args: Parameters<FileKeyring["keysMatching"]>) => {
            const keys = await target.keysMatching(...args);
            if (first) {
              first = false;
              await other.set(lookup, stored);
            }
            return keys;
          };
        }
        const v = Reflect.get(target, prop, target);
        return typeof v === "function" ? v.bind(target) : v;
      },
    });
    let stsCalls = 0;
    const inner = { kind: "session-token" as const, retrieve: async () => (stsCalls++, stored) };
    const deps = {
      rt,
      keyring,
      aws: {} as VaultDeps["aws"],
      mfaToken: () => Promise.reject(new Error("no MFA here")),
      stsEndpoint: () => undefined,
      minTtlMs: 60_000,
      lockDir: join(dir, "..", "locks"),
    } satisfies VaultDeps;
    const provider = cachedSessionProvider(deps, lookup, inner);
    expect((await provider.retrieve()).sessionToken?.reveal()).toBe("other");
    expect(stsCalls).toBe(0);
    expect(provider.fromCache).toBe(true);
  });
});

describe("a lookup through an unlocked agent", () => {
  it("is one request, derives no key, and reads only the session's file", async () => {
    const { rt, dir, opts } = await filled();
    const socketPath = join(dir, "..", "agent", "agent.sock");
    const server = new AgentServer(rt, { socketPath, uid: process.getuid?.() });
    await server.listen();
    try {
      const agent = {
        mode: "on" as const,
        socketPath,
        uid: process.getuid?.(),
        selfCommand: [],
        env: {},
        ttlMs: HOUR,
        idleMs: HOUR,
        sleep: (ms: number) => rt.sleep(ms),
      };
      const kr = new AgentKeyring({ ...opts, passphrase: { prompt: () => Promise.reject(new Error("no prompt")) } }, agent);
      expect((await agentRequest(socketPath, { op: "unlock", dir, passphrase: PASS, ttlMs: HOUR, idleMs: HOUR })).ok).toBe(true);
      const store = new SessionStore(kr, () => rt.now());
      const before = { requests: agentRequestCount(), derivations: pbes2Derivations() };
      let hit: Awaited<ReturnType<SessionStore["get"]>>;
      const n = await reads(async () => (hit = await store.get({ type: TYPE, profileName: "p-9" })));
      expect(hit?.session.profileName).toBe("p-9");
      expect(agentRequestCount() - before.requests).toBe(1);
      // In-process, the count covers the agent too (its keys were derived when the items were written).
      expect(pbes2Derivations() - before.derivations).toBe(0);
      // The client checks the session's file; the agent (in-process here) reads it.
      expect(n).toBe(2);
    } finally {
      await server.stop();
    }
  });
});
