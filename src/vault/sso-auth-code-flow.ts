// IAM Identity Center sign-in with the OAuth authorization-code grant and PKCE, as the AWS CLI
// does by default since v2.22 (awscli/customizations/sso/utils.py, botocore SSOTokenFetcherAuth):
//   1. a one-shot listener on 127.0.0.1 and a random port (oauth-loopback.ts);
//   2. RegisterClient {clientType public, grantTypes [authorization_code, refresh_token],
//      redirectUris [http://127.0.0.1/oauth/callback] (loopback: any port, RFC 8252 §7.3),
//      issuerUrl <start URL>, scopes};
//   3. the browser opens <oidc endpoint>/authorize?response_type=code&client_id&redirect_uri
//      (with the port)&state&code_challenge_method=S256&scopes&code_challenge;
//   4. the callback brings `code` with the same `state`;
//   5. CreateToken {grantType authorization_code, code, codeVerifier, redirectUri}.
// The token, its refresh token and the registration are returned; nothing is stored here.
import { awsCallError } from "../aws/errors.ts";
import type { OidcClientRegistration, OidcToken, SsoOidcApi } from "../aws/types.ts";
import type { Runtime } from "../runtime/runtime.ts";
import { createPkcePair, randomState } from "./oauth-pkce.ts";
import { openBrowser } from "./sso-browser.ts";
import { OIDC_CLIENT_NAME, OIDC_CLIENT_TYPE } from "./sso-device-flow.ts";

export const CALLBACK_PATH = "/oauth/callback";
/** What the client registers: the loopback redirect without a port (the port may change per sign-in). */
export const REGISTERED_REDIRECT_URI = `http://127.0.0.1${CALLBACK_PATH}`;
export const AUTH_CODE_GRANT_TYPES = ["authorization_code", "refresh_token"];
/** The AWS CLI's default scope; it is also what makes the service issue a refresh token. */
export const DEFAULT_SSO_SCOPES = ["sso:account:access"];

export interface AuthCodeFlowOptions {
  /** Names the profile (or `sso-session NAME`) in messages. */
  profileName: string;
  startUrl: string;
  /** sso_registration_scopes; DEFAULT_SSO_SCOPES when empty. */
  scopes?: string[];
  /** Opens the authorize page (tests); defaults to the browser of sso-browser.ts. */
  open?: (url: string) => void;
  /** How long to wait for the browser (default 5 minutes). */
  timeoutMs?: number;
}

export interface AuthCodeFlowResult {
  token: OidcToken;
  registration: OidcClientRegistration;
}

/** `a, b` / `a b` → ["a", "b"] (the AWS CLI splits sso_registration_scopes on commas). */
export function parseRegistrationScopes(raw: string | undefined): string[] {
  return (raw ?? "")
    .split(/[,\s]+/)
    .map((s) => s.trim())
    .filter(Boolean);
}

export async function ssoAuthCodeFlow(rt: Runtime, oidc: SsoOidcApi, opts: AuthCodeFlowOptions): Promise<AuthCodeFlowResult> {
  const { profileName, startUrl } = opts;
  const fail = (call: string, e: unknown) => awsCallError(profileName, `SSO OIDC ${call}`, e);
  const scopes = opts.scopes?.length ? opts.scopes : DEFAULT_SSO_SCOPES;
  const log = (m: string) => rt.log.debug(m);

  log(`profile ${profileName}: starting the SSO authorization-code sign-in (PKCE) for ${startUrl}`);
  const state = randomState((n) => rt.random(n));
  // Loaded here: it brings node:http, which a cached hand-out must not pay for.
  const { startLoopbackCallback } = await import("./oauth-loopback.ts");
  const callback = await startLoopbackCallback({
    path: CALLBACK_PATH,
    state,
    label: "the SSO sign-in",
    ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
    onSignal: (signal, handler) => rt.onSignal(signal, handler),
    log,
  });
  try {
    const registration = await oidc
      .registerClient({
        clientName: OIDC_CLIENT_NAME,
        clientType: OIDC_CLIENT_TYPE,
        grantTypes: AUTH_CODE_GRANT_TYPES,
        redirectUris: [REGISTERED_REDIRECT_URI],
        issuerUrl: startUrl,
        scopes,
      })
      .catch((e: unknown) => {
        throw fail("RegisterClient", e);
      });
    const pkce = createPkcePair((n) => rt.random(n));
    const url = await oidc.authorizeUrl({
      client: registration,
      redirectUri: callback.redirectUri,
      state,
      codeChallenge: pkce.challenge,
      scopes,
    });
    rt.stderr.write(`Opening the SSO sign-in page in your default browser (use Ctrl-C to abort)\n${url}\n`);
    (opts.open ?? ((u: string) => openBrowser(rt, u)))(url);

    const { code } = await callback.result;
    log(`profile ${profileName}: the browser returned an authorization code; exchanging it for a token`);
    const token = await oidc
      .createTokenWithCode({ client: registration, code, codeVerifier: pkce.verifier, redirectUri: callback.redirectUri })
      .catch((e: unknown) => {
        throw fail("CreateToken", e);
      });
    log(`profile ${profileName}: SSO sign-in complete; the token expires in ${token.expiresInSeconds}s${token.refreshToken ? " and can be refreshed" : ""}`);
    return { token, registration };
  } finally {
    await callback.close();
  }
}
