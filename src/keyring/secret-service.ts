/*
 * The secret-service backend (freedesktop Secret Service over D-Bus: gnome-keyring, KeePassXC,
 * ksecretd), with aws-vault's layout so an existing aws-vault keyring is read as is:
 *
 *   collection  "awsvault" at /org/freedesktop/secrets/collection/awsvault (--secret-service-collection)
 *   item        label = key, attributes {"profile": key}, content type application/json,
 *               secret = the item JSON (file-format.ts encodeItem), written with replace=true
 *
 * Unlike aws-vault, a missing collection that cannot be created without a desktop prompt (a
 * headless gnome-keyring, where aws-vault fails with `Object does not exist at path "/"`) is not an
 * error: items go to the default collection (normally "login"), tagged with one more attribute
 * {"application": "aws-vault"} so that they are told apart from other programs' items, and the
 * backend says so through `notice`. Reads look in both collections, the aws-vault one first.
 *
 * The D-Bus client is dbus.ts.
 */
import { KeyNotFoundError, KeyringError } from "../errors.ts";
import { goQuote } from "../util/go-format.ts";
import { type CallOptions, DBusConnection, DBusError, getProperty, Variant } from "./dbus.ts";
import { sessionBusAddress } from "./probe.ts";
import { decodeItem, encodeItem } from "./file-format.ts";
import type { ItemMetadata, Keyring, KeyringItem } from "./keyring.ts";
import { type CallClock, MAX_PROMPT_WAIT_MS } from "./timeout.ts";

// ---------------------------------------------------------------------------------------------
// The Secret Service backend
// ---------------------------------------------------------------------------------------------

const SECRETS = "org.freedesktop.secrets";
const SERVICE_PATH = "/org/freedesktop/secrets";
const COLLECTION_PREFIX = `${SERVICE_PATH}/collection/`;
const I_SERVICE = "org.freedesktop.Secret.Service";
const I_COLLECTION = "org.freedesktop.Secret.Collection";
const I_ITEM = "org.freedesktop.Secret.Item";
const I_PROMPT = "org.freedesktop.Secret.Prompt";
/** Marks our items in a collection shared with other programs (the fallback collection). */
export const FALLBACK_MARK: readonly [string, string] = ["application", "aws-vault"];

/** gnome-keyring escapes collection names in object paths as `_XX` (hex); aws-vault decodes them so. */
export function decodeObjectPathName(src: string): string {
  let out = "";
  for (let i = 0; i < src.length; i++) {
    if (src[i] !== "_") {
      out += src[i];
      continue;
    }
    const hex = src.slice(i + 1, i + 3);
    if (!/^[0-9a-fA-F]{2}$/.test(hex)) return src;
    out += String.fromCharCode(parseInt(hex, 16));
    i += 2;
  }
  return out;
}

/** The collection name shown to users: the decoded last path segment ("login", "awsvault"). */
export function collectionName(path: string): string {
  return decodeObjectPathName(path.startsWith(COLLECTION_PREFIX) ? path.slice(COLLECTION_PREFIX.length) : path);
}

export interface SecretServiceOptions {
  env: Readonly<Record<string, string | undefined>>;
  /** The aws-vault collection (--secret-service-collection, default "awsvault"). */
  collection: string;
  /** Tells the user something they should know (where an item went). */
  notice?: (message: string) => void;
  log?: (message: string) => void;
  /** Stops the call timeout while a desktop prompt is open. */
  clock?: CallClock;
  /** Connects to the bus (tests may inject); default: the session bus from env. */
  connect?: () => Promise<DBusConnection>;
}

interface Located {
  path: string;
  collection: string;
}

export class SecretServiceKeyring implements Keyring {
  readonly backend = "secret-service";
  readonly #opts: SecretServiceOptions;
  #conn: Promise<{ conn: DBusConnection; session: string }> | undefined;
  /** Where each key was last seen or written, for describeLocation. */
  readonly #placed = new Map<string, string>();
  #noticeGiven = false;

  constructor(opts: SecretServiceOptions) {
    this.#opts = opts;
  }

  /** Connects and opens a session; fails clearly when no Secret Service answers. */
  async open(): Promise<void> {
    await this.#connection();
  }

  close(): void {
    void this.#conn?.then(({ conn }) => conn.close()).catch(() => undefined);
    this.#conn = undefined;
  }

