// What can be checked about the OS backends without their OS: item naming, the wincred chunk
// layout, the `security` and `keyctl` output parsers, the D-Bus wire codec, backend discovery,
// and the call timeout. The backends themselves run for real in keyring-conformance.test.ts.
import { mkdtempSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { KeyNotFoundError, KeyringError } from "../../src/errors.ts";
import { parseKeyDescription } from "../../src/keyring/keyctl.ts";
import {
  parseDumpKeychain,
  parseKeychainDate,
  parseSecurityAttributes,
  parseSecurityPassword,
  parseSecurityValue,
  quoteSecurityArg,
} from "../../src/keyring/keychain.ts";
import { type Keyring, newItem } from "../../src/keyring/keyring.ts";
import { kwalletInstalled } from "../../src/keyring/probe.ts";
import { MemoryKeyring } from "../../src/keyring/memory.ts";
import { availableBackends, openKeyring, timeoutFromEnv } from "../../src/keyring/open.ts";
import { passEntryName, passKeyOf, PassKeyring } from "../../src/keyring/pass.ts";
import { decodeMessage, encodeMessage, socketPaths, splitSignature, Variant } from "../../src/keyring/dbus.ts";
import { collectionName, decodeObjectPathName } from "../../src/keyring/secret-service.ts";
import { CallClock, TimeoutKeyring, withDeadline } from "../../src/keyring/timeout.ts";
import {
  chunkTarget,
  decodeChunkHeader,
  joinFromWincred,
  parseCmdkeyList,
  splitForWincred,
  WINCRED_MAX_BLOB,
  wincredTarget,
} from "../../src/keyring/wincred.ts";
import { nodeRuntime } from "../../src/runtime/node.ts";
import { Secret } from "../../src/util/secret.ts";

describe("wincred item naming and chunking", () => {
  it("names credentials as aws-vault does: aws-vault:aws-vault:<key>", () => {
    expect(wincredTarget("demo")).toBe("aws-vault:aws-vault:demo");
    expect(wincredTarget("oidc:https://x/start")).toBe("aws-vault:aws-vault:oidc:https://x/start");
  });

  it("stores an item that fits in one blob exactly as aws-vault does", () => {
    const data = new Uint8Array(WINCRED_MAX_BLOB).fill(0x41);
    expect(splitForWincred("k", data, "g")).toEqual([{ target: "aws-vault:aws-vault:k", blob: data }]);
  });

  it("splits a larger item into 2,560-byte chunks, then a header that is the commit point", async () => {
    const data = new Uint8Array(WINCRED_MAX_BLOB * 2 + 7).map((_, i) => i % 251);
    const parts = splitForWincred("big", data, "abc123");
    expect(parts.map((p) => p.target)).toEqual([
      chunkTarget("big", "abc123", 0),
      chunkTarget("big", "abc123", 1),
      chunkTarget("big", "abc123", 2),
      "aws-vault:aws-vault:big",
    ]);
    expect(parts.map((p) => p.blob.length)).toEqual([2560, 2560, 7, parts[3]?.blob.length]);
    for (const p of parts) expect(p.blob.length).toBeLessThanOrEqual(WINCRED_MAX_BLOB);
    expect(chunkTarget("big", "abc123", 0).startsWith("aws-vault:aws-vault:")).toBe(false);
    const header = decodeChunkHeader(parts[3]?.blob as Uint8Array);
    expect(header).toMatchObject({ gen: "abc123", count: 3, length: data.length });
    const store = new Map(parts.map((p) => [p.target, p.blob]));
    expect(await joinFromWincred("big", header!, async (t) => store.get(t))).toEqual(data);
  });

  it("detects a missing or altered chunk instead of returning a truncated item", async () => {
    const data = new Uint8Array(6000).fill(7);
    const parts = splitForWincred("k", data, "g1");
    const header = decodeChunkHeader(parts.at(-1)!.blob)!;
    const store = new Map(parts.map((p) => [p.target, p.blob]));
    store.delete(chunkTarget("k", "g1", 1));
    await expect(joinFromWincred("k", header, async (t) => store.get(t))).rejects.toThrow(/chunk 1 of 3 is missing/);
    store.set(chunkTarget("k", "g1", 1), new Uint8Array(2560).fill(8));
    await expect(joinFromWincred("k", header, async (t) => store.get(t))).rejects.toThrow(/do not match their header/);
  });

  it("data that merely looks like a header is chunked, so it reads back as itself", () => {
    const tricky = new TextEncoder().encode("\0aws-vault-chunked:{}");
    expect(splitForWincred("k", tricky, "g")).toHaveLength(2);
    expect(decodeChunkHeader(new TextEncoder().encode('{"AccessKeyID":"x"}'))).toBeUndefined();
  });

  it("lists targets from cmdkey output", () => {
    const out = "\r\nCurrently stored credentials:\r\n\r\n    Target: LegacyGeneric:target=aws-vault:aws-vault:demo\r\n    Type: Generic \r\n    User: \r\n\r\n    Target: LegacyGeneric:target=aws-vault:aws-vault:prod/admin\r\n";
    expect(parseCmdkeyList(out)).toEqual(["aws-vault:aws-vault:demo", "aws-vault:aws-vault:prod/admin"]);
  });
});

describe("keychain: parsing what /usr/bin/security prints", () => {
  const find = [
    'keychain: "/Users/me/Library/Keychains/aws-vault.keychain-db"',
    "version: 512",
    'class: "genp"',
    "attributes:",
    '    0x00000007 <blob>="aws-vault (demo)"',
    "    0x00000008 <blob>=<NULL>",
    '    "acct"<blob>="demo"',
    '    "cdat"<timedate>=0x32303233303532353038333030365A00  "20230525083006Z\\000"',
    '    "desc"<blob>=<NULL>',
    '    "mdat"<timedate>=0x32303233303532353038333030365A00  "20230525083006Z\\000"',
    '    "svce"<blob>="aws-vault"',
    "",
  ].join("\n");

  it("reads attributes, plain and hex-encoded", () => {
    const a = parseSecurityAttributes(find);
    expect(a.get("class")).toBe("genp");
    expect(a.get("acct")).toBe("demo");
    expect(a.get("svce")).toBe("aws-vault");
    expect(a.get("0x00000007")).toBe("aws-vault (demo)");
    expect(a.has("desc")).toBe(false);
    expect(parseKeychainDate(a.get("mdat") ?? "")).toEqual(new Date(Date.UTC(2023, 4, 25, 8, 30, 6)));
    expect(parseSecurityValue('0xC3BC6E69636F6465  "\\303\\274nicode"')).toBe("ünicode");
  });

  it("reads the password line, quoted or hex", () => {
    expect(new TextDecoder().decode(parseSecurityPassword('password: "{"AccessKeyID":"A"}"\n'))).toBe('{"AccessKeyID":"A"}');
    expect(parseSecurityPassword('password: 0x7B7D0A  "{}\\012"\n')).toEqual(new Uint8Array([0x7b, 0x7d, 0x0a]));
    expect(parseSecurityPassword("nothing here")).toBeUndefined();
  });

  it("lists aws-vault's generic passwords from dump-keychain", () => {
    const other = find.replace('"svce"<blob>="aws-vault"', '"svce"<blob>="other-app"').replace('"acct"<blob>="demo"', '"acct"<blob>="x"');
    const cert = 'keychain: "/k"\nclass: 0x80001000\nattributes:\n    "labl"<blob>="cert"\n';
    const items = parseDumpKeychain([find, other, cert, find.replace('"acct"<blob>="demo"', '"acct"<blob>="prod/admin"')].join("\n"));
    const keys = items.filter((a) => a.get("class") === "genp" && a.get("svce") === "aws-vault").map((a) => a.get("acct"));
    expect(keys).toEqual(["demo", "prod/admin"]);
  });

  it("quotes arguments for `security -i`", () => {
    expect(quoteSecurityArg('a "b" \\c')).toBe('"a \\"b\\" \\\\c"');
  });
});

describe("keyctl", () => {
  it("parses rdescribe output, keeping `;` inside descriptions", () => {
    expect(parseKeyDescription("user;0;0;3f010000;demo\n")).toEqual({ type: "user", description: "demo" });
    expect(parseKeyDescription("user;0;0;3f010000;a;b")).toEqual({ type: "user", description: "a;b" });
    expect(parseKeyDescription("garbage")).toBeUndefined();
  });
});

describe("pass entry names", () => {
  it("escapes `/` and `%` as the file backend does, so oidc URLs round-trip", () => {
    expect(passEntryName("oidc:https://x.awsapps.com/start")).toBe("oidc:https:%2F%2Fx.awsapps.com%2Fstart");
    expect(passEntryName("100%-sure")).toBe("100%25-sure");
    expect(passKeyOf(passEntryName("oidc:https://x.awsapps.com/start"))).toBe("oidc:https://x.awsapps.com/start");
    expect(passKeyOf(passEntryName(".."))).toBe("..");
    expect(passEntryName("..")).not.toBe("..");
    expect(() => passEntryName("")).toThrow(KeyringError);
  });

  it("still lists and reads aws-vault's raw names (sub-folders)", () => {
    expect(passKeyOf("prod/admin")).toBe("prod/admin");
    expect(passKeyOf("plain")).toBe("plain");
  });

  it("says how to initialise a store without a .gpg-id, before running pass", async () => {
    const dir = mkdtempSync(join(tmpdir(), "awsv-pass-noinit-"));
    const k = new PassKeyring({ dir, env: { PATH: process.env.PATH }, spawn: nodeRuntime().spawn });
    await expect(k.set(newItem("x", new Uint8Array([1]), "x"))).rejects.toThrow(/not initialised \(no \.gpg-id\)/);
    await expect(k.get("x")).rejects.toBeInstanceOf(KeyNotFoundError);
    expect(await k.keys()).toEqual([]);
  });

  it("lists entries under the prefix, escaped and raw, and ignores .git", async () => {
    const dir = mkdtempSync(join(tmpdir(), "awsv-pass-list-"));
    mkdirSync(join(dir, "aws", "prod"), { recursive: true });
    mkdirSync(join(dir, ".git"), { recursive: true });
    for (const f of ["aws/demo.gpg", "aws/oidc:https:%2F%2Fx%2Fstart.gpg", "aws/prod/admin.gpg", "aws/.gpg-id", "other.gpg", ".git/x.gpg"]) {
      writeFileSync(join(dir, f), "");
    }
    const k = new PassKeyring({ dir, prefix: "aws", env: {}, spawn: nodeRuntime().spawn });
    expect(await k.keys()).toEqual(["demo", "oidc:https://x/start", "prod/admin"]);
    expect(k.describeLocation("prod/admin")).toBe(`pass entry aws/prod%2Fadmin in ${dir}`);
  });
});

describe("the D-Bus wire codec", () => {
  it("splits signatures into complete types", () => {
    expect(splitSignature("sa{sv}(oayays)bao")).toEqual(["s", "a{sv}", "(oayays)", "b", "ao"]);
  });

  it("round-trips a Secret Service CreateItem call", () => {
    const body = [
      [
        ["org.freedesktop.Secret.Item.Label", new Variant("s", "demo")],
        ["org.freedesktop.Secret.Item.Attributes", new Variant("a{ss}", [["profile", "demo"]])],
      ],
      ["/org/freedesktop/secrets/session/1", new Uint8Array(), new TextEncoder().encode("{}"), "application/json"],
      true,
    ];
    const raw = encodeMessage({
      type: 1,
      flags: 0,
      serial: 7,
      destination: "org.freedesktop.secrets",
      path: "/org/freedesktop/secrets/collection/login",
      interface: "org.freedesktop.Secret.Collection",
      member: "CreateItem",
      signature: "a{sv}(oayays)b",
      body,
    });
    expect(raw.length % 8).toBe(0);
    const m = decodeMessage(raw);
    expect(m).toMatchObject({ type: 1, serial: 7, member: "CreateItem", signature: "a{sv}(oayays)b" });
    expect(m.body).toEqual(body);
  });

  it("handles 64-bit integers, doubles and nested arrays", () => {
    const raw = encodeMessage({ type: 2, flags: 1, serial: 1, replySerial: 3, signature: "xtdaas", body: [-5n, 2n ** 63n, 1.5, [["a", "b"], []]] });
    expect(decodeMessage(raw).body).toEqual([-5n, 2n ** 63n, 1.5, [["a", "b"], []]]);
  });

  it("parses bus addresses and gnome-keyring's escaped collection paths", () => {
    expect(socketPaths("unix:path=/run/user/1000/bus,guid=abc")).toEqual(["/run/user/1000/bus"]);
    expect(socketPaths("unix:abstract=/tmp/dbus-x;unix:path=/p%2cq")).toEqual(["\0/tmp/dbus-x", "/p,q"]);
    expect(socketPaths("tcp:host=localhost,port=1")).toEqual([]);
    expect(decodeObjectPathName("/org/freedesktop/secrets/collection/aws_2dvault")).toBe("/org/freedesktop/secrets/collection/aws-vault");
    expect(collectionName("/org/freedesktop/secrets/collection/login")).toBe("login");
  });
});

describe("backend discovery", () => {
  const bin = mkdtempSync(join(tmpdir(), "awsv-bin-"));
  for (const p of ["keyctl", "pass"]) writeFileSync(join(bin, p), "#!/bin/sh\n", { mode: 0o755 });

  it("follows aws-vault's order and lists only what can work here", () => {
    expect(availableBackends({ PATH: bin }, "win32")).toEqual(["wincred", "file"]);
    expect(availableBackends({ PATH: bin }, "darwin")).toEqual(["keychain", "pass", "file"]);
    expect(availableBackends({ PATH: bin }, "linux")).toEqual(["keyctl", "pass", "file"]);
    expect(availableBackends({ PATH: bin, DBUS_SESSION_BUS_ADDRESS: "unix:path=/x" }, "linux")).toEqual(["secret-service", "keyctl", "pass", "file"]);
    expect(availableBackends({ PATH: "/nonexistent" }, "linux")).toEqual(["file"]);
  });

  it("offers kwallet only when kwalletd5 is installed and DISABLE_KWALLET is not 1", () => {
    const data = mkdtempSync(join(tmpdir(), "awsv-xdg-"));
    mkdirSync(join(data, "dbus-1", "services"), { recursive: true });
    writeFileSync(join(data, "dbus-1", "services", "org.kde.kwalletd5.service"), "");
    const env = { PATH: bin, DBUS_SESSION_BUS_ADDRESS: "unix:path=/x", XDG_DATA_DIRS: data };
    expect(kwalletInstalled(env)).toBe(true);
    expect(availableBackends(env, "linux")).toEqual(["secret-service", "kwallet", "keyctl", "pass", "file"]);
    expect(availableBackends({ ...env, DISABLE_KWALLET: "1" }, "linux")).toEqual(["secret-service", "keyctl", "pass", "file"]);
  });

  it("refuses a backend that is not available, naming those that are", async () => {
    const settings = {
      backend: "keychain",
      fileDir: "/tmp/unused",
      passphrase: { prompt: async () => new Secret("") },
      keychainName: "aws-vault",
      secretServiceCollection: "awsvault",
      now: () => new Date(),
      random: (n: number) => new Uint8Array(n),
      log: () => undefined,
    };
    const err = await openKeyring(settings, ["pass", "file"]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KeyringError);
    expect((err as KeyringError).message).toBe("Specified keyring backend not available: keychain");
    expect((err as KeyringError).hints).toEqual(["available backends on this machine: pass, file (choose with --backend or AWS_VAULT_BACKEND)"]);
  });

  it("reads AWS_VAULT_KEYRING_TIMEOUT as a Go duration", () => {
    expect(timeoutFromEnv({ AWS_VAULT_KEYRING_TIMEOUT: "1m30s" })).toBe(90_000);
    expect(timeoutFromEnv({})).toBeUndefined();
    expect(() => timeoutFromEnv({ AWS_VAULT_KEYRING_TIMEOUT: "soon" })).toThrow(KeyringError);
  });
});

describe("call timeouts", () => {
  const hang = (): Keyring => {
    const never = () => new Promise<never>(() => undefined);
    return { backend: "secret-service", get: never, getMetadata: never, set: never, remove: never, keys: never };
  };

  it("turns a hung call into a KeyringError with a hint", async () => {
    const k = new TimeoutKeyring(hang(), { backend: "secret-service", ms: 50 });
    const err = await k.keys().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KeyringError);
    expect((err as KeyringError).message).toBe("secret-service keyring did not answer within 50ms");
    expect((err as KeyringError).hints).toEqual(["is the daemon running? try --backend=file"]);
  });

  it("passes results and errors through untouched", async () => {
    const k = new TimeoutKeyring(new MemoryKeyring([newItem("a", new Uint8Array([1]), "A")]), { backend: "memory", ms: 1000 });
    expect((await k.get("a")).label).toBe("A");
    await expect(k.get("b")).rejects.toBeInstanceOf(KeyNotFoundError);
    expect(k.describeLocation("a")).toBe("memory");
  });

  it("stops the clock while the user answers a prompt", async () => {
    const clock = new CallClock();
    let release!: () => void;
    const prompt = new Promise<void>((r) => (release = r));
    const work = clock.whileUserAnswers(async () => {
      await prompt;
      return "unlocked";
    });
    const guarded = withDeadline(work, { backend: "secret-service", ms: 30, clock });
    await new Promise((r) => setTimeout(r, 120));
    release();
    await expect(guarded).resolves.toBe("unlocked");
  });
});
