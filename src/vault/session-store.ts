// Cached temporary credentials in the keyring (aws-vault's SessionKeyring).
import { getIfPresent, type Keyring, removeIfPresent } from "../keyring/keyring.ts";
import { formatIso8601 } from "../util/go-format.ts";
import { type Credentials, decodeSessionCredentials, encodeSessionCredentials } from "./credentials.ts";
import {
  formatSessionKey,
  isCurrentSessionKey,
  isOldSessionKey,
  parseSessionKey,
  type SessionKey,
  sessionKeyPrefix,
} from "./session-key.ts";

export interface SessionLookup {
  type: string;
  profileName: string;
  mfaSerial?: string;
}

export interface CachedSession {
  key: string;
  session: SessionKey;
  credentials: Credentials;
}

export class SessionStore {
  constructor(
    readonly keyring: Keyring,
    private readonly now: () => Date,
  ) {}

  async #findKey(lookup: SessionLookup, keys?: readonly string[]): Promise<string | undefined> {
    const prefix = sessionKeyPrefix(lookup.type, lookup.profileName, lookup.mfaSerial ?? "");
    return (keys ?? (await this.keyring.keys())).find((k) => k.startsWith(prefix) && isCurrentSessionKey(k));
  }

  /** The cached credentials for this session, or undefined (missing or unreadable). */
  async get(lookup: SessionLookup): Promise<CachedSession | undefined> {
    // One listing for both steps (a keyring of 2,000 items is listed once, not twice).
    const keys = await this.keyring.keys();
    const { old } = await this.#removeOld(keys);
    const key = await this.#findKey(lookup, old.size ? keys.filter((k) => !old.has(k)) : keys);
    if (!key) return undefined;
    const session = parseSessionKey(key);
    if (!session) return undefined;
    const data = await getIfPresent(this.keyring, key);
    if (!data) return undefined;
    const credentials = decodeSessionCredentials(data);
    return credentials ? { key, session, credentials } : undefined;
  }

  async set(lookup: SessionLookup, creds: Credentials): Promise<void> {
    await this.removeOldSessions();
    const expiration = creds.expiration ?? this.now();
    const session: SessionKey = {
      type: lookup.type,
      profileName: lookup.profileName,
      mfaSerial: lookup.mfaSerial ?? "",
      expiration,
    };
    const key = formatSessionKey(session);
    const old = await this.#findKey(lookup);
    await this.keyring.set({
      key,
      data: encodeSessionCredentials(creds),
      label: `aws-vault session for ${lookup.profileName} (expires ${formatIso8601(expiration)})`,
      description: "aws-vault session",
      keychainNotTrustApplication: false,
      keychainNotSynchronizable: false,
    });
    if (old && old !== key) await removeIfPresent(this.keyring, old);
  }

  /** Every current-format session, parsed. */
  async list(): Promise<Array<{ key: string; session: SessionKey }>> {
    const out: Array<{ key: string; session: SessionKey }> = [];
    for (const key of await this.keyring.keys()) {
      const session = parseSessionKey(key);
      if (session) out.push({ key, session });
    }
    return out;
  }

  /** Deletes legacy-format and expired sessions; returns how many. */
  async removeOldSessions(): Promise<number> {
    return (await this.#removeOld(await this.keyring.keys())).removed;
  }

  /** Of `keys`, deletes the legacy-format and expired sessions: those keys, and how many this call removed. */
  async #removeOld(keys: readonly string[]): Promise<{ old: Set<string>; removed: number }> {
    const now = this.now().getTime();
    const old = new Set<string>();
    let removed = 0;
    for (const key of keys) {
      if (!isOldSessionKey(key, now)) continue;
      old.add(key);
      if (await removeIfPresent(this.keyring, key)) removed++;
    }
    return { old, removed };
  }

  async removeForProfile(profileName: string): Promise<number> {
    let n = 0;
    for (const { key, session } of await this.list()) {
      if (session.profileName === profileName && (await removeIfPresent(this.keyring, key))) n++;
    }
    return n;
  }

  async removeAll(): Promise<number> {
    let n = 0;
    for (const { key } of await this.list()) if (await removeIfPresent(this.keyring, key)) n++;
    return n;
  }

}
