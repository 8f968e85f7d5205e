// The client half of the agent protocol: one request per connection, bounded in size and time.
import { KeyringError } from "../errors.ts";
import { startDetached } from "../runtime/agent-process.ts";
import { ensureSocketFolder } from "./paths.ts";
import {
  type AgentRequest,
  type AgentResponse,
  type AgentStatus,
  encodeMessage,
  MAX_MESSAGE_BYTES,
  parseResponse,
  ProtocolError,
} from "./protocol.ts";

const DEFAULT_TIMEOUT_MS = 30_000;
const START_TIMEOUT_MS = 10_000;

let requests = 0;

/** How many requests this process has sent to an agent. */
export function agentRequestCount(): number {
  return requests;
}

/** No agent listens on the socket (absent, or a stale socket left by a killed agent). */
export class NoAgentError extends Error {}

/** The part of Bun's socket API used here (no @types/bun in this project). */
interface BunSocket {
  /** Bytes taken; the rest is written after `drain`. */
  write(data: Uint8Array): number;
  end(): void;
}
interface BunConnect {
  connect(o: {
    unix: string;
    socket: {
      open(s: BunSocket): void;
      data(s: BunSocket, chunk: Uint8Array): void;
      drain(s: BunSocket): void;
      close(s: BunSocket): void;
      error(s: BunSocket, e: Error): void;
      connectError(s: BunSocket, e: Error): void;
    };
  }): Promise<BunSocket>;
}

/** The connection of one exchange, whichever runtime's socket carries it. */
interface Exchange {
  write(line: string): void;
  close(): void;
}

/**
 * Sends one request; rejects with NoAgentError when nobody listens, KeyringError on a broken exchange.
 * Under Bun the socket is Bun's own (node:net under Bun loads the stream classes, several
 * milliseconds of a process that only asks the agent for one item); under Node, node:net.
 */
export function agentRequest(socketPath: string, req: AgentRequest, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<AgentResponse> {
  requests++;
  return new Promise((resolve, reject) => {
    const line = encodeMessage(req); // an oversized request rejects here, before any timer or socket
    let buf = "";
    let done = false;
    let conn: Exchange | undefined;
    const finish = (f: () => void) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      conn?.close();
      f();
    };
    const timer = setTimeout(
      () => finish(() => reject(new KeyringError(`the aws-vault agent at ${socketPath} did not answer within ${timeoutMs / 1000}s`))),
      timeoutMs,
    );
    const events = {
      connected: () => conn?.write(line),
      data: (d: string) => {
        buf += d;
        if (buf.length > MAX_MESSAGE_BYTES) {
          finish(() => reject(new KeyringError("the aws-vault agent sent an oversized reply")));
          return;
        }
        const nl = buf.indexOf("\n");
        if (nl === -1) return;
        finish(() => {
          try {
            resolve(parseResponse(buf.slice(0, nl)));
          } catch (e) {
            reject(new KeyringError(`bad reply from the aws-vault agent: ${(e as ProtocolError).message}`, { cause: e }));
          }
        });
      },
      end: () => finish(() => reject(new KeyringError("the aws-vault agent closed the connection without a reply"))),
      error: (e: NodeJS.ErrnoException) => {
        finish(() => {
          if (e.code === "ENOENT" || e.code === "ECONNREFUSED") reject(new NoAgentError(e.code));
          else if (e.code === "EACCES" || e.code === "EPERM") reject(new KeyringError(`cannot connect to the aws-vault agent at ${socketPath}: permission denied`, { cause: e }));
          else reject(new KeyringError(`cannot talk to the aws-vault agent at ${socketPath}: ${e.message}`, { cause: e }));
        });
      },
    };
    const bun = (globalThis as { Bun?: Partial<BunConnect> }).Bun;
    if (typeof bun?.connect === "function") {
      conn = connectBun(bun as BunConnect, socketPath, events);
    } else {
      void import("node:net").then(
        (net) => {
          if (!done) conn = connectNode(net.connect, socketPath, events);
        },
        (e: Error) => events.error(e),
      );
    }
  });
}

