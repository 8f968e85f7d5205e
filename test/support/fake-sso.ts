// A fake IAM Identity Center for e2e tests: the SSO OIDC service (REST-JSON, as the device
// authorization grant uses it) and the SSO portal's GetRoleCredentials, each on its own loopback
// port (point AWS_ENDPOINT_URL_SSO_OIDC and AWS_ENDPOINT_URL_SSO at them).
//
// Wire format, from the AWS API references (SSO OIDC 2019-06-10, SSO portal 2019-06-10):
//   POST /client/register        {clientName, clientType, scopes?} -> {clientId, clientSecret, clientIdIssuedAt, clientSecretExpiresAt, ...}
//   POST /device_authorization   {clientId, clientSecret, startUrl} -> {deviceCode, userCode, verificationUri, verificationUriComplete, expiresIn, interval}
//   POST /client/register also takes grantTypes (authorization_code, refresh_token, device code),
//     redirectUris, issuerUrl (RegisterClient, "authorization code grant with PKCE")
//   GET  /authorize?response_type=code&client_id&redirect_uri&state&code_challenge_method=S256&code_challenge&scopes
//     -> 302 to redirect_uri?code=…&state=… (the user signed in and allowed access); redirect_uri must be
//     a registered redirect URI, a loopback one matching with any port (RFC 8252 §7.3)
//   POST /token                  {clientId, clientSecret, grantType, deviceCode} -> {accessToken, tokenType, expiresIn, refreshToken, idToken}
//     grantType authorization_code: {code, codeVerifier, redirectUri}; BASE64URL(SHA256(codeVerifier)) must equal
//       the code_challenge (RFC 7636 S256), redirectUri the authorize request's; a refresh token is issued when
//       the client registered grant refresh_token and scope sso:account:access
//     grantType refresh_token: {refreshToken} -> a new access token
//   GET /assignment/accounts?max_result&next_token (header x-amz-sso_bearer_token) -> {accountList: [{accountId, accountName, emailAddress}], nextToken}
//   GET /assignment/roles?account_id&max_result&next_token -> {roleList: [{accountId, roleName}], nextToken}
//     errors: HTTP 400 with `x-amzn-ErrorType: <Name>Exception:<namespace>` and {"error": "authorization_pending" |
//     "slow_down" | "expired_token" | "access_denied" | "invalid_grant" | ..., "error_description": …}; invalid_client is 401.
//   GET /federation/credentials?account_id=&role_name=  (header x-amz-sso_bearer_token)
//     -> {"roleCredentials": {accessKeyId, secretAccessKey, sessionToken, expiration: <epoch ms>}}
//     errors: {"message": …} with x-amzn-ErrorType UnauthorizedException (401), ForbiddenException (403), InvalidRequestException (400).
// Test-only routes on the OIDC port: GET /device (the verification page; shows, approves nothing)
// and POST /__approve {"userCode"} (the user clicking "Allow").
import { createHash, randomBytes, randomInt, randomUUID } from "node:crypto";
import http from "node:http";

const OIDC_NAMESPACE = "http://internal.amazon.com/coral/com.amazonaws.switchboard.portal/";
export const DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code";
const KNOWN_GRANTS = new Set([DEVICE_CODE_GRANT, "authorization_code", "refresh_token"]);

/** What the "user" does on the authorize page. */
export type AuthorizeAnswer = "allow" | "deny" | "wrong-state" | "no-answer";

export interface FakeSsoOptions {
  /** Polling interval StartDeviceAuthorization returns, in seconds (the API's minimum is 1; default 1). */
  interval?: number;
  /** Lifetime of a device code in seconds (default 600). */
  deviceCodeExpiresIn?: number;
  /** Lifetime of an access token in seconds (default 28800, 8 h). */
  tokenExpiresIn?: number;
  /** Lifetime of role credentials in seconds (default 3600). */
  roleCredentialsDuration?: number;
  /** Account id -> role names the user may get credentials for; any when omitted. */
  assignments?: Record<string, string[]>;
  /** Answer slow_down to a poll that comes sooner than the interval (default true). */
  enforceInterval?: boolean;
  /** Account names for ListAccounts (accounts come from `assignments`). */
  accountNames?: Record<string, string>;
  /** Page size of ListAccounts / ListAccountRoles when the caller sets none (default 100). */
  pageSize?: number;
}

