// The agent process: holds the file keyring's passphrase in memory, answers item requests over its
// socket (protocol.ts), and forgets the passphrase on `lock`, after its TTL, or when idle.
//
// It reuses the file keyring (keyring/file.ts) for every read and write, so the keys folder stays
// the source of truth: each `get` looks at the file again. A decrypted item is reused only while
// the file's inode, size, mtime and ctime are unchanged (any write, ours or the Go aws-vault's,
// changes them), and the cache goes with the passphrase on lock.
import { chmod, stat, unlink } from "node:fs/promises";
import { createServer, type Server, type Socket } from "node:net";
import { dirname, join, resolve } from "node:path";
import { withFileLock } from "../runtime/lock.ts";
import { KeyNotFoundError, UserError, WrongPassphraseError } from "../errors.ts";
import { FileKeyring } from "../keyring/file.ts";
import { forgetDerivedKeys } from "../keyring/file-format.ts";
import type { KeyringItem } from "../keyring/keyring.ts";
import type { Runtime } from "../runtime/runtime.ts";
import { Secret } from "../util/secret.ts";
import { agentStatus } from "./client.ts";
import { ensureSocketFolder } from "./paths.ts";
import {
  type AgentRequest,
  type AgentResponse,
  type AgentStatus,
  encodeMessage,
  fromWire,
  MAX_MESSAGE_BYTES,
  parseRequest,
  ProtocolError,
  REQUEST_TIMEOUT_MS,
  toWire,
} from "./protocol.ts";
import { verifyFilePassphrase } from "./verify.ts";

interface Unlocked {
  dir: string;
  keyring: FileKeyring;
  expiresAt: number;
  idleMs: number;
  lastUse: number;
  cache: Map<string, { sig: string; item: KeyringItem }>;
}

export interface AgentServerOptions {
  socketPath: string;
  uid: number | undefined;
  /** Called once listening (the foreground command prints it). */
  onListening?: (pid: number) => void;
}

