/*
 * The keyctl backend: the Linux kernel key retention service, through the `keyctl` program
 * (Debian package keyutils). Layout as in 99designs/keyring:
 *
 *   keyring   a keyring named "aws-vault" linked into the user keyring (@u), created on first use
 *   item      a `user` key whose description is the item key and whose payload is the raw
 *             Item.Data (not the item JSON): label and description are not kept
 *
 * aws-vault never sets a scope, so its keyctl backend always fails with `unknown scope ""`
 * (§16 #18); we use the user scope. Keys are made readable by the owning user (perm 0x3f1f0000),
 * not only by processes that "possess" them through the session keyring, so a new login session
 * (or tmux, or cron) still finds them. The kernel keeps them in memory: they do not survive a
 * reboot. Payloads go through a pipe as text, so item data must be UTF-8 (aws-vault's is JSON).
 */
import { KeyNotFoundError, KeyringError } from "../errors.ts";
import type { Spawner } from "../runtime/runtime.ts";
import { goQuote } from "../util/go-format.ts";
import type { ItemMetadata, Keyring, KeyringItem } from "./keyring.ts";
import { newItem } from "./keyring.ts";
import { DEFAULT_KEYRING_TIMEOUT_MS } from "./timeout.ts";
import { definedEnv } from "../util/env.ts";

export const KEYCTL_RING_NAME = "aws-vault";
/** Possessor: all; user: view, read, write, search, link. */
export const KEYCTL_PERM = "0x3f1f0000";
/** The kernel's limit for one `user` key payload. */
export const KEYCTL_MAX_PAYLOAD = 32_767;

export interface KeyctlKeyringOptions {
  env: Readonly<Record<string, string | undefined>>;
  spawn: Spawner;
  /** The parent keyring (default "@u", the user keyring). */
  scope?: string;
  ringName?: string;
  timeoutMs?: number;
  notice?: (message: string) => void;
}

/** Parses `keyctl rdescribe` output: `type;uid;gid;perm;description` (the description may hold `;`). */
export function parseKeyDescription(line: string): { type: string; description: string } | undefined {
  const parts = line.replace(/\n$/, "").split(";");
  if (parts.length < 5) return undefined;
  return { type: parts[0] as string, description: parts.slice(4).join(";") };
}

function isUtf8(data: Uint8Array): boolean {
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(data);
    return true;
  } catch {
    return false;
  }
}

export class KeyctlKeyring implements Keyring {
  readonly backend = "keyctl";
  readonly #opts: KeyctlKeyringOptions;
  #ring: Promise<string> | undefined;
  #noticeGiven = false;

  constructor(opts: KeyctlKeyringOptions) {
    this.#opts = opts;
  }

  get #scope(): string {
    return this.#opts.scope ?? "@u";
  }

  get #ringName(): string {
    return this.#opts.ringName ?? KEYCTL_RING_NAME;
  }

  describeLocation(_key: string): string {
    return `kernel keyring ${goQuote(this.#ringName)} in ${this.#scope}`;
  }

  async #keyctl(args: string[], input?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const env = definedEnv(this.#opts.env);
    try {
      return await this.#opts.spawn.output("keyctl", args, {
        env,
        stdio: "pipe-out",
        ...(input !== undefined ? { input } : {}),
        timeoutMs: (this.#opts.timeoutMs ?? DEFAULT_KEYRING_TIMEOUT_MS) + 1000,
      });
    } catch (e) {
      throw new KeyringError(`cannot run keyctl: ${(e as Error).message}`, {
        hints: ["install keyutils (Debian: apt-get install keyutils), or try --backend=file"],
        cause: e,
      });
    }
  }

  async #must(args: string[], input?: string): Promise<string> {
    const r = await this.#keyctl(args, input);
    if (r.code !== 0) {
      throw new KeyringError(`keyctl ${args[0]} failed: ${r.stderr.trim() || `exit code ${String(r.code)}`}`, {
        hints: ["the kernel keyring may be unavailable here (containers often forbid it); try --backend=file"],
      });
    }
    return r.stdout;
  }

  /** The id of a key of `type` named `description` directly or indirectly in `ring`, if any. */
  async #search(ring: string, type: string, description: string): Promise<string | undefined> {
    const r = await this.#keyctl(["search", ring, type, description]);
    if (r.code === 0) return r.stdout.trim();
    if (/not available|No such file|not found/i.test(r.stderr)) return undefined;
    throw new KeyringError(`keyctl search failed: ${r.stderr.trim() || `exit code ${String(r.code)}`}`, {
      hints: ["the kernel keyring may be unavailable here (containers often forbid it); try --backend=file"],
    });
  }

  /** The named keyring, created (and made readable by the user) on first use. */
  #ringId(): Promise<string> {
    this.#ring ??= (async () => {
      const found = await this.#search(this.#scope, "keyring", this.#ringName);
      if (found) return found;
      const id = (await this.#must(["newring", this.#ringName, this.#scope])).trim();
      await this.#must(["setperm", id, KEYCTL_PERM]);
      return id;
    })();
    this.#ring.catch(() => {
      this.#ring = undefined;
    });
    return this.#ring;
  }

  /** Checks that keyctl runs and the keyring can be found or made (so a forbidden kernel keyring fails early). */
  async open(): Promise<void> {
    await this.#ringId();
  }

  async get(key: string): Promise<KeyringItem> {
    const id = await this.#search(await this.#ringId(), "user", key);
    if (!id) throw new KeyNotFoundError(key);
    const data = await this.#must(["pipe", id]);
    return newItem(key, new TextEncoder().encode(data), "");
  }

  async getMetadata(key: string): Promise<ItemMetadata> {
    if (!(await this.#search(await this.#ringId(), "user", key))) throw new KeyNotFoundError(key);
    return {};
  }

  async set(item: KeyringItem): Promise<void> {
    if (!isUtf8(item.data)) throw new KeyringError(`keyctl backend: the data of ${goQuote(item.key)} is not UTF-8 text`);
    if (item.data.length > KEYCTL_MAX_PAYLOAD) {
      throw new KeyringError(`keyctl backend: ${goQuote(item.key)} is ${item.data.length} bytes, more than the kernel's ${KEYCTL_MAX_PAYLOAD}`);
    }
    const ring = await this.#ringId();
    // padd replaces the payload of an existing key of the same description in place.
    const id = (await this.#must(["padd", "user", item.key, ring], new TextDecoder().decode(item.data))).trim();
    await this.#must(["setperm", id, KEYCTL_PERM]);
    if (!item.description && !this.#noticeGiven) {
      this.#noticeGiven = true;
      this.#opts.notice?.(`stored in the kernel keyring ${goQuote(this.#ringName)}, which is cleared at reboot`);
    }
  }

  async remove(key: string): Promise<void> {
    const ring = await this.#ringId();
    const id = await this.#search(ring, "user", key);
    if (!id) throw new KeyNotFoundError(key);
    await this.#must(["unlink", id, ring]);
  }

  async keys(): Promise<string[]> {
    const ring = await this.#ringId();
    const ids = (await this.#must(["rlist", ring])).trim().split(/\s+/).filter(Boolean);
    const described = await Promise.all(ids.map((id) => this.#keyctl(["rdescribe", id])));
    const keys: string[] = [];
    for (const r of described) {
      if (r.code !== 0) continue; // unlinked meanwhile
      const d = parseKeyDescription(r.stdout);
      if (d?.type === "user") keys.push(d.description);
    }
    return keys.sort();
  }
}
