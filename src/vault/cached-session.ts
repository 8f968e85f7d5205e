// The session cache decorator (aws-vault's CachedSessionProvider), plus what aws-vault lacks:
// concurrent invocations for one session, in this process or others, share one STS call (and so
// one MFA prompt), and a cached session is reused only while it covers the duration asked for.
import { mkdirPrivateSync } from "../runtime/mkdir.ts";
import { join } from "node:path";
import { KeyringError, WrongPassphraseError } from "../errors.ts";
import { formatGoDuration } from "../util/duration.ts";
import { nodeCrypto } from "../runtime/builtins.ts";
import { withFileLock } from "../runtime/lock.ts";
import { maskKeyId } from "../util/redact.ts";
import type { Credentials } from "./credentials.ts";
import type { CredentialsProvider, VaultDeps } from "./providers/provider.ts";
import { type CachedSession, type SessionLookup, SessionStore } from "./session-store.ts";

/** Waiting for another invocation may include that one's MFA prompt or SSO login. */
const LOCK_TIMEOUT_MS = 10 * 60 * 1000;
/** A session "covers" a requested duration if it was issued for at least this much less. */
const DURATION_SLACK_MS = 60 * 1000;

export interface CachedSessionOptions {
  /** When the user asked for a duration explicitly, a cached session must have been issued for it. */
  requiredDurationMs?: number;
}

export function cachedSessionProvider(
  deps: VaultDeps,
  lookup: SessionLookup,
  inner: CredentialsProvider,
  opts: CachedSessionOptions = {},
): CredentialsProvider {
  const store = new SessionStore(deps.keyring, () => deps.rt.now());
  const log = (m: string) => deps.rt.log.debug(m);
  let pending: Promise<Credentials> | undefined;
  // Whether the last retrieve was served from the keyring cache (for the audit log).
  let fromCache = false;

  /** The cached credentials if they may be reused; `why` hears the reason when they may not. */
  const usable = async (cached: CachedSession | undefined, why: (m: string) => void = log): Promise<Credentials | undefined> => {
    if (!cached) return undefined;
    const now = deps.rt.now();
    const exp = cached.credentials.expiration ?? cached.session.expiration;
    const left = exp.getTime() - now.getTime();
    if (left < deps.minTtlMs) {
      why(`cached session for ${lookup.profileName} expires in ${formatGoDuration(left)}, less than the minimum ${formatGoDuration(deps.minTtlMs)}: refreshing`);
      return undefined;
    }
    const required = opts.requiredDurationMs;
    if (required !== undefined && left + DURATION_SLACK_MS < required) {
      const issued = (await deps.keyring.getMetadata(cached.key).catch(() => undefined))?.modificationTime;
      const lifetime = issued ? exp.getTime() - issued.getTime() : left;
      if (lifetime + DURATION_SLACK_MS < required) {
        why(`cached session for ${lookup.profileName} was issued for ${formatGoDuration(lifetime)}, less than the ${formatGoDuration(required)} asked for: refreshing`);
        return undefined;
      }
    }
    log(`Re-using cached credentials ${maskKeyId(cached.credentials.accessKeyId)} from ${lookup.type}, expires in ${formatGoDuration(Math.trunc(left / 1000) * 1000)}`);
    return cached.credentials;
  };

  /**
   * The cached session, or undefined; `why` hears why an unreadable one is a miss. `recent`: the
   * first look may reuse the keyring's listing of moments ago; the re-check under the lock lists
   * afresh, so it sees a session another process stored while this one waited (one STS call, one MFA prompt).
   */
  const cachedSession = async (why: (m: string) => void = log, recent = false): Promise<CachedSession | undefined> => {
    try {
      return await store.get(lookup, recent ? { recent: true } : undefined);
    } catch (e) {
      // Like aws-vault, an unreadable (e.g. damaged) cached session is a miss: it is fetched again
      // and the new one replaces it. A wrong passphrase is not: every other item would fail too.
      if (!(e instanceof KeyringError) || e instanceof WrongPassphraseError) throw e;
      why(`cached session for ${lookup.profileName} is unreadable (${e.message}): replacing it`);
      return undefined;
    }
  };

  const fetchShared = async (): Promise<Credentials> => {
    // The reason for a refresh is logged once, under the lock, where the decision is final.
    const quiet = () => undefined;
    const hit = await usable(await cachedSession(quiet, true), quiet);
    fromCache = hit !== undefined;
    if (hit) return hit;
    mkdirPrivateSync(deps.lockDir);
    const lockName = nodeCrypto()
      .createHash("sha256")
      .update(`${deps.keyring.backend}\0${deps.keyring.describeLocation?.("") ?? ""}\0${lookup.type}\0${lookup.profileName}\0${lookup.mfaSerial ?? ""}`)
      .digest("hex")
      .slice(0, 32);
    return withFileLock(
      join(deps.lockDir, `${lockName}.lock`),
      async () => {
        // Another invocation may have refreshed the session while we waited for the lock.
        const fresh = await usable(await cachedSession());
        fromCache = fresh !== undefined;
        if (fresh) return fresh;
        const creds = await inner.retrieve();
        await store.set(lookup, creds);
        return creds;
      },
      { timeoutMs: LOCK_TIMEOUT_MS, sleep: (ms) => deps.rt.sleep(ms) },
    );
  };

  return {
    kind: inner.kind,
    inner,
    get fromCache() {
      return fromCache;
    },
    retrieve() {
      pending ??= fetchShared().finally(() => {
        pending = undefined;
      });
      return pending;
    },
  };
}
