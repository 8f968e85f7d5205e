// One conformance suite, run against every keyring backend this machine can host: memory, file,
// secret-service (a real gnome-keyring on a private D-Bus), pass (real pass + gpg, fresh key),
// keyctl (the real kernel keyring, where permitted), kwallet (our client against a stand-in
// kwalletd on a real D-Bus) and wincred (the backend over an in-memory credential store that
// enforces Windows' 2,560-byte blob limit). A backend that cannot run says why in its name.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KeyNotFoundError } from "../../src/errors.ts";
import { FileKeyring } from "../../src/keyring/file.ts";
import { KeyctlKeyring } from "../../src/keyring/keyctl.ts";
import { type Keyring, type KeyringItem, newItem } from "../../src/keyring/keyring.ts";
import { KWalletKeyring } from "../../src/keyring/kwallet.ts";
import { MemoryKeyring } from "../../src/keyring/memory.ts";
import { PassKeyring } from "../../src/keyring/pass.ts";
import { SecretServiceKeyring } from "../../src/keyring/secret-service.ts";
import { TimeoutKeyring } from "../../src/keyring/timeout.ts";
import { WINCRED_MAX_BLOB, WinCredKeyring, type WinCredStore } from "../../src/keyring/wincred.ts";
import { nodeRuntime } from "../../src/runtime/node.ts";
import { Secret } from "../../src/util/secret.ts";
import { keyctlUnavailable, missing, serveFakeKWallet, startPassStore, startSecretService } from "../support/daemons.ts";

const spawner = nodeRuntime().spawn;

interface Subject {
  keyring: Keyring;
  teardown(): Promise<void>;
}

interface Backend {
  name: string;
  /** Why this backend cannot run here (the suite is then skipped, saying so). */
  skip?: string;
  /** Label and description survive a round trip (backends that store the item JSON). */
  keepsLabels: boolean;
  /** getMetadata reports when the item was written (the session cache uses it as the issue time). */
  hasModificationTime: boolean;
  setup(): Promise<Subject>;
}

function memoryWinCredStore(): WinCredStore {
  const creds = new Map<string, Uint8Array>();
  return {
    async read(t) {
      const v = creds.get(t);
      return v ? new Uint8Array(v) : undefined;
    },
    async write(t, blob) {
      if (blob.length > WINCRED_MAX_BLOB) throw new Error(`blob of ${blob.length} bytes is too large`);
      creds.set(t, new Uint8Array(blob));
    },
    async delete(t) {
      return creds.delete(t);
    },
    async list(prefix) {
      return [...creds.keys()].filter((t) => t.startsWith(prefix));
    },
  };
}

const keyctlSkip = keyctlUnavailable();

