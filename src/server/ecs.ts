// The ECS container-credentials server behind `exec --ecs-server` (aws-vault server/ecsserver.go,
// §5.2): 127.0.0.1 on a random port, a random bearer-less token of 256 bits checked in constant
// time, the profile's credentials on every path and AssumeRole results on /role-arn/<arn>.
// Hardened beyond aws-vault: loopback peers only, a Host allow-list, Content-Type on success.
import { isVaultError } from "../errors.ts";
import { formatIso8601, goJsonObject } from "../util/go-format.ts";
import { redact } from "../util/redact.ts";
import { Secret } from "../util/secret.ts";
import type { Credentials } from "../vault/credentials.ts";
import type { CredentialsProvider } from "../vault/providers/provider.ts";
import { type CachedCredentials, CredentialsCache, serverCredentialsCache } from "./credentials-cache.ts";
import {
  type CredentialServerOptions,
  type ServerReply,
  type CredentialHandler,
  listenCredentialServer,
  type PreparedReply,
  prepareJson,
  requestHeader,
  requestPath,
  secretMatcher,
  sendJson,
  sendPrepared,
  withSecurityChecks,
} from "./middleware.ts";

/** 32 random bytes: 256 bits, above the 240 of aws-vault's 30-byte token. */
const TOKEN_BYTES = 32;
const ROLE_ARN_PREFIX = "/role-arn/";
/** Distinct role ARNs kept (each with its own cache); the oldest is dropped beyond this. */
const MAX_ROLE_CACHES = 64;
const ROLE_ARN_PATTERN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;
/** SDKs need an Expiration; long-lived keys are described as valid for this long at a time. */
export const LONG_LIVED_REPORTED_MS = 15 * 60 * 1000;

export interface EcsServerOptions extends CredentialServerOptions {
  /**
   * Provider for /role-arn/<arn>: AssumeRole from `source`, the profile's credentials as this server
   * holds them (so a role refresh does not refetch the profile's). Absent: the route answers 404.
   */
  roleProvider?: (roleArn: string, source: CredentialsProvider) => CredentialsProvider;
  /** --lazy: fetch on the first request instead of at start-up (where a failure aborts). */
  lazy: boolean;
}

export interface EcsServer {
  /** For AWS_CONTAINER_CREDENTIALS_FULL_URI: `http://127.0.0.1:<port>` (no path, as aws-vault). */
  readonly url: string;
  readonly port: number;
  /** For AWS_CONTAINER_AUTHORIZATION_TOKEN. */
  readonly token: Secret;
  close(): Promise<void>;
}

/** The success body: Go's json.Encoder over a map, so keys are alphabetical and a newline follows. */
export function ecsCredentialsBody(c: Credentials, now: Date): string {
  return `${goJsonObject([
    ["AccessKeyId", c.accessKeyId],
    ["Expiration", formatIso8601(servedExpiration(c, now))],
    ["SecretAccessKey", c.secretAccessKey.reveal()],
    ["Token", c.sessionToken?.reveal() ?? ""],
  ])}\n`;
}

export function servedExpiration(c: Credentials, now: Date): Date {
  return c.expiration ?? new Date(now.getTime() + LONG_LIVED_REPORTED_MS);
}

export function ecsErrorBody(message: string): string {
  return `${goJsonObject([["Message", message]])}\n`;
}

/** An error's message as a server may show it: our own messages are safe; anything else is not shown. */
export function safeErrorMessage(e: unknown): string {
  return isVaultError(e) ? redact(e.message) : "internal error retrieving credentials";
}

export function randomToken(random: (bytes: number) => Uint8Array, bytes = TOKEN_BYTES): Secret {
  return new Secret(Buffer.from(random(bytes)).toString("base64url"));
}

export function ecsHandler(o: EcsServerOptions, token: Secret, main: CredentialsCache): CredentialHandler {
  const tokenOk = secretMatcher(token);
  const roles = new Map<string, CredentialsCache>();
  // The success answer of each credentials, built once (body and headers) and refreshed with them.
  const replies = new WeakMap<CachedCredentials, PreparedReply>();
  const cacheOpts = { now: o.now, windowMs: o.windowMs, ...(o.onRefreshError ? { onRefreshError: o.onRefreshError } : {}) };

  const source: CredentialsProvider = {
    kind: o.provider.kind,
    retrieve: async () => (await main.get()).credentials,
  };
  const roleCache = (arn: string, make: NonNullable<EcsServerOptions["roleProvider"]>): CredentialsCache => {
    let cache = roles.get(arn);
    if (!cache) {
      if (roles.size >= MAX_ROLE_CACHES) roles.delete(roles.keys().next().value as string);
      cache = new CredentialsCache(make(arn, source), { ...cacheOpts, ...(o.debug ? { log: (m) => o.debug?.(`${arn}: ${m}`) } : {}) });
      roles.set(arn, cache);
    }
    return cache;
  };

  const answer = (res: ServerReply, served: CachedCredentials): void => {
    let reply = replies.get(served);
    if (reply === undefined) {
      reply = prepareJson(200, ecsCredentialsBody(served.credentials, o.now()));
      // Long-lived keys get a moving Expiration, so only temporary credentials are memoised.
      if (served.credentials.expiration) replies.set(served, reply);
    }
    sendPrepared(res, reply);
  };

  // Not an async function: fresh credentials are answered synchronously, with no promise made,
  // which is Bun.serve's fast path (and saves a microtask turn on node:http).
  return (req, res) => {
    if (!tokenOk(requestHeader(req, "authorization"))) {
      return sendJson(res, 403, ecsErrorBody("invalid Authorization token"), "application/json; charset=utf-8");
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.setHeader("Allow", "GET, HEAD");
      return sendJson(res, 405, ecsErrorBody("method not allowed"));
    }
    const path = requestPath(req);
    let cache = main;
    if (path.startsWith(ROLE_ARN_PREFIX)) {
      if (!o.roleProvider) return sendJson(res, 404, ecsErrorBody("not found"));
      let arn: string;
      try {
        arn = decodeURIComponent(path.slice(ROLE_ARN_PREFIX.length));
      } catch {
        arn = "";
      }
      if (!ROLE_ARN_PATTERN.test(arn)) return sendJson(res, 400, ecsErrorBody("invalid role ARN"));
      cache = roleCache(arn, o.roleProvider);
    }
    const fresh = cache.fresh();
    if (fresh) return answer(res, fresh);
    return cache.get().then(
      (served) => answer(res, served),
      (e: unknown) => sendJson(res, 500, ecsErrorBody(safeErrorMessage(e))),
    );
  };
}

/** Starts the server (fetching credentials first unless lazy) and returns where it listens. */
export async function startEcsServer(o: EcsServerOptions): Promise<EcsServer> {
  const token = randomToken(o.random);
  const { cache: main, started } = serverCredentialsCache(o);
  if (!o.lazy) await main.get();
  started();
  const host = o.host ?? "127.0.0.1";
  // The Host values naming our listener, once its port is known (until then nothing matches).
  let byAddress: string | undefined;
  let byName: string | undefined;
  const server = await listenCredentialServer(
    withSecurityChecks(ecsHandler(o, token, main), {
      allowHost: (h) => h === byAddress || h === byName,
      log: o.log,
    }),
    host,
    o.port ?? 0,
  );
  const port = server.port;
  byAddress = `127.0.0.1:${port}`;
  byName = `localhost:${port}`;
  return { url: `http://${host}:${port}`, port, token, close: () => server.close() };
}
