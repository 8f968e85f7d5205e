import { KeyNotFoundError } from "../errors.ts";
import type { ItemMetadata, Keyring, KeyringItem } from "./keyring.ts";

/** An in-memory keyring for tests (aws-vault's ArrayKeyring). Keys are returned in sorted order. */
export class MemoryKeyring implements Keyring {
  readonly backend = "memory";
  readonly #items = new Map<string, { item: KeyringItem; mtime: Date }>();

  constructor(items: KeyringItem[] = []) {
    for (const item of items) this.#items.set(item.key, { item: cloneItem(item), mtime: new Date(0) });
  }

  async get(key: string): Promise<KeyringItem> {
    const entry = this.#items.get(key);
    if (!entry) throw new KeyNotFoundError(key);
    return cloneItem(entry.item);
  }

  async getMetadata(key: string): Promise<ItemMetadata> {
    const entry = this.#items.get(key);
    if (!entry) throw new KeyNotFoundError(key);
    return { label: entry.item.label, description: entry.item.description, modificationTime: entry.mtime };
  }

  async set(item: KeyringItem): Promise<void> {
    this.#items.set(item.key, { item: cloneItem(item), mtime: new Date() });
  }

  async remove(key: string): Promise<void> {
    if (!this.#items.delete(key)) throw new KeyNotFoundError(key);
  }

  async keys(): Promise<string[]> {
    return [...this.#items.keys()].sort();
  }
}

function cloneItem(item: KeyringItem): KeyringItem {
  return { ...item, data: new Uint8Array(item.data) };
}
