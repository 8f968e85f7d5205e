// The IAM Identity Center access token for a start URL: from the keyring cache, renewed with its
// refresh token when it has one, else a new sign-in (authorization code with PKCE in the browser,
// or the device code flow). Shared by the SSO role provider and `sso populate`. Token acquisition
// is serialised per start URL across processes, so profiles sharing a start URL sign in once.
// Nothing is stored unless the sign-in (or renewal) succeeded.
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { AwsClients, OidcClientRegistration, OidcToken, SsoOidcApi } from "../aws/types.ts";
import type { Keyring } from "../keyring/keyring.ts";
import { nodeCrypto } from "../runtime/builtins.ts";
import { withFileLock } from "../runtime/lock.ts";
import type { Runtime } from "../runtime/runtime.ts";
import { formatGoDuration } from "../util/duration.ts";
import { OidcTokenStore } from "./oidc-store.ts";
import { ssoAuthCodeFlow } from "./sso-auth-code-flow.ts";
import { browserCommand } from "./sso-browser.ts";
import { ssoDeviceFlow } from "./sso-device-flow.ts";

/** A sign-in includes the user logging in; give a waiting invocation that long. */
const TOKEN_LOCK_TIMEOUT_MS = 15 * 60 * 1000;

export interface SsoTokenDeps {
  rt: Runtime;
  keyring: Keyring;
  aws: AwsClients;
  lockDir: string;
}

export interface SsoTokenOptions {
  /** `profile NAME` style label used in messages: the profile (or `sso-session NAME`). */
  profileName: string;
  startUrl: string;
  region: string;
  /** sso_registration_scopes, split. */
  scopes?: string[];
  oidcEndpoint?: string;
  /** --stdout: print the link, open nothing (device code flow). */
  useStdout: boolean;
  /** --use-device-code. */
  useDeviceCode: boolean;
  /** Cache the token in the keyring (aws-vault does only when the session cache is on). */
  cacheToken: boolean;
  /** Opens the sign-in page (tests); defaults to the system browser. */
  openBrowser?: (url: string) => void;
  /** How long the authorization-code sign-in waits for the browser (default 5 minutes). */
  callbackTimeoutMs?: number;
}

export interface AcquiredToken {
  token: OidcToken;
  /** From the cache as it was: only such a token is worth dropping and replacing on a 401. */
  cached: boolean;
}

export type SsoFlow = "authorization-code" | "device-code";

/**
 * Which sign-in to run, and why (for --debug): the authorization code with PKCE unless the user
 * asked for the device code, asked for the link on stdout, or no browser can be opened here (a
 * set $BROWSER counts as one), as the AWS CLI decides.
 */
export function chooseSsoFlow(rt: Runtime, o: { useStdout: boolean; useDeviceCode: boolean }): { flow: SsoFlow; reason: string } {
  if (o.useDeviceCode) return { flow: "device-code", reason: "--use-device-code was given" };
  if (o.useStdout) return { flow: "device-code", reason: "--stdout was given (no browser is opened)" };
  if (rt.env.BROWSER?.trim()) return { flow: "authorization-code", reason: "$BROWSER is set" };
  if (browserCommand(rt, "about:blank")) return { flow: "authorization-code", reason: "a browser opener is available" };
  return { flow: "device-code", reason: "no browser can be opened (neither $BROWSER nor a platform opener)" };
}

export class SsoTokenSource {
  readonly #deps: SsoTokenDeps;
  readonly #o: SsoTokenOptions;
  readonly #tokens: OidcTokenStore;

  constructor(deps: SsoTokenDeps, opts: SsoTokenOptions) {
    this.#deps = deps;
    this.#o = opts;
    this.#tokens = new OidcTokenStore(deps.keyring, () => deps.rt.now());
  }

