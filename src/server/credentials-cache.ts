// The credentials a server hands out, kept in memory and refreshed ahead of expiry. However many
// requests arrive at once, at most one refresh runs (one STS call, one MFA prompt); the provider
// underneath (the same cached-session chain `exec` uses) handles the keyring cache and the
// cross-process lock.
import type { Credentials } from "../vault/credentials.ts";
import type { CredentialsProvider } from "../vault/providers/provider.ts";
import type { CredentialServerOptions } from "./middleware.ts";

export interface CachedCredentials {
  readonly credentials: Credentials;
  /** When this process received them (the IMDS `LastUpdated`). */
  readonly fetchedAt: Date;
}

export interface CredentialsCacheOptions {
  now(): Date;
  /** Refresh when less than this is left (AWS_MIN_TTL, default 5m). */
  windowMs: number;
  /** Called once per failed refresh (the server answers the request with an error as well). */
  onRefreshError?: (e: unknown) => void;
  log?: (message: string) => void;
}

/** Below this much validity, requests wait for the refresh instead of getting the old credentials. */
const BLOCKING_MARGIN_MS = 60_000;
/** Credentials issued for less than the window are not refreshed more often than this. */
const MIN_REFRESH_INTERVAL_MS = 30_000;
/** After a failed refresh: with valid credentials, wait this long before trying again in the background. */
const BACKGROUND_RETRY_MS = 10_000;
/** After a failed refresh and nothing to serve: requests in this interval get the same error. */
const FAILURE_MEMO_MS = 1_000;

export class CredentialsCache {
  readonly #provider: CredentialsProvider;
  readonly #opts: CredentialsCacheOptions;
  #current: CachedCredentials | undefined;
  #pending: Promise<CachedCredentials> | undefined;
  #failure: { at: number; error: unknown } | undefined;
  #refreshes = 0;

  constructor(provider: CredentialsProvider, opts: CredentialsCacheOptions) {
    this.#provider = provider;
    this.#opts = opts;
  }

  /** How many times the provider was asked (for tests and the debug log). */
  get refreshes(): number {
    return this.#refreshes;
  }

  /**
   * The cached credentials when get() would hand them out at once with nothing else to do (fresh:
   * outside the refresh window), else undefined. Lets a server answer without a promise round-trip.
   */
  fresh(): CachedCredentials | undefined {
    const cur = this.#current;
    return cur && timeLeft(cur, this.#opts.now().getTime()) >= this.#opts.windowMs ? cur : undefined;
  }

  /** The credentials to serve now: the cached ones while fresh, else a shared refresh. */
  get(): Promise<CachedCredentials> {
    const now = this.#opts.now().getTime();
    const cur = this.#current;
    if (cur) {
      const left = timeLeft(cur, now);
      if (left >= this.#opts.windowMs) return Promise.resolve(cur);
      if (left > 0) {
        // Inside the refresh window but still valid.
        const recentlyFetched = now - cur.fetchedAt.getTime() < MIN_REFRESH_INTERVAL_MS;
        const recentlyFailed = this.#failure !== undefined && now - this.#failure.at < BACKGROUND_RETRY_MS;
        if (!this.#pending && (recentlyFetched || recentlyFailed)) return Promise.resolve(cur);
        const refresh = this.#refresh();
        if (left >= Math.min(BLOCKING_MARGIN_MS, this.#opts.windowMs)) {
          // Valid for a while yet: answer at once; the refresh runs in the background.
          refresh.catch(() => undefined);
          return Promise.resolve(cur);
        }
        return refresh.catch((e: unknown) => {
          if (timeLeft(cur, this.#opts.now().getTime()) > 0) return cur;
          throw e;
        });
      }
    }
    if (!this.#pending && this.#failure && now - this.#failure.at < FAILURE_MEMO_MS) {
      return Promise.reject(this.#failure.error);
    }
    return this.#refresh();
  }

  #refresh(): Promise<CachedCredentials> {
    this.#pending ??= this.#fetch().finally(() => {
      this.#pending = undefined;
    });
    return this.#pending;
  }

  async #fetch(): Promise<CachedCredentials> {
    this.#refreshes++;
    try {
      const credentials = await this.#provider.retrieve();
      const fresh: CachedCredentials = { credentials, fetchedAt: this.#opts.now() };
      this.#current = fresh;
      this.#failure = undefined;
      this.#opts.log?.(
        credentials.expiration
          ? `serving credentials that expire at ${credentials.expiration.toISOString()}`
          : "serving credentials that do not expire",
      );
      return fresh;
    } catch (e) {
      this.#failure = { at: this.#opts.now().getTime(), error: e };
      this.#opts.onRefreshError?.(e);
      throw e;
    }
  }
}

function timeLeft(c: CachedCredentials, now: number): number {
  const exp = c.credentials.expiration;
  return exp === undefined ? Number.POSITIVE_INFINITY : exp.getTime() - now;
}

/**
 * The cache a server starts with. A failure of the fetch made while starting is the caller's to
 * report; refresh failures after `started()` go to onRefreshError.
 */
export function serverCredentialsCache(o: CredentialServerOptions): { cache: CredentialsCache; started(): void } {
  let running = false;
  const cache = new CredentialsCache(o.provider, {
    now: o.now,
    windowMs: o.windowMs,
    onRefreshError: (e) => {
      if (running) o.onRefreshError?.(e);
    },
    ...(o.debug ? { log: o.debug } : {}),
  });
  return { cache, started: () => void (running = true) };
}
