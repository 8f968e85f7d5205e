// The JWE of the file keyring (file-format.ts) on its own: what it refuses before any key work,
// how it tells a wrong passphrase from a damaged file, and that each key is derived once.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { KeyringError, WrongPassphraseError } from "../../src/errors.ts";
import {
  DamagedItemError,
  decodeItem,
  decryptItem,
  encryptItem,
  looksLikeItem,
  MAX_P2C,
  pbes2Derivations,
  WRITE_P2C,
} from "../../src/keyring/file-format.ts";
import { newItem } from "../../src/keyring/keyring.ts";
import { Secret } from "../../src/util/secret.ts";
import { failure } from "../support/failure.ts";

const PASS = new Secret("format passphrase");
const ITEM = newItem("prof", new TextEncoder().encode('{"AccessKeyID":"AKIAFORMAT"}'), "aws-vault (prof)");
const NOW = new Date("2026-11-22T10:00:00.25Z");

function salt(): Uint8Array {
  return new Uint8Array(randomBytes(12));
}

async function token(p2c = 1000, passphrase = PASS): Promise<string> {
  return encryptItem(ITEM, passphrase, { now: NOW, salt: salt(), p2c });
}

function header(t: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(t.split(".")[0] ?? "", "base64url").toString("utf8")) as Record<string, unknown>;
}

/** The token with its protected header changed (the AAD changes too, so the content no longer verifies). */
function withHeader(t: string, change: (h: Record<string, unknown>) => void): string {
  const parts = t.split(".");
  const h = header(t);
  change(h);
  parts[0] = Buffer.from(JSON.stringify(h)).toString("base64url");
  return parts.join(".");
}

function withPart(t: string, i: number, value: string): string {
  const parts = t.split(".");
  parts[i] = value;
  return parts.join(".");
}

describe("file format: writing", () => {
  it("writes the aws-vault header, in jose2go's key order, with the given salt and count", async () => {
    const s = salt();
    const t = await encryptItem(ITEM, PASS, { now: NOW, salt: s, p2c: 1234 });
    expect(t.split(".")).toHaveLength(5);
    expect(Buffer.from(t.split(".")[0] ?? "", "base64url").toString()).toBe(
      `{"alg":"PBES2-HS256+A128KW","created":"2026-11-22 10:00:00.25 +0000 UTC","enc":"A256GCM","p2c":1234,"p2s":"${Buffer.from(s).toString("base64url")}"}`,
    );
    const [, ek, iv, , tag] = t.split(".").map((p) => Buffer.from(p, "base64url"));
    expect([ek?.length, iv?.length, tag?.length]).toEqual([40, 12, 16]);
    expect(await decryptItem(t, PASS, "f")).toEqual(ITEM);
  });

  it("writes p2c 8192 by default, as aws-vault does", async () => {
    const t = await encryptItem(ITEM, PASS, { now: NOW, salt: salt() });
    expect(header(t).p2c).toBe(WRITE_P2C);
    expect(WRITE_P2C).toBe(8192);
  });

  it("takes its content key and IV from the random source it is given", async () => {
    const calls: number[] = [];
    const random = (n: number) => {
      calls.push(n);
      return new Uint8Array(n).fill(7);
    };
    const t = await encryptItem(ITEM, PASS, { now: NOW, salt: salt(), p2c: 10, random });
    expect(calls).toEqual([32, 12]);
    expect(t.split(".")[2]).toBe(Buffer.alloc(12, 7).toString("base64url"));
    expect(await decryptItem(t, PASS, "f")).toEqual(ITEM);
  });

  it("refuses an iteration count or a salt it could not read back", async () => {
    for (const p2c of [0, -1, 1.5, MAX_P2C + 1, Number.NaN]) {
      await expect(encryptItem(ITEM, PASS, { now: NOW, salt: salt(), p2c })).rejects.toThrow(
        new RangeError(`PBES2 iteration count ${p2c} out of range`),
      );
    }
    await expect(encryptItem(ITEM, PASS, { now: NOW, salt: new Uint8Array(7), p2c: 10 })).rejects.toThrow(
      new RangeError("PBES2 salt of 7 bytes is too short"),
    );
    const eight = await encryptItem(ITEM, PASS, { now: NOW, salt: new Uint8Array(8), p2c: 1 });
    expect(header(eight).p2c).toBe(1);
    expect((await decryptItem(eight, PASS, "f")).key).toBe("prof");
  });

  it("an independent JWE implementation (python joserfc) decrypts what we write with an empty passphrase", async () => {
    const t = await encryptItem(ITEM, new Secret(""), { now: NOW, salt: salt(), p2c: 10 });
    const py = `
import sys
from joserfc import jwe
from joserfc.jwe import JWERegistry
from joserfc.jwk import OctKey
reg = JWERegistry(algorithms=["PBES2-HS256+A128KW", "A256GCM"], strict_check_header=False)
sys.stdout.write(jwe.decrypt_compact(sys.argv[1], OctKey.import_key(b""), registry=reg).plaintext.decode())
`;
    const out = execFileSync("python3", ["-W", "ignore", "-c", py, t], { encoding: "utf8" });
    expect(JSON.parse(out).Key).toBe("prof");
  });
});

