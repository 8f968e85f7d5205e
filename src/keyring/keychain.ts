/*
 * The keychain backend (macOS), through /usr/bin/security, with aws-vault's layout:
 *
 *   keychain  <name>.keychain (--keychain, default "aws-vault"; ~/Library/Keychains/aws-vault.keychain-db),
 *             created on first write with a password prompt (`security create-keychain -P`)
 *   item      generic password: service "aws-vault", account = key, label = Item.Label,
 *             kind (description) = Item.Description, data = raw Item.Data
 *   trust     items with keychainNotTrustApplication (master credentials) get an empty trusted
 *             application list, so every read asks the user, as with aws-vault
 *
 * @napi-rs/keyring cannot be used here: it only addresses the default keychain, so it could not
 * read an existing aws-vault.keychain. The `security` tool can; the secret goes to it on stdin
 * (`security -i`), never in argv. Differences from aws-vault: cached sessions are trusted for the
 * `security` tool rather than for the aws-vault binary. Not tested on macOS in this project's CI.
 */
import { KeyNotFoundError, KeyringError } from "../errors.ts";
import type { Spawner } from "../runtime/runtime.ts";
import { goQuote } from "../util/go-format.ts";
import type { ItemMetadata, Keyring, KeyringItem } from "./keyring.ts";
import { type CallClock, MAX_PROMPT_WAIT_MS } from "./timeout.ts";
import { definedEnv } from "../util/env.ts";

export const KEYCHAIN_SERVICE = "aws-vault";
const SECURITY = "/usr/bin/security";
/** errSecItemNotFound, as `security` exits with it. */
const EXIT_NOT_FOUND = 44;

export interface KeychainOptions {
  /** --keychain (default "aws-vault"). */
  name: string;
  env: Readonly<Record<string, string | undefined>>;
  spawn: Spawner;
  clock?: CallClock;
  securityPath?: string;
}

/** One attribute value as `security` prints it: `"text"`, `0xHEX  "escaped"`, or `<NULL>`. */
export function parseSecurityValue(raw: string): string | undefined {
  const v = raw.trim();
  if (v === "<NULL>" || v === "") return undefined;
  const hex = /^0x([0-9A-Fa-f]+)(?:\s|$)/.exec(v);
  if (hex) return Buffer.from(hex[1] as string, "hex").toString("utf8").replace(/\0+$/, "");
  if (v.startsWith('"') && v.endsWith('"') && v.length >= 2) return v.slice(1, -1);
  return v;
}

/** The attributes block of `security find-generic-password` / `dump-keychain` output. */
export function parseSecurityAttributes(text: string): Map<string, string> {
  const attrs = new Map<string, string>();
  for (const line of text.split("\n")) {
    const m = /^\s+(?:"([^"]+)"|(0x[0-9A-Fa-f]+))\s*<[a-z0-9]+>=(.*)$/.exec(line);
    if (!m) {
      const top = /^class:\s*(.*)$/.exec(line);
      if (top) attrs.set("class", parseSecurityValue(top[1] as string) ?? "");
      continue;
    }
    const value = parseSecurityValue(m[3] as string);
    if (value !== undefined) attrs.set((m[1] ?? m[2]) as string, value);
  }
  return attrs;
}

/** Splits `security dump-keychain` output into one attribute map per item. */
export function parseDumpKeychain(text: string): Array<Map<string, string>> {
  return text
    .split(/^keychain: /m)
    .filter((block) => block.trim())
    .map(parseSecurityAttributes);
}

/** The password line `security find-generic-password -g` prints on stderr. */
export function parseSecurityPassword(stderr: string): Uint8Array | undefined {
  const line = stderr.split("\n").find((l) => l.startsWith("password:"));
  if (line === undefined) return undefined;
  const rest = line.slice("password:".length).trim();
  if (rest === "") return new Uint8Array();
  const hex = /^0x([0-9A-Fa-f]*)(?:\s|$)/.exec(rest);
  if (hex) return new Uint8Array(Buffer.from(hex[1] as string, "hex"));
  if (rest.startsWith('"') && rest.endsWith('"')) return new TextEncoder().encode(rest.slice(1, -1));
  return undefined;
}

/** `20230525083006Z` (keychain timedate) as a Date. */
export function parseKeychainDate(s: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z/.exec(s);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, se] = m.map(Number) as number[];
  return new Date(Date.UTC(y as number, (mo as number) - 1, d, h, mi, se));
}