export interface SsoCall {
  service: "oidc" | "portal";
  operation: string;
  status: number;
  error?: string;
  /** For GetRoleCredentials: `account/role`; for StartDeviceAuthorization: the start URL. */
  detail?: string;
}

export interface IssuedRoleCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: Date;
  accountId: string;
  roleName: string;
  startUrl: string;
}

interface Client {
  clientId: string;
  clientSecret: string;
  secretExpiresAt: number;
  grantTypes: string[];
  redirectUris: string[];
  scopes: string[];
  issuerUrl?: string;
}

interface AuthorizationCode {
  clientId: string;
  redirectUri: string;
  challenge: string;
  scopes: string[];
  startUrl: string;
  used: boolean;
}

interface RefreshToken {
  clientId: string;
  startUrl: string;
}

/** What the last RegisterClient / authorize request carried (for assertions). */
export interface AuthorizeRecord {
  clientId: string;
  redirectUri: string;
  state: string;
  codeChallengeMethod: string;
  codeChallenge: string;
  scopes: string;
  registeredRedirectUris: string[];
  registeredGrantTypes: string[];
  issuerUrl?: string;
}

interface DeviceAuth {
  deviceCode: string;
  userCode: string;
  clientId: string;
  startUrl: string;
  expiresAt: number;
  interval: number;
  state: "pending" | "approved" | "denied" | "used";
  lastPoll?: number;
}

interface AccessToken {
  startUrl: string;
  expiresAt: number;
  revoked: boolean;
}

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    readonly body: Record<string, unknown>,
  ) {
    super(type);
  }
}

const oidcError = (status: number, type: string, error: string, description: string | null = null): ApiError =>
  new ApiError(status, type, { error, error_description: description });
const portalError = (status: number, type: string, message: string): ApiError => new ApiError(status, type, { message });

const UPPER = "BCDFGHJKLMNPQRSTVWXZ";
const UPPER_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const SECRET_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

function randomString(alphabet: string, n: number): string {
  let s = "";
  for (let i = 0; i < n; i++) s += alphabet[randomInt(alphabet.length)];
  return s;
}

function str(body: Record<string, unknown>, name: string): string | undefined {
  const v = body[name];
  return typeof v === "string" && v !== "" ? v : undefined;
}

export class FakeSso {
  private readonly clients = new Map<string, Client>();
  private readonly devices = new Map<string, DeviceAuth>();
  private readonly tokens = new Map<string, AccessToken>();
  private readonly issued: IssuedRoleCredentials[] = [];
  private readonly log: SsoCall[] = [];
  private readonly scripted: string[] = [];
  private readonly codes = new Map<string, AuthorizationCode>();
  private readonly refreshTokens = new Map<string, RefreshToken>();
  private readonly authorizes: AuthorizeRecord[] = [];
  /** What the next authorize requests answer (then "allow"). */
  private readonly authorizeAnswers: AuthorizeAnswer[] = [];
  /**
   * When set, CreateToken reports this `expiresIn` for new access tokens (the client then treats them as
   * expired that soon, e.g. to test refresh) while the portal keeps accepting them as usual.
   */
  accessTokenLifetime: number | undefined;
  private clockOffsetMs = 0;
  private oidcServer: http.Server | undefined;
  private portalServer: http.Server | undefined;
  oidcEndpoint = "";
  portalEndpoint = "";

  constructor(private readonly opts: FakeSsoOptions = {}) {}

  now(): number {
    return Date.now() + this.clockOffsetMs;
  }

  advanceClock(seconds: number): void {
    this.clockOffsetMs += seconds * 1000;
  }

  calls(operation?: string): SsoCall[] {
    return this.log.filter((c) => operation === undefined || c.operation === operation);
  }

