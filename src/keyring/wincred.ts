/*
 * The wincred backend (Windows Credential Manager), with aws-vault's layout:
 *
 *   credential  generic, TargetName "aws-vault:aws-vault:<key>" (WinCredPrefix:ServiceName:key),
 *               CredentialBlob = raw Item.Data
 *
 * A credential blob holds at most 2,560 bytes (CRED_MAX_CREDENTIAL_BLOB_SIZE); aws-vault fails on
 * anything larger (an SSO token with its refresh token can be). Items that fit are stored exactly
 * as aws-vault stores them. A larger item is split: its data goes into chunk credentials
 * "aws-vault-chunk:aws-vault:<key>:<generation>:<n>" (a prefix aws-vault never lists), written
 * first; the main credential then gets a small header naming the generation, chunk count, length
 * and SHA-256, and is the commit point. Readers verify the join; old chunks are deleted last.
 *
 * Read, write and delete use @napi-rs/keyring (Entry.withTarget: CredReadW/CredWriteW/CredDeleteW
 * on the exact TargetName). Its findCredentials cannot list aws-vault's credentials (it returns
 * user names and rejects blobs that are not UTF-16), so keys are listed with `cmdkey /list`.
 * Tested here only against an in-memory credential store; not run on Windows in this project's CI.
 */
import { createHash, randomBytes } from "node:crypto";
import { KeyNotFoundError, KeyringError } from "../errors.ts";
import type { Spawner } from "../runtime/runtime.ts";
import { goQuote } from "../util/go-format.ts";
import type { ItemMetadata, Keyring, KeyringItem } from "./keyring.ts";
import { newItem } from "./keyring.ts";
import { definedEnv } from "../util/env.ts";

export const WINCRED_MAX_BLOB = 2560;
export const WINCRED_PREFIX = "aws-vault:aws-vault:";
export const WINCRED_CHUNK_PREFIX = "aws-vault-chunk:aws-vault:";
const MAGIC = "\0aws-vault-chunked:";

/** The Credential Manager operations the backend needs, by exact TargetName. */
export interface WinCredStore {
  read(target: string): Promise<Uint8Array | undefined>;
  /** Rejects blobs over WINCRED_MAX_BLOB, as Windows does. */
  write(target: string, blob: Uint8Array): Promise<void>;
  /** False when there was nothing to delete. */
  delete(target: string): Promise<boolean>;
  /** TargetNames starting with `prefix`. */
  list(prefix: string): Promise<string[]>;
}

export interface ChunkHeader {
  gen: string;
  count: number;
  length: number;
  sha256: string;
}

export function wincredTarget(key: string): string {
  return `${WINCRED_PREFIX}${key}`;
}

export function chunkTarget(key: string, gen: string, n: number): string {
  return `${WINCRED_CHUNK_PREFIX}${key}:${gen}:${n}`;
}

export function encodeChunkHeader(h: ChunkHeader): Uint8Array {
  return new TextEncoder().encode(`${MAGIC}${JSON.stringify(h)}`);
}

/** The chunk header of a main credential's blob, or undefined when the blob is the data itself. */
export function decodeChunkHeader(blob: Uint8Array): ChunkHeader | undefined {
  const text = Buffer.from(blob).toString("utf8");
  if (!text.startsWith(MAGIC)) return undefined;
  try {
    const h = JSON.parse(text.slice(MAGIC.length)) as Partial<ChunkHeader>;
    if (typeof h.gen === "string" && Number.isInteger(h.count) && Number.isInteger(h.length) && typeof h.sha256 === "string") {
      return h as ChunkHeader;
    }
  } catch {
    // fall through
  }
  throw new KeyringError("a wincred chunk header is damaged");
}

/** Plans the credentials to write for one item: chunks first, then the main credential. */
export function splitForWincred(key: string, data: Uint8Array, gen: string): Array<{ target: string; blob: Uint8Array }> {
  if (data.length <= WINCRED_MAX_BLOB && decodeChunkHeaderSafe(data) === undefined) {
    return [{ target: wincredTarget(key), blob: data }];
  }
  const out: Array<{ target: string; blob: Uint8Array }> = [];
  let n = 0;
  for (let off = 0; off < data.length; off += WINCRED_MAX_BLOB) {
    out.push({ target: chunkTarget(key, gen, n++), blob: data.subarray(off, off + WINCRED_MAX_BLOB) });
  }
  const header: ChunkHeader = { gen, count: n, length: data.length, sha256: createHash("sha256").update(data).digest("hex") };
  out.push({ target: wincredTarget(key), blob: encodeChunkHeader(header) });
  return out;
}

function decodeChunkHeaderSafe(blob: Uint8Array): ChunkHeader | undefined {
  try {
    return decodeChunkHeader(blob);
  } catch {
    return { gen: "", count: 0, length: 0, sha256: "" };
  }
}

