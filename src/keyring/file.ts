// The encrypted file backend (format: file-format.ts). Writes are atomic (temp file in the same
// folder, then rename) and made under a folder lock, so concurrent writers never tear a file and
// never create items under two different passphrases.
//
// The folder holds items and the keyring's own files: the lock (`.aws-vault-lock`, and the
// `.aws-vault-lock.break` guard of lock.ts) and the temp files of atomic writes
// (`.aws-vault-tmp-*`). Those names are reserved: no item may take them, they are never listed,
// and temp files orphaned by a killed writer are removed by the next write. Any other file that
// does not have the shape of an item (`.DS_Store`, notes) is left alone and not listed.
// Synchronous file calls throughout: the items are small, and under Bun each promise-based call is a
// thread-pool round trip (and node:fs/promises alone cost a cached `export` ~0.8 ms to load).
import { closeSync, type Dirent, fsyncSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { mkdirPrivateSync } from "../runtime/mkdir.ts";
import { join } from "node:path";
import { KeyNotFoundError, KeyringError, UserError, WrongPassphraseError } from "../errors.ts";
import { withFileLock } from "../runtime/lock.ts";
import { goQuote } from "../util/go-format.ts";
import type { Secret } from "../util/secret.ts";
import { DamagedItemError, decodeFileName, decryptItem, encodeFileName, encryptItem, looksLikeItem } from "./file-format.ts";
import type { ItemMetadata, Keyring, KeyringItem, ListingOptions } from "./keyring.ts";

const LOCK_NAME = ".aws-vault-lock";
const LOCK_BREAK_PREFIX = `${LOCK_NAME}.`;
const TMP_PREFIX = ".aws-vault-tmp-";
/** A temp file this old was left by a writer that died (a write takes milliseconds). */
export const STALE_TEMP_MS = 5 * 60 * 1000;
/** NAME_MAX of the common Linux and macOS file systems. */
const MAX_FILE_NAME_BYTES = 255;
/** How long a lookup's listing, and the files it read, may answer the next lookup or read (ListingOptions.recent). */
const RECENT_MS = 1000;

let fileReads = 0;
let folderListings = 0;

/** How many times the file keyrings of this process have listed their folder. */
export function fileKeyringListings(): number {
  return folderListings;
}

/** How many files the file keyrings of this process have read (listing checks and item reads). */
export function fileKeyringReads(): number {
  return fileReads;
}

/** The keyring's own files: its lock, the lock's break guard, and temp files. */
export function isOwnFileName(name: string): boolean {
  return name.startsWith(".aws-vault-") && (name === LOCK_NAME || name.startsWith(LOCK_BREAK_PREFIX) || name.startsWith(TMP_PREFIX));
}

/** Why a key cannot name an item in the file keyring, or undefined when it can. */
export function fileKeyProblem(key: string): string | undefined {
  if (key === "") return "the name is empty";
  if (key.includes("\0")) return "the name contains a NUL character";
  const name = encodeFileName(key);
  if (name === "." || name === "..") return "the name is a folder";
  if (isOwnFileName(name)) return `names starting with ${LOCK_NAME} or ${TMP_PREFIX} are reserved for the keyring's own files`;
  if (Buffer.byteLength(name) > MAX_FILE_NAME_BYTES) return `the file name would be longer than ${MAX_FILE_NAME_BYTES} bytes`;
  return undefined;
}

export interface PassphraseSource {
  /** AWS_VAULT_FILE_PASSPHRASE when set (even if empty). */
  fromEnv?: Secret;
  /** Asks the user; `confirm` asks twice and checks both answers match. */
  prompt(message: string, opts: { confirm: boolean }): Promise<Secret>;
}

export interface FileKeyringOptions {
  dir: string;
  passphrase: PassphraseSource;
  now: () => Date;
  random: (bytes: number) => Uint8Array;
  log?: (message: string) => void;
  /** PBES2 iterations for new files (default 8192, what aws-vault writes). */
  p2c?: number;
}

function errnoCode(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException).code;
}

