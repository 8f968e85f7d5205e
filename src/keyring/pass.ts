/*
 * The pass backend (https://www.passwordstore.org), with aws-vault's layout:
 *
 *   entry   <store>/<prefix>/<name>.gpg, written with `pass insert -m -f`, read with `pass show`,
 *           removed with `pass rm -f`; PASSWORD_STORE_DIR=<store> is set for the child
 *   value   the item JSON (file-format.ts encodeItem), exactly as aws-vault writes it
 *
 * One deliberate difference (aws-vault quirk §16 #19): aws-vault uses the key itself as the entry
 * name, so `/` makes sub-folders and `oidc:https://host/start` comes back as `oidc:https:/host/start`.
 * We name entries like the file backend names files (`%` and `/` percent-encoded), so every key
 * round-trips; entries aws-vault wrote under the raw key are still found, listed and removed.
 */
import { readdir, stat } from "node:fs/promises";
import { isAbsolute, join, posix } from "node:path";
import { KeyNotFoundError, KeyringError } from "../errors.ts";
import type { Spawner } from "../runtime/runtime.ts";
import { withFileLock } from "../runtime/lock.ts";
import { decodeFileName, decodeItem, encodeFileName, encodeItem } from "./file-format.ts";
import type { ItemMetadata, Keyring, KeyringItem } from "./keyring.ts";
import { DEFAULT_KEYRING_TIMEOUT_MS } from "./timeout.ts";
import { definedEnv } from "../util/env.ts";

export interface PassKeyringOptions {
  /** The password store (--pass-dir, else $PASSWORD_STORE_DIR, else ~/.password-store). */
  dir: string;
  /** The pass program (--pass-cmd, default "pass"); run directly, never through a shell. */
  cmd?: string;
  /** A folder inside the store for aws-vault's entries (--pass-prefix). */
  prefix?: string;
  env: Readonly<Record<string, string | undefined>>;
  spawn: Spawner;
  /** Hung gpg or pinentry processes are killed after this long. */
  timeoutMs?: number;
}

const LOCK_NAME = ".aws-vault-lock";

/** Resolves the store folder the way aws-vault does: flag, then $PASSWORD_STORE_DIR, then ~/.password-store. */
export function passStoreDir(flag: string | undefined, env: Readonly<Record<string, string | undefined>>, home: string): string {
  if (flag) return flag;
  if (env.PASSWORD_STORE_DIR !== undefined) return env.PASSWORD_STORE_DIR;
  return join(home, ".password-store");
}

/** The entry name of a key inside the prefix folder: file-backend escaping, and no `.`/`..` names. */
export function passEntryName(key: string): string {
  if (key === "") throw new KeyringError("invalid pass key: empty keys are not allowed");
  const name = encodeFileName(key);
  return name === "." || name === ".." ? name.replaceAll(".", "%2E") : name;
}

/** The key of an entry path relative to the prefix folder (without `.gpg`). */
export function passKeyOf(relative: string): string {
  // Entries in sub-folders were written by aws-vault under the raw key (`prod/admin`).
  return relative.includes("/") ? relative : decodeFileName(relative);
}

function validatePrefix(prefix: string): string {
  if (!prefix) return "";
  if (isAbsolute(prefix)) throw new KeyringError(`invalid pass prefix ${prefix}: absolute paths are not allowed`);
  if (prefix.split("/").some((p) => p === "." || p === "..")) {
    throw new KeyringError(`invalid pass prefix ${prefix}: dot path segments are not allowed`);
  }
  return posix.normalize(prefix).replace(/\/+$/, "");
}

export class PassKeyring implements Keyring {
  readonly backend = "pass";
  readonly #opts: PassKeyringOptions;
  readonly #cmd: string;
  readonly #prefix: string;
  /** Serialises this process's writes per entry; other processes are kept out by the lock file. */
  #queue = new Map<string, Promise<unknown>>();

  constructor(opts: PassKeyringOptions) {
    this.#opts = opts;
    this.#cmd = opts.cmd || "pass";
    this.#prefix = validatePrefix(opts.prefix ?? "");
  }

  /** Fails when the pass program is missing (aws-vault: "pass program is not available"). */
  open(): void {
    if (!this.#opts.spawn.which(this.#cmd)) {
      throw new KeyringError(`the pass program is not available (${this.#cmd} is not on PATH)`, {
        hints: ["install pass (Debian: apt-get install pass) or set --pass-cmd, or try --backend=file"],
      });
    }
  }

  describeLocation(key: string): string {
    return key ? `pass entry ${this.#name(key)} in ${this.#opts.dir}` : `pass store ${this.#opts.dir}`;
  }