/** Joins an item's chunks and checks them against the header. */
export async function joinFromWincred(key: string, h: ChunkHeader, read: (target: string) => Promise<Uint8Array | undefined>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for (let n = 0; n < h.count; n++) {
    const part = await read(chunkTarget(key, h.gen, n));
    if (!part) throw new KeyringError(`wincred item ${goQuote(key)} is damaged: chunk ${n} of ${h.count} is missing`);
    parts.push(part);
  }
  const data = Buffer.concat(parts);
  if (data.length !== h.length || createHash("sha256").update(data).digest("hex") !== h.sha256) {
    throw new KeyringError(`wincred item ${goQuote(key)} is damaged: its chunks do not match their header`);
  }
  return new Uint8Array(data);
}

export interface WinCredOptions {
  store: WinCredStore;
  random?: (n: number) => Uint8Array;
}

export class WinCredKeyring implements Keyring {
  readonly backend = "wincred";
  readonly #store: WinCredStore;
  readonly #random: (n: number) => Uint8Array;

  constructor(opts: WinCredOptions) {
    this.#store = opts.store;
    this.#random = opts.random ?? ((n) => new Uint8Array(randomBytes(n)));
  }

  describeLocation(key: string): string {
    return `Windows credential ${goQuote(wincredTarget(key))}`;
  }

  async #header(key: string): Promise<{ blob: Uint8Array; header: ChunkHeader | undefined } | undefined> {
    const blob = await this.#store.read(wincredTarget(key));
    if (!blob) return undefined;
    return { blob, header: decodeChunkHeader(blob) };
  }

  async get(key: string): Promise<KeyringItem> {
    const main = await this.#header(key);
    if (!main) throw new KeyNotFoundError(key);
    const data = main.header ? await joinFromWincred(key, main.header, (t) => this.#store.read(t)) : main.blob;
    return newItem(key, data, "");
  }

  async getMetadata(key: string): Promise<ItemMetadata> {
    if (!(await this.#store.read(wincredTarget(key)))) throw new KeyNotFoundError(key);
    return {};
  }

  async #deleteChunks(key: string, h: ChunkHeader): Promise<void> {
    for (let n = 0; n < h.count; n++) await this.#store.delete(chunkTarget(key, h.gen, n));
  }

  async set(item: KeyringItem): Promise<void> {
    const old = await this.#header(item.key).catch(() => undefined);
    const gen = Buffer.from(this.#random(6)).toString("hex");
    for (const { target, blob } of splitForWincred(item.key, item.data, gen)) {
      try {
        await this.#store.write(target, blob);
      } catch (e) {
        throw new KeyringError(`cannot write the Windows credential ${goQuote(target)}: ${(e as Error).message}`, { cause: e });
      }
    }
    if (old?.header && old.header.gen !== gen) await this.#deleteChunks(item.key, old.header);
  }

  async remove(key: string): Promise<void> {
    const main = await this.#header(key).catch(() => undefined);
    if (!(await this.#store.delete(wincredTarget(key)))) throw new KeyNotFoundError(key);
    if (main?.header) await this.#deleteChunks(key, main.header);
  }

  async keys(): Promise<string[]> {
    return (await this.#store.list(WINCRED_PREFIX)).map((t) => t.slice(WINCRED_PREFIX.length)).sort();
  }
}

/** Parses `cmdkey /list:<filter>` output ("Target: LegacyGeneric:target=<name>" lines). */
export function parseCmdkeyList(stdout: string): string[] {
  const out: string[] = [];
  for (const line of stdout.split(/\r?\n/)) {
    const m = /target=(.*)$/.exec(line.trim());
    if (m) out.push((m[1] as string).trim());
  }
  return out;
}

interface NapiEntry {
  getSecret(): number[] | null;
  setSecret(secret: Uint8Array): void;
  deleteCredential(): boolean;
}
interface NapiKeyring {
  Entry: { withTarget(target: string, service: string, username: string): NapiEntry };
}

/** The real Credential Manager: @napi-rs/keyring for items, `cmdkey` for listing. Windows only. */
export async function nativeWinCredStore(spawn: Spawner, env: Readonly<Record<string, string | undefined>>): Promise<WinCredStore> {
  let mod: NapiKeyring;
  try {
    mod = (await import("@napi-rs/keyring")) as unknown as NapiKeyring;
  } catch (e) {
    throw new KeyringError(`the Windows credential module cannot be loaded: ${(e as Error).message}`, { cause: e });
  }
  const entry = (target: string) => mod.Entry.withTarget(target, "aws-vault", "aws-vault");
  const childEnv = definedEnv(env);
  return {
    async read(target) {
      const s = entry(target).getSecret();
      return s ? new Uint8Array(s) : undefined;
    },
    async write(target, blob) {
      if (blob.length > WINCRED_MAX_BLOB) throw new Error(`blob of ${blob.length} bytes exceeds ${WINCRED_MAX_BLOB}`);
      entry(target).setSecret(blob);
    },
    async delete(target) {
      return entry(target).deleteCredential();
    },
    async list(prefix) {
      const r = await spawn.output("cmdkey", [`/list:${prefix}*`], { env: childEnv, stdio: "pipe-out" });
      if (r.code !== 0) throw new KeyringError(`cmdkey /list failed: ${r.stderr.trim() || `exit code ${String(r.code)}`}`);
      return parseCmdkeyList(r.stdout).filter((t) => t.startsWith(prefix));
    },
  };
}
