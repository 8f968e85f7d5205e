// The file keyring's two sets of primitives (runtime/jwe-crypto.ts: node:crypto under Node,
// WebCrypto under Bun) against each other, so neither can drift from the format or from the
// other: the same bytes from the same inputs, each reading what the other writes, both reading
// aws-vault v7.2.0's files, both failing the same way (wrong passphrase vs damaged content).
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { WrongPassphraseError } from "../../src/errors.ts";
import { DamagedItemError, decryptItem, encryptItem, pbes2Derivations } from "../../src/keyring/file-format.ts";
import { newItem } from "../../src/keyring/keyring.ts";
import { type JweCrypto, jweCrypto, nodeCryptoJwe, webCryptoJwe } from "../../src/runtime/jwe-crypto.ts";
import { Secret } from "../../src/util/secret.ts";
import { failure } from "../support/failure.ts";

// AWS_VAULT_TEST_VECTORS: set by vitest.mutation.config.ts, whose Stryker sandbox is not beside shared/.
const VECTORS = join(
  process.env.AWS_VAULT_TEST_VECTORS ?? join(import.meta.dirname, "../../../shared/vectors"),
  "file-keyring-aws-vault-v7.2.0/keys",
);
const VECTOR_PASS = new Secret("correct horse battery staple");
const PASS = new Secret("differential passphrase");
const ITEM = newItem("diff", new TextEncoder().encode('{"AccessKeyID":"AKIADIFF","SecretAccessKey":"s/é+"}'), "aws-vault (diff)");
const NOW = new Date("2026-11-29T23:00:00Z");
const SETS: Array<[string, JweCrypto]> = [
  ["node:crypto", nodeCryptoJwe],
  ["WebCrypto", webCryptoJwe],
];

/** A deterministic random source: the same content key and IV for both sets. */
function counter(): (n: number) => Uint8Array {
  let next = 1;
  return (n) => Uint8Array.from({ length: n }, () => next++ & 0xff);
}

function bytes(n: number, seed: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);
}

