// A fake AWS Sign-In (the OAuth service behind `aws login`) for e2e tests, on one loopback port
// (point AWS_ENDPOINT_URL_SIGNIN at it). From the AWS Sign-In API reference and RFC 9449 / RFC 7636:
//   GET  /v1/authorize?response_type=code&client_id&state&code_challenge_method=SHA-256&code_challenge
//        &scope=openid&redirect_uri   the browser page; the test user is already signed in, so it
//        redirects (302) to redirect_uri?code=…&state=… at once. The cross-device client's
//        redirect_uri is this service's /v1/sessions/confirmation, which shows the code to paste:
//        base64("code=…&state=…").
//   POST /v1/token  (CreateOAuth2Token, REST-JSON, body = tokenInput)
//        {clientId, grantType: "authorization_code", code, codeVerifier, redirectUri?}
//        {clientId, grantType: "refresh_token", refreshToken}
//        -> {accessToken: {accessKeyId, secretAccessKey, sessionToken}, tokenType, expiresIn, refreshToken, idToken?}
//        errors: `x-amzn-ErrorType: <Name>` with {error, message}: AccessDeniedException (TOKEN_EXPIRED,
//        USER_CREDENTIALS_CHANGED, INSUFFICIENT_PERMISSIONS, AUTHCODE_EXPIRED), ValidationException.
// Every token call must carry a DPoP proof, verified with `jose`: ES256 signature by the header's
// own jwk, typ dpop+jwt, htm POST, htu this endpoint's /v1/token, iat within a minute, jti never
// seen before, and (for refreshes) the same key the session was bound to at the code exchange.
// Refresh tokens rotate on every refresh; a used one is refused (and counted).
import { createHash, randomBytes } from "node:crypto";
import http from "node:http";
import { calculateJwkThumbprint, EmbeddedJWK, jwtVerify, type JWK } from "jose";

export const SAME_DEVICE_CLIENT = "arn:aws:signin:::devtools/same-device";
export const CROSS_DEVICE_CLIENT = "arn:aws:signin:::devtools/cross-device";
const IAT_SKEW_S = 60;

export interface IssuedCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
}

export interface FakeSigninOptions {
  /** The signed-in identity: the login_session ARN in the id token. */
  loginSession?: string;
  /** Lifetime of the AWS credentials in seconds (default 900, as Sign-In). */
  expiresIn?: number;
  /** Makes the AWS credentials (e.g. AssumeRole on moto, so they work there); random ASIA keys by default. */
  mint?: () => Promise<IssuedCredentials>;
}

export interface SigninCall {
  operation: "Authorize" | "CreateOAuth2Token";
  grantType?: string;
  status: number;
  error?: string;
}

interface Session {
  loginSession: string;
  clientId: string;
  jkt: string;
}

interface PendingCode {
  clientId: string;
  redirectUri: string;
  challenge: string;
  used: boolean;
}

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    readonly error: string,
  ) {
    super(error);
  }
}

export class FakeSignin {
  private server: http.Server | undefined;
  endpoint = "";
  private readonly log: SigninCall[] = [];
  private readonly codes = new Map<string, PendingCode>();
  /** refresh token -> its session; `used` once rotated. */
  private readonly refreshTokens = new Map<string, { session: Session; used: boolean }>();
  private readonly seenJti = new Set<string>();
  private readonly issued: IssuedCredentials[] = [];
  private readonly scripted: string[] = [];
  /** Proofs refused, by reason (a correct client never shows up here). */
  readonly rejectedProofs: string[] = [];
  reusedRefreshTokens = 0;
  readonly loginSession: string;

  constructor(private readonly opts: FakeSigninOptions = {}) {
    this.loginSession = opts.loginSession ?? "arn:aws:iam::123456789012:user/alice";
  }

  calls(): SigninCall[] {
    return [...this.log];
  }

  resetCalls(): void {
    this.log.splice(0);
  }