const BACKENDS: Backend[] = [
  {
    name: "memory",
    keepsLabels: true,
    hasModificationTime: true,
    async setup() {
      return { keyring: new MemoryKeyring(), teardown: async () => undefined };
    },
  },
  {
    name: "file",
    keepsLabels: true,
    hasModificationTime: true,
    async setup() {
      const dir = mkdtempSync(join(tmpdir(), "awsv-conf-file-"));
      const keyring = new FileKeyring({
        dir: join(dir, "keys"),
        passphrase: { fromEnv: new Secret("conformance"), prompt: async () => new Secret("unused") },
        now: () => new Date(),
        random: (n) => new Uint8Array(randomBytes(n)),
        p2c: 1000,
      });
      return { keyring, teardown: async () => rmSync(dir, { recursive: true, force: true }) };
    },
  },
  {
    name: "secret-service (gnome-keyring on a private D-Bus)",
    skip: missing("dbus-daemon", "gnome-keyring-daemon"),
    keepsLabels: true,
    hasModificationTime: true,
    async setup() {
      const daemon = await startSecretService();
      const keyring = new SecretServiceKeyring({ env: daemon.env, collection: "awsvault" });
      await keyring.open();
      return {
        keyring: new TimeoutKeyring(keyring, { backend: "secret-service", ms: 10_000 }),
        teardown: async () => {
          keyring.close();
          await daemon.stop();
        },
      };
    },
  },
  {
    name: "pass (pass + gpg with a fresh key)",
    skip: missing("pass", "gpg"),
    keepsLabels: true,
    hasModificationTime: true,
    async setup() {
      const store = await startPassStore();
      const keyring = new PassKeyring({ dir: store.dir, env: store.env, spawn: spawner, prefix: "aws-vault" });
      keyring.open();
      return { keyring: new TimeoutKeyring(keyring, { backend: "pass", ms: 30_000 }), teardown: () => store.stop() };
    },
  },
  {
    name: "keyctl (kernel user keyring)",
    skip: keyctlSkip,
    keepsLabels: false,
    hasModificationTime: false,
    async setup() {
      const ringName = `aws-vault-test-${randomBytes(4).toString("hex")}`;
      const keyring = new KeyctlKeyring({ env: process.env, spawn: spawner, ringName });
      await keyring.open();
      return {
        keyring,
        teardown: async () => {
          const found = spawner.output("keyctl", ["search", "@u", "keyring", ringName], { env: { PATH: process.env.PATH ?? "" }, stdio: "pipe-out" });
          const id = (await found).stdout.trim();
          if (id) await spawner.output("keyctl", ["unlink", id, "@u"], { env: { PATH: process.env.PATH ?? "" }, stdio: "pipe-out" });
        },
      };
    },
  },
  {
    name: "kwallet (stand-in kwalletd on a private D-Bus)",
    skip: missing("dbus-daemon", "gnome-keyring-daemon"),
    keepsLabels: true,
    hasModificationTime: false,
    async setup() {
      const daemon = await startSecretService();
      await serveFakeKWallet(await daemon.connect());
      const keyring = new KWalletKeyring({ env: daemon.env });
      await keyring.open();
      return {
        keyring,
        teardown: async () => {
          keyring.close();
          await daemon.stop();
        },
      };
    },
  },
  {
    name: "wincred (in-memory credential store with the 2,560-byte limit)",
    keepsLabels: false,
    hasModificationTime: false,
    async setup() {
      return { keyring: new WinCredKeyring({ store: memoryWinCredStore() }), teardown: async () => undefined };
    },
  },
];

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

function item(key: string, data: string, label = `aws-vault (${key})`, description = ""): KeyringItem {
  return { ...newItem(key, enc(data), label, description), keychainNotTrustApplication: true };
}

const AWKWARD_KEYS = [
  "prod/admin",
  "oidc:https://example.awsapps.com/start",
  "oidc:https://example.awsapps.com/start/#/",
  "100%-sure",
  "50%2Fhalf",
  "with space",
  "ünïcode ✓ 日本語",
  "-leading-dash",
  "sts.GetSessionToken,ZGVtbw,,1700000000",
];

