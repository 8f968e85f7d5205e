// `aws-vault signin PROFILE` (issue 15): the browser sign-in of `aws login`, against AWS Sign-In.
// Same device: authorization code with PKCE (S256), a random state, and a loopback redirect on a
// random port; the code is exchanged at CreateOAuth2Token with a DPoP proof from a P-256 key made
// here, which the refresh token is then bound to. Cross device (--remote): the redirect is Sign-In's
// own confirmation page, which shows base64("code=…&state=…") for the user to paste.
// The flow is written against two small ports (a code receiver and a code prompt); production wires
// the receiver to the shared OAuth loopback callback (oauth-loopback.ts, in signin-interactive.ts).
import { createHash, timingSafeEqual } from "node:crypto";
import { generateDpopKey } from "../aws/dpop.ts";
import type { SigninApi } from "../aws/types.ts";
import { UserError } from "../errors.ts";
import { Secret } from "../util/secret.ts";
import type { LoginToken } from "./login-store.ts";

export const SAME_DEVICE_CLIENT_ID = "arn:aws:signin:::devtools/same-device";
export const CROSS_DEVICE_CLIENT_ID = "arn:aws:signin:::devtools/cross-device";
const VERIFIER_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";

/** Where the browser brings the code back to (a loopback HTTP server, in production). */
export interface AuthCodeReceiver {
  readonly redirectUri: string;
  /** The query of the redirect; rejects with CancelledError on Ctrl-C. */
  wait(): Promise<{ code?: string; state?: string; error?: string }>;
  close(): Promise<void>;
}

export interface SigninFlowDeps {
  random(bytes: number): Uint8Array;
  now(): Date;
  signin: SigninApi;
  /** Sign-In's base URL, e.g. https://us-east-1.signin.aws.amazon.com (or the endpoint override). */
  baseUrl: string;
  /** Tells the user the URL (and opens the browser for same-device). */
  show(url: string, remote: boolean): void;
  /** Same device: starts the loopback receiver for this sign-in's `state` (a receiver may check it itself). */
  receiver(state: string): Promise<AuthCodeReceiver>;
  /** Cross device: asks for the code the confirmation page shows. */
  promptCode(): Promise<Secret>;
  profile: string;
}

export interface SignedIn {
  loginSession: string;
  token: LoginToken;
  dpopKey: Secret;
}

export function pkcePair(random: (n: number) => Uint8Array): { verifier: Secret; challenge: string } {
  const bytes = random(64);
  let v = "";
  for (const b of bytes) v += VERIFIER_CHARS[b % VERIFIER_CHARS.length];
  return { verifier: new Secret(v), challenge: createHash("sha256").update(v).digest("base64url") };
}

export function authorizeUrl(baseUrl: string, p: { clientId: string; state: string; challenge: string; redirectUri: string }): string {
  const u = new URL("/v1/authorize", baseUrl);
  u.searchParams.set("response_type", "code");
  u.searchParams.set("client_id", p.clientId);
  u.searchParams.set("state", p.state);
  u.searchParams.set("code_challenge_method", "SHA-256");
  u.searchParams.set("scope", "openid");
  u.searchParams.set("redirect_uri", p.redirectUri);
  u.searchParams.set("code_challenge", p.challenge);
  return u.href;
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The `sub` (login session ARN) of the id token; the token came straight from Sign-In over TLS. */
function loginSessionOf(idToken: string | undefined, profile: string): string {
  const payload = idToken?.split(".")[1];
  try {
    const sub = (JSON.parse(Buffer.from(payload ?? "", "base64url").toString("utf8")) as { sub?: unknown }).sub;
    if (typeof sub === "string" && /^arn:[^:]+:[^:]*:[^:]*:\d{12}:/.test(sub)) return sub;
  } catch {
    // reported below
  }
  throw new UserError(`profile ${profile}: AWS Sign-In returned no usable identity (id token subject)`, {
    hints: [`try \`aws-vault signin ${profile}\` again`],
  });
}

/** Decodes what the cross-device confirmation page shows: base64("code=…&state=…"). */
export function parseRemoteCode(text: Secret): { code?: string; state?: string } {
  const q = new URLSearchParams(Buffer.from(text.reveal().trim(), "base64").toString("utf8"));
  return { ...(q.get("code") ? { code: q.get("code") as string } : {}), ...(q.get("state") ? { state: q.get("state") as string } : {}) };
}

export async function signinFlow(deps: SigninFlowDeps, opts: { remote: boolean }): Promise<SignedIn> {
  const { verifier, challenge } = pkcePair(deps.random);
  const state = Buffer.from(deps.random(16)).toString("hex");
  const clientId = opts.remote ? CROSS_DEVICE_CLIENT_ID : SAME_DEVICE_CLIENT_ID;
  const refused = (why: string) => new UserError(`profile ${deps.profile}: sign-in failed: ${why}`, { hints: [`run \`aws-vault signin ${deps.profile}\` again`] });

  let redirectUri: string;
  let reply: { code?: string; state?: string; error?: string };
  if (opts.remote) {
    redirectUri = new URL("/v1/sessions/confirmation", deps.baseUrl).href;
    deps.show(authorizeUrl(deps.baseUrl, { clientId, state, challenge, redirectUri }), true);
    reply = parseRemoteCode(await deps.promptCode());
  } else {
    const receiver = await deps.receiver(state);
    try {
      redirectUri = receiver.redirectUri;
      deps.show(authorizeUrl(deps.baseUrl, { clientId, state, challenge, redirectUri }), false);
      reply = await receiver.wait();
    } finally {
      await receiver.close();
    }
  }
  if (reply.error) throw refused(`AWS Sign-In answered ${reply.error.replace(/[^\w.-]/g, "?").slice(0, 64)}`);
  if (!reply.code) throw refused("no authorization code came back");
  if (!reply.state || !sameText(reply.state, state)) throw refused("the state in the answer does not match this sign-in");

  const dpopKey = generateDpopKey();
  const out = await deps.signin.createOAuth2Token(
    { grantType: "authorization_code", clientId, code: new Secret(reply.code), codeVerifier: verifier, redirectUri },
    dpopKey,
  );
  const loginSession = loginSessionOf(out.idToken, deps.profile);
  const accountId = loginSession.split(":")[4] as string;
  return {
    loginSession,
    dpopKey,
    token: {
      credentials: {
        accessKeyId: out.accessKeyId,
        secretAccessKey: out.secretAccessKey,
        sessionToken: out.sessionToken,
        accountId,
        expiration: new Date(deps.now().getTime() + out.expiresInSeconds * 1000),
      },
      clientId,
      refreshToken: out.refreshToken,
    },
  };
}