  describeLocation(key: string): string {
    return `secret-service collection ${goQuote(this.#placed.get(key) ?? this.#opts.collection)}`;
  }

  #connection(): Promise<{ conn: DBusConnection; session: string }> {
    this.#conn ??= (async () => {
      const connect =
        this.#opts.connect ??
        (() => {
          const address = sessionBusAddress(this.#opts.env);
          if (!address) {
            throw new KeyringError("no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set)", {
              hints: ["the secret-service backend needs a desktop session or a dbus-daemon; try --backend=file"],
            });
          }
          return DBusConnection.connect(address);
        });
      let conn: DBusConnection;
      try {
        conn = await connect();
      } catch (e) {
        if (e instanceof KeyringError) throw e;
        throw new KeyringError(`cannot connect to the D-Bus session bus: ${(e as Error).message}`, { cause: e });
      }
      try {
        const [, session] = await conn.call({
          destination: SECRETS,
          path: SERVICE_PATH,
          interface: I_SERVICE,
          member: "OpenSession",
          signature: "sv",
          body: ["plain", new Variant("s", "")],
        });
        return { conn, session: String(session) };
      } catch (e) {
        conn.close();
        throw new KeyringError(`no Secret Service answers on the session bus: ${(e as Error).message}`, {
          hints: ["start gnome-keyring-daemon (or another Secret Service provider), or try --backend=file"],
          cause: e,
        });
      }
    })();
    this.#conn.catch(() => {
      this.#conn = undefined;
    });
    return this.#conn;
  }

  async #call(o: Omit<CallOptions, "destination">): Promise<unknown[]> {
    const { conn } = await this.#connection();
    try {
      return await conn.call({ destination: SECRETS, ...o });
    } catch (e) {
      if (e instanceof DBusError) {
        throw new KeyringError(`secret-service ${o.member} failed: ${e.message}`, { cause: e });
      }
      throw e;
    }
  }

  async #prop(path: string, iface: string, name: string): Promise<unknown> {
    const { conn } = await this.#connection();
    return getProperty(conn, SECRETS, path, iface, name);
  }

  /** The aws-vault collection's path, if it exists (matched like aws-vault: decoded path). */
  async #ownCollection(): Promise<string | undefined> {
    const paths = (await this.#prop(SERVICE_PATH, I_SERVICE, "Collections")) as string[];
    const want = `${COLLECTION_PREFIX}${this.#opts.collection}`;
    return paths.find((p) => decodeObjectPathName(p) === want || p === want);
  }

  /** The default collection (alias "default"), when there is one other than the aws-vault collection. */
  async #fallbackCollection(own: string | undefined): Promise<string | undefined> {
    const [path] = await this.#call({ path: SERVICE_PATH, interface: I_SERVICE, member: "ReadAlias", signature: "s", body: ["default"] });
    const p = String(path);
    if (p === "/" || p === own) return undefined;
    return p;
  }

  /** The collections to read, aws-vault's first, each with the attributes that find our items in it. */
  async #readable(): Promise<Array<{ path: string; marked: boolean }>> {
    const own = await this.#ownCollection();
    const fallback = await this.#fallbackCollection(own);
    const out: Array<{ path: string; marked: boolean }> = [];
    if (own) out.push({ path: own, marked: false });
    if (fallback) out.push({ path: fallback, marked: true });
    return out;
  }

  async #search(collection: string, attrs: Array<[string, string]>): Promise<string[]> {
    const [items] = await this.#call({ path: collection, interface: I_COLLECTION, member: "SearchItems", signature: "a{ss}", body: [attrs] });
    return (items as string[]).filter((p) => p !== "/");
  }

  async #find(key: string): Promise<Located[]> {
    const found: Located[] = [];
    for (const c of await this.#readable()) {
      const attrs: Array<[string, string]> = [["profile", key]];
      if (c.marked) attrs.push([...FALLBACK_MARK]);
      for (const path of await this.#search(c.path, attrs)) found.push({ path, collection: collectionName(c.path) });
    }
    return found;
  }

  /** Runs a Secret Service prompt (unlock or create) and returns its result, or undefined if dismissed. */
  async #prompt(promptPath: string, what: string): Promise<Variant | undefined> {
    const { conn } = await this.#connection();
    const dismiss = () =>
      conn.call({ destination: SECRETS, path: promptPath, interface: I_PROMPT, member: "Dismiss" }).catch(() => undefined);
    if (!this.#opts.env.DISPLAY && !this.#opts.env.WAYLAND_DISPLAY) {
      this.#opts.log?.(`[secret-service] ${what} needs a desktop prompt, and there is no display: not asking`);
      await dismiss();
      return undefined;
    }
    const run = () =>
      conn.held(
        () =>
          new Promise<Variant | undefined>((resolve, reject) => {
            let unsubscribe: (() => void) | undefined;
            const timer = setTimeout(() => {
              unsubscribe?.();
              void dismiss();
              resolve(undefined);
            }, MAX_PROMPT_WAIT_MS);
            conn
              .subscribe({ path: promptPath, interface: I_PROMPT, member: "Completed" }, (m) => {
                clearTimeout(timer);
                unsubscribe?.();
                const [dismissed, result] = m.body as [boolean, Variant];
                resolve(dismissed ? undefined : result);
              })
              .then((u) => {
                unsubscribe = u;
                return conn.call({ destination: SECRETS, path: promptPath, interface: I_PROMPT, member: "Prompt", signature: "s", body: [""] });
              })
              .catch((e: unknown) => {
                clearTimeout(timer);
                unsubscribe?.();
                reject(e instanceof Error ? e : new Error(String(e)));
              });
          }),
      );
    this.#opts.log?.(`[secret-service] ${what}: waiting for the desktop prompt`);
    return this.#opts.clock ? this.#opts.clock.whileUserAnswers(run) : run();
  }

  async #ensureUnlocked(paths: string[], iface: string, what: string): Promise<void> {
    const locked: string[] = [];
    for (const p of paths) if ((await this.#prop(p, iface, "Locked")) === true) locked.push(p);
    if (locked.length === 0) return;
    const [, prompt] = await this.#call({ path: SERVICE_PATH, interface: I_SERVICE, member: "Unlock", signature: "ao", body: [locked] });
    if (String(prompt) === "/") return;
    if ((await this.#prompt(String(prompt), `unlocking ${what}`)) === undefined) {
      throw new KeyringError(`the secret-service ${what} is locked`, {
        hints: ["unlock it (for example in Seahorse, or with gnome-keyring-daemon --unlock) and try again, or use --backend=file"],
      });
    }
  }

  async get(key: string): Promise<KeyringItem> {
    const [hit] = await this.#find(key);
    if (!hit) throw new KeyNotFoundError(key);
    await this.#ensureUnlocked([hit.path], I_ITEM, `collection ${goQuote(hit.collection)}`);
    const { session } = await this.#connection();
    const [secret] = await this.#call({ path: hit.path, interface: I_ITEM, member: "GetSecret", signature: "o", body: [session] });
    const [, , value] = secret as [string, Uint8Array, Uint8Array, string];
    this.#placed.set(key, hit.collection);
    return decodeItem(value, `secret-service item ${goQuote(key)}`);
  }

  async getMetadata(key: string): Promise<ItemMetadata> {
    const [hit] = await this.#find(key);
    if (!hit) throw new KeyNotFoundError(key);
    const modified = await this.#prop(hit.path, I_ITEM, "Modified").catch(() => undefined);
    return typeof modified === "bigint" && modified > 0n ? { modificationTime: new Date(Number(modified) * 1000) } : {};
  }

  /** Creates the aws-vault collection if the service allows it without a prompt (or the user accepts one). */
  async #createOwnCollection(): Promise<string | undefined> {
    const label = new Variant("s", this.#opts.collection);
    let collection: string;
    let prompt: string;
    try {
      const out = await this.#call({
        path: SERVICE_PATH,
        interface: I_SERVICE,
        member: "CreateCollection",
        signature: "a{sv}s",
        body: [[[`${I_COLLECTION}.Label`, label]], ""],
      });
      [collection, prompt] = out.map(String) as [string, string];
    } catch (e) {
      this.#opts.log?.(`[secret-service] cannot create collection ${this.#opts.collection}: ${(e as Error).message}`);
      return undefined;
    }
    if (prompt === "/") return collection !== "/" ? collection : undefined;
    const result = await this.#prompt(prompt, `creating collection ${goQuote(this.#opts.collection)}`);
    const path = result ? String(result.value) : "/";
    return path !== "/" ? path : undefined;
  }

  async set(item: KeyringItem): Promise<void> {
    let own = await this.#ownCollection();
    let found: string | undefined = own;
    let marked = false;
    if (!own) {
      const fallback = await this.#fallbackCollection(undefined);
      // Once our items live in the fallback collection, don't ask to create the collection again.
      const settled = fallback ? (await this.#search(fallback, [[...FALLBACK_MARK]])).length > 0 : false;
      if (!settled) own = await this.#createOwnCollection();
      found = own ?? fallback;
      marked = !own;
    }
    if (!found) {
      throw new KeyringError(`the secret-service collection ${goQuote(this.#opts.collection)} does not exist and cannot be created`, {
        hints: ["create it (for example in Seahorse), or try --backend=file"],
      });
    }
    const target: string = found;
    await this.#ensureUnlocked([target], I_COLLECTION, `collection ${goQuote(collectionName(target))}`);
    const { session } = await this.#connection();
    const attrs: Array<[string, string]> = [["profile", item.key]];
    if (marked) attrs.push([...FALLBACK_MARK]);
    await this.#call({
      path: target,
      interface: I_COLLECTION,
      member: "CreateItem",
      signature: "a{sv}(oayays)b",
      body: [
        [
          [`${I_ITEM}.Label`, new Variant("s", item.key)],
          [`${I_ITEM}.Attributes`, new Variant("a{ss}", attrs)],
        ],
        [session, new Uint8Array(), new TextEncoder().encode(encodeItem(item)), "application/json"],
        true,
      ],
    });
    const where = collectionName(target);
    this.#placed.set(item.key, where);
    if (marked) {
      const why = `collection ${goQuote(this.#opts.collection)} does not exist and cannot be created without a desktop prompt`;
      // Caches aws-vault manages itself (sessions, OIDC tokens) carry a description; users' own
      // credentials do not. Tell the user about the latter, once per process.
      if (!item.description && !this.#noticeGiven) {
        this.#noticeGiven = true;
        this.#opts.notice?.(`stored in secret-service collection ${goQuote(where)} (${why})`);
      } else {
        this.#opts.log?.(`[secret-service] stored ${item.key} in collection ${where} (${why})`);
      }
    } else if (own) {
      // A copy left in the fallback collection from before the aws-vault collection existed is stale.
      const fallback = await this.#fallbackCollection(own);
      if (fallback) {
        for (const stale of await this.#search(fallback, [["profile", item.key], [...FALLBACK_MARK]])) {
          await this.#call({ path: stale, interface: I_ITEM, member: "Delete" }).catch(() => undefined);
        }
      }
    }
  }

  async remove(key: string): Promise<void> {
    const hits = await this.#find(key);
    if (hits.length === 0) throw new KeyNotFoundError(key);
    for (const hit of hits) {
      const [prompt] = await this.#call({ path: hit.path, interface: I_ITEM, member: "Delete" });
      if (String(prompt) !== "/" && (await this.#prompt(String(prompt), `deleting ${goQuote(key)}`)) === undefined) {
        throw new KeyringError(`the secret-service item ${goQuote(key)} was not deleted (the prompt was dismissed)`);
      }
    }
    this.#placed.delete(key);
  }

  async keys(): Promise<string[]> {
    const keys = new Set<string>();
    for (const c of await this.#readable()) {
      if (!c.marked) {
        // aws-vault lists the labels of every item in its collection.
        await this.#ensureUnlocked([c.path], I_COLLECTION, `collection ${goQuote(collectionName(c.path))}`);
        const items = (await this.#prop(c.path, I_COLLECTION, "Items")) as string[];
        for (const p of items) {
          const label = await this.#prop(p, I_ITEM, "Label").catch(() => undefined);
          if (typeof label === "string") keys.add(label);
        }
      } else {
        for (const p of await this.#search(c.path, [[...FALLBACK_MARK]])) {
          const attrs = (await this.#prop(p, I_ITEM, "Attributes").catch(() => [])) as Array<[string, string]>;
          const profile = attrs.find(([k]) => k === "profile")?.[1];
          if (profile !== undefined) keys.add(profile);
        }
      }
    }
    return [...keys].sort();
  }
}
