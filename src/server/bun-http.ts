// The credential servers on Bun's native HTTP server (Bun.serve), used when the program runs under
// Bun (the standalone binary): node:http under Bun is an emulation that served about a fifth of
// what Bun.serve does in the bench. The handlers do not change: each request is presented to them
// as the small request/reply shape they already use (middleware.ts ServerRequest/ServerReply), so
// the same checks run (loopback peer, Host allow-list, token, methods) on both runtimes.
import type { OutgoingHttpHeaders } from "node:http";
import type { CredentialHandler, LoopbackServer, PreparedReply, ServerReply, ServerRequest } from "./middleware.ts";

/** The part of Bun's API used here (no @types/bun in this project). */
interface BunServer {
  readonly port: number;
  requestIP(request: Request): { address: string } | null;
  timeout(request: Request, seconds: number): void;
  stop(closeActiveConnections?: boolean): unknown;
}
interface BunServeOptions {
  hostname: string;
  port: number;
  idleTimeout: number;
  maxRequestBodySize: number;
  fetch(request: Request, server: BunServer): Response | Promise<Response>;
  error(e: unknown): Response;
}
interface BunGlobal {
  serve(o: BunServeOptions): BunServer;
}

/** Bun's serve(), when this program runs under Bun. */
export function bunServe(): BunGlobal["serve"] | undefined {
  const bun = (globalThis as { Bun?: Partial<BunGlobal> }).Bun;
  return typeof bun?.serve === "function" ? bun.serve.bind(bun) : undefined;
}

const INTERNAL_ERROR = (): Response => new Response("internal error\n", { status: 500, headers: { "Content-Type": "text/plain; charset=utf-8" } });

/** A Response of each prepared reply, made on its first use; each request gets a clone. */
const preparedResponses = new WeakMap<PreparedReply, Response>();

/** One reply being built; `response` is set when the handler ends it (done() waits for that). */
class Reply implements ServerReply {
  statusCode = 200;
  headersSent = false;
  response: Response | undefined = undefined;
  headers: Record<string, string> | undefined = undefined;
  finish: Array<() => void> | undefined = undefined;
  resolve: ((r: Response) => void) | undefined = undefined;

  done(): Promise<Response> {
    if (this.response) return Promise.resolve(this.response);
    return new Promise<Response>((resolve) => (this.resolve = resolve));
  }
  settle(r: Response): void {
    if (this.response) return;
    this.response = r;
    this.resolve?.(r);
  }
  setHeader(name: string, value: string): this {
    (this.headers ??= {})[name] = value;
    return this;
  }
  writeHead(status: number, headers?: OutgoingHttpHeaders): this {
    this.statusCode = status;
    if (headers) {
      if (this.headers) {
        for (const [k, v] of Object.entries(headers)) if (v !== undefined) this.headers[k] = String(v);
      } else {
        // The usual case (no setHeader before): take the map as it is; Response converts values to strings.
        this.headers = headers as Record<string, string>;
      }
    }
    this.headersSent = true;
    return this;
  }
  end(body = ""): this {
    return this.#send(new Response(body, this.headers ? { status: this.statusCode, headers: this.headers } : { status: this.statusCode }));
  }
  sendPrepared(p: PreparedReply): this {
    // Headers set before are merged the usual way.
    if (this.headers) return this.writeHead(p.status, p.headers).end(p.body);
    this.statusCode = p.status;
    let template = preparedResponses.get(p);
    if (template === undefined) {
      template = new Response(p.body, { status: p.status, headers: p.headers });
      preparedResponses.set(p, template);
    }
    // Cloning copies the headers natively (a plain object's entries are walked one by one).
    return this.#send(template.clone());
  }
  #send(r: Response): this {
    this.headersSent = true;
    this.settle(r);
    if (this.finish) for (const f of this.finish) f();
    this.finish = undefined;
    return this;
  }
  destroy(): this {
    this.settle(INTERNAL_ERROR());
    return this;
  }
  once(_event: "finish", f: () => void): this {
    (this.finish ??= []).push(f);
    return this;
  }
}

/**
 * Node-style header map with lower-cased names. A repeated header arrives joined with ", " (Fetch
 * semantics), so a request with two Host or Authorization headers fails those checks; node:http
 * keeps the first value instead. Both refuse anything but one exact match. Bun's Headers.toJSON()
 * builds the same map natively (Set-Cookie as an array, as node:http has it).
 */
function headerMap(h: Headers): ServerRequest["headers"] {
  const native = (h as Headers & { toJSON?: () => Record<string, string> }).toJSON;
  if (typeof native === "function") return native.call(h);
  const out = Object.create(null) as Record<string, string>;
  h.forEach((value, name) => {
    out[name] = value;
  });
  return out;
}

/** The request target as node:http gives it (path and query) from Bun's absolute URL. */
function requestTarget(url: string): string {
  const slash = url.indexOf("/", url.indexOf("//") + 2);
  return slash === -1 ? "/" : url.slice(slash);
}

/** A request as the handlers see it; the header map is built only if something reads it. */
class BunRequest implements ServerRequest {
  readonly #request: Request;
  #headers: ServerRequest["headers"] | undefined;
  readonly method: string;
  readonly url: string;
  readonly socket: ServerRequest["socket"];
  constructor(request: Request, remoteAddress: string | undefined, localAddress: string) {
    this.#request = request;
    this.method = request.method;
    this.url = requestTarget(request.url);
    this.socket = { remoteAddress, localAddress };
  }
  get headers(): ServerRequest["headers"] {
    return (this.#headers ??= headerMap(this.#request.headers));
  }
  header(name: string): string | undefined {
    return this.#request.headers.get(name) ?? undefined;
  }
}

/** Listens on host:port with Bun.serve. Rejects with the listen error (EADDRINUSE...). */
export async function listenBun(
  serve: BunGlobal["serve"],
  handler: CredentialHandler,
  host: string,
  port: number,
): Promise<LoopbackServer> {
  const server = serve({
    hostname: host,
    port,
    // Idle keep-alive connections close after this; a request waiting for credentials (an MFA
    // prompt) is exempt below, as node:http never times a handler out.
    idleTimeout: 5,
    maxRequestBodySize: 16 * 1024,
    fetch(request, srv) {
      const reply = new Reply();
      // Bound to one address, the local end of every connection is that address.
      const req = new BunRequest(request, srv.requestIP(request)?.address, host);
      try {
        void handler(req, reply);
      } catch {
        return INTERNAL_ERROR();
      }
      // Answered synchronously (fresh credentials): hand Bun the Response itself, its fast path.
      if (reply.response) return reply.response;
      srv.timeout(request, 0);
      return reply.done();
    },
    error: INTERNAL_ERROR,
  });
  let closing: Promise<void> | undefined;
  return {
    port: server.port,
    host,
    close() {
      closing ??= Promise.resolve(server.stop(true)).then(() => undefined);
      return closing;
    },
  };
}
