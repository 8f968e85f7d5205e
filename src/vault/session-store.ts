// Cached temporary credentials in the keyring (aws-vault's SessionKeyring).
import { getIfPresent, type Keyring, keysMatching, type ListingOptions, removeIfPresent } from "../keyring/keyring.ts";
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

  /**
   * The keys a lookup needs, from one listing: this session's (by its prefix) and the old sessions
   * to sweep. Only those are listed, so the file keyring reads a few files, not every item.
   */
  async #lookupKeys(lookup: SessionLookup, nowMs: number, opts?: ListingOptions): Promise<{ key: string | undefined; old: string[] }> {
    const prefix = sessionKeyPrefix(lookup.type, lookup.profileName, lookup.mfaSerial ?? "");
    const old: string[] = [];
    let key: string | undefined;
    for (const k of await keysMatching(this.keyring, (k) => k.startsWith(prefix) || isOldSessionKey(k, nowMs), opts)) {
      if (isOldSessionKey(k, nowMs)) old.push(k);
      else if (key === undefined && isCurrentSessionKey(k)) key = k;
    }
    return { key, old };
  }

  /**
   * The cached credentials for this session, or undefined (missing or unreadable). `recent`: the
   * keyring may answer from its previous listing (ListingOptions); never for the re-check under the lock.
   */
  async get(lookup: SessionLookup, opts?: ListingOptions): Promise<CachedSession | undefined> {
    const { key, old } = await this.#lookupKeys(lookup, this.now().getTime(), opts);
    await this.#remove(old);
    if (!key) return undefined;
    const session = parseSessionKey(key);
    if (!session) return undefined;
    const data = await getIfPresent(this.keyring, key);
    if (!data) return undefined;
    const credentials = decodeSessionCredentials(data);
    return credentials ? { key, session, credentials } : undefined;
  }

  async set(lookup: SessionLookup, creds: Credentials): Promise<void> {
    const { key: old, old: expired } = await this.#lookupKeys(lookup, this.now().getTime());
    await this.#remove(expired);
    const expiration = creds.expiration ?? this.now();
    const session: SessionKey = {
      type: lookup.type,
      profileName: lookup.profileName,
      mfaSerial: lookup.mfaSerial ?? "",
      expiration,
    };
    const key = formatSessionKey(session);
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

  /** Every current-format session, parsed (from key names: no item is read). */
  async list(): Promise<Array<{ key: string; session: SessionKey }>> {
    return sessionsIn(await keysMatching(this.keyring, isCurrentSessionKey));
  }

  /** Deletes legacy-format and expired sessions; returns how many. */
  async removeOldSessions(): Promise<number> {
    const nowMs = this.now().getTime();
    return this.#remove(await keysMatching(this.keyring, (k) => isOldSessionKey(k, nowMs)));
  }

  /** Removes these keys; returns how many this call removed (another process may have been first). */
  async #remove(keys: readonly string[]): Promise<number> {
    let removed = 0;
    for (const key of keys) if (await removeIfPresent(this.keyring, key)) removed++;
    return removed;
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

/** The current-format sessions among `keys`, parsed, in the same order. */
export function sessionsIn(keys: readonly string[]): Array<{ key: string; session: SessionKey }> {
  const out: Array<{ key: string; session: SessionKey }> = [];
  for (const key of keys) {
    const session = parseSessionKey(key);
    if (session) out.push({ key, session });
  }
  return out;
}