/** Quotes one argument for `security -i`, which splits its command lines on blanks outside quotes. */
export function quoteSecurityArg(s: string): string {
  return `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

export class KeychainKeyring implements Keyring {
  readonly backend = "keychain";
  readonly #opts: KeychainOptions;

  constructor(opts: KeychainOptions) {
    this.#opts = opts;
  }

  get #file(): string {
    return this.#opts.name.endsWith(".keychain") ? this.#opts.name : `${this.#opts.name}.keychain`;
  }

  describeLocation(_key: string): string {
    return `macOS keychain ${goQuote(this.#file)}`;
  }

  open(): void {
    if (!this.#opts.spawn.which(this.#opts.securityPath ?? SECURITY)) {
      throw new KeyringError("the macOS `security` tool is not available", { hints: ["try --backend=file"] });
    }
  }

  /** Runs `security`; reads and first writes may show a macOS dialog, so the call clock stops meanwhile. */
  async #security(args: string[], opts: { input?: string; interactive?: boolean } = {}) {
    const env = definedEnv(this.#opts.env);
    const run = () =>
      this.#opts.spawn.output(this.#opts.securityPath ?? SECURITY, args, {
        env,
        stdio: "pipe-out",
        ...(opts.input !== undefined ? { input: opts.input } : {}),
        timeoutMs: MAX_PROMPT_WAIT_MS,
      });
    try {
      return opts.interactive && this.#opts.clock ? await this.#opts.clock.whileUserAnswers(run) : await run();
    } catch (e) {
      throw new KeyringError(`cannot run security: ${(e as Error).message}`, { cause: e });
    }
  }

  #fail(what: string, r: { code: number | null; stderr: string }): KeyringError {
    return new KeyringError(`keychain ${what} failed: ${r.stderr.trim() || `exit code ${String(r.code)}`}`);
  }

  async #find(key: string, withSecret: boolean) {
    const args = ["find-generic-password", "-a", key, "-s", KEYCHAIN_SERVICE];
    if (withSecret) args.push("-g");
    args.push(this.#file);
    const r = await this.#security(args, { interactive: withSecret });
    if (r.code === EXIT_NOT_FOUND || /could not be found/.test(r.stderr)) throw new KeyNotFoundError(key);
    if (r.code !== 0) throw this.#fail("read", r);
    return r;
  }

  async get(key: string): Promise<KeyringItem> {
    const r = await this.#find(key, true);
    const attrs = parseSecurityAttributes(r.stdout);
    const data = parseSecurityPassword(r.stderr);
    if (!data) throw new KeyringError(`keychain item ${goQuote(key)}: could not read its data`);
    return {
      key,
      data,
      label: attrs.get("0x00000007") ?? "",
      description: attrs.get("desc") ?? "",
      keychainNotTrustApplication: false,
      keychainNotSynchronizable: false,
    };
  }

  async getMetadata(key: string): Promise<ItemMetadata> {
    const attrs = parseSecurityAttributes((await this.#find(key, false)).stdout);
    const modified = parseKeychainDate(attrs.get("mdat") ?? "");
    return {
      label: attrs.get("0x00000007"),
      description: attrs.get("desc"),
      ...(modified ? { modificationTime: modified } : {}),
    };
  }

  async #ensureKeychain(): Promise<void> {
    const info = await this.#security(["show-keychain-info", this.#file]);
    if (info.code === 0) return;
    const made = await this.#security(["create-keychain", "-P", this.#file], { interactive: true });
    if (made.code !== 0) throw this.#fail(`creating ${this.#file}`, made);
  }

  async set(item: KeyringItem): Promise<void> {
    await this.#ensureKeychain();
    const args = ["add-generic-password", "-U", "-a", item.key, "-s", KEYCHAIN_SERVICE, "-l", item.label];
    if (item.description) args.push("-D", item.description);
    if (item.keychainNotTrustApplication) args.push("-T", "");
    args.push("-X", Buffer.from(item.data).toString("hex"), this.#file);
    const line = `${args.map(quoteSecurityArg).join(" ")}\n`;
    const r = await this.#security(["-i"], { input: line, interactive: true });
    if (r.code !== 0 || /error|SecKeychain/i.test(r.stderr)) throw this.#fail("write", r);
  }

  async remove(key: string): Promise<void> {
    const r = await this.#security(["delete-generic-password", "-a", key, "-s", KEYCHAIN_SERVICE, this.#file]);
    if (r.code === EXIT_NOT_FOUND || /could not be found/.test(r.stderr)) throw new KeyNotFoundError(key);
    if (r.code !== 0) throw this.#fail("remove", r);
  }

  async keys(): Promise<string[]> {
    const r = await this.#security(["dump-keychain", this.#file]);
    if (r.code !== 0) {
      if (/could not be found/.test(r.stderr)) return [];
      throw this.#fail("listing", r);
    }
    const keys = parseDumpKeychain(r.stdout)
      .filter((a) => a.get("class") === "genp" && a.get("svce") === KEYCHAIN_SERVICE)
      .map((a) => a.get("acct") ?? "");
    return [...new Set(keys)].sort();
  }
}
