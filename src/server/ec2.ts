// The EC2 instance-metadata server behind `exec --ec2-server` (aws-vault server/ec2server.go, §5.1),
// plus IMDSv2: `PUT /latest/api/token` issues a token that GETs may present. It listens on
// 127.0.0.1 (a random port by default; the child is told with AWS_EC2_METADATA_SERVICE_ENDPOINT),
// and the root proxy (proxy.ts) makes it reachable as 169.254.169.254:80.
//
// Host check: `127.0.0.1:<port>` and `localhost:<port>` are direct requests; `169.254.169.254[:80]`
// is accepted only with the proxy's secret header, so only the real proxy can claim that name.
// IMDSv1 (no token) keeps working, as in aws-vault; a token that is presented must be valid.
import { createHmac, timingSafeEqual } from "node:crypto";
import { UserError } from "../errors.ts";
import { formatIso8601, goJsonObject } from "../util/go-format.ts";
import type { Secret } from "../util/secret.ts";
import { type CachedCredentials, CredentialsCache, serverCredentialsCache } from "./credentials-cache.ts";
import { safeErrorMessage, servedExpiration } from "./ecs.ts";
import { type CredentialHandler, type CredentialServerOptions, listenHttp, requestPath, secretMatcher, sendText, withSecurityChecks } from "./middleware.ts";
import {
  ENV_EC2_PROXY,
  isListening,
  launchMetadataProxy,
  type LaunchedProxy,
  type LaunchProxyOptions,
  METADATA_HOST,
  METADATA_PORT,
  PROXY_SECRET_HEADER,
  ProxyUnavailableError,
  randomProxySecret,
} from "./proxy.ts";

export const TOKEN_PATH = "/latest/api/token";
export const TOKEN_TTL_HEADER = "x-aws-ec2-metadata-token-ttl-seconds";
export const TOKEN_HEADER = "x-aws-ec2-metadata-token";
export const MAX_TOKEN_TTL_SECONDS = 21_600;
export const CREDENTIALS_NAME = "local-credentials";

const SECURITY_CREDENTIALS = "/latest/meta-data/iam/security-credentials/";
const INSTANCE_ID = "/latest/meta-data/instance-id/";
const IAM_INFO = "/latest/meta-data/iam/info/";
const IDENTITY_DOCUMENT = "/latest/dynamic/instance-identity/document";

export interface Ec2ServerOptions extends CredentialServerOptions {
  region: string | undefined;
  /** Requests naming 169.254.169.254 must carry this (added by the root proxy). */
  proxySecret: Secret;
}

export interface Ec2Server {
  /** For AWS_EC2_METADATA_SERVICE_ENDPOINT: `http://127.0.0.1:<port>/`. */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * IMDSv2 session tokens, stateless: 16 random bytes, the expiry (ms, 8 bytes) and an HMAC-SHA256
 * over both with a per-server key. Nothing is stored per token, so clients cannot grow our memory.
 */
export class ImdsTokens {
  readonly #key: Uint8Array;
  constructor(
    private readonly random: (bytes: number) => Uint8Array,
    private readonly now: () => Date,
  ) {
    this.#key = random(32);
  }

