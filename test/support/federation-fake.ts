// A fake AWS federation (console sign-in) endpoint, written from the IAM User Guide ("Enable custom
// identity broker access to the AWS console"):
//   GET /federation?Action=getSigninToken&Session=<json>[&SessionDuration=<900..43200>]
//       Session is {"sessionId","sessionKey","sessionToken"} of temporary credentials
//       -> 200 {"SigninToken":"…"}; anything malformed -> 400
//   GET /federation?Action=login&Issuer=…&Destination=<url>&SigninToken=<token>
//       -> 302 to Destination when the token was issued here (once), else 400; the answer sets the
//          console session cookie (here `aws-console-<sessionCookieId(token)>`, persistent, for 127.0.0.1)
//   GET /oauth?Action=logout&redirect_uri=<url>   (the console's sign-out)
//       -> 302 to redirect_uri
// Every request is recorded so tests can compare the Session with the credentials the STS
// emulator issued, and the login URL with the token handed out. Loopback only.
import { createHash, randomBytes } from "node:crypto";
import http from "node:http";
import { freePort } from "./ports.ts";

export interface FederationSession {
  sessionId: string;
  sessionKey: string;
  sessionToken: string;
}

export interface FederationRequest {
  action: string;
  /** The raw query string, as sent. */
  query: string;
  params: Record<string, string>;
  session?: FederationSession;
  sessionDuration?: number;
  status: number;
  /** The token returned (getSigninToken) or presented (login). */
  signinToken?: string;
  error?: string;
}

export interface FederationFakeOptions {
  /**
   * Extra checks on a getSigninToken request (e.g. "these credentials were issued by the emulator",
   * "no SessionDuration for federation-token credentials"). Return an error message to answer 400.
   */
  validate?: (session: FederationSession, sessionDuration: number | undefined) => string | undefined | Promise<string | undefined>;
}

export interface FederationFake {
  /** The base URL to put in AWS_ENDPOINT_URL_SIGNIN (the tool calls `<base>/federation`). */
  baseUrl: string;
  /** The federation endpoint itself: `<base>/federation`. */
  federationUrl: string;
  requests(action?: string): FederationRequest[];
  /** Tokens handed out by getSigninToken, in order. */
  issuedTokens(): string[];
  /** The next getSigninToken answers `status` with `body` (once). */
  failNext(status: number, body: string): void;
  reset(): void;
  stop(): Promise<void>;
}

/** The console session cookie a login with `token` sets: `aws-console-<12 hex>`. */
export function sessionCookieName(token: string): string {
  return `aws-console-${createHash("sha256").update(token).digest("hex").slice(0, 12)}`;
}

const MIN_DURATION = 900;
const MAX_DURATION = 43_200;

function parseSession(text: string | undefined): FederationSession | string {
  if (text === undefined) return "missing Session parameter";
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return "Session is not JSON";
  }
  if (!v || typeof v !== "object" || Array.isArray(v)) return "Session is not a JSON object";
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o).sort();
  if (keys.join(",") !== "sessionId,sessionKey,sessionToken") return `unexpected Session keys: ${keys.join(",")}`;
  for (const k of keys) if (typeof o[k] !== "string" || o[k] === "") return `Session ${k} must be a non-empty string`;
  return o as unknown as FederationSession;
}

export async function startFederationFake(opts: FederationFakeOptions = {}): Promise<FederationFake> {
  const requests: FederationRequest[] = [];
  const issued: string[] = [];
  const unused = new Set<string>();
  let failure: { status: number; body: string } | undefined;

  const server = http.createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? "/", "http://localhost");
      const params = Object.fromEntries(url.searchParams);
      const record: FederationRequest = { action: params.Action ?? "", query: url.search.slice(1), params, status: 0 };
      const reply = (status: number, body: string, headers: Record<string, string> = {}) => {
        record.status = status;
        requests.push(record);
        res.writeHead(status, { "content-type": status === 200 ? "application/json" : "text/plain", ...headers });
        res.end(body);
      };
      const bad = (error: string) => {
        record.error = error;
        reply(400, error);
      };
      if (req.method === "GET" && url.pathname === "/oauth") {
        if (record.action !== "logout") return bad(`unsupported Action ${record.action}`);
        const target = params.redirect_uri ?? "";
        if (!/^https?:\/\//.test(target)) return bad("redirect_uri must be a URL");
        return reply(302, "", { location: target });
      }
      if (req.method !== "GET" || url.pathname !== "/federation") return reply(404, "not found");

      if (record.action === "getSigninToken") {
        const session = parseSession(params.Session);
        if (typeof session === "string") return bad(session);
        record.session = session;
        if (params.SessionDuration !== undefined) {
          const d = Number(params.SessionDuration);
          if (!/^\d+$/.test(params.SessionDuration) || d < MIN_DURATION || d > MAX_DURATION) {
            return bad(`SessionDuration must be an integer between ${MIN_DURATION} and ${MAX_DURATION}`);
          }
          record.sessionDuration = d;
        }
        if (failure) {
          const f = failure;
          failure = undefined;
          return reply(f.status, f.body);
        }
        const problem = await opts.validate?.(session, record.sessionDuration);
        if (problem) return bad(problem);
        // Standard base64 on purpose: `+`, `/` and `=` must survive the login URL's escaping.
        const token = randomBytes(180).toString("base64");
        issued.push(token);
        unused.add(token);
        record.signinToken = token;
        return reply(200, JSON.stringify({ SigninToken: token }));
      }

      if (record.action === "login") {
        const token = params.SigninToken;
        record.signinToken = token;
        if (!token || !unused.has(token)) return bad("unknown or used SigninToken");
        if (!params.Issuer) return bad("missing Issuer");
        let destination: URL;
        try {
          destination = new URL(params.Destination ?? "");
        } catch {
          return bad("Destination is not a URL");
        }
        if (destination.protocol !== "https:") return bad("Destination must be https");
        unused.delete(token);
        return reply(302, "", {
          location: destination.toString(),
          "set-cookie": `${sessionCookieName(token)}=1; Path=/; Max-Age=3600; HttpOnly; SameSite=Lax`,
        });
      }
      return bad(`unsupported Action ${record.action}`);
    })();
  });
  const port = await freePort();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  const baseUrl = `http://127.0.0.1:${port}`;
  return {
    baseUrl,
    federationUrl: `${baseUrl}/federation`,
    requests: (action) => requests.filter((r) => action === undefined || r.action === action),
    issuedTokens: () => [...issued],
    failNext: (status, body) => void (failure = { status, body }),
    reset: () => {
      requests.splice(0);
      failure = undefined;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