  /** Forgets the recorded calls and any scripted poll answers not used yet. */
  resetCalls(): void {
    this.log.splice(0);
    this.scripted.splice(0);
  }

  /** `Operation[ detail][ -> Error]` for each call, in order. */
  callSummary(): string[] {
    return this.log.map((c) => `${c.operation}${c.detail ? ` ${c.detail}` : ""}${c.error ? ` -> ${c.error}` : ""}`);
  }

  roleCredentials(): IssuedRoleCredentials[] {
    return [...this.issued];
  }

  /** User codes of device authorizations nobody has approved or denied yet. */
  pendingUserCodes(): string[] {
    return [...this.devices.values()].filter((d) => d.state === "pending").map((d) => d.userCode);
  }

  /** The user approves the request shown for `userCode`; false when there is no such pending request. */
  approve(userCode: string): boolean {
    return this.settle(userCode, "approved");
  }

  deny(userCode: string): boolean {
    return this.settle(userCode, "denied");
  }

  /** The next CreateToken answers are these errors (before the normal logic), e.g. "slow_down". */
  scriptPolls(...errors: Array<"authorization_pending" | "slow_down">): void {
    this.scripted.push(...errors);
  }

  /** The next authorize requests answer like this (once each); the default is "allow". */
  scriptAuthorize(...answers: AuthorizeAnswer[]): void {
    this.authorizeAnswers.push(...answers);
  }

  /** Every secret handed out: authorization codes, access and refresh tokens, client secrets (for leak checks). */
  secretsIssued(): string[] {
    return [
      ...this.codes.keys(),
      ...this.tokens.keys(),
      ...this.refreshTokens.keys(),
      ...[...this.clients.values()].map((c) => c.clientSecret),
      ...this.issued.flatMap((c) => [c.secretAccessKey, c.sessionToken]),
    ];
  }

  authorizeRequests(): AuthorizeRecord[] {
    return [...this.authorizes];
  }

  /** Signs every access token out (the portal then answers 401). */
  revokeTokens(): void {
    for (const t of this.tokens.values()) t.revoked = true;
  }

  /** An access token as if a device flow had completed (for other clients, e.g. botocore). */
  issueAccessToken(startUrl: string): { accessToken: string; expiresAt: Date } {
    const accessToken = this.newAccessToken(startUrl);
    return { accessToken, expiresAt: new Date(this.tokens.get(accessToken)!.expiresAt) };
  }

  async start(): Promise<this> {
    this.oidcServer = await listen((req, body, res) => this.handle("oidc", req, body, res));
    this.portalServer = await listen((req, body, res) => this.handle("portal", req, body, res));
    this.oidcEndpoint = endpointOf(this.oidcServer);
    this.portalEndpoint = endpointOf(this.portalServer);
    return this;
  }

  async stop(): Promise<void> {
    await Promise.all([close(this.oidcServer), close(this.portalServer)]);
    this.oidcServer = undefined;
    this.portalServer = undefined;
  }

  private settle(userCode: string, state: "approved" | "denied"): boolean {
    for (const d of this.devices.values()) {
      if (d.userCode === userCode && d.state === "pending") {
        d.state = state;
        return true;
      }
    }
    return false;
  }

  private newAccessToken(startUrl: string): string {
    const token = `aoa${randomBytes(96).toString("base64url")}`;
    this.tokens.set(token, { startUrl, expiresAt: this.now() + (this.opts.tokenExpiresIn ?? 28_800) * 1000, revoked: false });
    return token;
  }