export class AgentServer {
  #state: Unlocked | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #server: Server | undefined;
  #ino: number | undefined;
  #watch: ReturnType<typeof setInterval> | undefined;
  #stopped!: () => void;
  readonly stopped: Promise<void> = new Promise((r) => (this.#stopped = r));

  constructor(
    readonly rt: Runtime,
    readonly opts: AgentServerOptions,
  ) {}

  /** Listens on the socket; refuses to replace an agent that answers there. */
  async listen(): Promise<void> {
    const { socketPath } = this.opts;
    await ensureSocketFolder(socketPath, this.opts.uid);
    const server = createServer((conn) => this.#accept(conn));
    // Two agents starting at once must not both take the path (the loser would run unreachable).
    await withFileLock(join(dirname(socketPath), "listen.lock"), async () => {
      // Only "nobody listens" allows taking the path; any other failure is reported, not papered over.
      const running = await agentStatus(socketPath);
      if (running) {
        throw new UserError(`an aws-vault agent (pid ${running.pid}) is already running on ${socketPath}`, {
          hints: ["stop it first with `aws-vault agent stop`"],
        });
      }
      // A socket left by a killed agent: nobody answers on it.
      await unlink(socketPath).catch(() => undefined);
      await new Promise<void>((ok, fail) => {
        server.once("error", (e: NodeJS.ErrnoException) =>
          fail(new UserError(`the aws-vault agent cannot listen on ${socketPath}: ${e.code ?? e.message}`, { cause: e })),
        );
        server.listen(socketPath, () => ok());
      });
    });
    server.on("error", (e) => this.rt.log.debug(`[agent] server error: ${e.message}`));
    await chmod(socketPath, 0o600);
    this.#server = server;
    const ino = (this.#ino = (await stat(socketPath)).ino);
    // An agent whose socket was removed or replaced can no longer be reached: it stops.
    this.#watch = setInterval(() => {
      stat(socketPath).then(
        (st) => (st.ino === ino ? undefined : this.stop()),
        () => this.stop(),
      );
    }, 5_000);
    this.#watch.unref();
    this.rt.log.debug(`[agent] listening on ${socketPath}`);
    this.opts.onListening?.(this.rt.pid);
  }

  /** Forgets the passphrase and every decrypted item. */
  lock(reason: string): void {
    if (this.#state) this.rt.log.debug(`[agent] locking: ${reason}`);
    this.#state = undefined;
    // The file keyring's derived keys open items as well as the passphrase does: they go too.
    forgetDerivedKeys();
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  async stop(): Promise<void> {
    this.lock("stopping");
    if (this.#watch) clearInterval(this.#watch);
    const server = this.#server;
    this.#server = undefined;
    if (server) {
      await new Promise<void>((r) => server.close(() => r()));
      const st = await stat(this.opts.socketPath).catch(() => undefined);
      if (st && st.ino === this.#ino) await unlink(this.opts.socketPath).catch(() => undefined);
    }
    this.#stopped();
  }

  status(): AgentStatus {
    const s = this.#state;
    const now = this.rt.now().getTime();
    if (!s) return { pid: this.rt.pid, unlocked: false };
    return { pid: this.rt.pid, unlocked: true, dir: s.dir, ttlLeftMs: s.expiresAt - now, idleLeftMs: s.lastUse + s.idleMs - now };
  }

  #schedule(): void {
    if (this.#timer) clearTimeout(this.#timer);
    const s = this.#state;
    if (!s) return;
    const now = this.rt.now().getTime();
    const due = Math.min(s.expiresAt, s.lastUse + s.idleMs);
    this.#timer = setTimeout(() => {
      const t = this.rt.now().getTime();
      if (this.#state !== s) return;
      if (t >= s.expiresAt) this.lock("TTL expired");
      else if (t >= s.lastUse + s.idleMs) this.lock("idle");
      else this.#schedule();
    }, Math.max(0, due - now) + 5);
  }

  #accept(conn: Socket): void {
    let buf = Buffer.alloc(0);
    let answered = false;
    const reply = (r: AgentResponse) => {
      if (answered) return;
      answered = true;
      clearTimeout(deadline);
      conn.end(encodeMessage(r));
    };
    conn.on("error", () => undefined);
    // A deadline for the whole request, not an idle timer: a client trickling a byte at a time
    // must not hold its connection open.
    const deadline = setTimeout(() => {
      reply({ ok: false, code: "bad-request", message: `no complete request within ${REQUEST_TIMEOUT_MS / 1000}s` });
      conn.destroySoon();
    }, REQUEST_TIMEOUT_MS);
    conn.on("close", () => clearTimeout(deadline));
    conn.on("data", (d: Buffer) => {
      if (answered) return;
      buf = Buffer.concat([buf, d]);
      const nl = buf.indexOf(0x0a);
      if (nl === -1) {
        if (buf.length > MAX_MESSAGE_BYTES) {
          reply({ ok: false, code: "bad-request", message: `request larger than ${MAX_MESSAGE_BYTES} bytes` });
          conn.destroySoon();
        }
        return;
      }
      clearTimeout(deadline); // the request is in: the bound is on sending it, not on answering
      const line = buf.subarray(0, nl).toString("utf8");
      buf = Buffer.alloc(0);
      let req: AgentRequest;
      try {
        req = parseRequest(line);
      } catch (e) {
        reply({ ok: false, code: "bad-request", message: e instanceof ProtocolError ? e.message : "malformed request" });
        return;
      }
      this.#handle(req).then(reply, (e: unknown) => reply(errorReply(e)));
    });
    conn.on("end", () => {
      if (!answered) reply({ ok: false, code: "bad-request", message: "incomplete request" });
    });
  }

  async #handle(req: AgentRequest): Promise<AgentResponse> {
    switch (req.op) {
      case "status":
        return { ok: true, status: this.status() };
      case "lock":
        this.lock("lock requested");
        return { ok: true, status: this.status() };
      case "stop":
        setImmediate(() => void this.stop());
        return { ok: true };
      case "unlock":
        return this.#unlock(req);
      case "get":
      case "set": {
        const s = this.#use(req.dir);
        if (!s) return { ok: false, code: "locked", message: "the agent is locked" };
        if (req.op === "set") {
          await s.keyring.set(fromWire(req.item));
          return { ok: true };
        }
        return { ok: true, item: toWire(await this.#get(s, req.key)) };
      }
    }
  }

  async #unlock(req: Extract<AgentRequest, { op: "unlock" }>): Promise<AgentResponse> {
    const dir = resolve(req.dir);
    const passphrase = new Secret(req.passphrase);
    // Verified before it is accepted: a wrong passphrase leaves the agent as it was.
    await verifyFilePassphrase(dir, passphrase, { now: () => this.rt.now(), random: (n) => this.rt.random(n) });
    const now = this.rt.now().getTime();
    this.#state = {
      dir,
      keyring: agentFileKeyring(this.rt, dir, passphrase),
      expiresAt: now + req.ttlMs,
      idleMs: req.idleMs,
      lastUse: now,
      cache: new Map(),
    };
    this.#schedule();
    this.rt.log.debug(`[agent] unlocked for ${dir}`);
    return { ok: true, status: this.status() };
  }

  /** The unlocked state for this folder, counting the request as use; undefined when locked (or expired). */
  #use(dir: string): Unlocked | undefined {
    const s = this.#state;
    if (!s || s.dir !== resolve(dir)) return undefined;
    const now = this.rt.now().getTime();
    if (now >= s.expiresAt || now >= s.lastUse + s.idleMs) {
      this.lock("expired");
      return undefined;
    }
    s.lastUse = now;
    this.#schedule();
    return s;
  }

  async #get(s: Unlocked, key: string): Promise<KeyringItem> {
    let sig: string;
    try {
      const st = await stat(s.keyring.describeLocation(key), { bigint: true });
      sig = `${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") throw new KeyNotFoundError(key);
      throw e;
    }
    const hit = s.cache.get(key);
    if (hit && hit.sig === sig) return hit.item;
    const item = await s.keyring.get(key);
    if (this.#state === s) s.cache.set(key, { sig, item });
    return item;
  }
}

export function agentFileKeyring(rt: Runtime, dir: string, passphrase: Secret): FileKeyring {
  return new FileKeyring({
    dir,
    passphrase: {
      fromEnv: passphrase,
      prompt: () => Promise.reject(new UserError("the agent never prompts")),
    },
    now: () => rt.now(),
    random: (n) => rt.random(n),
    log: (m) => rt.log.debug(m),
  });
}

function errorReply(e: unknown): AgentResponse {
  if (e instanceof KeyNotFoundError) return { ok: false, code: "not-found", message: e.message };
  const hints = e instanceof UserError && e.hints.length ? { hints: e.hints } : {};
  if (e instanceof WrongPassphraseError) return { ok: false, code: "wrong-passphrase", message: e.message, ...hints };
  // Our errors' messages and hints are safe to print (errors.ts); anything else is not shown.
  if (e instanceof UserError) return { ok: false, code: "error", message: e.message, ...hints };
  return { ok: false, code: "error", message: "internal error in the aws-vault agent (run it with --debug to see it)" };
}
