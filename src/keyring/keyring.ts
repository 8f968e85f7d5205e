// The keyring interface, as in 99designs/keyring: a flat map of string keys to items.
// Every backend (memory, file, secret-service, pass, ...) implements it.

import { KeyNotFoundError } from "../errors.ts";

export interface KeyringItem {
  key: string;
  /** The item's payload (JSON for aws-vault items). Holds secrets: never log it. */
  data: Uint8Array;
  label: string;
  description: string;
  keychainNotTrustApplication: boolean;
  keychainNotSynchronizable: boolean;
}

export interface ItemMetadata {
  label?: string;
  description?: string;
  modificationTime?: Date;
}

export interface Keyring {
  /** The backend's name, e.g. "file". */
  readonly backend: string;
  /** Throws KeyNotFoundError when the key is absent. */
  get(key: string): Promise<KeyringItem>;
  /** Metadata without decrypting or prompting where the backend allows. */
  getMetadata(key: string): Promise<ItemMetadata>;
  set(item: KeyringItem): Promise<void>;
  /** Throws KeyNotFoundError when the key is absent. */
  remove(key: string): Promise<void>;
  keys(): Promise<string[]>;
  /**
   * `keys()` narrowed to the keys `match` accepts, same order. Optional: a backend implements it
   * when it can skip work for the others (the file keyring reads only the matching files).
   */
  keysMatching?(match: (key: string) => boolean, opts?: ListingOptions): Promise<string[]>;
  /** Throws a KeyringError when this backend cannot store an item under the key (a reserved name). */
  checkKey?(key: string): void;
  /** Where an item for this key lives, for messages ("the file ~/.awsvault/keys/x"). */
  describeLocation?(key: string): string;
}

export interface ListingOptions {
  /**
   * The caller accepts the answer of this process's previous listing, when it was taken moments
   * ago and nothing was written since (the file keyring: one `readdir` of 2,000 names, not two).
   * Never for a re-check that must see another process's write (the session cache under its lock).
   */
  recent?: boolean;
}

export function newItem(key: string, data: Uint8Array, label: string, description = ""): KeyringItem {
  return { key, data, label, description, keychainNotTrustApplication: false, keychainNotSynchronizable: false };
}

/** The keyring's keys that `match` accepts (`keys().filter(match)`), listed as cheaply as the backend allows. */
export async function keysMatching(keyring: Keyring, match: (key: string) => boolean, opts?: ListingOptions): Promise<string[]> {
  return keyring.keysMatching ? keyring.keysMatching(match, opts) : (await keyring.keys()).filter(match);
}

/** Whether the keyring lists `key` (as `keys().includes(key)`). */
export async function hasKey(keyring: Keyring, key: string): Promise<boolean> {
  return (await keysMatching(keyring, (k) => k === key)).length > 0;
}

/** Removes a key; false when it was not there (another process may have removed it first). */
export async function removeIfPresent(keyring: Keyring, key: string): Promise<boolean> {
  try {
    await keyring.remove(key);
    return true;
  } catch (e) {
    if (e instanceof KeyNotFoundError) return false;
    throw e;
  }
}

/** An item's data, or undefined when the key is not there (another process may have removed it). */
export async function getIfPresent(keyring: Keyring, key: string): Promise<Uint8Array | undefined> {
  try {
    return (await keyring.get(key)).data;
  } catch (e) {
    if (e instanceof KeyNotFoundError) return undefined;
    throw e;
  }
}
