// The file keyring through an unlocked agent (src/agent/): one more Keyring wrapper, so nothing
// above the Keyring interface knows the agent exists.
//
// Passphrase sources, in order: AWS_VAULT_FILE_PASSPHRASE (the agent is not used at all), an
// agent unlocked for this folder, then the file keyring's own prompt chain (passphrase command,
// terminal, dialog). With AWS_VAULT_AGENT=auto, a passphrase a command had to ask for unlocks an
// agent (started if needed): callers serialise on a lock file next to the socket, so 20 callers
// on a locked keyring cause one passphrase request.
//
// Only get and set need the passphrase and go through the agent; keys, remove and metadata read
// the folder directly, as they do without an agent.
import { dirname, join, resolve } from "node:path";
import { KeyNotFoundError, KeyringError, WrongPassphraseError } from "../errors.ts";
import type * as AgentClient from "../agent/client.ts";
import { checkSocketFolder, ensureSocketFolder, socketPathFits } from "../agent/paths.ts";
import { type AgentRequest, type AgentResponse, fromWire, toWire } from "../agent/protocol.ts";
import { withFileLock } from "../runtime/lock.ts";
import type { Secret } from "../util/secret.ts";
import { FileKeyring, type FileKeyringOptions, type PassphraseSource } from "./file.ts";
import type { ItemMetadata, Keyring, KeyringItem, ListingOptions } from "./keyring.ts";

export type AgentMode = "auto" | "on" | "off";

// The client brings node:net: loaded only when there is an agent socket to talk to.
let client: Promise<typeof AgentClient> | undefined;
const agentClient = (): Promise<typeof AgentClient> => (client ??= import("../agent/client.ts"));

export const DEFAULT_AGENT_TTL_MS = 8 * 3600_000;
export const DEFAULT_AGENT_IDLE_MS = 3600_000;
/** How long waiters give the caller that is asking the user for the passphrase. */
const UNLOCK_WAIT_MS = 10 * 60_000;

export interface AgentSettings {
  mode: AgentMode;
  socketPath: string;
  uid: number | undefined;
  selfCommand: string[];
  env: Readonly<Record<string, string | undefined>>;
  ttlMs: number;
  idleMs: number;
  sleep: (ms: number) => Promise<void>;
}

export class AgentKeyring implements Keyring {
  readonly backend = "file";
  #file: FileKeyring;
  #useAgent = true;

  constructor(
    readonly fileOptions: FileKeyringOptions,
    readonly agent: AgentSettings,
  ) {
    this.#file = new FileKeyring(fileOptions);
  }

  get dir(): string {
    return this.#file.dir;
  }

  describeLocation(key: string): string {
    return this.#file.describeLocation(key);
  }

  async get(key: string): Promise<KeyringItem> {
    // A missing item needs no passphrase: not worth unlocking for (the file keyring does the same).
    const r = await this.#viaAgent({ op: "get", dir: this.#dir(), key }, () => this.#file.getMetadata(key));
    if (r === undefined) return this.#file.get(key);
    if (r.ok && r.item) return fromWire(r.item);
    if (!r.ok && r.code === "not-found") throw new KeyNotFoundError(key);
    throw agentError(r);
  }

  async set(item: KeyringItem): Promise<void> {
    const r = await this.#viaAgent({ op: "set", dir: this.#dir(), item: toWire(item) });
    if (r === undefined) return this.#file.set(item);
    if (!r.ok) throw agentError(r);
  }

  checkKey(key: string): void {
    this.#file.checkKey(key);
  }

  getMetadata(key: string): Promise<ItemMetadata> {
    return this.#file.getMetadata(key);
  }

  remove(key: string): Promise<void> {
    return this.#file.remove(key);
  }

  keys(): Promise<string[]> {
    return this.#file.keys();
  }

  keysMatching(match: (key: string) => boolean, opts?: ListingOptions): Promise<string[]> {
    return this.#file.keysMatching(match, opts);
  }

  #dir(): string {
    return resolve(this.#file.dir);
  }

