// The loopback redirect of an OAuth authorization-code sign-in (RFC 8252 §7.3): a one-shot HTTP
// listener on 127.0.0.1 and a random port that waits for the browser to come back with
// `?code=…&state=…`. Shared by every browser sign-in (IAM Identity Center now, AWS Sign-In later).
//
// Rules:
// - only 127.0.0.1 is bound, and a request from any other peer, with a foreign Host header (DNS
//   rebinding), another method or another path is answered with an error and ignored;
// - the first request on the callback path ends the wait, whatever it says: the right `state`
//   with a `code` resolves; an `error=` answer, a wrong or missing `state`, or no `code` reject;
//   the listener then closes;
// - a timeout (default 5 minutes) or Ctrl-C (SIGINT/SIGTERM) reject and close it too.
// The code is a Secret; neither it nor the state is ever put in a message or a log line.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { CancelledError, UserError } from "../errors.ts";
import { nodeCrypto } from "../runtime/builtins.ts";
import type { SignalName } from "../runtime/runtime.ts";
import { formatGoDuration } from "../util/duration.ts";
import { Secret } from "../util/secret.ts";

export const DEFAULT_CALLBACK_TIMEOUT_MS = 5 * 60 * 1000;
const LOOPBACK_HOST = "127.0.0.1";

export interface LoopbackCallbackOptions {
  /** The redirect URI's path, e.g. `/oauth/callback`. */
  path: string;
  /** The `state` sent in the authorize URL. */
  state: string;
  /** What the user is doing, for messages: "the SSO sign-in". */
  label: string;
  /** How long to wait for the browser (default 5 minutes). */
  timeoutMs?: number;
  /** Runtime.onSignal: Ctrl-C ends the wait. */
  onSignal: (signal: SignalName, handler: () => void) => () => void;
  log?: (message: string) => void;
}

export interface LoopbackResult {
  code: Secret;
  /** The callback's other query parameters (without code and state). */
  params: Record<string, string>;
}

export interface LoopbackCallback {
  /** `http://127.0.0.1:<port><path>`: the redirect_uri to send. */
  readonly redirectUri: string;
  readonly port: number;
  /** Settles once: the code, or why the sign-in ended. Always handled (never an unhandled rejection). */
  readonly result: Promise<LoopbackResult>;
  /** Stops listening (idempotent); a pending result rejects with CancelledError. */
  close(): Promise<void>;
}

const PAGE = (title: string, body: string) =>
  `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title></head>` +
  `<body><h1>${title}</h1><p>${body}</p></body></html>`;

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && nodeCrypto().timingSafeEqual(x, y);
}

/** A value from the authorization server that is safe to show: printable ASCII, bounded. */
function printable(s: string, max = 200): string {
  const clean = s.replace(/[^\x20-\x7e]/g, "?");
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}

export function isLoopbackPeer(address: string | undefined): boolean {
  return address === "127.0.0.1" || address === "::ffff:127.0.0.1" || address === "::1";
}

export async function startLoopbackCallback(opts: LoopbackCallbackOptions): Promise<LoopbackCallback> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_CALLBACK_TIMEOUT_MS;
  const log = opts.log ?? (() => undefined);
  let settle: { resolve(r: LoopbackResult): void; reject(e: Error): void } | undefined;
  const result = new Promise<LoopbackResult>((resolve, reject) => {
    settle = { resolve, reject };
  });
  // Callers may close before awaiting; the rejection is theirs to read, never "unhandled".
  result.catch(() => undefined);

  let done = false;
  let port = 0;
  const cleanups: Array<() => void> = [];
  const server = http.createServer((req, res) => {
    const reply = (status: number, title: string, body: string) => {
      res.writeHead(status, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store", connection: "close" });
      res.end(PAGE(title, body));
    };
    if (!isLoopbackPeer(req.socket.remoteAddress)) {
      log("loopback callback: refused a request from a non-loopback peer");
      return reply(403, "Forbidden", "Only this computer may complete the sign-in.");
    }
    const host = (req.headers.host ?? "").toLowerCase();
    if (host !== `${LOOPBACK_HOST}:${port}` && host !== `localhost:${port}`) {
      log("loopback callback: refused a request with a foreign Host header");
      return reply(400, "Bad request", "Unexpected host.");
    }
    let url: URL;
    try {
      url = new URL(req.url ?? "/", `http://${LOOPBACK_HOST}:${port}`);
    } catch {
      return reply(400, "Bad request", "Malformed request.");
    }
    if (url.pathname !== opts.path) return reply(404, "Not found", "Nothing here.");
    if (req.method !== "GET") return reply(405, "Method not allowed", "Use GET.");
    if (done) return reply(410, "Gone", "This sign-in has already ended.");

    const q = url.searchParams;
    const error = q.get("error");
    const state = q.get("state");
    const code = q.get("code");
    if (error !== null) {
      const description = q.get("error_description");
      reply(400, "Sign-in failed", "The sign-in was not completed. You can close this tab and return to the terminal.");
      return finish(
        new UserError(
          `${opts.label} was not completed: the authorization server answered ${printable(error, 64)}` +
            (description ? ` (${printable(description)})` : ""),
          { hints: ["run the command again and approve the request in the browser"] },
        ),
      );
    }
    if (state === null || !sameText(state, opts.state)) {
      reply(400, "Sign-in refused", "This answer does not belong to the sign-in in progress. Return to the terminal.");
      return finish(
        new UserError(`${opts.label} was refused: the browser came back with ${state === null ? "no" : "a different"} state`, {
          hints: ["run the command again; if this repeats, another page or program is answering the sign-in callback"],
        }),
      );
    }
    if (!code) {
      reply(400, "Sign-in failed", "No authorization code was received. Return to the terminal.");
      return finish(new UserError(`${opts.label} failed: the browser came back without an authorization code`));
    }
    const params: Record<string, string> = {};
    for (const [k, v] of q) if (k !== "code" && k !== "state") params[k] = v;
    reply(200, "Signed in", "You can close this tab and return to the terminal.");
    return finish(undefined, { code: new Secret(code), params });
  });

  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= new Promise<void>((resolve) => {
      for (const c of cleanups.splice(0)) c();
      server.close(() => resolve());
      // Let the answer page reach the browser, then drop idle keep-alive sockets.
      setImmediate(() => server.closeIdleConnections());
    });
    return closed;
  };

  function finish(error?: Error, value?: LoopbackResult): void {
    if (done) return;
    done = true;
    if (error) settle?.reject(error);
    else settle?.resolve(value as LoopbackResult);
    void close();
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, LOOPBACK_HOST, () => {
      server.off("error", reject);
      resolve();
    });
  });
  port = (server.address() as AddressInfo).port;
  const redirectUri = `http://${LOOPBACK_HOST}:${port}${opts.path}`;
  log(`loopback callback: listening on ${LOOPBACK_HOST}:${port}`);

  const timer = setTimeout(() => {
    finish(
      new UserError(`timed out after ${formatGoDuration(timeoutMs)} waiting for ${opts.label} in the browser`, {
        hints: ["run the command again, or pass --use-device-code to approve with a code instead"],
      }),
    );
  }, timeoutMs);
  cleanups.push(() => clearTimeout(timer));
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    cleanups.push(opts.onSignal(signal, () => finish(new CancelledError())));
  }

  return {
    redirectUri,
    port,
    result,
    close: () => {
      finish(new CancelledError());
      return close();
    },
  };
}
