// Backend discovery and opening, in aws-vault's order (wincred, keychain, secret-service, kwallet,
// keyctl, pass, file). Every OS backend is wrapped in a call timeout (timeout.ts) and probed when
// opened, so a backend that cannot work fails here, with the reason and the alternatives.
import { accessSync, constants, statSync } from "node:fs";
import { delimiter, join } from "node:path";
import { KeyringError } from "../errors.ts";
import { nodeOs } from "../runtime/builtins.ts";
import type { Spawner } from "../runtime/runtime.ts";
import { tryParseGoDuration } from "../util/duration.ts";
import type { Secret } from "../util/secret.ts";
import { AgentKeyring, type AgentSettings } from "./agent.ts";
import { FileKeyring, type PassphraseSource } from "./file.ts";
import type { Keyring } from "./keyring.ts";
import { kwalletInstalled, sessionBusAddress } from "./probe.ts";
import type { WinCredKeyring } from "./wincred.ts";
import { CallClock, DEFAULT_KEYRING_TIMEOUT_MS, KeyringTimeoutError, TimeoutKeyring, withDeadline } from "./timeout.ts";

/** Only when HOME is unset. */
const osHomedir = (): string => nodeOs().homedir();

export const BACKEND_ORDER = ["wincred", "keychain", "secret-service", "kwallet", "keyctl", "pass", "file"] as const;
export type BackendName = (typeof BACKEND_ORDER)[number];

export function isBackendName(name: string): name is BackendName {
  return (BACKEND_ORDER as readonly string[]).includes(name);
}

export interface KeyringSettings {
  backend: string;
  fileDir: string;
  passphrase: PassphraseSource;
  keychainName: string;
  secretServiceCollection: string;
  passDir?: string;
  passCmd?: string;
  passPrefix?: string;
  now: () => Date;
  random: (n: number) => Uint8Array;
  log: (message: string) => void;
  /** The environment OS backends and their helper programs see (rt.env). Needed by every OS backend. */
  env?: Readonly<Record<string, string | undefined>>;
  homedir?: string;
  /** Runs pass, keyctl, security and cmdkey. Needed by those backends. */
  spawn?: Spawner;
  /** Deadline for each OS backend call (default 10 s). */
  timeoutMs?: number;
  /** A one-line message for the user (where an item went), printed as `aws-vault: <message>`. */
  notice?: (message: string) => void;
  /** The file keyring's agent (keyring/agent.ts); absent or mode "off": no agent. */
  agent?: AgentSettings;
}

function onPath(cmd: string, env: Readonly<Record<string, string | undefined>>): boolean {
  const candidates = cmd.includes("/") ? [cmd] : (env.PATH ?? "").split(delimiter).filter(Boolean).map((d) => join(d, cmd));
  return candidates.some((p) => {
    try {
      accessSync(p, constants.X_OK);
      return statSync(p).isFile();
    } catch {
      return false;
    }
  });
}

/**
 * Backends usable on this machine, most preferred first; the first is the --backend default.
 * As in aws-vault: wincred on Windows, keychain on macOS, secret-service (and kwallet, unless
 * DISABLE_KWALLET=1) on Linux with a D-Bus session bus. Unlike aws-vault, kwallet also needs
 * kwalletd5 installed, and keyctl and pass need their programs on PATH: a backend that cannot
 * possibly work must not become the default.
 */
export function availableBackends(env: Readonly<Record<string, string | undefined>>, platform: string): string[] {
  const out: string[] = [];
  if (platform === "win32") out.push("wincred");
  if (platform === "darwin") out.push("keychain");
  if (platform === "linux" || platform === "freebsd") {
    if (sessionBusAddress(env)) {
      out.push("secret-service");
      if (env.DISABLE_KWALLET !== "1" && kwalletInstalled(env)) out.push("kwallet");
    }
  }
  if (platform === "linux" && onPath("keyctl", env)) out.push("keyctl");
  if (platform !== "win32" && onPath(env.AWS_VAULT_PASS_CMD || "pass", env)) out.push("pass");
  out.push("file");
  return out;
}

/** Expands a leading `~/` (and `~` alone) the way aws-vault's keyring does. */
export function expandTilde(path: string, home: string): string {
  if (path === "~") return home || osHomedir();
  if (path.startsWith("~/")) return join(home || osHomedir(), path.slice(2));
  return path;
}

export function defaultFileDir(home: string): string {
  return join(home, ".awsvault", "keys");
}

/** AWS_VAULT_KEYRING_TIMEOUT (a Go duration such as "30s"): for slow pinentry dialogs, and for tests. */
export function timeoutFromEnv(env: Readonly<Record<string, string | undefined>>): number | undefined {
  const raw = env.AWS_VAULT_KEYRING_TIMEOUT;
  if (!raw) return undefined;
  const ms = tryParseGoDuration(raw);
  if (ms === undefined || ms <= 0) {
    throw new KeyringError(`AWS_VAULT_KEYRING_TIMEOUT: invalid duration ${JSON.stringify(raw)}`, { hints: ['use a duration such as "30s" or "2m"'] });
  }
  return ms;
}