  #log(m: string): void {
    this.#deps.rt.log.debug(m);
  }

  async #oidc(): Promise<SsoOidcApi> {
    return this.#deps.aws.ssoOidc({ region: this.#o.region, endpoint: this.#o.oidcEndpoint });
  }

  /** A new sign-in; the registration is returned with authorization-code tokens (for refresh). */
  async #signIn(): Promise<{ token: OidcToken; registration?: OidcClientRegistration }> {
    const { rt } = this.#deps;
    const o = this.#o;
    const { flow, reason } = chooseSsoFlow(rt, o);
    this.#log(`profile ${o.profileName}: signing in to SSO with the ${flow} flow because ${reason}`);
    const oidc = await this.#oidc();
    if (flow === "authorization-code") {
      return ssoAuthCodeFlow(rt, oidc, {
        profileName: o.profileName,
        startUrl: o.startUrl,
        ...(o.scopes ? { scopes: o.scopes } : {}),
        ...(o.openBrowser ? { open: o.openBrowser } : {}),
        ...(o.callbackTimeoutMs !== undefined ? { timeoutMs: o.callbackTimeoutMs } : {}),
      });
    }
    const token = await ssoDeviceFlow(rt, oidc, {
      profileName: o.profileName,
      startUrl: o.startUrl,
      useStdout: o.useStdout,
      ...(o.openBrowser ? { open: o.openBrowser } : {}),
    });
    return { token };
  }

  /** Renews an expired token with its refresh token; undefined when that is not possible or fails. */
  async #refresh(): Promise<OidcToken | undefined> {
    const o = this.#o;
    const stored = await this.#tokens.getRenewable(o.startUrl);
    const reg = stored?.registration;
    if (!stored?.refreshToken || !reg) {
      // An expired token that cannot be renewed is removed, as aws-vault does.
      if (stored) await this.#tokens.remove(o.startUrl);
      return undefined;
    }
    if (reg.clientSecretExpiresAt && reg.clientSecretExpiresAt.getTime() <= this.#deps.rt.now().getTime()) {
      this.#log(`profile ${o.profileName}: the SSO client registration has expired; signing in again`);
      return undefined;
    }
    try {
      const oidc = await this.#oidc();
      const fresh = await oidc.refreshToken({ client: reg, refreshToken: stored.refreshToken });
      // The service may rotate the refresh token; keep the old one when it does not.
      const token: OidcToken = { ...fresh, ...(fresh.refreshToken ? {} : { refreshToken: stored.refreshToken }) };
      await this.#tokens.set(o.startUrl, token, reg);
      this.#log(`profile ${o.profileName}: renewed the SSO access token with its refresh token; it expires in ${token.expiresInSeconds}s`);
      return token;
    } catch (e) {
      this.#log(`profile ${o.profileName}: the SSO refresh token was refused (${(e as { name?: string }).name ?? "error"}); signing in again`);
      await this.#tokens.remove(o.startUrl);
      return undefined;
    }
  }

  async #lookup(): Promise<OidcToken | undefined> {
    const hit = await this.#tokens.getRenewable(this.#o.startUrl);
    if (!hit || hit.expiration.getTime() <= this.#deps.rt.now().getTime()) return undefined;
    const left = Math.trunc((hit.expiration.getTime() - this.#deps.rt.now().getTime()) / 1000) * 1000;
    this.#log(`profile ${this.#o.profileName}: using the cached SSO OIDC token for ${this.#o.startUrl}, expires in ${formatGoDuration(left)}`);
    return hit;
  }

  async acquire(): Promise<AcquiredToken> {
    const o = this.#o;
    if (!o.cacheToken) return { token: (await this.#signIn()).token, cached: false };
    const hit = await this.#lookup();
    if (hit) return { token: hit, cached: true };
    const { rt, keyring, lockDir } = this.#deps;
    await mkdir(lockDir, { recursive: true, mode: 0o700 });
    const lockName = nodeCrypto()
      .createHash("sha256")
      .update(`oidc\0${keyring.backend}\0${keyring.describeLocation?.("") ?? ""}\0${o.startUrl}`)
      .digest("hex")
      .slice(0, 32);
    return withFileLock(
      join(lockDir, `${lockName}.lock`),
      async () => {
        // Another invocation may have signed in while we waited.
        const fresh = await this.#lookup();
        if (fresh) return { token: fresh, cached: true };
        const renewed = await this.#refresh();
        if (renewed) return { token: renewed, cached: false };
        const { token, registration } = await this.#signIn();
        await this.#tokens.set(o.startUrl, token, registration);
        return { token, cached: false };
      },
      { timeoutMs: TOKEN_LOCK_TIMEOUT_MS, sleep: (ms) => rt.sleep(ms) },
    );
  }

  /** Forgets the cached token (the portal rejected it). */
  async invalidate(): Promise<void> {
    await this.#tokens.remove(this.#o.startUrl);
  }
}
