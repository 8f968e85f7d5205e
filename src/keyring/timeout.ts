// Every call into an OS keyring goes through a deadline (gh's internal/keyring does the same with
// 3 s): a hung D-Bus daemon, gpg-agent or `security` process becomes a KeyringError with a hint
// instead of a hang. The clock stops while the user answers a desktop prompt (a secret-service
// unlock dialog), because a person typing a password is not a hung daemon.
import { KeyringError } from "../errors.ts";
import { formatGoDuration } from "../util/duration.ts";
import type { ItemMetadata, Keyring, KeyringItem } from "./keyring.ts";

export const DEFAULT_KEYRING_TIMEOUT_MS = 10_000;
/** A desktop prompt left open longer than this is treated as abandoned. */
export const MAX_PROMPT_WAIT_MS = 5 * 60_000;

/**
 * Shared by one backend's calls: `whileUserAnswers(work)` stops every pending call's clock until
 * `work` settles. A deadline that passes while stopped is re-armed for a full period afterwards.
 */
export class CallClock {
  #paused = 0;
  #resumeWaiters: Array<() => void> = [];

  get paused(): boolean {
    return this.#paused > 0;
  }

  async whileUserAnswers<T>(work: () => Promise<T>): Promise<T> {
    this.#paused++;
    try {
      return await work();
    } finally {
      this.#paused--;
      if (this.#paused === 0) {
        const waiters = this.#resumeWaiters;
        this.#resumeWaiters = [];
        for (const w of waiters) w();
      }
    }
  }

  /** Resolves when no prompt is open (immediately if none is). */
  resumed(): Promise<void> {
    if (this.#paused === 0) return Promise.resolve();
    return new Promise((resolve) => this.#resumeWaiters.push(resolve));
  }
}

/** A backend call that did not finish in time. */
export class KeyringTimeoutError extends KeyringError {}

export function keyringTimeoutError(backend: string, ms: number, extraHints: string[] = []): KeyringError {
  return new KeyringTimeoutError(`${backend} keyring did not answer within ${formatGoDuration(ms)}`, {
    hints: ["is the daemon running? try --backend=file", ...extraHints],
  });
}

/** Rejects with the backend's timeout error unless `work` settles within `ms` of unpaused time. */
export function withDeadline<T>(
  work: Promise<T>,
  opts: { backend: string; ms: number; clock?: CallClock; hints?: string[] },
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let settled = false;
    const arm = () => {
      timer = setTimeout(() => {
        if (settled) return;
        if (opts.clock?.paused) {
          void opts.clock.resumed().then(() => {
            if (!settled) arm();
          });
          return;
        }
        settled = true;
        reject(keyringTimeoutError(opts.backend, opts.ms, opts.hints));
      }, opts.ms);
    };
    arm();
    work.then(
      (v) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

export interface TimeoutOptions {
  /** The backend's name, used in the error ("secret-service keyring did not answer within 10s"). */
  backend: string;
  ms: number;
  clock?: CallClock;
  hints?: string[];
}

/** Wraps each Keyring method in withDeadline. describeLocation is synchronous and passes through. */
export class TimeoutKeyring implements Keyring {
  readonly backend: string;
  readonly #inner: Keyring;
  readonly #opts: TimeoutOptions;

  constructor(inner: Keyring, opts: TimeoutOptions) {
    this.#inner = inner;
    this.#opts = opts;
    this.backend = inner.backend;
  }

  /** The wrapped backend (tests and migrate-backend use it to tell backends apart). */
  get inner(): Keyring {
    return this.#inner;
  }

  #guard<T>(work: () => Promise<T>): Promise<T> {
    let started: Promise<T>;
    try {
      started = work();
    } catch (e) {
      started = Promise.reject(e);
    }
    return withDeadline(started, this.#opts);
  }

  get(key: string): Promise<KeyringItem> {
    return this.#guard(() => this.#inner.get(key));
  }

  getMetadata(key: string): Promise<ItemMetadata> {
    return this.#guard(() => this.#inner.getMetadata(key));
  }

  set(item: KeyringItem): Promise<void> {
    return this.#guard(() => this.#inner.set(item));
  }

  remove(key: string): Promise<void> {
    return this.#guard(() => this.#inner.remove(key));
  }

  keys(): Promise<string[]> {
    return this.#guard(() => this.#inner.keys());
  }

  describeLocation(key: string): string {
    return this.#inner.describeLocation?.(key) ?? this.#inner.backend;
  }
}
