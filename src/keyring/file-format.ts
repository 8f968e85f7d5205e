/*
 * The encrypted file keyring format of aws-vault v7 (99designs/keyring file backend, jose2go).
 *
 * One file per item, named after the item key with only `%` and `/` percent-encoded
 * (uppercase hex, bytewise UTF-8), holding one JWE in compact serialization:
 *
 *   protected header  {"alg":"PBES2-HS256+A128KW","created":"<Go Time.String()>","enc":"A256GCM","p2c":8192,"p2s":"<b64u 12 bytes>"}
 *   key management    PBKDF2-HMAC-SHA256(passphrase, "PBES2-HS256+A128KW" || 0x00 || p2s, p2c) -> 16-byte KEK,
 *                     AES-128 Key Wrap (RFC 3394) of a random 32-byte CEK
 *   content           AES-256-GCM, 12-byte IV, AAD = the base64url protected header
 *   plaintext         the item JSON as Go's encoding/json writes keyring.Item (see encodeItem)
 *
 * We write exactly this (p2c 8192, so aws-vault v7 reads our files) and read any p2c up to
 * MAX_P2C: an attacker-supplied file must not make us spin for minutes. jose does the JWE work;
 * the KEK check below only tells "wrong passphrase" from "damaged file", which jose cannot.
 */
import { CompactEncrypt, compactDecrypt, errors as joseErrors } from "jose";
import { KeyringError, WrongPassphraseError } from "../errors.ts";
import { nodeCrypto } from "../runtime/builtins.ts";
import { goJsonObject, goTimeString } from "../util/go-format.ts";
import type { Secret } from "../util/secret.ts";
import type { KeyringItem } from "./keyring.ts";

const ALG = "PBES2-HS256+A128KW";
const ENC = "A256GCM";
export const WRITE_P2C = 8192;
/** jose2go >= 1.6 (used by the maintained Go fork) rejects more than this; so do we. */
export const MAX_P2C = 1_300_000;

export interface EncryptOptions {
  now: Date;
  salt: Uint8Array; // 12 random bytes
  p2c?: number;
}

export async function encryptItem(item: KeyringItem, passphrase: Secret, opts: EncryptOptions): Promise<string> {
  const plaintext = new TextEncoder().encode(encodeItem(item));
  return new CompactEncrypt(plaintext)
    .setProtectedHeader({ alg: ALG, created: goTimeString(opts.now), enc: ENC })
    .setKeyManagementParameters({ p2c: opts.p2c ?? WRITE_P2C, p2s: opts.salt })
    .encrypt(new TextEncoder().encode(passphrase.reveal()));
}

/** Decrypts one file's content. `where` names the file in errors. */
export async function decryptItem(token: string, passphrase: Secret, where: string): Promise<KeyringItem> {
  const header = readHeader(token.trim(), where);
  if (header.alg !== ALG || header.enc !== ENC) {
    throw new KeyringError(`${where}: unsupported encryption ${String(header.alg)}/${String(header.enc)}`, {
      hints: ["only aws-vault file keyring items (PBES2-HS256+A128KW, A256GCM) can be read"],
    });
  }
  const p2c = header.p2c;
  if (typeof p2c !== "number" || !Number.isInteger(p2c) || p2c < 1 || p2c > MAX_P2C) {
    throw new KeyringError(`${where}: refusing PBES2 iteration count ${String(p2c)} (allowed 1 to ${MAX_P2C})`);
  }
  const pass = new TextEncoder().encode(passphrase.reveal());
  let plaintext: Uint8Array;
  try {
    ({ plaintext } = await compactDecrypt(token.trim(), pass, {
      keyManagementAlgorithms: [ALG],
      contentEncryptionAlgorithms: [ENC],
      maxPBES2Count: MAX_P2C,
    }));
  } catch (e) {
    if (e instanceof joseErrors.JWEDecryptionFailed) {
      if (!kekUnwraps(token.trim(), pass)) {
        throw new WrongPassphraseError("wrong passphrase for the file keyring", {
          hints: ["check AWS_VAULT_FILE_PASSPHRASE, or the passphrase you typed"],
          cause: e,
        });
      }
      throw new KeyringError(`${where}: the file is damaged (its content fails the integrity check)`, { cause: e });
    }
    throw new KeyringError(`${where}: not a valid aws-vault keyring item`, { cause: e });
  }
  return decodeItem(plaintext, where);
}

function readHeader(token: string, where: string): Record<string, unknown> {
  const parts = token.split(".");
  if (parts.length !== 5) throw new KeyringError(`${where}: not a valid aws-vault keyring item (not a compact JWE)`);
  try {
    const header: unknown = JSON.parse(Buffer.from(parts[0] ?? "", "base64url").toString("utf8"));
    if (header && typeof header === "object" && !Array.isArray(header)) return header as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw new KeyringError(`${where}: not a valid aws-vault keyring item (bad JWE header)`);
}

/** True if the passphrase's KEK unwraps the CEK (RFC 3394 integrity check), i.e. the passphrase is right. */
function kekUnwraps(token: string, pass: Uint8Array): boolean {
  try {
    const [h, ek] = token.split(".");
    const header = JSON.parse(Buffer.from(h ?? "", "base64url").toString("utf8")) as { p2c: number; p2s: string };
    const salt = Buffer.concat([Buffer.from(ALG, "utf8"), Buffer.from([0]), Buffer.from(header.p2s, "base64url")]);
    const { createDecipheriv, pbkdf2Sync } = nodeCrypto();
    const kek = pbkdf2Sync(pass, salt, header.p2c, 16, "sha256");
    const decipher = createDecipheriv("id-aes128-wrap", kek, Buffer.from("A6A6A6A6A6A6A6A6", "hex"));
    Buffer.concat([decipher.update(Buffer.from(ek ?? "", "base64url")), decipher.final()]);
    return true;
  } catch {
    return false;
  }
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
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new KeyringError(`${where}: decrypted content is not an aws-vault keyring item`);
  }
  if (!raw || typeof raw !== "object") throw new KeyringError(`${where}: decrypted content is not an aws-vault keyring item`);
  const o = raw as Record<string, unknown>;
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
  let out = "";
  for (const ch of key) {
    if (ch === "%" || ch === "/") out += `%${ch.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0")}`;
    else out += ch;
  }
  return out;
}

/** Inverse of encodeFileName: `%XX` with valid hex becomes that byte; anything else is kept. */
export function decodeFileName(name: string): string {
  // Most names have no escape: nothing to decode (a listing decodes every file's name).
  if (!name.includes("%")) return name;
  const src = Buffer.from(name, "utf8");
  const out: number[] = [];
  for (let i = 0; i < src.length; i++) {
    const b = src[i] as number;
    if (b === 0x25 && i + 2 < src.length) {
      const hex = String.fromCharCode(src[i + 1] as number, src[i + 2] as number);
      if (/^[0-9A-Fa-f]{2}$/.test(hex)) {
        out.push(parseInt(hex, 16));
        i += 2;
        continue;
      }
    }
    out.push(b);
  }
  return Buffer.from(out).toString("utf8");
}