  private handle(service: "oidc" | "portal", req: http.IncomingMessage, raw: string, res: http.ServerResponse): void {
    const url = new URL(req.url ?? "/", "http://localhost");
    const route = `${req.method} ${url.pathname}`;
    if (service === "oidc" && route === "GET /device") {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      res.end(`<html><body><h1>Authorize request</h1><p>Code: ${escapeHtml(url.searchParams.get("user_code") ?? "")}</p></body></html>`);
      return;
    }
    if (service === "portal" && route === "POST /") {
      this.callerIdentity(req, raw, res);
      return;
    }
    if (service === "oidc" && route === "GET /authorize") {
      this.authorize(url.searchParams, res);
      return;
    }
    if (service === "oidc" && route === "POST /__approve") {
      const code = safeJson(raw).userCode;
      const ok = typeof code === "string" && this.approve(code);
      res.writeHead(ok ? 200 : 404, { "content-type": "application/json" });
      res.end(JSON.stringify({ approved: ok }));
      return;
    }

    const routes: Record<string, [string, (body: Record<string, unknown>, call: SsoCall) => unknown]> =
      service === "oidc"
        ? {
            "POST /client/register": ["RegisterClient", (b) => this.registerClient(b)],
            "POST /device_authorization": ["StartDeviceAuthorization", (b, call) => this.startDeviceAuthorization(b, call)],
            "POST /token": ["CreateToken", (b) => this.createToken(b)],
          }
        : {
            "GET /federation/credentials": [
              "GetRoleCredentials",
              (_b, call) => this.getRoleCredentials(url.searchParams, req.headers["x-amz-sso_bearer_token"], call),
            ],
            "GET /assignment/accounts": ["ListAccounts", (_b, call) => this.listAccounts(url.searchParams, req.headers["x-amz-sso_bearer_token"], call)],
            "GET /assignment/roles": ["ListAccountRoles", (_b, call) => this.listAccountRoles(url.searchParams, req.headers["x-amz-sso_bearer_token"], call)],
          };
    const entry = routes[route];
    const call: SsoCall = { service, operation: entry?.[0] ?? route, status: 200 };
    let status = 200;
    let headers: Record<string, string> = { "content-type": "application/json", "x-amzn-requestid": randomUUID() };
    let payload: unknown;
    try {
      if (!entry) throw new ApiError(404, "UnknownOperationException", { message: `no route for ${route}` });
      const body = req.method === "POST" ? safeJson(raw) : {};
      payload = entry[1](body, call);
    } catch (err) {
      const e = err instanceof ApiError ? err : new ApiError(500, "InternalServerException", { error: "server_error", error_description: String(err) });
      status = e.status;
      call.error = e.type;
      headers = { ...headers, "x-amzn-ErrorType": `${e.type}:${OIDC_NAMESPACE}` };
      payload = e.body;
    }
    call.status = status;
    this.log.push(call);
    res.writeHead(status, headers);
    res.end(JSON.stringify(payload));
  }

  private client(body: Record<string, unknown>): Client {
    const id = str(body, "clientId");
    const secret = str(body, "clientSecret");
    if (!id || !secret) throw oidcError(400, "InvalidRequestException", "invalid_request", "clientId and clientSecret are required");
    const client = this.clients.get(id);
    if (!client || client.clientSecret !== secret || client.secretExpiresAt * 1000 <= this.now()) {
      throw oidcError(401, "InvalidClientException", "invalid_client", "Invalid client");
    }
    return client;
  }