  #name(key: string): string {
    return this.#prefix ? `${this.#prefix}/${passEntryName(key)}` : passEntryName(key);
  }

  /** Where aws-vault itself would have put this key (only differs for keys with `/` or `%`). */
  #legacyName(key: string): string | undefined {
    if (encodeFileName(key) === key) return undefined;
    const raw = posix.normalize(this.#prefix ? `${this.#prefix}/${key}` : key);
    if (raw.startsWith("../") || raw === ".." || raw.startsWith("/")) return undefined;
    return raw;
  }

  async #exists(name: string): Promise<boolean> {
    try {
      return (await stat(join(this.#opts.dir, `${name}.gpg`))).isFile();
    } catch {
      return false;
    }
  }

  /** The entry that holds a key: ours, else aws-vault's raw-named one. */
  async #entries(key: string): Promise<string[]> {
    const out: string[] = [];
    const name = this.#name(key);
    if (await this.#exists(name)) out.push(name);
    const legacy = this.#legacyName(key);
    if (legacy && legacy !== name && (await this.#exists(legacy))) out.push(legacy);
    return out;
  }

  async #pass(args: string[], input?: string): Promise<string> {
    const env = definedEnv(this.#opts.env);
    env.PASSWORD_STORE_DIR = this.#opts.dir;
    let r;
    try {
      r = await this.#opts.spawn.output(this.#cmd, args, {
        env,
        stdio: "pipe-out",
        ...(input !== undefined ? { input } : {}),
        timeoutMs: (this.#opts.timeoutMs ?? DEFAULT_KEYRING_TIMEOUT_MS) + 1000,
      });
    } catch (e) {
      throw new KeyringError(`cannot run ${this.#cmd}: ${(e as Error).message}`, { cause: e });
    }
    if (r.code !== 0) {
      const detail = r.stderr.trim().split("\n").filter(Boolean).pop() ?? (r.signal ? `killed by ${r.signal}` : `exit code ${String(r.code)}`);
      const hints = /pass init/.test(r.stderr)
        ? ["initialise the store with `pass init <gpg-id>` (or point --pass-dir at one), or try --backend=file"]
        : [];
      throw new KeyringError(`pass ${args[0]} failed: ${detail}`, { hints });
    }
    return r.stdout;
  }

  async #serialised<T>(name: string, work: () => Promise<T>): Promise<T> {
    const before = this.#queue.get(name) ?? Promise.resolve();
    const run = before.catch(() => undefined).then(work);
    const tail = run.catch(() => undefined);
    this.#queue.set(name, tail);
    try {
      return await run;
    } finally {
      if (this.#queue.get(name) === tail) this.#queue.delete(name);
    }
  }

  async #locked<T>(work: () => Promise<T>): Promise<T> {
    try {
      if (!(await stat(this.#opts.dir)).isDirectory()) return await work();
    } catch {
      return work(); // no store yet: pass itself will say so
    }
    return withFileLock(join(this.#opts.dir, LOCK_NAME), work, { timeoutMs: this.#opts.timeoutMs ?? DEFAULT_KEYRING_TIMEOUT_MS });
  }

  async get(key: string): Promise<KeyringItem> {
    const [name] = await this.#entries(key);
    if (name === undefined) throw new KeyNotFoundError(key);
    const out = await this.#pass(["show", "--", name]);
    return decodeItem(new TextEncoder().encode(out), `pass entry ${name}`);
  }

  async getMetadata(key: string): Promise<ItemMetadata> {
    const [name] = await this.#entries(key);
    if (name === undefined) throw new KeyNotFoundError(key);
    return { modificationTime: (await stat(join(this.#opts.dir, `${name}.gpg`))).mtime };
  }

  /**
   * pass refuses to insert without a .gpg-id in the entry's folder or above (or PASSWORD_STORE_KEY).
   * Checked first, so the error says what to do (and pass never exits before reading our stdin).
   */
  async #checkInitialised(name: string): Promise<void> {
    if (this.#opts.env.PASSWORD_STORE_KEY) return;
    const parts = name.split("/").slice(0, -1);
    for (let i = parts.length; i >= 0; i--) {
      if (await stat(join(this.#opts.dir, ...parts.slice(0, i), ".gpg-id")).then(() => true, () => false)) return;
    }
    throw new KeyringError(`the password store ${this.#opts.dir} is not initialised (no .gpg-id)`, {
      hints: ["initialise it with `pass init <gpg-id>` (or point --pass-dir at one), or try --backend=file"],
    });
  }

  async set(item: KeyringItem): Promise<void> {
    const name = this.#name(item.key);
    await this.#checkInitialised(name);
    await this.#serialised(name, () => this.#locked(() => this.#pass(["insert", "-m", "-f", "--", name], encodeItem(item))));
  }

  async remove(key: string): Promise<void> {
    const name = this.#name(key);
    await this.#serialised(name, async () => {
      const entries = await this.#entries(key);
      if (entries.length === 0) throw new KeyNotFoundError(key);
      await this.#locked(async () => {
        for (const e of entries) await this.#pass(["rm", "-f", "--", e]);
      });
    });
  }

  async keys(): Promise<string[]> {
    const root = this.#prefix ? join(this.#opts.dir, this.#prefix) : this.#opts.dir;
    const keys = new Set<string>();
    const walk = async (dir: string, rel: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ENOENT") return;
        throw new KeyringError(`cannot read ${dir}: ${(e as Error).message}`, { cause: e });
      }
      for (const d of entries) {
        const relName = rel ? `${rel}/${d.name}` : d.name;
        if (d.isDirectory()) {
          if (d.name !== ".git") await walk(join(dir, d.name), relName);
        } else if (d.name.endsWith(".gpg")) {
          keys.add(passKeyOf(relName.slice(0, -4)));
        }
      }
    };
    await walk(root, "");
    return [...keys].sort();
  }
}