for (const backend of BACKENDS) {
  const title = backend.skip ? `${backend.name} — skipped: ${backend.skip}` : backend.name;
  describe.skipIf(Boolean(backend.skip))(`keyring conformance: ${title}`, () => {
    let subject: Subject;
    let k: Keyring;
    beforeAll(async () => {
      subject = await backend.setup();
      k = subject.keyring;
    }, 60_000);
    afterAll(async () => subject?.teardown());

    it("set, get, getMetadata, keys and remove one item", async () => {
      const setAt = Date.now();
      await k.set(item("alpha", '{"AccessKeyID":"AKIAALPHA","SecretAccessKey":"s1"}'));
      const got = await k.get("alpha");
      expect(got.key).toBe("alpha");
      expect(dec(got.data)).toBe('{"AccessKeyID":"AKIAALPHA","SecretAccessKey":"s1"}');
      if (backend.keepsLabels) {
        expect(got.label).toBe("aws-vault (alpha)");
        expect(got.keychainNotTrustApplication).toBe(true);
      } else {
        // Only the data is stored: the item comes back with empty labels, never someone else's.
        expect([got.label, got.description, got.keychainNotTrustApplication]).toEqual(["", "", false]);
      }
      const meta = await k.getMetadata("alpha");
      if (backend.hasModificationTime) {
        // Written during this test; secret-service stores whole seconds, file systems may round too.
        expect(meta.modificationTime).toBeInstanceOf(Date);
        const t = meta.modificationTime?.getTime() ?? NaN;
        expect(t).toBeGreaterThanOrEqual(setAt - 2_000);
        expect(t).toBeLessThanOrEqual(Date.now() + 2_000);
      } else {
        expect(meta.modificationTime).toBeUndefined();
      }
      expect(await k.keys()).toContain("alpha");
      await k.remove("alpha");
      expect(await k.keys()).not.toContain("alpha");
      await expect(k.get("alpha")).rejects.toBeInstanceOf(KeyNotFoundError);
    });

    it("absent keys: get, getMetadata and remove throw KeyNotFoundError", async () => {
      await expect(k.get("never-set")).rejects.toBeInstanceOf(KeyNotFoundError);
      await expect(k.getMetadata("never-set")).rejects.toBeInstanceOf(KeyNotFoundError);
      await expect(k.remove("never-set")).rejects.toBeInstanceOf(KeyNotFoundError);
    });

    it("overwriting replaces the value", async () => {
      await k.set(item("over", "first"));
      await k.set(item("over", "second", "aws-vault (over) v2", "aws-vault session"));
      const got = await k.get("over");
      expect(dec(got.data)).toBe("second");
      expect([got.label, got.description]).toEqual(backend.keepsLabels ? ["aws-vault (over) v2", "aws-vault session"] : ["", ""]);
      expect((await k.keys()).filter((x) => x === "over")).toHaveLength(1);
      await k.remove("over");
    });

    it("keys with `/`, `%`, spaces, Unicode and a leading dash round-trip", async () => {
      for (const [i, key] of AWKWARD_KEYS.entries()) await k.set(item(key, `value ${i} for ${key}`));
      const keys = await k.keys();
      for (const [i, key] of AWKWARD_KEYS.entries()) {
        expect(keys).toContain(key);
        expect(dec((await k.get(key)).data)).toBe(`value ${i} for ${key}`);
      }
      for (const key of AWKWARD_KEYS) await k.remove(key);
      const after = await k.keys();
      for (const key of AWKWARD_KEYS) expect(after).not.toContain(key);
    });

    it("a 10 KB value round-trips byte for byte", async () => {
      const big = Array.from({ length: 10 * 1024 }, (_, i) => "abcdefghijklmnopqrstuvwxyzé✓"[i % 28]).join("");
      await k.set(item("big", big));
      expect(dec((await k.get("big")).data)).toBe(big);
      await k.set(item("big", "small again"));
      expect(dec((await k.get("big")).data)).toBe("small again");
      await k.remove("big");
      await expect(k.get("big")).rejects.toBeInstanceOf(KeyNotFoundError);
    });

    it("concurrent writers: distinct keys all land, one key ends with one whole value", async () => {
      const distinct = Array.from({ length: 8 }, (_, i) => `writer-${i}`);
      const values = Array.from({ length: 5 }, (_, i) => `contended value ${i} `.repeat(50));
      await Promise.all([
        ...distinct.map((key) => k.set(item(key, `value of ${key}`))),
        ...values.map((v) => k.set(item("contended", v))),
      ]);
      const keys = await k.keys();
      for (const key of distinct) {
        expect(keys).toContain(key);
        expect(dec((await k.get(key)).data)).toBe(`value of ${key}`);
      }
      expect(values).toContain(dec((await k.get("contended")).data));
      await Promise.all([...distinct, "contended"].map((key) => k.remove(key)));
      const after = await k.keys();
      for (const key of [...distinct, "contended"]) expect(after).not.toContain(key);
    });
  });
}
