// The primitives of the file keyring's JWE (keyring/file-format.ts), one set per runtime, chosen
// once here. Node runs them on node:crypto: the bundle already loads it (sha256()), while its
// WebCrypto is a further module graph plus a first importKey (measured: bench/README.md, "The file
// keyring's crypto under Node"). Bun's node:crypto has no `id-aes128-wrap` and loads the stream
// classes, so Bun runs them on WebCrypto, native there. Both give the same bytes and fail the same
// way (test/unit/jwe-crypto.test.ts checks one against the other, both ways, and the v7.2.0 files).

import { isBun, nodeCrypto } from "./builtins.ts";

/** A derived key-encryption key (AES-128-KW), opaque: a non-extractable CryptoKey or a KeyObject. */
export type KeyEncryptionKey = { readonly __kek: unique symbol };
/** An unwrapped content key (AES-256-GCM), opaque like the KEK. */
export type ContentKey = { readonly __cek: unique symbol };

export interface JweCrypto {
  readonly name: "node:crypto" | "WebCrypto";
  /** PBKDF2-HMAC-SHA256 of the passphrase into a 16-byte AES key-wrap key. */
  deriveKek(passphrase: Uint8Array, salt: Uint8Array, iterations: number): Promise<KeyEncryptionKey>;
  /** AES key wrap (RFC 3394, default IV) of raw key bytes. */
  wrap(kek: KeyEncryptionKey, key: Uint8Array): Promise<Uint8Array>;
  /** The inverse of wrap; rejects when the integrity check fails (another KEK, or damage). */
  unwrap(kek: KeyEncryptionKey, wrapped: Uint8Array): Promise<ContentKey>;
  /** AES-GCM with a 16-byte tag: ciphertext followed by the tag. */
  seal(key: Uint8Array, iv: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Promise<Uint8Array>;
  /** The inverse of seal; rejects with an error named OperationError when the content fails its check. */
  open(key: ContentKey, iv: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Promise<Uint8Array>;
  random(bytes: number): Uint8Array;
}

type CryptoKey = import("node:crypto").webcrypto.CryptoKey;
const TAG_BITS = 128;

export const webCryptoJwe: JweCrypto = {
  name: "WebCrypto",
  async deriveKek(passphrase, salt, iterations) {
    const subtle = globalThis.crypto.subtle;
    const base = await subtle.importKey("raw", passphrase, "PBKDF2", false, ["deriveBits"]);
    const bits = await subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt, iterations }, base, 128);
    return (await subtle.importKey("raw", bits, "AES-KW", false, ["wrapKey", "unwrapKey"])) as unknown as KeyEncryptionKey;
  },
  async wrap(kek, key) {
    const subtle = globalThis.crypto.subtle;
    const k = await subtle.importKey("raw", key, "AES-GCM", true, ["encrypt"]);
    return new Uint8Array(await subtle.wrapKey("raw", k, kek as unknown as CryptoKey, "AES-KW"));
  },
  async unwrap(kek, wrapped) {
    const key = await globalThis.crypto.subtle.unwrapKey("raw", wrapped, kek as unknown as CryptoKey, "AES-KW", "AES-GCM", false, ["decrypt"]);
    return key as unknown as ContentKey;
  },
  async seal(key, iv, aad, plaintext) {
    const subtle = globalThis.crypto.subtle;
    const k = await subtle.importKey("raw", key, "AES-GCM", false, ["encrypt"]);
    return new Uint8Array(await subtle.encrypt({ name: "AES-GCM", iv, additionalData: aad, tagLength: TAG_BITS }, k, plaintext));
  },
  async open(key, iv, aad, sealed) {
    const params = { name: "AES-GCM", iv, additionalData: aad, tagLength: TAG_BITS };
    return new Uint8Array(await globalThis.crypto.subtle.decrypt(params, key as unknown as CryptoKey, sealed));
  },
  random(bytes) {
    return globalThis.crypto.getRandomValues(new Uint8Array(bytes));
  },
};

/** RFC 3394 §2.2.3.1's default initial value. */
const KW_IV = new Uint8Array(8).fill(0xa6);

/** The error WebCrypto gives for a failed check, so a cause reads the same under either set. */
function operationError(cause: unknown): DOMException {
  return Object.assign(new DOMException("The operation failed for an operation-specific reason", "OperationError"), { cause });
}

/** A KeyObject holding the bytes; the copy given to it is zeroed. */
function secretKey(bytes: Buffer): import("node:crypto").KeyObject {
  try {
    return nodeCrypto().createSecretKey(bytes);
  } finally {
    bytes.fill(0);
  }
}

function unwrapSync(kek: KeyEncryptionKey, wrapped: Uint8Array): ContentKey {
  const d = nodeCrypto().createDecipheriv("id-aes128-wrap", kek as unknown as import("node:crypto").KeyObject, KW_IV);
  let raw: Buffer;
  try {
    raw = Buffer.concat([d.update(wrapped), d.final()]);
  } catch (e) {
    throw operationError(e);
  }
  return secretKey(raw) as unknown as ContentKey;
}

function openSync(key: ContentKey, iv: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Uint8Array {
  const tagAt = sealed.length - TAG_BITS / 8;
  if (tagAt < 0) throw operationError(new RangeError("shorter than a tag"));
  const d = nodeCrypto().createDecipheriv("aes-256-gcm", key as unknown as import("node:crypto").KeyObject, iv, { authTagLength: TAG_BITS / 8 });
  d.setAAD(aad);
  d.setAuthTag(sealed.subarray(tagAt));
  try {
    return new Uint8Array(Buffer.concat([d.update(sealed.subarray(0, tagAt)), d.final()]));
  } catch (e) {
    throw operationError(e);
  }
}

export const nodeCryptoJwe: JweCrypto = {
  name: "node:crypto",
  deriveKek(passphrase, salt, iterations) {
    // On the thread pool, as WebCrypto's deriveBits runs: a large count in a hostile file must
    // not hold the agent's event loop.
    return new Promise((resolve, reject) => {
      nodeCrypto().pbkdf2(passphrase, salt, iterations, 16, "sha256", (err, bits) => {
        if (err) reject(err);
        else resolve(secretKey(bits) as unknown as KeyEncryptionKey);
      });
    });
  },
  async wrap(kek, key) {
    const c = nodeCrypto().createCipheriv("id-aes128-wrap", kek as unknown as import("node:crypto").KeyObject, KW_IV);
    return new Uint8Array(Buffer.concat([c.update(key), c.final()]));
  },
  async unwrap(kek, wrapped) {
    return unwrapSync(kek, wrapped);
  },
  async seal(key, iv, aad, plaintext) {
    const c = nodeCrypto().createCipheriv("aes-256-gcm", key, iv, { authTagLength: TAG_BITS / 8 });
    c.setAAD(aad);
    return new Uint8Array(Buffer.concat([c.update(plaintext), c.final(), c.getAuthTag()]));
  },
  async open(key, iv, aad, sealed) {
    return openSync(key, iv, aad, sealed);
  },
  random(bytes) {
    return new Uint8Array(nodeCrypto().randomBytes(bytes));
  },
};

/** The set this runtime uses: WebCrypto under Bun, node:crypto under Node. */
export const jweCrypto: JweCrypto = isBun() ? webCryptoJwe : nodeCryptoJwe;
