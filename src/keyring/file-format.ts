/*
 * The encrypted file keyring format of aws-vault v7 (99designs/keyring file backend, jose2go).
 *
 * One file per item, named after the item key with only `%` and `/` percent-encoded
 * (uppercase hex, bytewise UTF-8), holding one JWE in compact serialization (RFC 7516 §7.1):
 *
 *   protected header  {"alg":"PBES2-HS256+A128KW","created":"<Go Time.String()>","enc":"A256GCM","p2c":8192,"p2s":"<b64u 12 bytes>"}
 *   key management    PBKDF2-HMAC-SHA256(passphrase, "PBES2-HS256+A128KW" || 0x00 || p2s, p2c) -> 16-byte KEK,
 *                     AES-128 Key Wrap (RFC 3394) of a random 32-byte CEK (RFC 7518 §4.8)
 *   content           AES-256-GCM, 12-byte IV, 16-byte tag, AAD = the ASCII of the base64url protected header
 *   plaintext         the item JSON as Go's encoding/json writes keyring.Item (see encodeItem)
 *
 * We write exactly this (p2c 8192, so aws-vault v7 reads our files) and read any p2c up to
 * MAX_P2C: an attacker-supplied file must not make us spin for minutes. The primitives (PBKDF2,
 * AES-KW, AES-GCM) come from runtime/jwe-crypto.ts: node:crypto under Node, WebCrypto under Bun
 * (whose node:crypto has no `id-aes128-wrap`), both native; reading and writing use the same set.
 *
 * The two integrity checks are kept apart on purpose: the key unwrap fails when the passphrase is
 * wrong (or the wrapped key is damaged) and is reported as WrongPassphraseError; a content
 * failure after a successful unwrap means the passphrase is right and the file is damaged
 * (DamagedItemError). The file backend uses the other items to tell the first case apart.
 *
 * Derived KEKs are cached per (passphrase, salt, count) for the life of the process, so no item's
 * key is derived twice (reading an item back, a `get` after the write check, the agent keeping the
 * keyring open). The cache holds opaque keys (non-extractable CryptoKeys, or KeyObjects), indexed by
 * a SHA-256 of the passphrase, never the passphrase itself.
 */
import { KeyringError, type VaultErrorOptions, WrongPassphraseError } from "../errors.ts";
import { sha256 } from "../runtime/builtins.ts";
import { type ContentKey, type JweCrypto, jweCrypto, type KeyEncryptionKey } from "../runtime/jwe-crypto.ts";
import { goJsonObject, goTimeString } from "../util/go-format.ts";
import type { Secret } from "../util/secret.ts";
import type { KeyringItem } from "./keyring.ts";

const ALG = "PBES2-HS256+A128KW";
const ENC = "A256GCM";
export const WRITE_P2C = 8192;
/** jose2go >= 1.6 (used by the maintained Go fork) rejects more than this; so do we. */
export const MAX_P2C = 1_300_000;
/** RFC 7518 §4.8.1.1: the salt input is at least 8 octets (aws-vault writes 12). */
const MIN_SALT_BYTES = 8;
const CEK_BYTES = 32;
const WRAPPED_CEK_BYTES = CEK_BYTES + 8;
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** Derived keys kept per process; an item needs one, so this is far above any real keyring. */
const KEK_CACHE_LIMIT = 4096;

/**
 * The file starts like an item but is not a whole one (cut short, bad base64url, wrong lengths),
 * or its content fails the integrity check although the passphrase unwrapped its key
 * (`passphraseConfirmed`), or decrypts to something that is not an item.
 */
export class DamagedItemError extends KeyringError {
  constructor(
    message: string,
    readonly passphraseConfirmed: boolean,
    opts: VaultErrorOptions = {},
  ) {
    super(message, opts);
  }
}

export interface EncryptOptions {
  now: Date;
  salt: Uint8Array; // 12 random bytes
  p2c?: number;
  /** Source of the content key and IV (default: the primitives' random source). */
  random?: (bytes: number) => Uint8Array;
  /** The primitives (default: this runtime's; the tests compare the two sets). */
  primitives?: JweCrypto;
}