describe("file format: reading", () => {
  it("reads a token with surrounding whitespace", async () => {
    expect((await decryptItem(`\n${await token()}\n`, PASS, "f")).key).toBe("prof");
  });

  it("refuses other algorithms by name, before any key work", async () => {
    const t = await token();
    for (const [alg, enc] of [
      ["PBES2-HS512+A256KW", "A256GCM"],
      ["PBES2-HS256+A128KW", "A128GCM"],
      ["dir", "A256GCM"],
    ]) {
      const e = await failure(decryptItem(withHeader(t, (h) => Object.assign(h, { alg, enc })), PASS, "/k/f"));
      expect(e).toBeInstanceOf(KeyringError);
      expect(e).not.toBeInstanceOf(DamagedItemError);
      expect(e.message).toBe(`/k/f: unsupported encryption ${alg}/${enc}`);
      expect((e as KeyringError).hints).toEqual(["only aws-vault file keyring items (PBES2-HS256+A128KW, A256GCM) can be read"]);
    }
  });

  it("refuses compressed or critical-header tokens", async () => {
    const t = await token();
    await expect(decryptItem(withHeader(t, (h) => (h.zip = "DEF")), PASS, "f")).rejects.toThrow(new KeyringError("f: unsupported JWE header parameter zip"));
    await expect(decryptItem(withHeader(t, (h) => (h.crit = ["x"])), PASS, "f")).rejects.toThrow(new KeyringError("f: unsupported JWE header parameter crit"));
  });

  it("refuses an iteration count that is not an integer from 1 to the cap, without deriving", async () => {
    const t = await token();
    const before = pbes2Derivations();
    for (const p2c of ["8192", 0, -5, 2.5, MAX_P2C + 1, null, true]) {
      const e = await failure(decryptItem(withHeader(t, (h) => (h.p2c = p2c)), PASS, "f"));
      expect(e).not.toBeInstanceOf(DamagedItemError);
      expect(e.message).toBe(`f: refusing PBES2 iteration count ${JSON.stringify(p2c)} (allowed 1 to 1300000)`);
    }
    const e = await failure(decryptItem(withHeader(t, (h) => delete h.p2c), PASS, "f"));
    expect(e.message).toBe("f: refusing PBES2 iteration count undefined (allowed 1 to 1300000)");
    expect(pbes2Derivations()).toBe(before);
  });

  it("reads counts at both ends of the allowed range", async () => {
    for (const p2c of [1, MAX_P2C]) expect((await decryptItem(await token(p2c), PASS, "f")).key).toBe("prof");
  });

  it("tells files that are not items from items that were damaged", async () => {
    const t = await token();
    const notItem = async (text: string, why: string) => {
      const e = await failure(decryptItem(text, PASS, "f"));
      expect(e).toBeInstanceOf(KeyringError);
      expect(e).not.toBeInstanceOf(DamagedItemError);
      expect(e.message).toBe(`f: not a valid aws-vault keyring item (${why})`);
    };
    await notItem("hello", "not a compact JWE");
    await notItem("a.b.c.d.e", "bad JWE header");
    await notItem(withPart(t, 0, Buffer.from("[1]").toString("base64url")), "bad JWE header");
    await notItem(withPart(t, 0, Buffer.from('{"enc":"A256GCM"}').toString("base64url")), "bad JWE header");
    await notItem(withPart(t, 0, Buffer.from("null").toString("base64url")), "bad JWE header");

    const damaged = async (text: string, why: string) => {
      const e = await failure(decryptItem(text, PASS, "f"));
      expect(e).toBeInstanceOf(DamagedItemError);
      expect((e as DamagedItemError).passphraseConfirmed).toBe(false);
      expect(e.message).toBe(`f: the file is not a whole item (${why})`);
    };
    await damaged(t.split(".").slice(0, 3).join("."), "3 parts instead of 5");
    await damaged(`${t}.extra`, "6 parts instead of 5");
    await damaged(withHeader(t, (h) => (h.p2s = 123)), "bad PBES2 salt");
    await damaged(withHeader(t, (h) => delete h.p2s), "bad PBES2 salt");
    await damaged(withHeader(t, (h) => (h.p2s = "AAAAAAAAAA")), "bad PBES2 salt"); // 7 bytes
    await damaged(withHeader(t, (h) => (h.p2s = "AAAAA")), "bad PBES2 salt"); // impossible length
    await damaged(withHeader(t, (h) => (h.p2s = "AAAAAAAAAAA=")), "bad PBES2 salt"); // padded
    for (const i of [1, 2, 3, 4]) await damaged(withPart(t, i, `${t.split(".")[i]}!`), "bad base64url");
    // One character more (a length that leaves 6 stray bits): Buffer would silently drop it.
    await damaged(withPart(t, 2, `${t.split(".")[2]}A`), "bad base64url");
    await damaged(withPart(t, 1, Buffer.alloc(32).toString("base64url")), "wrong key, IV or tag length");
    await damaged(withPart(t, 2, Buffer.alloc(16).toString("base64url")), "wrong key, IV or tag length");
    await damaged(withPart(t, 4, Buffer.alloc(12).toString("base64url")), "wrong key, IV or tag length");
  });

  it("a key that does not unwrap is a wrong passphrase; a content that fails after it unwraps is damage", async () => {
    const t = await token();
    const wrong = await failure(decryptItem(t, new Secret("other"), "f"));
    expect(wrong).toBeInstanceOf(WrongPassphraseError);
    expect(wrong.message).toBe("wrong passphrase for the file keyring");
    expect((wrong as WrongPassphraseError).hints).toEqual(["check AWS_VAULT_FILE_PASSPHRASE, or the passphrase you typed"]);

    const ct = t.split(".")[3] ?? "";
    const flipped = withPart(t, 3, (ct[0] === "A" ? "B" : "A") + ct.slice(1));
    const content = await failure(decryptItem(flipped, PASS, "f"));
    expect(content).toBeInstanceOf(DamagedItemError);
    expect((content as DamagedItemError).passphraseConfirmed).toBe(true);
    expect(content.message).toBe("f: the content fails its integrity check");
    expect((content.cause as Error).name).toBe("OperationError");

    // The header is the content's AAD: changing it (here only `created`) fails the content.
    const aad = await failure(decryptItem(withHeader(t, (h) => (h.created = "x")), PASS, "f"));
    expect(aad).toBeInstanceOf(DamagedItemError);
    expect((aad as DamagedItemError).passphraseConfirmed).toBe(true);
  });

  it("derives each key once per process, per passphrase, salt and count", async () => {
    const s = salt();
    const start = pbes2Derivations();
    const t = await encryptItem(ITEM, PASS, { now: NOW, salt: s, p2c: 2000 });
    expect(pbes2Derivations()).toBe(start + 1);
    await decryptItem(t, PASS, "f");
    await decryptItem(t, new Secret("format passphrase"), "f");
    expect(pbes2Derivations()).toBe(start + 1);
    // A different passphrase is a different key: never the cached one.
    await expect(decryptItem(t, new Secret("format passphrase!"), "f")).rejects.toBeInstanceOf(WrongPassphraseError);
    expect(pbes2Derivations()).toBe(start + 2);
    // The same salt with another count, and another salt with the same count, are other keys.
    await encryptItem(ITEM, PASS, { now: NOW, salt: s, p2c: 2001 });
    await encryptItem(ITEM, PASS, { now: NOW, salt: salt(), p2c: 2000 });
    expect(pbes2Derivations()).toBe(start + 4);
    // Concurrent reads of one new item share one derivation.
    const fresh = await encryptItem(ITEM, new Secret("concurrent"), { now: NOW, salt: salt(), p2c: 2000 });
    const mid = pbes2Derivations();
    const other = withHeader(fresh, (h) => (h.p2c = 2002));
    await Promise.allSettled([decryptItem(other, PASS, "f"), decryptItem(other, PASS, "f"), decryptItem(other, PASS, "f")]);
    expect(pbes2Derivations()).toBe(mid + 1);
  });
});