describe("file keyring crypto: node:crypto and WebCrypto", () => {
  it("this runtime's set is node:crypto under Node (Bun runs WebCrypto: the e2e tests run that binary)", () => {
    expect(jweCrypto).toBe(nodeCryptoJwe);
  });

  it("write the same token from the same inputs", async () => {
    for (const p2c of [1, 1000, 8192]) {
      const salt = bytes(12, p2c);
      const [a, b] = await Promise.all(
        SETS.map(([, primitives]) => encryptItem(ITEM, PASS, { now: NOW, salt, p2c, random: counter(), primitives })),
      );
      expect(a).toBe(b);
    }
  });

  it("each reads what the other writes, with its own random key and IV", async () => {
    for (const [, writer] of SETS) {
      for (const [, reader] of SETS) {
        const t = await encryptItem(ITEM, PASS, { now: NOW, salt: bytes(12, 5), primitives: writer });
        expect(await decryptItem(t, PASS, "f", reader)).toEqual(ITEM);
      }
    }
  });

  it("both read every aws-vault v7.2.0 file to the same item", async () => {
    const files = readdirSync(VECTORS);
    expect(files.length).toBe(6);
    for (const f of files) {
      const token = readFileSync(join(VECTORS, f), "utf8");
      const [a, b] = await Promise.all(SETS.map(([, primitives]) => decryptItem(token, VECTOR_PASS, f, primitives)));
      expect(a).toEqual(b);
      expect(a?.label).toMatch(/^aws-vault \(/);
    }
  });

  it.each(SETS)("%s: a wrong passphrase fails the unwrap; damaged content fails after it, as OperationError", async (_name, primitives) => {
    const t = await encryptItem(ITEM, PASS, { now: NOW, salt: bytes(12, 9), p2c: 100, primitives });
    const wrong = await failure(decryptItem(t, new Secret("not it"), "f", primitives));
    expect(wrong).toBeInstanceOf(WrongPassphraseError);
    expect((wrong.cause as Error).name).toBe("OperationError");

    const parts = t.split(".");
    const ct = parts[3] ?? "";
    parts[3] = (ct[0] === "A" ? "B" : "A") + ct.slice(1);
    const damaged = await failure(decryptItem(parts.join("."), PASS, "f", primitives));
    expect(damaged).toBeInstanceOf(DamagedItemError);
    expect((damaged as DamagedItemError).passphraseConfirmed).toBe(true);
    expect((damaged.cause as Error).name).toBe("OperationError");
  });

  it("the primitives agree byte for byte, and refuse the same inputs", async () => {
    const [node, web] = [nodeCryptoJwe, webCryptoJwe];
    const salt = bytes(20, 3);
    const pass = new TextEncoder().encode("pässphrase");
    const [kn, kw] = [await node.deriveKek(pass, salt, 500), await web.deriveKek(pass, salt, 500)];
    const cek = bytes(32, 7);
    const wrapped = await node.wrap(kn, cek);
    expect(wrapped).toEqual(await web.wrap(kw, cek));
    const iv = bytes(12, 1);
    const aad = new TextEncoder().encode("header");
    for (const len of [0, 1, 16, 1000]) {
      const plain = bytes(len, len);
      const sealed = await node.seal(cek, iv, aad, plain);
      expect(sealed).toEqual(await web.seal(cek, iv, aad, plain));
      expect(await node.open(await node.unwrap(kn, wrapped), iv, aad, sealed)).toEqual(plain);
      expect(await web.open(await web.unwrap(kw, wrapped), iv, aad, sealed)).toEqual(plain);
    }
    const other = [await node.deriveKek(pass, salt, 501), await web.deriveKek(pass, salt, 501)] as const;
    await expect(node.unwrap(other[0], wrapped)).rejects.toMatchObject({ name: "OperationError" });
    await expect(web.unwrap(other[1], wrapped)).rejects.toMatchObject({ name: "OperationError" });
    const sealed = await node.seal(cek, iv, aad, bytes(40, 0));
    const otherAad = new TextEncoder().encode("headeR");
    await expect(node.open(await node.unwrap(kn, wrapped), iv, otherAad, sealed)).rejects.toMatchObject({ name: "OperationError" });
    await expect(web.open(await web.unwrap(kw, wrapped), iv, otherAad, sealed)).rejects.toMatchObject({ name: "OperationError" });
    // Cut shorter than a tag: refused the same way (file-format.ts never passes one).
    await expect(node.open(await node.unwrap(kn, wrapped), iv, aad, new Uint8Array(5))).rejects.toMatchObject({ name: "OperationError" });
    await expect(web.open(await web.unwrap(kw, wrapped), iv, aad, new Uint8Array(5))).rejects.toMatchObject({ name: "OperationError" });
    // node:crypto's failure reads as WebCrypto's, and keeps OpenSSL's reason as its cause.
    const failed = await failure(node.unwrap(other[0], wrapped));
    expect(failed.message).toBe((await failure(web.unwrap(other[1], wrapped))).message);
    expect(failed.cause).toBeInstanceOf(Error);
    expect([node.name, web.name]).toEqual(["node:crypto", "WebCrypto"]);
    expect(node.random(12)).toHaveLength(12);
    expect(web.random(12)).toHaveLength(12);
    expect(node.random(32)).not.toEqual(node.random(32));
  });

  it("keeps each set's derived keys apart in the per-process cache", async () => {
    const salt = bytes(12, 77);
    const t = await encryptItem(ITEM, PASS, { now: NOW, salt, p2c: 321, primitives: webCryptoJwe });
    const start = pbes2Derivations();
    expect(await decryptItem(t, PASS, "f", nodeCryptoJwe)).toEqual(ITEM);
    expect(await decryptItem(t, PASS, "f")).toEqual(ITEM);
    expect(pbes2Derivations()).toBe(start + 1);
    expect(await decryptItem(t, PASS, "f", webCryptoJwe)).toEqual(ITEM);
    expect(pbes2Derivations()).toBe(start + 1);
  });
});