  #log(m: string): void {
    this.fileOptions.log?.(m);
  }

  /**
   * The agent's answer, or undefined when this process must use the file keyring itself (no agent,
   * a locked one, the passphrase already in the environment).
   */
  async #viaAgent(req: AgentRequest, beforeUnlock?: () => Promise<unknown>): Promise<AgentResponse | undefined> {
    if (!this.#useAgent || this.fileOptions.passphrase.fromEnv !== undefined) return undefined;
    if (!socketPathFits(this.agent.socketPath)) {
      // No agent can listen there; `aws-vault unlock` says so. Commands work as without an agent.
      this.#log(`[agent] socket path too long for a Unix socket: ${this.agent.socketPath}`);
      this.#useAgent = false;
      return undefined;
    }
    const first = await this.#ask(req);
    if (first !== undefined && !(first.ok === false && first.code === "locked")) return first;
    if (this.agent.mode === "auto") {
      await beforeUnlock?.();
      await this.#autoUnlock();
      const again = await this.#ask(req);
      if (again !== undefined && !(again.ok === false && again.code === "locked")) return again;
    }
    this.#log("[agent] no unlocked agent for this keyring; using the file keyring directly");
    this.#useAgent = false;
    return undefined;
  }

  /** Undefined when no agent runs. */
  async #ask(req: AgentRequest): Promise<AgentResponse | undefined> {
    if (!(await checkSocketFolder(this.agent.socketPath, this.agent.uid))) return undefined;
    const { agentRequest, NoAgentError } = await agentClient();
    try {
      return await agentRequest(this.agent.socketPath, req);
    } catch (e) {
      if (e instanceof NoAgentError) return undefined;
      throw e;
    }
  }

  /** Asks for the passphrase once across concurrent callers and hands it to an agent. */
  async #autoUnlock(): Promise<void> {
    const { socketPath, uid } = this.agent;
    const { agentRequest, ensureAgent } = await agentClient();
    const start = () =>
      ensureAgent({ socketPath, uid, selfCommand: this.agent.selfCommand, env: this.agent.env, sleep: this.agent.sleep, log: (m) => this.#log(m) });
    await ensureSocketFolder(socketPath, uid); // the lock lives there
    await withFileLock(
      join(dirname(socketPath), "unlock.lock"),
      async () => {
        let st;
        try {
          st = await start();
        } catch (e) {
          // No agent here (it cannot start): this command asks and works without one.
          if (!(e instanceof KeyringError)) throw e;
          this.#log(`[agent] ${e.message}; continuing without an agent`);
          return;
        }
        if (st.unlocked && st.dir === this.#dir()) return; // another caller unlocked it meanwhile
        const confirm = (await this.#file.keys()).length === 0;
        const passphrase: Secret = await this.fileOptions.passphrase.prompt(`Enter passphrase to unlock "${this.#file.dir}": `, { confirm });
        const r = await agentRequest(socketPath, {
          op: "unlock",
          dir: this.#dir(),
          passphrase: passphrase.reveal(),
          ttlMs: this.agent.ttlMs,
          idleMs: this.agent.idleMs,
        });
        if (!r.ok && r.code === "wrong-passphrase") {
          throw new WrongPassphraseError(`wrong passphrase for the file keyring at ${this.#file.dir}`, {
            hints: ["the agent stays locked; check the passphrase (or AWS_VAULT_FILE_PASSPHRASE_CMD)"],
          });
        }
        if (!r.ok) throw agentError(r);
        this.#log(`[agent] unlocked the agent for ${this.#file.dir}`);
      },
      { timeoutMs: UNLOCK_WAIT_MS },
    );
  }
}

/** The agent's error as this process would have raised it (message and hints as the file keyring gives them). */
function agentError(r: AgentResponse): KeyringError {
  if (r.ok) return new KeyringError("unexpected reply from the aws-vault agent");
  const opts = { hints: r.hints ?? [] };
  if (r.code === "wrong-passphrase") return new WrongPassphraseError(r.message, opts);
  if (r.code === "error") return new KeyringError(r.message, opts);
  return new KeyringError(`aws-vault agent: ${r.message}`, opts);
}

export type { PassphraseSource };
