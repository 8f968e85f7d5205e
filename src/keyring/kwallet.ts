/*
 * The kwallet backend: KDE Wallet over D-Bus (org.kde.kwalletd5 at /modules/kwalletd5), with
 * aws-vault's layout: wallet "aws-vault", app id "aws-vault", folder "aws-vault", entry key =
 * item key, entry value = the item JSON (file-format.ts encodeItem) as a QByteArray.
 *
 * Listed as available only on Linux with a session bus, DISABLE_KWALLET unset and kwalletd5
 * installed as a D-Bus service; `open()` then checks that the daemon answers.
 */
import { KeyNotFoundError, KeyringError } from "../errors.ts";
import { goQuote } from "../util/go-format.ts";
import { decodeItem, encodeItem } from "./file-format.ts";
import type { ItemMetadata, Keyring, KeyringItem } from "./keyring.ts";
import { DBusConnection, DBusError } from "./dbus.ts";
import { KWALLET_SERVICE, sessionBusAddress } from "./probe.ts";

export const KWALLET_PATH = "/modules/kwalletd5";
export const KWALLET_INTERFACE = "org.kde.KWallet";

export interface KWalletOptions {
  env: Readonly<Record<string, string | undefined>>;
  /** Wallet name (aws-vault: its ServiceName, "aws-vault"). */
  wallet?: string;
  appId?: string;
  folder?: string;
  connect?: () => Promise<DBusConnection>;
}

export class KWalletKeyring implements Keyring {
  readonly backend = "kwallet";
  readonly #opts: KWalletOptions;
  #conn: Promise<DBusConnection> | undefined;
  #handle = -1;

  constructor(opts: KWalletOptions) {
    this.#opts = opts;
  }

  get #wallet(): string {
    return this.#opts.wallet ?? "aws-vault";
  }
  get #appId(): string {
    return this.#opts.appId ?? "aws-vault";
  }
  get #folder(): string {
    return this.#opts.folder ?? "aws-vault";
  }

  describeLocation(_key: string): string {
    return `kwallet wallet ${goQuote(this.#wallet)}, folder ${goQuote(this.#folder)}`;
  }

  #connection(): Promise<DBusConnection> {
    this.#conn ??= (async () => {
      if (this.#opts.connect) return this.#opts.connect();
      const address = sessionBusAddress(this.#opts.env);
      if (!address) throw new KeyringError("no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set)");
      return DBusConnection.connect(address);
    })();
    this.#conn.catch(() => {
      this.#conn = undefined;
    });
    return this.#conn;
  }

  async #call(member: string, signature: string, body: unknown[]): Promise<unknown> {
    const conn = await this.#connection();
    try {
      const [out] = await conn.call({ destination: KWALLET_SERVICE, path: KWALLET_PATH, interface: KWALLET_INTERFACE, member, signature, body });
      return out;
    } catch (e) {
      if (e instanceof DBusError) {
        throw new KeyringError(`kwallet ${member} failed: ${e.message}`, {
          hints: ["is kwalletd5 running? try --backend=file"],
          cause: e,
        });
      }
      throw e;
    }
  }

  /** Opens the wallet (kwalletd may show its own unlock dialog); the handle is reused while open. */
  async #open(): Promise<number> {
    if (this.#handle >= 0 && (await this.#call("isOpen", "i", [this.#handle])) === true) return this.#handle;
    const handle = Number(await this.#call("open", "sxs", [this.#wallet, 0n, this.#appId]));
    if (handle < 0) {
      throw new KeyringError(`kwallet refused to open the wallet ${goQuote(this.#wallet)}`, {
        hints: ["allow aws-vault in the KDE Wallet dialog, or try --backend=file"],
      });
    }
    this.#handle = handle;
    return handle;
  }

  async open(): Promise<void> {
    const conn = await this.#connection().catch((e: unknown) => {
      throw new KeyringError(`cannot connect to the D-Bus session bus: ${(e as Error).message}`, { cause: e });
    });
    try {
      await conn.call({ destination: KWALLET_SERVICE, path: KWALLET_PATH, interface: KWALLET_INTERFACE, member: "isEnabled" });
    } catch (e) {
      throw new KeyringError(`kwalletd5 does not answer: ${(e as Error).message}`, {
        hints: ["start kwalletd5, set DISABLE_KWALLET=1 to skip it, or try --backend=file"],
        cause: e,
      });
    }
  }

  close(): void {
    void this.#conn?.then((c) => c.close()).catch(() => undefined);
    this.#conn = undefined;
  }

  async get(key: string): Promise<KeyringItem> {
    const h = await this.#open();
    if ((await this.#call("hasEntry", "isss", [h, this.#folder, key, this.#appId])) !== true) throw new KeyNotFoundError(key);
    const data = (await this.#call("readEntry", "isss", [h, this.#folder, key, this.#appId])) as Uint8Array;
    if (data.length === 0) throw new KeyNotFoundError(key);
    return decodeItem(data, `kwallet entry ${goQuote(key)}`);
  }

  async getMetadata(key: string): Promise<ItemMetadata> {
    const h = await this.#open();
    if ((await this.#call("hasEntry", "isss", [h, this.#folder, key, this.#appId])) !== true) throw new KeyNotFoundError(key);
    return {};
  }

  async set(item: KeyringItem): Promise<void> {
    const h = await this.#open();
    if ((await this.#call("hasFolder", "iss", [h, this.#folder, this.#appId])) !== true) {
      await this.#call("createFolder", "iss", [h, this.#folder, this.#appId]);
    }
    const rc = Number(
      await this.#call("writeEntry", "issays", [h, this.#folder, item.key, new TextEncoder().encode(encodeItem(item)), this.#appId]),
    );
    if (rc !== 0) throw new KeyringError(`kwallet writeEntry failed for ${goQuote(item.key)} (code ${rc})`);
  }

  async remove(key: string): Promise<void> {
    const h = await this.#open();
    if ((await this.#call("hasEntry", "isss", [h, this.#folder, key, this.#appId])) !== true) throw new KeyNotFoundError(key);
    const rc = Number(await this.#call("removeEntry", "isss", [h, this.#folder, key, this.#appId]));
    if (rc !== 0) throw new KeyringError(`kwallet removeEntry failed for ${goQuote(key)} (code ${rc})`);
  }

  async keys(): Promise<string[]> {
    const h = await this.#open();
    if ((await this.#call("hasFolder", "iss", [h, this.#folder, this.#appId])) !== true) return [];
    const entries = (await this.#call("entryList", "iss", [h, this.#folder, this.#appId])) as string[];
    return [...entries].sort();
  }
}