const kekCache = new Map<string, Promise<KeyEncryptionKey>>();
let derivations = 0;

/** Forgets every derived key (the agent, when it locks: they open items as the passphrase does). */
export function forgetDerivedKeys(): void {
  kekCache.clear();
}

/** How many PBES2 keys this process derived so far (each salt, count and passphrase once). */
export function pbes2Derivations(): number {
  return derivations;
}

function kek(primitives: JweCrypto, passphrase: Secret, salt: Uint8Array, p2c: number): Promise<KeyEncryptionKey> {
  const pass = new TextEncoder().encode(passphrase.reveal());
  // A key's type is its primitives' own: each set (the tests use both) has its own entries.
  const id = `${primitives.name}.${sha256(pass).toString("base64url")}.${Buffer.from(salt).toString("base64url")}.${p2c}`;
  const cached = kekCache.get(id);
  if (cached) return cached;
  derivations++;
  const derived = primitives.deriveKek(pass, new Uint8Array([...new TextEncoder().encode(ALG), 0, ...salt]), p2c);
  if (kekCache.size >= KEK_CACHE_LIMIT) kekCache.delete(kekCache.keys().next().value as string);
  kekCache.set(id, derived);
  return derived;
}

/** An integer from 1 to MAX_P2C (a JSON string "8192" is not one). */
function isIterationCount(v: unknown): v is number {
  return Number.isInteger(v) && (v as number) >= 1 && (v as number) <= MAX_P2C;
}

function b64u(bytes: Uint8Array | ArrayBuffer): string {
  return Buffer.from(bytes instanceof ArrayBuffer ? new Uint8Array(bytes) : bytes).toString("base64url");
}

export async function encryptItem(item: KeyringItem, passphrase: Secret, opts: EncryptOptions): Promise<string> {
  const p2c = opts.p2c ?? WRITE_P2C;
  if (!isIterationCount(p2c)) throw new RangeError(`PBES2 iteration count ${p2c} out of range`);
  if (opts.salt.length < MIN_SALT_BYTES) throw new RangeError(`PBES2 salt of ${opts.salt.length} bytes is too short`);
  const primitives = opts.primitives ?? jweCrypto;
  const random = opts.random ?? ((n: number) => primitives.random(n));
  // Key order as jose2go writes it (Go sorts map keys): alg, created, enc, p2c, p2s.
  const header = b64u(
    new TextEncoder().encode(
      JSON.stringify({ alg: ALG, created: goTimeString(opts.now), enc: ENC, p2c, p2s: b64u(opts.salt) }),
    ),
  );
  const cek = random(CEK_BYTES);
  const wrapped = await primitives.wrap(await kek(primitives, passphrase, opts.salt, p2c), cek);
  const iv = random(IV_BYTES);
  const sealed = await primitives.seal(cek, iv, new TextEncoder().encode(header), new TextEncoder().encode(encodeItem(item)));
  const ciphertext = sealed.subarray(0, sealed.length - TAG_BYTES);
  const tag = sealed.subarray(sealed.length - TAG_BYTES);
  return [header, b64u(wrapped), b64u(iv), b64u(ciphertext), b64u(tag)].join(".");
}

interface ParsedToken {
  header: string;
  p2c: number;
  salt: Uint8Array;
  wrappedKey: Uint8Array;
  iv: Uint8Array;
  ciphertext: Uint8Array;
  tag: Uint8Array;
}

const B64U = /^[A-Za-z0-9_-]*$/;

/** Strict base64url (no padding, no stray characters, no impossible length). */
function unb64u(s: string): Uint8Array | undefined {
  if (!B64U.test(s) || s.length % 4 === 1) return undefined;
  return new Uint8Array(Buffer.from(s, "base64url"));
}

/**
 * True if the text starts like a keyring item: a base64url JSON header naming an `alg`, then a
 * dot. A damaged item (cut short, altered) still does; a stray file (`.DS_Store`, notes) does not.
 */