/** A shell word for a hint: bare when safe, else single-quoted. */
function shellWord(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

export class FileKeyring implements Keyring {
  readonly backend = "file";
  readonly #opts: FileKeyringOptions;
  #passphrase: Secret | undefined;
  /** The passphrase opened (or unwrapped the key of) at least one item in this folder. */
  #verified = false;
  /**
   * The last lookup's listing (plain names), for one `recent` lookup right after it; and the item
   * files that lookup read to check their shape, for a `get` right after it (a cached export lists
   * the folder for the stored-key check, then for its session, then reads the session it just
   * checked). Forgotten on every write, and after RECENT_MS.
   */
  #recent: { at: number; names?: string[]; texts: Map<string, string> } | undefined;

  constructor(opts: FileKeyringOptions) {
    if (!opts.dir) throw new KeyringError("No directory provided for file keyring");
    this.#opts = opts;
  }

  get dir(): string {
    return this.#opts.dir;
  }

  describeLocation(key: string): string {
    return join(this.#opts.dir, encodeFileName(key));
  }

  /** Refuses a key that cannot name an item here (reserved, empty, escaping the folder). */
  checkKey(key: string): void {
    const problem = fileKeyProblem(key);
    if (problem !== undefined) {
      throw new KeyringError(`cannot store ${goQuote(key)} in the file keyring at ${this.#opts.dir}: ${problem}`, {
        hints: ["choose another profile name"],
      });
    }
  }

  /** The item's file, or undefined for a key that can never be an item (so it is never there). */
  #itemPath(key: string): string | undefined {
    return fileKeyProblem(key) === undefined ? this.describeLocation(key) : undefined;
  }

  async #ensureDir(): Promise<void> {
    try {
      const s = statSync(this.#opts.dir);
      if (!s.isDirectory()) throw new KeyringError(`${this.#opts.dir} is a file, not a directory`);
      return;
    } catch (e) {
      if (errnoCode(e) !== "ENOENT") throw e;
    }
    mkdirPrivateSync(this.#opts.dir);
  }

  async #askPassphrase(confirm: boolean): Promise<Secret> {
    if (this.#passphrase) return this.#passphrase;
    const { fromEnv } = this.#opts.passphrase;
    this.#passphrase =
      fromEnv ?? (await this.#opts.passphrase.prompt(`Enter passphrase to unlock "${this.#opts.dir}": `, { confirm }));
    return this.#passphrase;
  }

  /** Forgets a passphrase that proved wrong, so a typed one is asked again next time. */
  #forgetPassphrase(): void {
    this.#passphrase = this.#opts.passphrase.fromEnv;
    this.#verified = false;
  }

  /**
   * Whether a folder entry is an item: a file (or a link to one) with the shape of an item. A
   * file that cannot be read (permissions) may well be an item, so it stays visible. A name
   * alone (a lookup's few matches) is looked at with a stat.
   */
  #isItemFile(entry: Dirent | string): boolean {
    const path = `${this.#opts.dir}/${typeof entry === "string" ? entry : entry.name}`;
    try {
      if (typeof entry === "string") {
        if (!statSync(path).isFile()) return false;
      } else {
        // d_type tells most entries apart without a stat; links (and file systems that leave
        // d_type unknown) are followed with one.
        const special = entry.isDirectory() || entry.isFIFO() || entry.isSocket() || entry.isBlockDevice() || entry.isCharacterDevice();
        if (special || (!entry.isFile() && !statSync(path).isFile())) return false;
      }
    } catch {
      return false; // vanished meanwhile, or a dangling link
    }
    try {
      fileReads++;
      const text = readFileSync(path, "utf8");
      if (typeof entry === "string") this.#recent?.texts.set(entry, text);
      return looksLikeItem(text);
    } catch (e) {
      return errnoCode(e) !== "ENOENT";
    }
  }

  /**
   * The file names of the items whose keys `match` accepts (all when undefined), sorted (aws-vault
   * lists os.ReadDir order, which is sorted). Only the matching files are looked at: a lookup in a
   * folder of 2,000 items reads one file, not 2,000. Synchronous: with 2,000 items, awaiting each
   * call made thousands of thread-pool round trips per listing.
   */
  #itemFiles(match?: (key: string) => boolean, opts?: ListingOptions): string[] {
    const files: string[] = [];
    if (match) {
      // A lookup matches a few names: plain names, and a stat for those few.
      const recent = opts?.recent ? this.#takeRecent()?.names : undefined;
      const names = recent ?? this.#names();
      this.#recent = { at: this.#opts.now().getTime(), names: recent ? undefined : names, texts: new Map() };
      for (const name of names) {
        if (!isOwnFileName(name) && match(decodeFileName(name)) && this.#isItemFile(name)) files.push(name);
      }
    } else {
      // Everything: the entries' types save a stat per file.
      for (const entry of this.#entries()) if (this.#isItemFile(entry)) files.push(entry.name);
    }
    return files.sort();
  }

  /** #itemFiles() in order, each file checked only when the caller asks for the next one. */
  *#itemFilesInOrder(): Generator<string> {
    const entries = this.#entries().sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) if (this.#isItemFile(entry)) yield entry.name;
  }

  /** The folder's entries with their types, but the keyring's own files. */
  #entries(): Dirent[] {
    return this.#list(() => readdirSync(this.#opts.dir, { withFileTypes: true })).filter((entry) => !isOwnFileName(entry.name));
  }

  #names(): string[] {
    return this.#list(() => readdirSync(this.#opts.dir));
  }

  /** What the last lookup saw, when it was moments ago (and nothing was written since); used once. */
  #takeRecent(): { names?: string[]; texts: Map<string, string> } | undefined {
    const recent = this.#recent;
    this.#recent = undefined;
    return recent && Math.abs(this.#opts.now().getTime() - recent.at) < RECENT_MS ? recent : undefined;
  }

  #list<T>(read: () => T[]): T[] {
    folderListings++;
    this.#recent = undefined;
    try {
      return read();
    } catch (e) {
      if (errnoCode(e) === "ENOENT") return [];
      throw new KeyringError(`cannot list ${this.#opts.dir}: ${(e as Error).message}`, { cause: e });
    }
  }

  /** An item file's text, for a passphrase check. */
  #readItemFile(where: string): string {
    fileReads++;
    return readFileSync(where, "utf8");
  }

  async #readToken(key: string): Promise<{ where: string; token: string }> {
    const where = this.#itemPath(key);
    if (where === undefined) throw new KeyNotFoundError(key);
    // The file the last lookup just read to check its shape: the same read, not a second one.
    const recent = this.#recent?.texts.get(encodeFileName(key));
    if (recent !== undefined && this.#takeRecent() !== undefined) return { where, token: recent };
    try {
      fileReads++;
      return { where, token: readFileSync(where, "utf8") };
    } catch (e) {
      if (errnoCode(e) === "ENOENT") throw new KeyNotFoundError(key);
      throw new KeyringError(`cannot read ${where}: ${(e as Error).message}`, { cause: e });
    }
  }

  /**
   * Asks the other stored items (all but `except`) about the passphrase, until one answers:
   * "opens" when an item opens or its key unwraps (the passphrase is right), "refused" when its
   * key does not unwrap (the passphrase is wrong), "unknown" when no other item can answer.
   */
  async #passphraseVerdict(passphrase: Secret, except: string): Promise<"opens" | "refused" | "unknown"> {
    if (this.#verified) return "opens";
    for (const name of this.#itemFilesInOrder()) {
      if (name === except) continue;
      const where = join(this.#opts.dir, name);
      try {
        await decryptItem(this.#readItemFile(where), passphrase, where);
        return "opens";
      } catch (e) {
        if (e instanceof DamagedItemError && e.passphraseConfirmed) return "opens";
        if (e instanceof WrongPassphraseError) return "refused";
        this.#opts.log?.(`[keyring] skipping unreadable file ${where}`);
      }
    }
    return "unknown";
  }

  /**
   * Checks the passphrase against an item already stored before anything is written, so a typo
   * never leaves a keyring encrypted under two passphrases. Damaged or foreign files are skipped:
   * one damaged item never blocks writing the others.
   */
  async #verifiedPassphrase(): Promise<Secret> {
    if (this.#verified && this.#passphrase) return this.#passphrase;
    // Items are checked one by one until one answers: the first usually does (one read, not one per item).
    const files = this.#itemFilesInOrder();
    let next = files.next();
    const passphrase = await this.#askPassphrase(next.done === true);
    let refused: WrongPassphraseError | undefined;
    for (; next.done !== true; next = files.next()) {
      const where = join(this.#opts.dir, next.value);
      try {
        await decryptItem(this.#readItemFile(where), passphrase, where);
        refused = undefined;
        break;
      } catch (e) {
        // A damaged content behind a key that unwraps still proves the passphrase.
        if (e instanceof DamagedItemError && e.passphraseConfirmed) {
          refused = undefined;
          break;
        }
        if (e instanceof WrongPassphraseError) refused ??= e;
        else this.#opts.log?.(`[keyring] skipping unreadable file ${where}`);
      }
    }
    if (refused) {
      this.#forgetPassphrase();
      throw this.#wrongPassphrase(refused);
    }
    this.#verified = true;
    return passphrase;
  }

  #wrongPassphrase(e: WrongPassphraseError, where?: string): WrongPassphraseError {
    const hints = [...e.hints];
    if (where !== undefined) hints.push(`if the passphrase is right, ${where} is damaged (no other item could confirm the passphrase)`);
    return new WrongPassphraseError(`wrong passphrase for the file keyring at ${this.#opts.dir}`, { hints, cause: e });
  }

  #damaged(key: string, why: string, passphraseConfirmed: boolean, cause: unknown): DamagedItemError {
    return new DamagedItemError(`item ${goQuote(key)} in the file keyring is damaged: ${why}`, passphraseConfirmed, {
      hints: [
        `the other items are not affected; remove this one with \`aws-vault remove ${shellWord(key)}\`, then store it again with \`aws-vault add ${shellWord(key)}\``,
      ],
      cause,
    });
  }

  async get(key: string): Promise<KeyringItem> {
    const { where, token } = await this.#readToken(key);
    const passphrase = await this.#askPassphrase(false);
    try {
      const item = await decryptItem(token, passphrase, where);
      this.#verified = true;
      return item;
    } catch (e) {
      if (e instanceof DamagedItemError) {
        if (e.passphraseConfirmed) this.#verified = true;
        throw this.#damaged(key, e.message, e.passphraseConfirmed, e);
      }
      if (!(e instanceof WrongPassphraseError)) throw e;
      // The key does not unwrap: a wrong passphrase, unless the passphrase opens another item.
      const verdict = await this.#passphraseVerdict(passphrase, encodeFileName(key));
      if (verdict === "opens") {
        this.#verified = true;
        throw this.#damaged(key, `${where}: its content key does not unwrap with the passphrase that opens the other items`, true, e);
      }
      this.#forgetPassphrase();
      throw this.#wrongPassphrase(e, verdict === "unknown" ? where : undefined);
    }
  }

  async getMetadata(key: string): Promise<ItemMetadata> {
    const where = this.#itemPath(key);
    if (where === undefined) throw new KeyNotFoundError(key);
    try {
      const s = statSync(where);
      return { modificationTime: s.mtime };
    } catch (e) {
      if (errnoCode(e) === "ENOENT") throw new KeyNotFoundError(key);
      throw new KeyringError(`cannot read ${where}: ${(e as Error).message}`, { cause: e });
    }
  }

  async set(item: KeyringItem): Promise<void> {
    this.checkKey(item.key);
    this.#recent = undefined;
    await this.#ensureDir();
    await withFileLock(join(this.#opts.dir, LOCK_NAME), async () => {
      await this.#removeStaleTemps();
      const passphrase = await this.#verifiedPassphrase();
      const token = await encryptItem(item, passphrase, {
        now: this.#opts.now(),
        salt: this.#opts.random(12),
        p2c: this.#opts.p2c,
        random: this.#opts.random,
      });
      await writeFileAtomic(this.describeLocation(item.key), token, this.#opts.random);
    });
  }

  /** Removes temp files left by writers that died mid-write (called under the folder lock). */
  async #removeStaleTemps(): Promise<void> {
    const now = this.#opts.now().getTime();
    for (const name of readdirSync(this.#opts.dir)) {
      if (!name.startsWith(TMP_PREFIX)) continue;
      const path = join(this.#opts.dir, name);
      try {
        const s = statSync(path);
        if (s.isFile() && now - s.mtimeMs > STALE_TEMP_MS) {
          rmSync(path);
          this.#opts.log?.(`[keyring] removed ${path}, left by an interrupted write`);
        }
      } catch {
        // gone meanwhile, or not ours to remove: the write goes on
      }
    }
  }

  async remove(key: string): Promise<void> {
    this.#recent = undefined;
    const where = this.#itemPath(key);
    if (where === undefined) throw new KeyNotFoundError(key);
    try {
      rmSync(where);
    } catch (e) {
      if (errnoCode(e) === "ENOENT") throw new KeyNotFoundError(key);
      throw new KeyringError(`cannot remove ${where}: ${(e as Error).message}`, { cause: e });
    }
  }

  async keys(): Promise<string[]> {
    return this.#itemFiles().map(decodeFileName);
  }

  async keysMatching(match: (key: string) => boolean, opts?: ListingOptions): Promise<string[]> {
    return this.#itemFiles(match, opts).map(decodeFileName);
  }
}

/** Writes a 0600 file atomically: a temp file in the same folder, fsync, then rename over the target. */
export async function writeFileAtomic(path: string, content: string, random: (n: number) => Uint8Array): Promise<void> {
  const dir = join(path, "..");
  const tmp = join(dir, `${TMP_PREFIX}${Buffer.from(random(8)).toString("hex")}`);
  const fd = openSync(tmp, "wx", 0o600);
  try {
    writeFileSync(fd, content);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    // A write through a handle names no file (a full disk): name the item's, for the message.
    if (e instanceof Error && (e as NodeJS.ErrnoException).path === undefined) (e as NodeJS.ErrnoException).path = path;
    throw e;
  }
  closeSync(fd);
  try {
    renameSync(tmp, path);
  } catch (e) {
    try {
      rmSync(tmp);
    } catch {
      // already gone
    }
    throw new UserError(`cannot write ${path}: ${(e as Error).message}`, { cause: e });
  }
}
