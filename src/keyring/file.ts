// The encrypted file backend (format: file-format.ts). Writes are atomic (temp file in the same
// folder, then rename) and made under a folder lock, so concurrent writers never tear a file and
// never create items under two different passphrases.
import { type Dirent, readdirSync, readFileSync } from "node:fs";
import { mkdir, open, readFile, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { KeyNotFoundError, KeyringError, UserError, WrongPassphraseError } from "../errors.ts";
import { withFileLock } from "../runtime/lock.ts";
import type { Secret } from "../util/secret.ts";
import { decodeFileName, decryptItem, encodeFileName, encryptItem } from "./file-format.ts";
import type { ItemMetadata, Keyring, KeyringItem } from "./keyring.ts";

const OWN_FILE_PREFIX = ".aws-vault-";
const LOCK_NAME = `${OWN_FILE_PREFIX}lock`;

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

export class FileKeyring implements Keyring {
  readonly backend = "file";
  readonly #opts: FileKeyringOptions;
  #passphrase: Secret | undefined;
  #verified = false;

  constructor(opts: FileKeyringOptions) {
    if (!opts.dir) throw new KeyringError("No directory provided for file keyring");
    this.#opts = opts;
  }

  get dir(): string {
    return this.#opts.dir;
  }

  describeLocation(key: string): string {
    return this.#path(key);
  }

  #path(key: string): string {
    return join(this.#opts.dir, encodeFileName(key));
  }

  async #ensureDir(): Promise<void> {
    try {
      const s = await stat(this.#opts.dir);
      if (!s.isDirectory()) throw new KeyringError(`${this.#opts.dir} is a file, not a directory`);
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    }
    await mkdir(this.#opts.dir, { recursive: true, mode: 0o700 });
  }

  async #askPassphrase(confirm: boolean): Promise<Secret> {
    if (this.#passphrase) return this.#passphrase;
    const { fromEnv } = this.#opts.passphrase;
    this.#passphrase =
      fromEnv ?? (await this.#opts.passphrase.prompt(`Enter passphrase to unlock "${this.#opts.dir}": `, { confirm }));
    return this.#passphrase;
  }

  async #itemFiles(): Promise<string[]> {
    let entries: Dirent[];
    try {
      // Reads are synchronous: a CLI run does a handful, each a few KB, and every asynchronous call is
      // a round trip through the runtime's thread pool (under load, a scheduling delay each).
      entries = readdirSync(this.#opts.dir, { withFileTypes: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw e;
    }
    const files: string[] = [];
    for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      const name = entry.name;
      if (name.startsWith(OWN_FILE_PREFIX)) continue;
      // The directory entry says "regular file" without a stat per item (1,000 items: 1,000 stats
      // per listing). Symlinks and file systems that do not report types are stat'ed, as before.
      if (entry.isFile()) {
        files.push(name);
        continue;
      }
      if (!entry.isSymbolicLink() && entry.isDirectory()) continue;
      try {
        if ((await stat(join(this.#opts.dir, name))).isFile()) files.push(name);
      } catch {
        // vanished meanwhile
      }
    }
    return files;
  }

  /**
   * Checks the passphrase against an item already stored before anything is written, so a typo
   * never leaves a keyring encrypted under two passphrases. Damaged or foreign files are skipped.
   */
  async #verifiedPassphrase(): Promise<Secret> {
    if (this.#verified && this.#passphrase) return this.#passphrase;
    const files = await this.#itemFiles();
    const passphrase = await this.#askPassphrase(files.length === 0);
    for (const name of files) {
      const where = join(this.#opts.dir, name);
      let token: string;
      try {
        token = await readFile(where, "utf8");
      } catch {
        continue;
      }
      try {
        await decryptItem(token, passphrase, where);
        this.#verified = true;
        return passphrase;
      } catch (e) {
        if (e instanceof WrongPassphraseError) throw this.#wrongPassphrase(e);
        this.#opts.log?.(`[keyring] skipping unreadable file ${where}`);
      }
    }
    this.#verified = true;
    return passphrase;
  }

  #wrongPassphrase(e: WrongPassphraseError): WrongPassphraseError {
    return new WrongPassphraseError(`wrong passphrase for the file keyring at ${this.#opts.dir}`, {
      hints: e.hints,
      cause: e,
    });
  }

  async get(key: string): Promise<KeyringItem> {
    const where = this.#path(key);
    let token: string;
    try {
      token = readFileSync(where, "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") throw new KeyNotFoundError(key);
      throw new KeyringError(`cannot read ${where}: ${(e as Error).message}`, { cause: e });
    }
    const passphrase = await this.#askPassphrase(false);
    try {
      const item = await decryptItem(token, passphrase, where);
      this.#verified = true;
      return item;
    } catch (e) {
      if (e instanceof WrongPassphraseError) {
        this.#passphrase = this.#opts.passphrase.fromEnv;
        throw this.#wrongPassphrase(e);
      }
      throw e;
    }
  }

  async getMetadata(key: string): Promise<ItemMetadata> {
    try {
      const s = await stat(this.#path(key));
      return { modificationTime: s.mtime };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") throw new KeyNotFoundError(key);
      throw e;
    }
  }

  async set(item: KeyringItem): Promise<void> {
    await this.#ensureDir();
    await withFileLock(join(this.#opts.dir, LOCK_NAME), async () => {
      const passphrase = await this.#verifiedPassphrase();
      const token = await encryptItem(item, passphrase, {
        now: this.#opts.now(),
        salt: this.#opts.random(12),
        p2c: this.#opts.p2c,
      });
      await writeFileAtomic(this.#path(item.key), token, this.#opts.random);
    });
  }

  async remove(key: string): Promise<void> {
    try {
      await rm(this.#path(key));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") throw new KeyNotFoundError(key);
      throw new KeyringError(`cannot remove ${this.#path(key)}: ${(e as Error).message}`, { cause: e });
    }
  }

  async keys(): Promise<string[]> {
    return (await this.#itemFiles()).map(decodeFileName);
  }
}

/** Writes a 0600 file atomically: a temp file in the same folder, fsync, then rename over the target. */
export async function writeFileAtomic(path: string, content: string, random: (n: number) => Uint8Array): Promise<void> {
  const dir = join(path, "..");
  const tmp = join(dir, `${OWN_FILE_PREFIX}tmp-${Buffer.from(random(8)).toString("hex")}`);
  const fh = await open(tmp, "wx", 0o600);
  try {
    await fh.writeFile(content);
    await fh.sync();
  } catch (e) {
    await fh.close();
    await rm(tmp, { force: true });
    throw e;
  }
  await fh.close();
  try {
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw new UserError(`cannot write ${path}: ${(e as Error).message}`, { cause: e });
  }
}