describe("file format: item shape and JSON", () => {
  it("recognises an item by its header alone, even when the rest is damaged", async () => {
    const t = await token();
    expect(looksLikeItem(t)).toBe(true);
    expect(looksLikeItem(`  ${t.split(".")[0]}.`)).toBe(true);
    expect(looksLikeItem(`${t.split(".")[0]}.x.y`)).toBe(true);
    for (const text of ["", "notes", ".DS_Store", `.${t}`, "eyJhIjoxfQ.x", Buffer.from('{"alg":1}').toString("base64url") + ".x", "a.b.c.d.e"]) {
      expect(looksLikeItem(text), text).toBe(false);
    }
    expect(looksLikeItem(`${Buffer.from('{"alg":"other"}').toString("base64url")}.`)).toBe(true);
    // A header without the dot that must follow it, or with bytes that are not UTF-8, is not one.
    expect(looksLikeItem(Buffer.from('{"alg":"other"}').toString("base64url"))).toBe(false);
    const notUtf8 = Buffer.concat([Buffer.from('{"alg":"x","created":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]);
    expect(looksLikeItem(`${notUtf8.toString("base64url")}.x`)).toBe(false);
    expect(looksLikeItem(`${Buffer.from('{"alg":"x","created":"\u00e9"}').toString("base64url")}.x`)).toBe(true);
  });

  it("judges headers of the written shape exactly as JSON.parse would", () => {
    const shaped = (created: string, p2c: string) =>
      `${Buffer.from(`{"alg":"PBES2-HS256+A128KW","created":"${created}","enc":"A256GCM","p2c":${p2c},"p2s":"AAAAAAAAAAAAAAAA"}`).toString("base64url")}.x`;
    expect(looksLikeItem(shaped("2026-03-01 12:00:00 +0000 UTC", "8192"))).toBe(true);
    expect(looksLikeItem(shaped("\u00e9 \u2028", "8192"))).toBe(true);
    expect(looksLikeItem(shaped('a\\"b', "1"))).toBe(true); // an escaped quote: valid JSON, not the plain shape
    expect(looksLikeItem(shaped("a\tb", "8192"))).toBe(false); // a raw control character
    expect(looksLikeItem(shaped("x", "08192"))).toBe(false); // not a JSON number
    expect(looksLikeItem(shaped("x", "8192").replace(/^(.{60}).*\./, "$1."))).toBe(false); // cut short
    // Near misses of the shape that are not JSON: the shortcut must not accept them either.
    const written = '{"alg":"PBES2-HS256+A128KW","created":"x","enc":"A256GCM","p2c":8192,"p2s":"AAAAAAAAAAAAAAAA"}';
    const raw = (json: string) => `${Buffer.from(json).toString("base64url")}.x`;
    expect(looksLikeItem(raw(written))).toBe(true);
    expect(looksLikeItem(shaped("x", "1x"))).toBe(false);
    expect(looksLikeItem(raw(written.replace('"created":"x"', '"created":"""')))).toBe(false);
    expect(looksLikeItem(raw(written.replace('"p2s":"AAAAAAAAAAAAAAAA"', '"p2s":"""')))).toBe(false);
    expect(looksLikeItem(raw(`x${written}`))).toBe(false);
    expect(looksLikeItem(raw(`${written}x`))).toBe(false);
  });

  it("decodes the item JSON strictly enough, and names damage when the plaintext is not an item", () => {
    const enc = (s: string) => new TextEncoder().encode(s);
    expect(
      decodeItem(
        enc('{"Key":"k","Data":"AQI=","Label":"l","Description":"d","KeychainNotTrustApplication":true,"KeychainNotSynchronizable":true}'),
        "f",
      ),
    ).toEqual({ key: "k", data: new Uint8Array([1, 2]), label: "l", description: "d", keychainNotTrustApplication: true, keychainNotSynchronizable: true });
    expect(decodeItem(enc('{"Key":5,"Data":7,"KeychainNotTrustApplication":"true"}'), "f")).toEqual({
      key: "",
      data: new Uint8Array(),
      label: "",
      description: "",
      keychainNotTrustApplication: false,
      keychainNotSynchronizable: false,
    });
    for (const bad of ["not json", "null", "5", '"s"']) {
      let e: unknown;
      try {
        decodeItem(enc(bad), "f");
      } catch (err) {
        e = err;
      }
      expect(e, bad).toBeInstanceOf(DamagedItemError);
      expect((e as DamagedItemError).message).toBe("f: decrypted content is not an aws-vault keyring item");
      expect((e as DamagedItemError).passphraseConfirmed).toBe(true);
      expect((e as DamagedItemError).cause, bad).toBeInstanceOf(Error);
    }
  });
});

// Last: the slowest test, so that mutation runs reach it only for mutants the others leave alive.
describe("file format: the derived-key cache", () => {
  it("holds the last 4096 keys: the oldest is derived again only after 4096 newer ones", async () => {
    const s0 = salt();
    const t0 = await encryptItem(ITEM, PASS, { now: NOW, salt: s0, p2c: 1 });
    const fill = async (n: number) => {
      for (let i = 0; i < n; i++) await encryptItem(ITEM, PASS, { now: NOW, salt: salt(), p2c: 1 });
    };
    await fill(4095);
    let before = pbes2Derivations();
    await decryptItem(t0, PASS, "f");
    expect(pbes2Derivations()).toBe(before);
    await fill(1);
    before = pbes2Derivations();
    await decryptItem(t0, PASS, "f");
    expect(pbes2Derivations()).toBe(before + 1);
  });
});
