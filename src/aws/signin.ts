// The AWS federation (sign-in) endpoint: pure URL builders plus the one HTTP call login makes.
// Protocol (IAM User Guide, "Enable custom identity broker access to the AWS console"):
//   GET <federation>?Action=getSigninToken&Session=<json>[&SessionDuration=<900..43200>]
//     -> 200 {"SigninToken":"…"}
//   <federation>?Action=login&Issuer=<issuer>&Destination=<console url>&SigninToken=<token>
// SessionDuration is accepted only for role sessions (AssumeRole*); credentials from
// GetFederationToken carry their own lifetime.
//
// Both URLs carry secrets (the session credentials, then the sign-in token): they are never put
// in an error message or a log line. Errors name the host only.
import { AwsCallError, UserError } from "../errors.ts";
import { durationSeconds } from "../util/duration.ts";
import { Secret } from "../util/secret.ts";
import type { Credentials } from "../vault/credentials.ts";

export const DEFAULT_FEDERATION_URL = "https://us-east-1.signin.aws.amazon.com/federation";
export const LOGIN_ISSUER = "aws-vault";
/** The console session lengths the federation endpoint accepts in SessionDuration. */
export const MIN_SESSION_DURATION_SECONDS = 900;
export const MAX_SESSION_DURATION_SECONDS = 43_200;

interface Partition {
  name: string;
  /** AWS's partition data (partitions.json `regionRegex`): which regions belong to it. */
  regionRegex: RegExp;
  /** The sign-in host suffix; with a region the federation endpoint is `<region>.<signinDomain>`. */
  signinDomain: string;
  consoleDomain: string;
}

/**
 * Partitions other than `aws`, from AWS's endpoint data: partition membership by the SDK's
 * `regionRegex`, sign-in hosts from the SDK's sign-in endpoint rules (`https://{Region}.signin.…`),
 * console hosts from aws-vault's generateLoginURL (plus ByteNess' eusc).
 */
const PARTITIONS: readonly Partition[] = [
  { name: "aws-cn", regionRegex: /^cn-\w+-\d+$/, signinDomain: "signin.amazonaws.cn", consoleDomain: "console.amazonaws.cn" },
  { name: "aws-us-gov", regionRegex: /^us-gov-\w+-\d+$/, signinDomain: "signin.amazonaws-us-gov.com", consoleDomain: "console.amazonaws-us-gov.com" },
  { name: "aws-eusc", regionRegex: /^eusc-(de)-\w+-\d+$/, signinDomain: "signin.amazonaws-eusc.eu", consoleDomain: "console.amazonaws-eusc.eu" },
];

/** The partition of a region: aws-cn, aws-us-gov, aws-eusc, else aws. */
export function partitionName(region: string | undefined): string {
  return (region && PARTITIONS.find((p) => p.regionRegex.test(region))?.name) || "aws";
}

/** The federation endpoint: the region's own sign-in host outside `aws`; the us-east-1 one in `aws` (as ByteNess). */
function federationEndpoint(region: string | undefined): { federation: string; consoleDomain: string } {
  const p = region ? PARTITIONS.find((x) => x.regionRegex.test(region)) : undefined;
  if (!p || !region) return { federation: DEFAULT_FEDERATION_URL, consoleDomain: "console.aws.amazon.com" };
  return { federation: `https://${region}.${p.signinDomain}/federation`, consoleDomain: p.consoleDomain };
}

export interface LoginTarget {
  /** The federation endpoint: getSigninToken is called on it and the login URL starts with it. */
  federationUrl: string;
  /** The console page the login lands on. */
  destination: string;
}

/**
 * Where to sign in and where to land, from the region, `--path` and an optional sign-in base URL
 * (AWS_ENDPOINT_URL_SIGNIN and friends; `<base>/federation` is used).
 */
export function loginTarget(region: string | undefined, path?: string, signinBaseUrl?: string): LoginTarget {
  const partition = federationEndpoint(region);
  const federationUrl = signinBaseUrl ? `${signinBaseUrl.replace(/\/+$/, "")}/federation` : partition.federation;
  const page = (path ?? "").replace(/^\/+/, "");
  let destination: string;
  if (!region) {
    // aws-vault ignores --path without a region; the global console accepts a path just as well.
    destination = `https://${partition.consoleDomain}/${page}`;
  } else if (page) {
    destination = `https://${region}.${partition.consoleDomain}/${page}?region=${region}`;
  } else {
    destination = `https://${region}.${partition.consoleDomain}/console/home?region=${region}`;
  }
  return { federationUrl, destination };
}

/** Go's url.QueryEscape: like encodeURIComponent, but spaces become `+` and only `-_.~` stay bare. */
export function goQueryEscape(s: string): string {
  return encodeURIComponent(s)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, "+");
}

/** Go's url.Values.Encode: keys sorted, each pair escaped. */
function encodeQuery(params: Record<string, string>): string {
  return Object.keys(params)
    .sort()
    .map((k) => `${goQueryEscape(k)}=${goQueryEscape(params[k] as string)}`)
    .join("&");
}