export function looksLikeItem(token: string): boolean {
  const text = token.trimStart();
  const dot = text.indexOf(".");
  return dot !== -1 && isItemHeader(text.slice(0, dot));
}

/** The part of a file before its first dot is an item's header (see looksLikeItem). */
function isItemHeader(part: string): boolean {
  const json = headerJson(part);
  // The header aws-vault and we write is JSON with a string `alg` when it has this exact shape.
  return json !== undefined && (WRITTEN_HEADER.test(json) || parseHeaderJson(json) !== undefined);
}

/** One strict decoder for every header (a listing classifies each file with it). */
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

const NON_ASCII = /[^\x00-\x7f]/;
/** jose2go's header (encryptItem writes the same): plain strings (no escapes), a JSON integer. */
const WRITTEN_HEADER = /^\{"alg":"PBES2-HS256\+A128KW","created":"[^"\\\x00-\x1f]*","enc":"A256GCM","p2c":(?:0|[1-9][0-9]*),"p2s":"[A-Za-z0-9_-]*"\}$/;

/** The text of a base64url header (strict base64url, strict UTF-8); else undefined. */
function headerJson(part: string): string | undefined {
  if (!B64U.test(part) || part.length % 4 === 1) return undefined;
  try {
    // atob (native, and a listing decodes every item's header) gives one character per byte: the
    // UTF-8 text itself when every byte is ASCII; anything else goes through the strict decoder.
    const bytes = atob(part.replace(/-/g, "+").replace(/_/g, "/"));
    return NON_ASCII.test(bytes) ? strictUtf8.decode(Buffer.from(part, "base64url")) : bytes;
  } catch {
    return undefined;
  }
}

/** A JWE protected header: a JSON object with a string `alg`; else undefined. */
function parseHeaderJson(json: string): Record<string, unknown> | undefined {
  try {
    const header = JSON.parse(json) as Record<string, unknown> | null;
    return typeof header?.alg === "string" ? header : undefined;
  } catch {
    return undefined;
  }
}

/** A JWE protected header: base64url of strict UTF-8 JSON with a string `alg`; else undefined. */
function parseHeader(part: string): Record<string, unknown> | undefined {
  const json = headerJson(part);
  return json === undefined ? undefined : parseHeaderJson(json);
}

function parseToken(token: string, where: string): ParsedToken {
  const parts = token.trim().split(".");
  const header = parseHeader(parts[0] as string);
  if (!header) {
    throw new KeyringError(`${where}: not a valid aws-vault keyring item (${parts.length === 5 ? "bad JWE header" : "not a compact JWE"})`);
  }
  // From here on the file is an item's: whatever is wrong was damaged after it was written.
  const invalid = (why: string) => new DamagedItemError(`${where}: the file is not a whole item (${why})`, false);
  if (parts.length !== 5) throw invalid(`${parts.length} parts instead of 5`);
  const [h, ek, iv, ct, tag] = parts as [string, string, string, string, string];
  if (header.alg !== ALG || header.enc !== ENC) {
    throw new KeyringError(`${where}: unsupported encryption ${String(header.alg)}/${String(header.enc)}`, {
      hints: [`only aws-vault file keyring items (${ALG}, ${ENC}) can be read`],
    });
  }
  if (header.zip !== undefined || header.crit !== undefined) {
    throw new KeyringError(`${where}: unsupported JWE header parameter ${header.zip !== undefined ? "zip" : "crit"}`);
  }
  const p2c = header.p2c;
  if (!isIterationCount(p2c)) {
    throw new KeyringError(`${where}: refusing PBES2 iteration count ${JSON.stringify(p2c)} (allowed 1 to ${MAX_P2C})`);
  }
  const salt = typeof header.p2s === "string" ? unb64u(header.p2s) : undefined;
  if (!salt || salt.length < MIN_SALT_BYTES) throw invalid("bad PBES2 salt");
  const fields = { wrappedKey: unb64u(ek), iv: unb64u(iv), ciphertext: unb64u(ct), tag: unb64u(tag) };
  if (!fields.wrappedKey || !fields.iv || !fields.ciphertext || !fields.tag) throw invalid("bad base64url");
  if (fields.wrappedKey.length !== WRAPPED_CEK_BYTES || fields.iv.length !== IV_BYTES || fields.tag.length !== TAG_BYTES) {
    throw invalid("wrong key, IV or tag length");
  }
  return { header: h, p2c, salt, wrappedKey: fields.wrappedKey, iv: fields.iv, ciphertext: fields.ciphertext, tag: fields.tag };
}

