// A small AWS STS fake (Query protocol, Version=2011-06-15) for e2e tests.
// Checks access keys (not signatures), expiry, TOTP codes and duration limits.
import { createHash, createHmac, randomBytes, randomInt, randomUUID } from "node:crypto";
import http from "node:http";

export const STS_NAMESPACE = "https://sts.amazonaws.com/doc/2011-06-15/";

// ---------------------------------------------------------------- SigV4 scope

export interface SigV4Credential {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
}

/** Parses `Credential=AKID/yyyymmdd/region/service/aws4_request` out of an Authorization header (or a bare X-Amz-Credential value). */
export function parseSigV4Credential(value: string | undefined): SigV4Credential | undefined {
  if (!value) return undefined;
  const m = /(?:^|Credential=)([^/,\s]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request/.exec(value);
  if (!m) return undefined;
  return { accessKeyId: m[1]!, date: m[2]!, region: m[3]!, service: m[4]! };
}

// ---------------------------------------------------------------- TOTP (RFC 4226 / 6238)

const B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

export function base32Decode(input: string): Buffer {
  const clean = input.replace(/[\s=]/g, "").toUpperCase();
  const out: number[] = [];
  let bits = 0;
  let acc = 0;
  for (const ch of clean) {
    const v = B32.indexOf(ch);
    if (v < 0) throw new Error(`invalid base32 character: ${ch}`);
    acc = (acc << 5) | v;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((acc >> bits) & 0xff);
    }
  }
  return Buffer.from(out);
}

export function base32Encode(buf: Uint8Array): string {
  let out = "";
  let bits = 0;
  let acc = 0;
  for (const byte of buf) {
    acc = (acc << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += B32[(acc >> bits) & 31];
    }
  }
  if (bits > 0) out += B32[(acc << (5 - bits)) & 31];
  return out;
}

/** A random 160-bit TOTP secret, base32 encoded (like AWS virtual MFA seeds). */
export function randomTotpSecret(): string {
  return base32Encode(randomBytes(20));
}

export function hotp(key: Uint8Array, counter: number, digits = 6): string {
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(counter));
  const mac = createHmac("sha1", key).update(msg).digest();
  const offset = mac[mac.length - 1]! & 0x0f;
  const code = mac.readUInt32BE(offset) & 0x7fffffff;
  return String(code % 10 ** digits).padStart(digits, "0");
}

export function totp(
  secretBase32: string,
  at: Date,
  opts: { digits?: number; stepSeconds?: number } = {},
): string {
  const step = opts.stepSeconds ?? 30;
  const counter = Math.floor(at.getTime() / 1000 / step);
  return hotp(base32Decode(secretBase32), counter, opts.digits ?? 6);
}

// ---------------------------------------------------------------- configuration

export interface MasterUser {
  accessKeyId: string;
  secretAccessKey: string;
  /** e.g. arn:aws:iam::111111111111:user/alice */
  arn: string;
  mfa?: { serial: string; totpSecretBase32: string };
}

export interface RoleConfig {
  requireMfa?: boolean;
  /** Seconds; default 3600. */
  maxSessionDuration?: number;
}

export interface FakeStsOptions {
  users: MasterUser[];
  /** When given, only these roles can be assumed; otherwise any role ARN works. */
  roles?: Record<string, RoleConfig>;
}

export type IssuingAction =
  | "GetSessionToken"
  | "AssumeRole"
  | "AssumeRoleWithWebIdentity"
  | "GetFederationToken";

export interface IssuedCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: Date;
  source: IssuingAction;
  /** Identity GetCallerIdentity reports for these credentials. */
  arn: string;
  userId: string;
  account: string;
  /** The master user at the root of the chain (absent for web identity). */
  user?: MasterUser;
  mfaAuthenticated: boolean;
}

export interface StsCall {
  action: string;
  params: Record<string, string>;
  accessKeyId?: string;
  /** The request carried a TokenCode. */
  mfaUsed: boolean;
  status: number;
  errorCode?: string;
}

// ---------------------------------------------------------------- helpers

class StsError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const validation = (msg: string): StsError => new StsError(400, "ValidationError", msg);
const invalidToken = (): StsError =>
  new StsError(403, "InvalidClientTokenId", "The security token included in the request is invalid.");