/** The `Session` parameter: `{"sessionId","sessionKey","sessionToken"}` (Go map JSON, keys sorted). */
export function sessionJson(creds: Credentials): string {
  return JSON.stringify({
    sessionId: creds.accessKeyId,
    sessionKey: creds.secretAccessKey.reveal(),
    sessionToken: creds.sessionToken?.reveal() ?? "",
  });
}

/** The getSigninToken request URL. It contains the secret key: never log it. */
export function signinTokenRequestUrl(federationUrl: string, creds: Credentials, sessionDurationSeconds?: number): string {
  const params: Record<string, string> = { Action: "getSigninToken", Session: sessionJson(creds) };
  if (sessionDurationSeconds !== undefined) params.SessionDuration = String(sessionDurationSeconds);
  return `${federationUrl}?${encodeQuery(params)}`;
}

/** The console login URL. It contains the sign-in token: print it only where the user asked for it. */
export function loginUrl(target: LoginTarget, signinToken: Secret, issuer = LOGIN_ISSUER): string {
  return (
    `${target.federationUrl}?Action=login&Issuer=${goQueryEscape(issuer)}` +
    `&Destination=${goQueryEscape(target.destination)}&SigninToken=${goQueryEscape(signinToken.reveal())}`
  );
}

/**
 * `--auto-logout`: the sign-in host's sign-out, which then goes on to the login URL (as the
 * ByteNess fork does), so a console session already in the browser does not get in the way.
 */
export function signOutFirstUrl(target: LoginTarget, loginUrlText: string): string {
  const base = target.federationUrl.replace(/\/federation$/, "");
  return `${base}/oauth?Action=logout&redirect_uri=${goQueryEscape(loginUrlText)}`;
}

/** Seconds for SessionDuration, or a UserError when the federation endpoint would refuse them. */
export function consoleSessionSeconds(durationMs: number): number {
  const seconds = durationSeconds(durationMs);
  if (seconds < MIN_SESSION_DURATION_SECONDS || seconds > MAX_SESSION_DURATION_SECONDS) {
    throw new UserError(`a console session must last between 15m and 12h, got ${seconds}s`, {
      hints: ["pass a --duration between 15m and 12h"],
    });
  }
  return seconds;
}

export type Fetch = (url: string, init: { method: string; headers: Record<string, string>; signal: AbortSignal }) => Promise<{
  status: number;
  statusText: string;
  text(): Promise<string>;
}>;

export interface SigninTokenOptions {
  sessionDurationSeconds?: number;
  fetch?: Fetch;
  timeoutMs?: number;
  log?: (message: string) => void;
}

const DEFAULT_TIMEOUT_MS = 30_000;

/** Exchanges session credentials for a sign-in token at the federation endpoint. */
export async function requestSigninToken(federationUrl: string, creds: Credentials, opts: SigninTokenOptions = {}): Promise<Secret> {
  const doFetch: Fetch = opts.fetch ?? ((url, init) => fetch(url, init));
  const host = safeHost(federationUrl);
  let res: Awaited<ReturnType<Fetch>>;
  let body: string;
  try {
    res = await doFetch(signinTokenRequestUrl(federationUrl, creds, opts.sessionDurationSeconds), {
      method: "GET",
      headers: { accept: "application/json" },
      signal: AbortSignal.timeout(opts.timeoutMs ?? DEFAULT_TIMEOUT_MS),
    });
    body = await res.text();
  } catch (e) {
    // The cause (an undici/Bun network error) names no URL; it is shown only under --debug.
    throw new AwsCallError(`Call to getSigninToken failed: cannot reach ${host} (${networkReason(e)})`, undefined, {
      hints: ["check your network and proxy, or AWS_ENDPOINT_URL_SIGNIN"],
      cause: e,
    });
  }
  if (res.status !== 200) {
    opts.log?.(`Response body was ${body.slice(0, 2000)}`);
    throw new AwsCallError(`Call to getSigninToken failed with ${res.status}${res.statusText ? ` ${res.statusText}` : ""}`, undefined, {
      hints: ["the federation endpoint refused the session; credentials from GetSessionToken cannot sign in to the console"],
    });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new AwsCallError(`Call to getSigninToken failed: ${host} did not answer with JSON`, undefined);
  }
  const token = parsed && typeof parsed === "object" ? (parsed as Record<string, unknown>).SigninToken : undefined;
  if (typeof token !== "string" || token === "") throw new AwsCallError("Expected a response with SigninToken", undefined);
  return new Secret(token);
}

function safeHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return "the federation endpoint";
  }
}

function networkReason(e: unknown): string {
  const err = e as { name?: string; cause?: { code?: string }; code?: string };
  if (err?.name === "TimeoutError" || err?.name === "AbortError") return "timed out";
  return err?.cause?.code ?? err?.code ?? "network error";
}