interface ExchangeEvents {
  connected(): void;
  data(text: string): void;
  end(): void;
  error(e: NodeJS.ErrnoException): void;
}

function connectNode(connect: typeof import("node:net").connect, socketPath: string, on: ExchangeEvents): Exchange {
  const sock = connect(socketPath);
  sock.setEncoding("utf8");
  sock.on("connect", on.connected);
  sock.on("data", on.data);
  sock.on("end", on.end);
  sock.on("error", on.error);
  return { write: (line) => sock.write(line), close: () => sock.destroy() };
}

function connectBun(bun: BunConnect, socketPath: string, on: ExchangeEvents): Exchange {
  let sock: BunSocket | undefined;
  let closed = false;
  let pending = new Uint8Array();
  const flush = () => {
    if (sock && pending.length) pending = pending.subarray(Math.max(0, sock.write(pending)));
  };
  const decoder = new TextDecoder();
  bun
    .connect({
      unix: socketPath,
      socket: {
        open: (s) => {
          sock = s;
          if (closed) s.end();
          else on.connected();
        },
        data: (_s, chunk) => on.data(decoder.decode(chunk, { stream: true })),
        drain: flush,
        close: () => on.end(),
        error: (_s, e) => on.error(e),
        connectError: (_s, e) => on.error(e),
      },
    })
    .catch((e: NodeJS.ErrnoException) => on.error(e));
  return {
    write: (line) => {
      pending = new TextEncoder().encode(line);
      flush();
    },
    close: () => {
      closed = true;
      sock?.end();
    },
  };
}

/** The agent's status, or undefined when none is running. */
export async function agentStatus(socketPath: string, timeoutMs = 5_000): Promise<AgentStatus | undefined> {
  try {
    const r = await agentRequest(socketPath, { op: "status" }, timeoutMs);
    if (r.ok && r.status) return r.status;
    throw new KeyringError(`the aws-vault agent at ${socketPath} refused a status request: ${r.ok ? "no status" : r.message}`);
  } catch (e) {
    if (e instanceof NoAgentError) return undefined;
    throw e;
  }
}

/** Variables the agent process gets: nothing secret, only what it needs to run. */
const AGENT_ENV = ["PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "XDG_RUNTIME_DIR"];

export interface StartAgentOptions {
  socketPath: string;
  /** The argv that re-runs this program (rt.selfCommand): both artifacts can be the agent. */
  selfCommand: string[];
  env: Readonly<Record<string, string | undefined>>;
  uid: number | undefined;
  sleep: (ms: number) => Promise<void>;
  log: (m: string) => void;
}

/** Returns the running agent's status, starting a detached agent first if none is running. */
export async function ensureAgent(o: StartAgentOptions): Promise<AgentStatus> {
  await ensureSocketFolder(o.socketPath, o.uid);
  const running = await agentStatus(o.socketPath);
  if (running) return running;
  const env: Record<string, string> = {};
  for (const k of AGENT_ENV) {
    const v = o.env[k];
    if (v !== undefined) env[k] = v;
  }
  env.AWS_VAULT_AGENT_SOCK = o.socketPath;
  let pid: number | undefined;
  try {
    pid = await startDetached([...o.selfCommand, "agent", "start", "--foreground"], env);
  } catch (e) {
    throw new KeyringError(`cannot start the aws-vault agent: ${(e as Error).message}`, { cause: e });
  }
  o.log(`[agent] started agent process ${pid ?? "?"} for ${o.socketPath}`);
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (let wait = 10; ; wait = Math.min(wait * 2, 100)) {
    const st = await agentStatus(o.socketPath);
    if (st) return st;
    if (Date.now() > deadline) throw new KeyringError(`the aws-vault agent did not start listening on ${o.socketPath}`);
    await o.sleep(wait);
  }
}