  private registerClient(body: Record<string, unknown>): unknown {
    const name = str(body, "clientName");
    const type = str(body, "clientType");
    if (!name || !type) throw oidcError(400, "InvalidRequestException", "invalid_request", "clientName and clientType are required");
    if (type !== "public") throw oidcError(400, "InvalidClientMetadataException", "invalid_client_metadata", "clientType must be public");
    const list = (name: string): string[] => {
      const v = body[name];
      if (v === undefined) return [];
      if (!Array.isArray(v) || !v.every((x) => typeof x === "string")) {
        throw oidcError(400, "InvalidRequestException", "invalid_request", `${name} must be a list of strings`);
      }
      return v as string[];
    };
    const grantTypes = list("grantTypes");
    const redirectUris = list("redirectUris");
    for (const g of grantTypes) {
      if (!KNOWN_GRANTS.has(g)) throw oidcError(400, "InvalidClientMetadataException", "invalid_client_metadata", `unsupported grant type ${g}`);
    }
    if (grantTypes.includes("authorization_code") && redirectUris.length === 0) {
      throw oidcError(400, "InvalidRedirectUriException", "invalid_redirect_uri", "redirectUris are required for authorization_code");
    }
    for (const u of redirectUris) {
      let parsed: URL;
      try {
        parsed = new URL(u);
      } catch {
        throw oidcError(400, "InvalidRedirectUriException", "invalid_redirect_uri", "Invalid redirect URI");
      }
      if (parsed.protocol !== "https:" && !(parsed.protocol === "http:" && parsed.hostname === "127.0.0.1")) {
        throw oidcError(400, "InvalidRedirectUriException", "invalid_redirect_uri", "redirect URIs must be https or loopback");
      }
    }
    const issuedAt = Math.floor(this.now() / 1000);
    const issuerUrl = str(body, "issuerUrl");
    const client: Client = {
      clientId: randomString(UPPER_ALNUM + "abcdefghijklmnopqrstuvwxyz-_", 22),
      clientSecret: `eyJraWQiOiJrZXktMTU2NDAyODA5OSIsImFsZyI6IkhTMzg0In0.${randomBytes(300).toString("base64url")}`,
      secretExpiresAt: issuedAt + 90 * 24 * 3600,
      grantTypes,
      redirectUris,
      scopes: list("scopes"),
      ...(issuerUrl ? { issuerUrl } : {}),
    };
    this.clients.set(client.clientId, client);
    return {
      authorizationEndpoint: null,
      clientId: client.clientId,
      clientIdIssuedAt: issuedAt,
      clientSecret: client.clientSecret,
      clientSecretExpiresAt: client.secretExpiresAt,
      tokenEndpoint: null,
    };
  }

  private startDeviceAuthorization(body: Record<string, unknown>, call: SsoCall): unknown {
    const client = this.client(body);
    const startUrl = str(body, "startUrl");
    if (!startUrl) throw oidcError(400, "InvalidRequestException", "invalid_request", "startUrl is required");
    call.detail = startUrl;
    const interval = this.opts.interval ?? 1;
    const expiresIn = this.opts.deviceCodeExpiresIn ?? 600;
    const device: DeviceAuth = {
      deviceCode: randomBytes(64).toString("base64url"),
      userCode: `${randomString(UPPER, 4)}-${randomString(UPPER, 4)}`,
      clientId: client.clientId,
      startUrl,
      expiresAt: this.now() + expiresIn * 1000,
      interval,
      state: "pending",
    };
    this.devices.set(device.deviceCode, device);
    const verificationUri = `${this.oidcEndpoint}/device`;
    return {
      deviceCode: device.deviceCode,
      expiresIn,
      interval,
      userCode: device.userCode,
      verificationUri,
      verificationUriComplete: `${verificationUri}?user_code=${device.userCode}`,
    };
  }

  private createToken(body: Record<string, unknown>): unknown {
    const client = this.client(body);
    const grant = str(body, "grantType");
    if (grant === "authorization_code") return this.exchangeCode(client, body);
    if (grant === "refresh_token") return this.refresh(client, body);
    if (grant !== DEVICE_CODE_GRANT) {
      throw oidcError(400, "UnsupportedGrantTypeException", "unsupported_grant_type", "Unsupported grant type");
    }
    const device = this.devices.get(str(body, "deviceCode") ?? "");
    if (!device || device.clientId !== client.clientId || device.state === "used") {
      throw oidcError(400, "InvalidGrantException", "invalid_grant", "Invalid grant provided");
    }
    const now = this.now();
    if (now >= device.expiresAt) throw oidcError(400, "ExpiredTokenException", "expired_token", "Device code expired");
    const scripted = this.scripted.shift();
    const previous = device.lastPoll;
    device.lastPoll = now;
    if (scripted === "slow_down" || (this.opts.enforceInterval !== false && previous !== undefined && now - previous < device.interval * 1000 - 100)) {
      device.interval += 5;
      throw oidcError(400, "SlowDownException", "slow_down", null);
    }
    if (scripted === "authorization_pending") throw oidcError(400, "AuthorizationPendingException", "authorization_pending", null);
    if (device.state === "denied") throw oidcError(400, "AccessDeniedException", "access_denied", "Access denied");
    if (device.state !== "approved") throw oidcError(400, "AuthorizationPendingException", "authorization_pending", null);
    device.state = "used";
    return {
      accessToken: this.newAccessToken(device.startUrl),
      expiresIn: this.opts.tokenExpiresIn ?? 28_800,
      idToken: null,
      refreshToken: null,
      tokenType: "Bearer",
    };
  }