  credentials(): IssuedCredentials[] {
    return [...this.issued];
  }

  /** The refresh tokens that still work (one per live session). */
  liveRefreshTokens(): string[] {
    return [...this.refreshTokens].filter(([, v]) => !v.used).map(([k]) => k);
  }

  /** All refresh tokens ever issued (live or rotated): what a HOME scan looks for. */
  allRefreshTokens(): string[] {
    return [...this.refreshTokens.keys()];
  }

  /** The next token calls fail with AccessDeniedException and these `error` codes. */
  failNext(...codes: string[]): void {
    this.scripted.push(...codes);
  }

  /**
   * A session as if `aws login` had completed, in the AWS CLI's cache-file shape (the key is
   * generated here and bound to the refresh token), for writing a ~/.aws/login/cache file.
   */
  async issueCacheToken(opts: { expiresAt: Date; region?: string }): Promise<Record<string, unknown>> {
    const { generateKeyPairSync, createPublicKey } = await import("node:crypto");
    const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const jwk = createPublicKey(privateKey).export({ format: "jwk" }) as JWK;
    const session: Session = { loginSession: this.loginSession, clientId: SAME_DEVICE_CLIENT, jkt: await calculateJwkThumbprint(jwk) };
    const refreshToken = this.newRefreshToken(session);
    const creds = await this.mint();
    return {
      accessToken: { ...creds, accountId: this.accountId(), expiresAt: opts.expiresAt.toISOString().replace(/\.\d{3}Z$/, "Z") },
      tokenType: "aws_sigv4",
      clientId: SAME_DEVICE_CLIENT,
      refreshToken,
      idToken: this.idToken(),
      dpopKey: privateKey.export({ format: "pem", type: "sec1" }).toString(),
      ...(opts.region ? { signInRegion: opts.region } : {}),
    };
  }

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => void this.handle(req, Buffer.concat(chunks).toString("utf8"), res));
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once("error", reject);
      this.server!.listen(0, "127.0.0.1", () => resolve());
    });
    const addr = this.server.address() as { port: number };
    this.endpoint = `http://127.0.0.1:${addr.port}`;
    return this;
  }

  stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return Promise.resolve();
    return new Promise((resolve) => {
      s.closeAllConnections();
      s.close(() => resolve());
    });
  }

  private accountId(): string {
    return this.loginSession.split(":")[4] ?? "123456789012";
  }

  private idToken(): string {
    const part = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
    return `${part({ alg: "none", typ: "JWT" })}.${part({ sub: this.loginSession, iat: Math.floor(Date.now() / 1000) })}.`;
  }

  private newRefreshToken(session: Session): string {
    const t = `rt-${randomBytes(24).toString("base64url")}`;
    this.refreshTokens.set(t, { session, used: false });
    return t;
  }

  private async mint(): Promise<IssuedCredentials> {
    const c = this.opts.mint
      ? await this.opts.mint()
      : {
          accessKeyId: `ASIA${randomBytes(8).toString("hex").toUpperCase()}`,
          secretAccessKey: randomBytes(30).toString("base64"),
          sessionToken: `st-${randomBytes(48).toString("base64url")}`,
        };
    this.issued.push(c);
    return c;
  }

  private async handle(req: http.IncomingMessage, body: string, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", this.endpoint);
    try {
      if (req.method === "GET" && url.pathname === "/v1/authorize") return this.authorize(url, res);
      if (req.method === "GET" && url.pathname === "/v1/sessions/confirmation") {
        const code = Buffer.from(`code=${url.searchParams.get("code") ?? ""}&state=${url.searchParams.get("state") ?? ""}`).toString("base64");
        res.writeHead(200, { "content-type": "text/html" }).end(`<p>Enter this code in your terminal:</p><pre id="code">${code}</pre>`);
        return;
      }
      if (req.method === "POST" && url.pathname === "/v1/token") {
        const out = await this.token(req, body);
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(out));
        return;
      }
      res.writeHead(404).end();
    } catch (e) {
      const err = e instanceof ApiError ? e : new ApiError(500, "InternalServerException", "server_error");
      if (url.pathname === "/v1/token") {
        this.log.push({ operation: "CreateOAuth2Token", status: err.status, error: err.error, ...(this.lastGrant ? { grantType: this.lastGrant } : {}) });
      }
      res.writeHead(err.status, { "content-type": "application/json", "x-amzn-errortype": err.type }).end(JSON.stringify({ error: err.error, message: err.message }));
    }
  }

  private lastGrant: string | undefined;

  private authorize(url: URL, res: http.ServerResponse): void {
    const r = this.authorizeRedirect(url);
    if ("error" in r) {
      res.writeHead(400, { "content-type": "text/plain" }).end(r.error);
      return;
    }
    res.writeHead(302, { location: r.location }).end();
  }

  /**
   * What a signed-in user's browser does with a cross-device authorize URL: the redirect to the
   * confirmation page, and the code that page shows (base64 of "code=…&state=…").
   */
  confirmRemote(authorizeUrl: string): string {
    const r = this.authorizeRedirect(new URL(authorizeUrl));
    if ("error" in r) throw new Error(`fake Sign-In refused the authorize URL: ${r.error}`);
    const back = new URL(r.location);
    return Buffer.from(`code=${back.searchParams.get("code") ?? ""}&state=${back.searchParams.get("state") ?? ""}`).toString("base64");
  }

  /** Validates an authorize request and issues a code: where the browser goes next, or why not. */
  private authorizeRedirect(url: URL): { location: string } | { error: string } {
    const q = (n: string) => url.searchParams.get(n) ?? "";
    const fail = (why: string) => {
      this.log.push({ operation: "Authorize", status: 400, error: why });
      return { error: why };
    };
    if (q("response_type") !== "code") return fail("response_type must be code");
    if (q("client_id") !== SAME_DEVICE_CLIENT && q("client_id") !== CROSS_DEVICE_CLIENT) return fail("unknown client_id");
    if (q("code_challenge_method") !== "SHA-256" || !/^[A-Za-z0-9_-]{43}$/.test(q("code_challenge"))) return fail("PKCE S256 challenge required");
    if (q("state").length < 16) return fail("state missing or too short");
    const redirect = q("redirect_uri");
    let target: URL;
    try {
      target = new URL(redirect);
    } catch {
      return fail("redirect_uri is not a URL");
    }
    if (q("client_id") === SAME_DEVICE_CLIENT) {
      if (target.protocol !== "http:" || target.hostname !== "127.0.0.1" || !target.port) return fail("same-device redirect_uri must be a loopback URL with a port");
    } else if (redirect !== `${this.endpoint}/v1/sessions/confirmation`) {
      return fail("cross-device redirect_uri must be the confirmation page");
    }
    const code = `code-${randomBytes(18).toString("base64url")}`;
    this.codes.set(code, { clientId: q("client_id"), redirectUri: redirect, challenge: q("code_challenge"), used: false });
    this.log.push({ operation: "Authorize", status: 302 });
    target.searchParams.set("code", code);
    target.searchParams.set("state", q("state"));
    return { location: target.href };
  }

  /** Verifies the DPoP proof (RFC 9449 §4.3); returns the key's thumbprint. */
  private async verifyProof(req: http.IncomingMessage): Promise<string> {
    const proof = req.headers["dpop"];
    const refuse = (why: string): never => {
      this.rejectedProofs.push(why);
      throw new ApiError(400, "ValidationException", "invalid_dpop_proof");
    };
    if (typeof proof !== "string") return refuse("no DPoP header");
    let verified;
    try {
      verified = await jwtVerify(proof, EmbeddedJWK, { typ: "dpop+jwt", algorithms: ["ES256"] });
    } catch (e) {
      return refuse(`signature: ${(e as Error).message}`);
    }
    const { payload, protectedHeader } = verified;
    if (payload.htm !== "POST") refuse(`htm ${String(payload.htm)}`);
    if (payload.htu !== `${this.endpoint}/v1/token`) refuse(`htu ${String(payload.htu)}`);
    if (typeof payload.iat !== "number" || Math.abs(payload.iat - Date.now() / 1000) > IAT_SKEW_S) refuse("iat not fresh");
    if (typeof payload.jti !== "string" || payload.jti.length < 16) refuse("jti missing");
    if (this.seenJti.has(payload.jti as string)) refuse("jti reused");
    this.seenJti.add(payload.jti as string);
    const jwk = protectedHeader.jwk as JWK;
    if (jwk.kty !== "EC" || jwk.crv !== "P-256" || "d" in jwk) refuse("jwk is not a public P-256 key");
    return calculateJwkThumbprint(jwk);
  }

  private async token(req: http.IncomingMessage, raw: string): Promise<Record<string, unknown>> {
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      throw new ApiError(400, "ValidationException", "invalid_request");
    }
    const grant = typeof body.grantType === "string" ? body.grantType : "";
    this.lastGrant = grant;
    const jkt = await this.verifyProof(req);
    const scripted = this.scripted.shift();
    if (scripted) throw new ApiError(400, "AccessDeniedException", scripted);
    let session: Session;
    let idToken: string | undefined;
    if (grant === "authorization_code") {
      const pending = this.codes.get(String(body.code ?? ""));
      if (!pending || pending.used) throw new ApiError(400, "AccessDeniedException", "AUTHCODE_EXPIRED");
      pending.used = true;
      if (body.clientId !== pending.clientId) throw new ApiError(400, "ValidationException", "invalid_client");
      if ((body.redirectUri ?? pending.redirectUri) !== pending.redirectUri) throw new ApiError(400, "ValidationException", "invalid_redirect_uri");
      const verifier = String(body.codeVerifier ?? "");
      if (!/^[A-Za-z0-9._~-]{43,128}$/.test(verifier) || createHash("sha256").update(verifier).digest("base64url") !== pending.challenge) {
        throw new ApiError(400, "ValidationException", "invalid_code_verifier");
      }
      session = { loginSession: this.loginSession, clientId: pending.clientId, jkt };
      idToken = this.idToken();
    } else if (grant === "refresh_token") {
      const entry = this.refreshTokens.get(String(body.refreshToken ?? ""));
      if (!entry) throw new ApiError(400, "AccessDeniedException", "TOKEN_EXPIRED");
      if (entry.used) {
        this.reusedRefreshTokens++;
        throw new ApiError(400, "AccessDeniedException", "TOKEN_EXPIRED");
      }
      if (entry.session.clientId !== body.clientId) throw new ApiError(400, "ValidationException", "invalid_client");
      if (entry.session.jkt !== jkt) {
        this.rejectedProofs.push("proof key is not the key the refresh token is bound to");
        throw new ApiError(400, "ValidationException", "invalid_dpop_proof");
      }
      entry.used = true;
      session = entry.session;
    } else {
      throw new ApiError(400, "ValidationException", "unsupported_grant_type");
    }
    const creds = await this.mint();
    this.log.push({ operation: "CreateOAuth2Token", grantType: grant, status: 200 });
    return {
      accessToken: creds,
      tokenType: "aws_sigv4",
      expiresIn: this.opts.expiresIn ?? 900,
      refreshToken: this.newRefreshToken(session),
      ...(idToken ? { idToken } : {}),
    };
  }

  /** Every refresh token issued for tests that expire them all (TOKEN_EXPIRED from now on). */
  expireRefreshTokens(): void {
    this.refreshTokens.clear();
  }
}

export function startFakeSignin(opts: FakeSigninOptions = {}): Promise<FakeSignin> {
  return new FakeSignin(opts).start();
}