/**
 * Decrypts one file's content. `where` names the file in errors. Throws WrongPassphraseError when
 * the passphrase does not unwrap the content key, DamagedItemError when it does but the content
 * fails, and KeyringError for anything that is not an aws-vault item.
 */
export async function decryptItem(token: string, passphrase: Secret, where: string, primitives: JweCrypto = jweCrypto): Promise<KeyringItem> {
  const t = parseToken(token, where);
  let cek: ContentKey;
  try {
    cek = await primitives.unwrap(await kek(primitives, passphrase, t.salt, t.p2c), t.wrappedKey);
  } catch (e) {
    throw new WrongPassphraseError("wrong passphrase for the file keyring", {
      hints: ["check AWS_VAULT_FILE_PASSPHRASE, or the passphrase you typed"],
      cause: e,
    });
  }
  let plaintext: Uint8Array;
  try {
    const sealed = new Uint8Array(t.ciphertext.length + TAG_BYTES);
    sealed.set(t.ciphertext);
    sealed.set(t.tag, t.ciphertext.length);
    plaintext = await primitives.open(cek, t.iv, new TextEncoder().encode(t.header), sealed);
  } catch (e) {
    throw new DamagedItemError(`${where}: the content fails its integrity check`, true, { cause: e });
  }
  return decodeItem(plaintext, where);
}

/** keyring.Item as Go's encoding/json writes it (field order and escaping matter for byte compatibility). */
export function encodeItem(item: KeyringItem): string {
  return goJsonObject([
    ["Key", item.key],
    ["Data", Buffer.from(item.data).toString("base64")],
    ["Label", item.label],
    ["Description", item.description],
    ["KeychainNotTrustApplication", item.keychainNotTrustApplication],
    ["KeychainNotSynchronizable", item.keychainNotSynchronizable],
  ]);
}

export function decodeItem(bytes: Uint8Array, where: string): KeyringItem {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
    if (typeof o !== "object" || o === null) throw new TypeError(`not a JSON object`);
  } catch (e) {
    throw new DamagedItemError(`${where}: decrypted content is not an aws-vault keyring item`, true, { cause: e });
  }
  const str = (v: unknown) => (typeof v === "string" ? v : "");
  return {
    key: str(o.Key),
    data: typeof o.Data === "string" ? new Uint8Array(Buffer.from(o.Data, "base64")) : new Uint8Array(),
    label: str(o.Label),
    description: str(o.Description),
    keychainNotTrustApplication: o.KeychainNotTrustApplication === true,
    keychainNotSynchronizable: o.KeychainNotSynchronizable === true,
  };
}

/** File name for a key: `%` and `/` percent-encoded (mtibben/percent.Encode(key, "/")). */
export function encodeFileName(key: string): string {
  return key.replace(/[%/]/g, (ch) => (ch === "%" ? "%25" : "%2F"));
}

/** Inverse of encodeFileName: `%XX` with valid hex becomes that byte; anything else is kept. */
export function decodeFileName(name: string): string {
  // Most names have no escape: nothing to decode (a listing decodes every file's name).
  if (!name.includes("%")) return name;
  // split() with a capture group puts the `%XX` escapes at the odd indexes.
  const bytes = name.split(/(%[0-9A-Fa-f]{2})/).flatMap((part, i) => (i % 2 === 1 ? [parseInt(part.slice(1), 16)] : [...Buffer.from(part)]));
  return Buffer.from(bytes).toString("utf8");
}