  /** GET /authorize: validates like the service, then the "user" answers (allow by default). */
  private authorize(q: URLSearchParams, res: http.ServerResponse): void {
    const fail = (status: number, error: string) => {
      this.log.push({ service: "oidc", operation: "Authorize", status, error });
      res.writeHead(status, { "content-type": "text/plain" });
      res.end(error);
    };
    const client = this.clients.get(q.get("client_id") ?? "");
    if (!client) return fail(400, "invalid_client");
    if (!client.grantTypes.includes("authorization_code")) return fail(400, "unauthorized_client");
    if (q.get("response_type") !== "code") return fail(400, "unsupported_response_type");
    const redirectUri = q.get("redirect_uri") ?? "";
    if (!client.redirectUris.some((r) => redirectMatches(r, redirectUri))) return fail(400, "invalid_redirect_uri");
    const state = q.get("state") ?? "";
    const method = q.get("code_challenge_method") ?? "";
    const challenge = q.get("code_challenge") ?? "";
    const scopes = q.get("scopes") ?? "";
    this.authorizes.push({
      clientId: client.clientId,
      redirectUri,
      state,
      codeChallengeMethod: method,
      codeChallenge: challenge,
      scopes,
      registeredRedirectUris: [...client.redirectUris],
      registeredGrantTypes: [...client.grantTypes],
      ...(client.issuerUrl ? { issuerUrl: client.issuerUrl } : {}),
    });
    if (method !== "S256" || !/^[A-Za-z0-9_-]{43}$/.test(challenge)) return fail(400, "invalid_request");
    if (!state) return fail(400, "invalid_request");
    const answer = this.authorizeAnswers.shift() ?? "allow";
    this.log.push({ service: "oidc", operation: "Authorize", status: 302, detail: answer });
    if (answer === "no-answer") {
      res.writeHead(200, { "content-type": "text/html" });
      res.end("<html><body>Waiting for you to sign in…</body></html>");
      return;
    }
    const target = new URL(redirectUri);
    if (answer === "deny") {
      target.searchParams.set("error", "access_denied");
      target.searchParams.set("error_description", "The user denied the request");
      target.searchParams.set("state", state);
    } else {
      const code = randomBytes(32).toString("base64url");
      this.codes.set(code, {
        clientId: client.clientId,
        redirectUri,
        challenge,
        scopes: scopes.split(" ").filter(Boolean),
        startUrl: client.issuerUrl ?? "",
        used: false,
      });
      target.searchParams.set("code", code);
      target.searchParams.set("state", answer === "wrong-state" ? `${state}x` : state);
    }
    res.writeHead(302, { location: target.toString() });
    res.end();
  }

  private tokenResponse(client: Client, startUrl: string, scopes: string[], refreshToken?: string): unknown {
    let refresh = refreshToken;
    if (!refresh && client.grantTypes.includes("refresh_token") && scopes.includes("sso:account:access")) {
      refresh = `aor${randomBytes(64).toString("base64url")}`;
      this.refreshTokens.set(refresh, { clientId: client.clientId, startUrl });
    }
    const expiresIn = this.accessTokenLifetime ?? this.opts.tokenExpiresIn ?? 28_800;
    const accessToken = this.newAccessToken(startUrl);
    return { accessToken, expiresIn, idToken: null, refreshToken: refresh ?? null, tokenType: "Bearer" };
  }

