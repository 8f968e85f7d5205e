// What every credential server (and the root proxy) shares: loopback-only peers, a Host allow-list
// (DNS-rebinding defence), constant-time secret checks, a request log without headers, and a
// listen/close pair that really releases the port.
import type { CredentialsProvider } from "../vault/providers/provider.ts";
import { timingSafeEqual } from "node:crypto";
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type Server,
  type ServerResponse,
} from "node:http";
import type { Socket } from "node:net";
import type { Secret } from "../util/secret.ts";
import { bunServe, listenBun } from "./bun-http.ts";

export type Handler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

/** What the credential servers read from a request: node:http's IncomingMessage, or Bun.serve's (bun-http.ts). */
export interface ServerRequest {
  readonly method?: string | undefined;
  readonly url?: string | undefined;
  readonly headers: IncomingHttpHeaders;
  readonly socket: { readonly remoteAddress?: string | undefined; readonly localAddress?: string | undefined };
  /** One header by lower-case name, where the runtime reads it without building `headers` (bun-http.ts). */
  header?(name: string): string | undefined;
}

/** One request header by lower-case name: through `header()` where there is one, else from the map. */
export function requestHeader(req: ServerRequest, name: string): string | string[] | undefined {
  return req.header ? req.header(name) : req.headers[name];
}

/** What the credential servers do with a reply: node:http's ServerResponse, or bun-http.ts's. */
export interface ServerReply {
  statusCode: number;
  readonly headersSent: boolean;
  setHeader(name: string, value: string): unknown;
  writeHead(status: number, headers?: OutgoingHttpHeaders): unknown;
  end(body?: string): unknown;
  destroy(): unknown;
  once(event: "finish", listener: () => void): unknown;
  /** Sends a prepared reply in one step, where the runtime's reply has a faster way (bun-http.ts). */
  sendPrepared?(p: PreparedReply): unknown;
}

/** A reply built once and sent many times (the ECS credentials between refreshes): headers included. */
export interface PreparedReply {
  readonly status: number;
  readonly body: string;
  readonly headers: Readonly<Record<string, string>>;
}

/** A handler of the ECS and EC2 servers: runs on node:http and on Bun.serve alike. */
export type CredentialHandler = (req: ServerRequest, res: ServerReply) => void | Promise<void>;

/** Writes one request-log line; undefined when --debug is off (so nothing is even formatted). */
export type RequestLog = ((line: string) => void) | undefined;

/** The last address found to be loopback: a keep-alive connection asks about the same one every request. */
let lastLoopback = "";

/** 127.0.0.0/8 and ::1, also in their IPv4-mapped IPv6 forms. */
export function isLoopbackAddress(addr: string | undefined): boolean {
  if (!addr) return false;
  if (addr === lastLoopback) return true;
  if (!isLoopbackForm(addr)) return false;
  lastLoopback = addr;
  return true;
}

function isLoopbackForm(addr: string): boolean {
  const a = addr.toLowerCase().startsWith("::ffff:") ? addr.slice(7) : addr;
  if (a === "::1") return true;
  const m = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(a);
  return m !== null && m.slice(1).every((o) => Number(o) <= 255);
}

/**
 * A local peer: loopback, or a connection whose source is our own listening address (the root
 * proxy on 169.254.169.254 sees local clients coming from that alias).
 */
export function isLocalPeer(req: ServerRequest): boolean {
  const { remoteAddress, localAddress } = req.socket;
  return isLoopbackAddress(remoteAddress) || (remoteAddress !== undefined && remoteAddress === localAddress);
}

/**
 * Compares a presented secret with the expected one in constant time: the presented value is
 * written into a buffer of the expected length (a reused scratch, so nothing is allocated or
 * hashed per request) and compared with timingSafeEqual whatever its length. The time depends on
 * the lengths, never on the content: the presented length is the caller's own, and the expected
 * one is public (our secrets are random tokens of a fixed size).
 */
export function secretMatcher(expected: Secret): (presented: string | string[] | undefined) => boolean {
  const want = Buffer.from(expected.reveal(), "utf8");
  const scratch = Buffer.alloc(want.length);
  return (presented) => {
    if (typeof presented !== "string" || presented.length === 0) return false;
    const sameLength = Buffer.byteLength(presented, "utf8") === want.length;
    // Shorter: the tail keeps an earlier request's bytes, but then sameLength is false.
    scratch.write(presented, 0, "utf8");
    return timingSafeEqual(scratch, want) && sameLength;
  };
}

/** Attacker-controlled text made safe to quote in a text/plain body or a log line. */
export function printable(text: string, max = 200): string {
  const clean = text.replace(/[^\x20-\x7e]/g, "?");
  return clean.length > max ? `${clean.slice(0, max)}...` : clean;
}

const BASE_HEADERS = {
  "X-Content-Type-Options": "nosniff",
  "Cache-Control": "no-store",
};