const UPPER_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const SECRET_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

function randomString(alphabet: string, n: number): string {
  let s = "";
  for (let i = 0; i < n; i++) s += alphabet[randomInt(alphabet.length)];
  return s;
}

/** Stable pseudo unique id (AIDA…/AROA…) for an ARN. */
function stableId(prefix: string, arn: string): string {
  const digest = createHash("sha1").update(arn).digest();
  return prefix + base32Encode(digest).slice(0, 17);
}

function xmlEscape(s: string): string {
  return s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

function el(tag: string, value: string | number | undefined): string {
  return value === undefined ? "" : `<${tag}>${xmlEscape(String(value))}</${tag}>`;
}

/** Account id from an IAM/STS ARN. */
function accountOf(arn: string): string {
  return arn.split(":")[4] ?? "000000000000";
}

function parseDuration(params: Record<string, string>, def: number, min: number, max: number): number {
  const raw = params.DurationSeconds;
  if (raw === undefined) return def;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n)) {
    throw validation(`1 validation error detected: Value '${raw}' at 'durationSeconds' failed to satisfy constraint: Member must be an integer`);
  }
  if (n < min) {
    throw validation(`1 validation error detected: Value '${raw}' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to ${min}`);
  }
  if (n > max) {
    throw validation(`1 validation error detected: Value '${raw}' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to ${max}`);
  }
  return n;
}

function required(params: Record<string, string>, name: string): string {
  const v = params[name];
  if (v === undefined || v === "") {
    const member = name[0]!.toLowerCase() + name.slice(1);
    throw validation(`1 validation error detected: Value null at '${member}' failed to satisfy constraint: Member must not be null`);
  }
  return v;
}

const ROLE_ARN = /^arn:aws[\w-]*:iam::(\d{12}):role\/(?:[\w+=,.@-]+\/)*([\w+=,.@-]+)$/;

function parseRoleArn(arn: string): { account: string; name: string } {
  const m = ROLE_ARN.exec(arn);
  if (!m) throw validation(`${arn} is invalid`);
  return { account: m[1]!, name: m[2]! };
}

function checkSessionName(name: string, max = 64): void {
  if (name.length < 2 || name.length > max || !/^[\w+=,.@-]+$/.test(name)) {
    throw validation(`1 validation error detected: Value '${name}' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*`);
  }
}