  private exchangeCode(client: Client, body: Record<string, unknown>): unknown {
    const grant = this.codes.get(str(body, "code") ?? "");
    if (!grant || grant.used || grant.clientId !== client.clientId) {
      throw oidcError(400, "InvalidGrantException", "invalid_grant", "Invalid authorization code");
    }
    grant.used = true;
    if (str(body, "redirectUri") !== grant.redirectUri) {
      throw oidcError(400, "InvalidGrantException", "invalid_grant", "redirect_uri does not match the authorization request");
    }
    const verifier = str(body, "codeVerifier") ?? "";
    if (!/^[A-Za-z0-9._~-]{43,128}$/.test(verifier) || createHash("sha256").update(verifier).digest("base64url") !== grant.challenge) {
      throw oidcError(400, "InvalidGrantException", "invalid_grant", "Code verifier does not match the code challenge");
    }
    return this.tokenResponse(client, grant.startUrl, grant.scopes);
  }

  private refresh(client: Client, body: Record<string, unknown>): unknown {
    const token = str(body, "refreshToken") ?? "";
    const known = this.refreshTokens.get(token);
    if (!known || known.clientId !== client.clientId) throw oidcError(400, "InvalidGrantException", "invalid_grant", "Invalid refresh token");
    return this.tokenResponse(client, known.startUrl, [], token);
  }

  /**
   * A consumer check for the role credentials: STS GetCallerIdentity (Query protocol) on the portal
   * port (`aws sts get-caller-identity --endpoint-url <portalEndpoint>`), answering only requests
   * signed with an issued access key id and carrying its session token.
   */
  private callerIdentity(req: http.IncomingMessage, raw: string, res: http.ServerResponse): void {
    const akid = /Credential=([^/,\s]+)\//.exec(req.headers.authorization ?? "")?.[1];
    const issued = this.issued.find((c) => c.accessKeyId === akid);
    const ok = new URLSearchParams(raw).get("Action") === "GetCallerIdentity" && issued && req.headers["x-amz-security-token"] === issued.sessionToken;
    this.log.push({ service: "portal", operation: "GetCallerIdentity", status: ok ? 200 : 403, ...(issued ? { detail: `${issued.accountId}/${issued.roleName}` } : {}) });
    res.writeHead(ok ? 200 : 403, { "content-type": "text/xml" });
    if (!ok || !issued) {
      res.end(`<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>InvalidClientTokenId</Code><Message>The security token included in the request is invalid.</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`);
      return;
    }
    res.end(
      `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult>` +
        `<Arn>arn:aws:sts::${issued.accountId}:assumed-role/AWSReservedSSO_${issued.roleName}_0123456789abcdef/user</Arn>` +
        `<UserId>AROAFAKESSO:user</UserId><Account>${issued.accountId}</Account></GetCallerIdentityResult>` +
        `<ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></GetCallerIdentityResponse>`,
    );
  }

  /** The access token in the bearer header, or a 401. */
  private bearer(header: string | string[] | undefined): AccessToken {
    const token = typeof header === "string" ? this.tokens.get(header) : undefined;
    if (!token || token.revoked || token.expiresAt <= this.now()) {
      throw portalError(401, "UnauthorizedException", "Session token not found or invalid");
    }
    return token;
  }

  private page<T>(items: T[], query: URLSearchParams): { page: T[]; nextToken: string | null } {
    const size = Number(query.get("max_result") ?? this.opts.pageSize ?? 100);
    const start = Number(query.get("next_token") ?? "0");
    if (!Number.isInteger(size) || size < 1 || !Number.isInteger(start) || start < 0) {
      throw portalError(400, "InvalidRequestException", "bad paging parameters");
    }
    const end = start + size;
    return { page: items.slice(start, end), nextToken: end < items.length ? String(end) : null };
  }

