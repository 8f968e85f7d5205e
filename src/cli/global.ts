// Global flags (aws-vault §1.2) and the lazily opened keyring and config file shared by commands.
import { join } from "node:path";
import { UsageError } from "../errors.ts";
import { availableBackends, defaultFileDir, expandTilde, isBackendName, openKeyring } from "../keyring/open.ts";
import type { Keyring } from "../keyring/keyring.ts";
import { agentSocketPath } from "../agent/paths.ts";
import { type AgentMode, DEFAULT_AGENT_IDLE_MS, DEFAULT_AGENT_TTL_MS } from "../keyring/agent.ts";
import type { PassphraseSource } from "../keyring/file.ts";
import { askFilePassphrase } from "../prompt/passphrase.ts";
import { currentUid } from "../runtime/agent-process.ts";
import { parseFlagDuration } from "../util/duration.ts";
import type { Runtime } from "../runtime/runtime.ts";
import { Secret } from "../util/secret.ts";
import { ConfigFile } from "../vault/config/loader.ts";
import { loadConfigFor, loadConfigForList } from "../vault/config/scan.ts";

export const ENV = {
  backend: "AWS_VAULT_BACKEND",
  prompt: "AWS_VAULT_PROMPT",
  keychain: "AWS_VAULT_KEYCHAIN_NAME",
  secretServiceCollection: "AWS_VAULT_SECRET_SERVICE_COLLECTION_NAME",
  passDir: "AWS_VAULT_PASS_PASSWORD_STORE_DIR",
  passCmd: "AWS_VAULT_PASS_CMD",
  passPrefix: "AWS_VAULT_PASS_PREFIX",
  fileDir: "AWS_VAULT_FILE_DIR",
  filePassphrase: "AWS_VAULT_FILE_PASSPHRASE",
  agent: "AWS_VAULT_AGENT",
  agentTtl: "AWS_VAULT_AGENT_TTL",
  agentIdle: "AWS_VAULT_AGENT_IDLE",
  configFile: "AWS_CONFIG_FILE",
} as const;

export interface GlobalFlags {
  debug?: boolean;
  backend?: string;
  prompt?: string;
  keychain?: string;
  secretServiceCollection?: string;
  passDir?: string;
  passCmd?: string;
  passPrefix?: string;
  fileDir?: string;
  /** false for --no-agent */
  agent?: boolean;
}

export interface GlobalOptions {
  debug: boolean;
  backend: string;
  prompt?: string;
  keychain: string;
  secretServiceCollection: string;
  passDir?: string;
  passCmd?: string;
  passPrefix?: string;
  fileDir: string;
  configPath: string;
  /** The file keyring's agent: auto (unlock one when a passphrase was asked for), on (use one if unlocked), off. */
  agent: AgentMode;
  /** Backends usable here, most preferred first (probed once per process). */
  availableBackends: string[];
  /** Why `backend` was chosen, for --debug. */
  backendReason?: string;
}

/** Every backend this program knows, for the --debug line on what was considered. */
const ALL_BACKENDS = ["wincred", "keychain", "secret-service", "kwallet", "keyctl", "pass", "file"];

/** Flag > environment variable > default, for every global flag. */
export function resolveGlobalOptions(
  flags: GlobalFlags,
  rt: Runtime,
  available: string[] | (() => string[]) = () => availableBackends(rt.env, rt.platform),
): GlobalOptions {
  const env = rt.env;
  // Probed when first needed (no backend chosen, --debug, a backend name to check): it searches PATH.
  let probed: string[] | undefined;
  const backends = (): string[] => (probed ??= typeof available === "function" ? available() : available);
  const pick = (flag: string | undefined, name: string): string | undefined => flag ?? (env[name] || undefined);
  // keyctl is never the automatic default: the kernel keyring is emptied at reboot, and long-term keys
  // must not silently land there (aws-vault's keyctl default never worked, so nobody relies on it).
  const backend = pick(flags.backend, ENV.backend) ?? backends().find((b) => b !== "keyctl") ?? "file";
  const backendReason =
    flags.backend !== undefined
      ? "chosen with --backend"
      : env[ENV.backend]
        ? `chosen with ${ENV.backend}`
        : "the first available one (keyctl is never the default)";
  const prompt = pick(flags.prompt, ENV.prompt);
  return {
    debug: Boolean(flags.debug),
    backend,
    ...(prompt ? { prompt } : {}),
    keychain: pick(flags.keychain, ENV.keychain) ?? "aws-vault",
    secretServiceCollection: pick(flags.secretServiceCollection, ENV.secretServiceCollection) ?? "awsvault",
    passDir: pick(flags.passDir, ENV.passDir),
    passCmd: pick(flags.passCmd, ENV.passCmd),
    passPrefix: pick(flags.passPrefix, ENV.passPrefix),
    fileDir: expandTilde(pick(flags.fileDir, ENV.fileDir) ?? defaultFileDir(rt.homedir), rt.homedir),
    configPath: env[ENV.configFile] || join(rt.homedir, ".aws", "config"),
    agent: flags.agent === false ? "off" : agentMode(env[ENV.agent]),
    get availableBackends() {
      return backends();
    },
    backendReason,
  };
}