/** Unverified JWT claims (the fake trusts any well-formed token). */
function jwtClaims(token: string): Record<string, unknown> {
  const part = token.split(".")[1];
  try {
    const claims: unknown = JSON.parse(Buffer.from(part ?? "", "base64url").toString("utf8"));
    if (claims && typeof claims === "object") return claims as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw new StsError(400, "InvalidIdentityToken", "Couldn't parse web identity token.");
}

interface Principal {
  arn: string;
  userId: string;
  account: string;
  user?: MasterUser;
  issued?: IssuedCredentials;
}

// ---------------------------------------------------------------- the fake

export class FakeSts {
  private readonly users = new Map<string, MasterUser>();
  private readonly issuedByKey = new Map<string, IssuedCredentials>();
  private readonly log: StsCall[] = [];
  private clockOffsetMs = 0;
  private server: http.Server | undefined;
  endpoint = "";

  constructor(private readonly opts: FakeStsOptions) {
    for (const u of opts.users) this.users.set(u.accessKeyId, u);
  }

  /** The fake's clock (real time plus advanceClock offsets). Use it for totp() too. */
  now(): Date {
    return new Date(Date.now() + this.clockOffsetMs);
  }

  advanceClock(seconds: number): void {
    this.clockOffsetMs += seconds * 1000;
  }

  addUser(user: MasterUser): void {
    this.users.set(user.accessKeyId, user);
  }

  calls(action?: string): StsCall[] {
    return this.log.filter((c) => action === undefined || c.action === action);
  }

  resetCalls(): void {
    this.log.splice(0);
  }

  issued(): IssuedCredentials[] {
    return [...this.issuedByKey.values()];
  }

  async start(): Promise<{ endpoint: string; stop(): Promise<void> }> {
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => this.respond(req, Buffer.concat(chunks).toString("utf8"), res));
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve());
    });
    const addr = server.address();
    if (addr === null || typeof addr === "string") throw new Error("fake STS: no address");
    this.server = server;
    this.endpoint = `http://127.0.0.1:${addr.port}`;
    return { endpoint: this.endpoint, stop: () => this.stop() };
  }

  stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return Promise.resolve();
    return new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  }

  private respond(req: http.IncomingMessage, body: string, res: http.ServerResponse): void {
    const params: Record<string, string> = {};
    const url = new URL(req.url ?? "/", "http://localhost");
    for (const [k, v] of url.searchParams) params[k] = v;
    for (const [k, v] of new URLSearchParams(body)) params[k] = v;

    const action = params.Action ?? "";
    const cred =
      parseSigV4Credential(req.headers.authorization) ?? parseSigV4Credential(params["X-Amz-Credential"]);
    const tokenHeader = req.headers["x-amz-security-token"];
    const sessionToken = (typeof tokenHeader === "string" ? tokenHeader : undefined) ?? params["X-Amz-Security-Token"];
    const call: StsCall = {
      action,
      params,
      accessKeyId: cred?.accessKeyId,
      mfaUsed: params.TokenCode !== undefined,
      status: 200,
    };
    const requestId = randomUUID();
    let xml: string;
    try {
      xml = this.dispatch(action, params, cred, sessionToken, requestId);
    } catch (err) {
      const e = err instanceof StsError ? err : new StsError(500, "InternalFailure", String(err));
      call.status = e.status;
      call.errorCode = e.code;
      const type = e.status >= 500 ? "Receiver" : "Sender";
      xml =
        `<ErrorResponse xmlns="${STS_NAMESPACE}"><Error><Type>${type}</Type>` +
        `${el("Code", e.code)}${el("Message", e.message)}</Error>` +
        `${el("RequestId", requestId)}</ErrorResponse>`;
    }
    this.log.push(call);
    res.writeHead(call.status, { "content-type": "text/xml", "x-amzn-requestid": requestId });
    res.end(xml);
  }

  private dispatch(
    action: string,
    params: Record<string, string>,
    cred: SigV4Credential | undefined,
    sessionToken: string | undefined,
    requestId: string,
  ): string {
    const handlers: Record<string, (p: Record<string, string>, who: () => Principal) => string> = {
      GetSessionToken: (p, who) => this.getSessionToken(p, who()),
      AssumeRole: (p, who) => this.assumeRole(p, who()),
      GetCallerIdentity: (_p, who) => {
        const me = who();
        return el("Arn", me.arn) + el("UserId", me.userId) + el("Account", me.account);
      },
      GetFederationToken: (p, who) => this.getFederationToken(p, who()),
      AssumeRoleWithWebIdentity: (p) => this.assumeRoleWithWebIdentity(p),
    };
    const handler = handlers[action];
    if (params.Version !== "2011-06-15" || !handler) {
      throw new StsError(400, "InvalidAction", `Could not find operation ${action} for version ${params.Version ?? "NO_VERSION_SPECIFIED"}`);
    }
    const result = handler(params, () => this.authenticate(cred, sessionToken));
    return (
      `<${action}Response xmlns="${STS_NAMESPACE}"><${action}Result>${result}</${action}Result>` +
      `<ResponseMetadata>${el("RequestId", requestId)}</ResponseMetadata></${action}Response>`
    );
  }

  private authenticate(cred: SigV4Credential | undefined, sessionToken: string | undefined): Principal {
    if (!cred) throw new StsError(403, "MissingAuthenticationToken", "Request is missing Authentication Token");
    if (cred.service !== "sts") {
      throw new StsError(403, "SignatureDoesNotMatch", `Credential should be scoped to correct service: 'sts'.`);
    }
    const user = this.users.get(cred.accessKeyId);
    if (user) {
      if (sessionToken !== undefined) throw invalidToken();
      return { arn: user.arn, userId: stableId("AIDA", user.arn), account: accountOf(user.arn), user };
    }
    const issued = this.issuedByKey.get(cred.accessKeyId);
    if (!issued || sessionToken !== issued.sessionToken) throw invalidToken();
    if (this.now() >= issued.expiration) {
      throw new StsError(403, "ExpiredToken", "The security token included in the request is expired");
    }
    return { arn: issued.arn, userId: issued.userId, account: issued.account, user: issued.user, issued };
  }

  /** Verifies SerialNumber/TokenCode if sent; returns whether MFA was presented. */
  private checkMfa(user: MasterUser | undefined, params: Record<string, string>): boolean {
    const serial = params.SerialNumber;
    const code = params.TokenCode;
    if (serial === undefined && code === undefined) return false;
    if (!serial || !code) throw validation("SerialNumber and TokenCode must be provided together");
    if (!/^\d{6}$/.test(code)) {
      throw validation(`1 validation error detected: Value '${code}' at 'tokenCode' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\d]{6}`);
    }
    if (!user?.mfa || user.mfa.serial !== serial) {
      throw new StsError(403, "AccessDenied", "MultiFactorAuthentication failed, unable to validate MFA code. Please verify your MFA serial number is valid and associated with this user.");
    }
    const now = this.now().getTime();
    const secret = user.mfa.totpSecretBase32;
    if (![-1, 0, 1].some((d) => totp(secret, new Date(now + d * 30_000)) === code)) {
      throw new StsError(403, "AccessDenied", "MultiFactorAuthentication failed with invalid MFA one time pass code.");
    }
    return true;
  }

  private issue(
    fields: Omit<IssuedCredentials, "accessKeyId" | "secretAccessKey" | "sessionToken" | "expiration">,
    durationSeconds: number,
  ): IssuedCredentials {
    const creds: IssuedCredentials = {
      ...fields,
      accessKeyId: "ASIA" + randomString(UPPER_ALNUM, 16),
      secretAccessKey: randomString(SECRET_CHARS, 40),
      sessionToken: "IQoJb3JpZ2luX2VjE" + randomBytes(480).toString("base64"),
      // Whole seconds, like AWS.
      expiration: new Date(Math.floor(this.now().getTime() / 1000 + durationSeconds) * 1000),
    };
    this.issuedByKey.set(creds.accessKeyId, creds);
    return creds;
  }

  private credentialsXml(c: IssuedCredentials): string {
    return (
      "<Credentials>" +
      el("AccessKeyId", c.accessKeyId) +
      el("SecretAccessKey", c.secretAccessKey) +
      el("SessionToken", c.sessionToken) +
      el("Expiration", c.expiration.toISOString().replace(/\.\d{3}Z$/, "Z")) +
      "</Credentials>"
    );
  }

  private getSessionToken(params: Record<string, string>, me: Principal): string {
    if (me.issued) throw new StsError(403, "AccessDenied", "Cannot call GetSessionToken with session credentials");
    const duration = parseDuration(params, 43_200, 900, 129_600);
    const mfa = this.checkMfa(me.user, params);
    const creds = this.issue(
      { source: "GetSessionToken", arn: me.arn, userId: me.userId, account: me.account, user: me.user, mfaAuthenticated: mfa },
      duration,
    );
    return this.credentialsXml(creds);
  }

  private roleConfig(roleArn: string, callerArn: string, action: string): RoleConfig {
    const roles = this.opts.roles;
    if (!roles) return {};
    const cfg = roles[roleArn];
    if (!cfg) {
      throw new StsError(403, "AccessDenied", `User: ${callerArn} is not authorized to perform: ${action} on resource: ${roleArn}`);
    }
    return cfg;
  }

  private assumeRole(params: Record<string, string>, me: Principal): string {
    const roleArn = required(params, "RoleArn");
    const sessionName = required(params, "RoleSessionName");
    const role = parseRoleArn(roleArn);
    checkSessionName(sessionName);
    if (me.issued?.source === "GetFederationToken") {
      throw new StsError(403, "AccessDenied", "Cannot call AssumeRole with federated user credentials");
    }
    const cfg = this.roleConfig(roleArn, me.arn, "sts:AssumeRole");
    const mfaNow = this.checkMfa(me.user, params);
    const sessionMfa = me.issued?.source === "GetSessionToken" && me.issued.mfaAuthenticated;
    if (cfg.requireMfa && !mfaNow && !sessionMfa) {
      throw new StsError(403, "AccessDenied", `User: ${me.arn} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`);
    }
    const chained = me.issued !== undefined && me.issued.source !== "GetSessionToken";
    const duration = parseDuration(params, 3600, 900, 43_200);
    if (chained && duration > 3600) {
      throw validation("The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.");
    }
    if (!chained && duration > (cfg.maxSessionDuration ?? 3600)) {
      throw validation("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.");
    }
    const arn = `arn:aws:sts::${role.account}:assumed-role/${role.name}/${sessionName}`;
    const userId = `${stableId("AROA", roleArn)}:${sessionName}`;
    const creds = this.issue(
      { source: "AssumeRole", arn, userId, account: role.account, user: me.user, mfaAuthenticated: mfaNow || sessionMfa },
      duration,
    );
    return (
      this.credentialsXml(creds) +
      `<AssumedRoleUser>${el("AssumedRoleId", userId)}${el("Arn", arn)}</AssumedRoleUser>` +
      el("SourceIdentity", params.SourceIdentity)
    );
  }

  private getFederationToken(params: Record<string, string>, me: Principal): string {
    if (me.issued) throw new StsError(403, "AccessDenied", "Cannot call GetFederationToken with session credentials");
    const name = required(params, "Name");
    if (name.length < 2 || name.length > 32 || !/^[\w+=,.@-]+$/.test(name)) {
      throw validation(`1 validation error detected: Value '${name}' at 'name' failed to satisfy constraint: Member must have length less than or equal to 32`);
    }
    const duration = parseDuration(params, 43_200, 900, 129_600);
    const arn = `arn:aws:sts::${me.account}:federated-user/${name}`;
    const userId = `${me.account}:${name}`;
    const creds = this.issue(
      { source: "GetFederationToken", arn, userId, account: me.account, user: me.user, mfaAuthenticated: false },
      duration,
    );
    return this.credentialsXml(creds) + `<FederatedUser>${el("FederatedUserId", userId)}${el("Arn", arn)}</FederatedUser>`;
  }

  private assumeRoleWithWebIdentity(params: Record<string, string>): string {
    const roleArn = required(params, "RoleArn");
    const sessionName = required(params, "RoleSessionName");
    const token = required(params, "WebIdentityToken");
    const role = parseRoleArn(roleArn);
    checkSessionName(sessionName);
    const claims = jwtClaims(token);
    const cfg = this.roleConfig(roleArn, "web-identity", "sts:AssumeRoleWithWebIdentity");
    if (typeof claims.exp === "number" && claims.exp * 1000 <= this.now().getTime()) {
      throw new StsError(400, "ExpiredTokenException", "Token expired: current date/time must be before the expiration date/time.");
    }
    const duration = parseDuration(params, 3600, 900, 43_200);
    if (duration > (cfg.maxSessionDuration ?? 3600)) {
      throw validation("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.");
    }
    const arn = `arn:aws:sts::${role.account}:assumed-role/${role.name}/${sessionName}`;
    const userId = `${stableId("AROA", roleArn)}:${sessionName}`;
    const creds = this.issue(
      { source: "AssumeRoleWithWebIdentity", arn, userId, account: role.account, mfaAuthenticated: false },
      duration,
    );
    const aud = Array.isArray(claims.aud) ? claims.aud[0] : claims.aud;
    return (
      this.credentialsXml(creds) +
      el("SubjectFromWebIdentityToken", typeof claims.sub === "string" ? claims.sub : undefined) +
      `<AssumedRoleUser>${el("AssumedRoleId", userId)}${el("Arn", arn)}</AssumedRoleUser>` +
      el("Provider", typeof claims.iss === "string" ? claims.iss.replace(/^https?:\/\//, "") : undefined) +
      el("Audience", typeof aud === "string" ? aud : undefined)
    );
  }
}

/** Convenience: construct and start a FakeSts. */
export async function startFakeSts(opts: FakeStsOptions): Promise<FakeSts> {
  const sts = new FakeSts(opts);
  await sts.start();
  return sts;
}