  private listAccounts(query: URLSearchParams, bearer: string | string[] | undefined, call: SsoCall): unknown {
    this.bearer(bearer);
    const accounts = Object.keys(this.opts.assignments ?? {}).map((accountId) => ({
      accountId,
      accountName: this.opts.accountNames?.[accountId] ?? accountId,
      emailAddress: `aws+${accountId}@example.com`,
    }));
    const { page, nextToken } = this.page(accounts, query);
    call.detail = `page ${query.get("next_token") ?? "0"}`;
    return { accountList: page, nextToken };
  }

  private listAccountRoles(query: URLSearchParams, bearer: string | string[] | undefined, call: SsoCall): unknown {
    this.bearer(bearer);
    const accountId = query.get("account_id") ?? "";
    call.detail = `${accountId} page ${query.get("next_token") ?? "0"}`;
    const roles = (this.opts.assignments ?? {})[accountId];
    if (!roles) throw portalError(403, "ForbiddenException", "No access");
    const { page, nextToken } = this.page(roles.map((roleName) => ({ accountId, roleName })), query);
    return { roleList: page, nextToken };
  }

  private getRoleCredentials(query: URLSearchParams, bearer: string | string[] | undefined, call: SsoCall): unknown {
    const accountId = query.get("account_id") ?? "";
    const roleName = query.get("role_name") ?? "";
    call.detail = `${accountId}/${roleName}`;
    if (!accountId || !roleName) throw portalError(400, "InvalidRequestException", "account_id and role_name are required");
    const token = typeof bearer === "string" ? this.tokens.get(bearer) : undefined;
    if (!token || token.revoked || token.expiresAt <= this.now()) {
      throw portalError(401, "UnauthorizedException", "Session token not found or invalid");
    }
    const allowed = this.opts.assignments;
    if (allowed && !(allowed[accountId] ?? []).includes(roleName)) throw portalError(403, "ForbiddenException", "No access");
    const creds: IssuedRoleCredentials = {
      accessKeyId: `ASIA${randomString(UPPER_ALNUM, 16)}`,
      secretAccessKey: randomString(SECRET_CHARS, 40),
      sessionToken: `IQoJb3JpZ2luX2VjE${randomBytes(300).toString("base64")}`,
      // Whole seconds, in epoch milliseconds on the wire.
      expiration: new Date(Math.floor(this.now() / 1000 + (this.opts.roleCredentialsDuration ?? 3600)) * 1000),
      accountId,
      roleName,
      startUrl: token.startUrl,
    };
    this.issued.push(creds);
    return {
      roleCredentials: {
        accessKeyId: creds.accessKeyId,
        secretAccessKey: creds.secretAccessKey,
        sessionToken: creds.sessionToken,
        expiration: creds.expiration.getTime(),
      },
    };
  }
}

/** A registered redirect URI matches the one sent; loopback ones match on any port (RFC 8252 §7.3). */
function redirectMatches(registered: string, sent: string): boolean {
  if (registered === sent) return true;
  try {
    const r = new URL(registered);
    const s = new URL(sent);
    return r.protocol === "http:" && r.hostname === "127.0.0.1" && s.protocol === "http:" && s.hostname === "127.0.0.1" && r.pathname === s.pathname && s.search === "";
  } catch {
    return false;
  }
}

function safeJson(raw: string): Record<string, unknown> {
  if (raw.trim() === "") return {};
  try {
    const v: unknown = JSON.parse(raw);
    if (v && typeof v === "object" && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw oidcError(400, "InvalidRequestException", "invalid_request", "Malformed JSON body");
}

function escapeHtml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

async function listen(handler: (req: http.IncomingMessage, body: string, res: http.ServerResponse) => void): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => handler(req, Buffer.concat(chunks).toString("utf8"), res));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  return server;
}

function endpointOf(server: http.Server): string {
  const addr = server.address();
  if (addr === null || typeof addr === "string") throw new Error("fake SSO: no address");
  return `http://127.0.0.1:${addr.port}`;
}

function close(server: http.Server | undefined): Promise<void> {
  if (!server) return Promise.resolve();
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

/** Construct and start a FakeSso. */
export function startFakeSso(opts: FakeSsoOptions = {}): Promise<FakeSso> {
  return new FakeSso(opts).start();
}