function agentMode(raw: string | undefined): AgentMode {
  if (!raw) return "on";
  if (raw === "auto" || raw === "on" || raw === "off") return raw;
  throw new UsageError(`${ENV.agent} must be one of auto, on, off, got '${raw}'`);
}

/** --ttl/--idle, else AWS_VAULT_AGENT_TTL/AWS_VAULT_AGENT_IDLE, else 8h and 1h. */
export function agentDurations(rt: Runtime, flags: { ttl?: string; idle?: string } = {}): { ttlMs: number; idleMs: number } {
  const one = (flag: string | undefined, name: string, dflt: number, what: string): number => {
    const raw = flag ?? (rt.env[name] || undefined);
    if (raw === undefined) return dflt;
    const ms = parseFlagDuration(raw);
    if (ms <= 0) throw new UsageError(`${what} must be positive, got '${raw}'`);
    return ms;
  };
  return {
    ttlMs: one(flags.ttl, ENV.agentTtl, DEFAULT_AGENT_TTL_MS, "--ttl"),
    idleMs: one(flags.idle, ENV.agentIdle, DEFAULT_AGENT_IDLE_MS, "--idle"),
  };
}

/** The file keyring's passphrase prompt: command, terminal, dialog (prompt/passphrase.ts). */
export function filePassphrasePrompt(rt: Runtime, options: GlobalOptions, profile?: string): PassphraseSource["prompt"] {
  let hinted = false;
  return (message, { confirm }) =>
    askFilePassphrase(rt, profile ? message.replace(/: $/, ` (profile ${profile}): `) : message, {
      confirm,
      ...(options.prompt ? { driver: options.prompt } : {}),
      beforeAsking: () => {
        if (hinted || options.agent !== "on" || options.backend !== "file") return;
        hinted = true;
        rt.stderr.write("aws-vault: hint: run `aws-vault unlock` to enter the passphrase once (or set AWS_VAULT_AGENT=auto)\n");
      },
    });
}

/** The shared, lazily opened resources of one invocation (aws-vault's AwsVault struct). */
export class Session {
  #keyring: Promise<Keyring> | undefined;
  #config: Promise<ConfigFile> | undefined;

  constructor(
    readonly rt: Runtime,
    readonly options: GlobalOptions,
  ) {}

  /** Opens the keyring once; `profile` (the first caller's) is named in a passphrase prompt. */
  keyring(profile?: string): Promise<Keyring> {
    this.#keyring ??= this.#openKeyring(profile);
    return this.#keyring;
  }

  configFile(): Promise<ConfigFile> {
    this.#config ??= ConfigFile.load(this.options.configPath);
    return this.#config;
  }

  /**
   * The config as far as resolving `profile` needs it (config/scan.ts): the same answers for that
   * profile and what it references, without parsing a big file's other sections. The full file,
   * when something already loaded it, serves as well.
   */
  configFileFor(profile: string): Promise<ConfigFile> {
    return this.#config ?? loadConfigFor(this.options.configPath, profile);
  }

  /** The config as `list` shows it without SSO tokens (config/scan.ts): headers, not every section's values. */
  configFileForList(): Promise<ConfigFile> {
    return this.#config ?? loadConfigForList(this.options.configPath);
  }

  async #openKeyring(profile: string | undefined): Promise<Keyring> {
    const { rt, options } = this;
    if (!isBackendName(options.backend) && !options.availableBackends.includes(options.backend)) {
      throw new UsageError(`enum value must be one of ${options.availableBackends.join(",")}, got '${options.backend}'`);
    }
    if (rt.log.enabled) {
      const available = options.availableBackends;
      const unavailable = ALL_BACKENDS.filter((b) => !available.includes(b));
      rt.log.debug(
        `[keyring] using backend ${options.backend}: ${options.backendReason ?? "chosen"}; available here, in order of preference: ` +
          `${available.join(", ")}${unavailable.length ? `; not available: ${unavailable.join(", ")}` : ""}`,
      );
    }
    const envPass = rt.env[ENV.filePassphrase];
    return openKeyring(
      {
        backend: options.backend,
        fileDir: options.fileDir,
        passphrase: {
          ...(envPass !== undefined ? { fromEnv: new Secret(envPass) } : {}),
          prompt: filePassphrasePrompt(rt, options, profile),
        },
        keychainName: options.keychain,
        secretServiceCollection: options.secretServiceCollection,
        passDir: options.passDir,
        passCmd: options.passCmd,
        passPrefix: options.passPrefix,
        now: () => rt.now(),
        random: (n) => rt.random(n),
        log: (m) => rt.log.debug(m),
        env: rt.env,
        homedir: rt.homedir,
        spawn: rt.spawn,
        notice: (m) => rt.stderr.write(`aws-vault: ${m}\n`),
        agent: {
          mode: options.agent,
          socketPath: agentSocketPath(rt.env, rt.homedir),
          uid: currentUid(),
          selfCommand: rt.selfCommand,
          env: rt.env,
          ...agentDurations(rt),
          sleep: (ms) => rt.sleep(ms),
        },
      },
      // "file" is always available, and openKeyring reads the list only to refuse a backend.
      options.backend === "file" ? ["file"] : options.availableBackends,
    );
  }
}