interface Openable extends Keyring {
  open?(): Promise<void> | void;
}

function need<T>(value: T | undefined, what: string, backend: string): T {
  if (value === undefined) throw new KeyringError(`the ${backend} backend needs ${what} (internal wiring is missing)`);
  return value;
}

/** Builds the chosen OS backend; each is imported only when chosen, to keep start-up light. */
async function construct(s: KeyringSettings, clock: CallClock): Promise<Openable> {
  const env = s.env ?? {};
  const home = s.homedir ?? env.HOME ?? osHomedir();
  const spawn = () => need(s.spawn, "a process spawner", s.backend);
  switch (s.backend as BackendName) {
    case "secret-service": {
      const { SecretServiceKeyring } = await import("./secret-service.ts");
      return new SecretServiceKeyring({ env, collection: s.secretServiceCollection, notice: s.notice, log: s.log, clock });
    }
    case "kwallet": {
      const { KWalletKeyring } = await import("./kwallet.ts");
      return new KWalletKeyring({ env });
    }
    case "keyctl": {
      const { KeyctlKeyring } = await import("./keyctl.ts");
      return new KeyctlKeyring({ env, spawn: spawn(), timeoutMs: s.timeoutMs, notice: s.notice });
    }
    case "pass": {
      const { PassKeyring, passStoreDir } = await import("./pass.ts");
      return new PassKeyring({
        dir: expandTilde(passStoreDir(s.passDir, env, home), home),
        cmd: s.passCmd,
        prefix: s.passPrefix,
        env,
        spawn: spawn(),
        timeoutMs: s.timeoutMs,
      });
    }
    case "keychain": {
      const { KeychainKeyring } = await import("./keychain.ts");
      return new KeychainKeyring({ name: s.keychainName, env, spawn: spawn(), clock });
    }
    case "wincred": {
      const wincred = await import("./wincred.ts");
      const store = wincred.nativeWinCredStore(spawn(), env);
      let opened: WinCredKeyring | undefined;
      // The native module loads asynchronously; open() resolves it.
      const k: Openable = {
        backend: "wincred",
        open: async () => {
          opened = new wincred.WinCredKeyring({ store: await store, random: s.random });
        },
        get: (key) => need(opened, "open()", "wincred").get(key),
        getMetadata: (key) => need(opened, "open()", "wincred").getMetadata(key),
        set: (item) => need(opened, "open()", "wincred").set(item),
        remove: (key) => need(opened, "open()", "wincred").remove(key),
        keys: () => need(opened, "open()", "wincred").keys(),
        describeLocation: (key) => `Windows credential "aws-vault:aws-vault:${key}"`,
      };
      return k;
    }
    default:
      throw new KeyringError(`Specified keyring backend not available: ${s.backend}`);
  }
}

/**
 * Opens the chosen backend. A backend that is not available here, or that fails its probe (no
 * daemon, no program, forbidden by the kernel), fails with a KeyringError naming the backends
 * that are available.
 */
export async function openKeyring(s: KeyringSettings, available: string[]): Promise<Keyring> {
  const alternatives = `available backends on this machine: ${available.join(", ")} (choose with --backend or AWS_VAULT_BACKEND)`;
  if (!available.includes(s.backend)) {
    throw new KeyringError(`Specified keyring backend not available: ${s.backend}`, { hints: [alternatives] });
  }
  if (s.backend === "file") {
    const opts = { dir: s.fileDir, passphrase: s.passphrase, now: s.now, random: s.random, log: s.log };
    if (s.agent && s.agent.mode !== "off") return new AgentKeyring(opts, s.agent);
    return new FileKeyring(opts);
  }
  const ms = s.timeoutMs ?? timeoutFromEnv(s.env ?? {}) ?? DEFAULT_KEYRING_TIMEOUT_MS;
  const clock = new CallClock();
  let backend: Openable;
  try {
    backend = await construct(s, clock);
    await withDeadline(Promise.resolve().then(() => backend.open?.()), { backend: s.backend, ms, clock });
  } catch (e) {
    const ke = e instanceof KeyringError ? e : new KeyringError((e as Error).message, { cause: e });
    s.log(`[keyring] Failed backend ${s.backend}: ${ke.message}`);
    const message = ke instanceof KeyringTimeoutError ? ke.message : `the ${s.backend} keyring backend cannot be used: ${ke.message}`;
    throw new KeyringError(message, { hints: [...ke.hints, alternatives], cause: e });
  }
  return new TimeoutKeyring(backend, { backend: s.backend, ms, clock });
}

export type { Secret };