  issue(ttlSeconds: number): string {
    const body = Buffer.alloc(24);
    Buffer.from(this.random(16)).copy(body, 0);
    body.writeBigUInt64BE(BigInt(this.now().getTime() + ttlSeconds * 1000), 16);
    return Buffer.concat([body, this.#mac(body)]).toString("base64url");
  }

  valid(token: string): boolean {
    if (token.length !== 75 || !/^[A-Za-z0-9_-]+$/.test(token)) return false;
    const raw = Buffer.from(token, "base64url");
    if (raw.length !== 56) return false;
    const body = raw.subarray(0, 24);
    if (!timingSafeEqual(raw.subarray(24), this.#mac(body))) return false;
    return Number(body.readBigUInt64BE(16)) > this.now().getTime();
  }

  #mac(body: Buffer): Buffer {
    return createHmac("sha256", this.#key).update(body).digest();
  }
}

/** `X-aws-ec2-metadata-token-ttl-seconds`: an integer from 1 to 21600, else undefined. */
export function parseTokenTtl(value: string | string[] | undefined): number | undefined {
  if (typeof value !== "string" || !/^\d{1,5}$/.test(value.trim())) return undefined;
  const n = Number(value.trim());
  return n >= 1 && n <= MAX_TOKEN_TTL_SECONDS ? n : undefined;
}

/** The local-credentials document: Go json.Encoder over a map (alphabetical keys, trailing newline). */
export function imdsCredentialsBody(served: CachedCredentials, now: Date): string {
  const c = served.credentials;
  return `${goJsonObject([
    ["AccessKeyId", c.accessKeyId],
    ["Code", "Success"],
    ["Expiration", formatIso8601(servedExpiration(c, now))],
    ["LastUpdated", formatIso8601(served.fetchedAt)],
    ["SecretAccessKey", c.secretAccessKey.reveal()],
    ["Token", c.sessionToken?.reveal() ?? ""],
    ["Type", "AWS-HMAC"],
  ])}\n`;
}

export function ec2Handler(o: Ec2ServerOptions, cache: CredentialsCache, tokens: ImdsTokens): CredentialHandler {
  const bodies = new WeakMap<CachedCredentials, string>();
  const text = (res: Parameters<CredentialHandler>[1], status: number, body: string) => sendText(res, status, body);
  const redirect = (res: Parameters<CredentialHandler>[1], to: string) => sendText(res, 301, "", { Location: to });

  return async (req, res) => {
    const path = requestPath(req);
    if (path === TOKEN_PATH) {
      if (req.method !== "PUT") return sendText(res, 405, "405 - Method Not Allowed\n", { Allow: "PUT" });
      // As IMDS does: a token request that went through a forwarding proxy is refused.
      if (req.headers["x-forwarded-for"] !== undefined) return text(res, 403, "403 - Forbidden\n");
      const ttl = parseTokenTtl(req.headers[TOKEN_TTL_HEADER]);
      if (ttl === undefined) return text(res, 400, "400 - Missing or Invalid Parameters\n");
      return sendText(res, 200, tokens.issue(ttl), { "X-Aws-Ec2-Metadata-Token-Ttl-Seconds": String(ttl) });
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      return sendText(res, 405, "405 - Method Not Allowed\n", { Allow: "GET, HEAD" });
    }
    const token = req.headers[TOKEN_HEADER];
    if (token !== undefined && (typeof token !== "string" || !tokens.valid(token))) {
      return text(res, 401, "401 - Unauthorized\n");
    }

    if (path === `${SECURITY_CREDENTIALS}${CREDENTIALS_NAME}`) {
      let served: CachedCredentials;
      try {
        served = await cache.get();
      } catch (e) {
        return text(res, 504, `${safeErrorMessage(e)}\n`);
      }
      let body = bodies.get(served);
      if (body === undefined) {
        body = imdsCredentialsBody(served, o.now());
        if (served.credentials.expiration) bodies.set(served, body);
      }
      return text(res, 200, body);
    }
    // Go ServeMux subtree patterns: everything below the folder matches; the bare folder redirects.
    if (path.startsWith(SECURITY_CREDENTIALS)) return text(res, 200, CREDENTIALS_NAME);
    if (path.startsWith(INSTANCE_ID)) return text(res, 200, "aws-vault");
    if (path.startsWith(IAM_INFO)) return text(res, 200, `{"Code" : "Success"}`);
    for (const folder of [SECURITY_CREDENTIALS, INSTANCE_ID, IAM_INFO]) {
      if (path === folder.slice(0, -1)) return redirect(res, folder);
    }
    if (path === IDENTITY_DOCUMENT) return text(res, 200, `{"region": ${JSON.stringify(o.region ?? "")}}`);
    return text(res, 404, "404 page not found\n");
  };
}

export async function startEc2Server(o: Ec2ServerOptions): Promise<Ec2Server> {
  const { cache, started } = serverCredentialsCache(o);
  // aws-vault pre-fetches and ignores the error: SDKs time out IMDS calls aggressively, and a
  // failure here is retried (and shown) on the first request.
  await cache.get().catch((e: unknown) => o.debug?.(`pre-fetching credentials failed: ${safeErrorMessage(e)}`));
  started();
  const proxyOk = secretMatcher(o.proxySecret);
  const host = o.host ?? "127.0.0.1";
  let port = 0;
  const proxied = new Set([METADATA_HOST, `${METADATA_HOST}:${METADATA_PORT}`]);
  const server = await listenHttp(
    withSecurityChecks(ec2Handler(o, cache, new ImdsTokens(o.random, o.now)), {
      allowHost: (h, req) =>
        h === `127.0.0.1:${port}` || h === `localhost:${port}` || (proxied.has(h) && proxyOk(req.headers[PROXY_SECRET_HEADER])),
      log: o.log,
    }),
    host,
    o.port ?? 0,
  );
  port = server.port;
  return { url: `http://${host}:${port}/`, port, close: () => server.close() };
}

export interface Ec2EndpointOptions extends Omit<Ec2ServerOptions, "proxySecret"> {
  /** False with AWS_VAULT_EC2_PROXY=off: serve on 127.0.0.1 only. */
  useProxy: boolean;
  /** How to start `aws-vault proxy` (everything but the port and secret, which are made here). */
  proxy: Omit<LaunchProxyOptions, "upstreamPort" | "secret">;
  /** aws-vault's help messages (stderr on a terminal subshell, else the debug log). */
  help(text: string): void;
  /** The proxy could not start; exec carries on with the 127.0.0.1 endpoint. */
  warn(e: ProxyUnavailableError): void;
  /** Where the proxy will listen (tests inject a loopback address). */
  metadataAddress?: { host: string; port: number };
}

/**
 * `exec --ec2-server`: refuses when 169.254.169.254:80 is already taken, starts the server on
 * 127.0.0.1 with a fresh proxy secret, then the root proxy (best effort). close() stops both.
 */
export async function startEc2Endpoint(o: Ec2EndpointOptions): Promise<Ec2Server> {
  const { host, port } = o.metadataAddress ?? { host: METADATA_HOST, port: METADATA_PORT };
  const endpoint = `${host}:${port}`;
  if (o.useProxy && (await isListening(host, port))) {
    throw new UserError(`Another process is already bound to ${endpoint}`, {
      hints: [`set ${ENV_EC2_PROXY}=off to serve credentials on 127.0.0.1 only (the child gets AWS_EC2_METADATA_SERVICE_ENDPOINT)`],
    });
  }
  const secret = randomProxySecret(o.random);
  const server = await startEc2Server({ ...o, proxySecret: secret });
  o.debug?.(`EC2 metadata server listening on ${server.url}`);
  if (!o.useProxy) {
    o.debug?.(`${ENV_EC2_PROXY}=off: not starting the ${endpoint} proxy`);
    return server;
  }
  o.help(`Warning: Starting a local EC2 credential server on ${endpoint}; AWS credentials will be accessible to any process while it is running`);
  let launched: LaunchedProxy;
  try {
    launched = await launchMetadataProxy({ ...o.proxy, upstreamPort: server.port, secret });
  } catch (e) {
    if (e instanceof ProxyUnavailableError) {
      o.warn(e);
      return server;
    }
    await server.close();
    throw e;
  }
  return {
    url: server.url,
    port: server.port,
    async close() {
      await launched.stop();
      await server.close();
    },
  };
}