export function sendText(res: ServerReply, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, {
    ...BASE_HEADERS,
    "Content-Type": "text/plain; charset=utf-8",
    "Content-Length": String(Buffer.byteLength(body)),
    ...headers,
  });
  res.end(body);
}

export function prepareJson(status: number, body: string, contentType = "application/json"): PreparedReply {
  return {
    status,
    body,
    headers: { ...BASE_HEADERS, "Content-Type": contentType, "Content-Length": String(Buffer.byteLength(body)) },
  };
}

export function sendPrepared(res: ServerReply, p: PreparedReply): void {
  if (res.sendPrepared) {
    res.sendPrepared(p);
    return;
  }
  res.writeHead(p.status, p.headers);
  res.end(p.body);
}

export function sendJson(res: ServerReply, status: number, body: string, contentType = "application/json"): void {
  sendPrepared(res, prepareJson(status, body, contentType));
}

/** The path of a request URL without its query string. */
export function requestPath(req: ServerRequest): string {
  const url = req.url ?? "/";
  const q = url.indexOf("?");
  return q === -1 ? url : url.slice(0, q);
}

export interface SecurityOptions {
  /** Whether this Host header value names our listener (already lower-cased). */
  allowHost(host: string, req: ServerRequest): boolean;
  log: RequestLog;
}

/**
 * aws-vault's withSecurityChecks, for both servers: the peer must be local (401 `Access denied from
 * non-localhost address`) and the Host header must name our listener (401 `Access denied for host
 * '<host>'`), which stops a browser page that rebinds its DNS name to 127.0.0.1. Logs method, path
 * and status only; never headers. A handler that throws answers 500 without details.
 */
export function withSecurityChecks(handler: CredentialHandler, opts: SecurityOptions): CredentialHandler {
  const { log } = opts;
  return (req, res) => {
    if (log) {
      res.once("finish", () => log(`http: ${req.method ?? "?"} ${printable(requestPath(req))} ${res.statusCode}`));
    }
    if (!isLocalPeer(req)) return sendText(res, 401, "Access denied from non-localhost address\n");
    const presented = requestHeader(req, "host");
    const host = typeof presented === "string" ? presented.toLowerCase() : "";
    if (!host || !opts.allowHost(host, req)) {
      return sendText(res, 401, `Access denied for host '${printable(typeof presented === "string" ? presented : "", 100)}'\n`);
    }
    let result: void | Promise<void>;
    try {
      result = handler(req, res);
    } catch {
      return internalError(res);
    }
    if (result) result.catch(() => internalError(res));
  };
}

function internalError(res: ServerReply): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendText(res, 500, "internal error\n");
}

/** A listening HTTP server whose close() also drops keep-alive connections, so the port is free at once. */
export interface LoopbackServer {
  readonly port: number;
  readonly host: string;
  close(): Promise<void>;
}

/** Listens on host:port (port 0 = random). Rejects with the listen error (EADDRINUSE, EACCES...). */
export async function listenHttp(handler: Handler, host: string, port: number): Promise<LoopbackServer> {
  const sockets = new Set<Socket>();
  const server: Server = createServer({ maxHeaderSize: 16 * 1024 }, (req, res) => void handler(req, res));
  server.keepAliveTimeout = 5_000;
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.once("close", () => sockets.delete(s));
  });
  // A malformed request gets a plain 400 and never reaches a handler.
  server.on("clientError", (_err, socket: Socket) => {
    if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
    else socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    const onError = (e: Error) => reject(e);
    server.once("error", onError);
    server.listen({ host, port, exclusive: true }, () => {
      server.off("error", onError);
      resolve();
    });
  });
  const addr = server.address();
  if (addr === null || typeof addr === "string") throw new Error("server has no TCP address");
  let closing: Promise<void> | undefined;
  return {
    port: addr.port,
    host,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
      return closing;
    },
  };
}

/**
 * Listens for a credential server: Bun.serve under Bun (the standalone binary), node:http under
 * Node. The handler and its checks are the same on both.
 */
export async function listenCredentialServer(handler: CredentialHandler, host: string, port: number): Promise<LoopbackServer> {
  const serve = bunServe();
  if (serve) return listenBun(serve, handler, host, port);
  return listenHttp(handler, host, port);
}

/** What both credential servers are built from. */
export interface CredentialServerOptions {
  /** The profile's credentials (the same cached provider chain as `exec`). */
  provider: CredentialsProvider;
  now(): Date;
  /** Refresh window (AWS_MIN_TTL). */
  windowMs: number;
  random(bytes: number): Uint8Array;
  /** Request log, only under --debug. */
  log: RequestLog;
  /** Debug messages (refreshes). */
  debug?: (message: string) => void;
  /** Shown to the user when a refresh fails (e.g. MFA was needed and refused). */
  onRefreshError?: (e: unknown) => void;
  host?: string;
  port?: number;
}
