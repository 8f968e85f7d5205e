// Console sign-in credentials (`login_session`, what `aws login` writes; issue 15). The token item
// in the keyring holds 15-minute AWS credentials; with less than 5 minutes left they are refreshed
// through AWS Sign-In's CreateOAuth2Token (refresh-token grant, DPoP-bound), and the new credentials
// and the rotated refresh token replace the item in one write. The refresh runs under a
// cross-process lock per session, and the item is read again under it, so concurrent invocations
// make one call and never present a refresh token that has already been rotated. With no stored
// session the browser sign-in runs (first use, as SSO runs its device flow). If Sign-In cannot be
// reached, credentials with time left are used until they expire, as the SDKs do; its denials
// (TOKEN_EXPIRED, …) are one-line errors that say to run `aws-vault signin PROFILE`.
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { awsCallError } from "../../aws/errors.ts";
import type { SigninApi } from "../../aws/types.ts";
import { CredentialsError, InternalError } from "../../errors.ts";
import { nodeCrypto } from "../../runtime/builtins.ts";
import { withFileLock } from "../../runtime/lock.ts";
import { formatGoDuration } from "../../util/duration.ts";
import type { ProfileConfig } from "../config/profile.ts";
import type { Credentials } from "../credentials.ts";
import { DamagedLoginTokenError, type LoginToken, LoginTokenStore } from "../login-store.ts";
import { signinCommand, signinDeniedError } from "../signin-errors.ts";
import type { CredentialsProvider, VaultDeps } from "./provider.ts";

/** The SDKs' threshold: refresh when the credentials have less than this left. */
export const LOGIN_REFRESH_WINDOW_MS = 5 * 60 * 1000;
/** A first-use sign-in includes the user signing in; give a waiting invocation that long. */
const LOCK_TIMEOUT_MS = 15 * 60 * 1000;
const DEFAULT_SIGNIN_REGION = "us-east-1";

export function toCredentials(t: LoginToken): Credentials {
  const c = t.credentials;
  return { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, sessionToken: c.sessionToken, expiration: c.expiration };
}

export function loginSessionProvider(deps: VaultDeps, config: ProfileConfig): CredentialsProvider {
  const profile = config.profileName;
  const session = config.loginSession as string;
  const store = new LoginTokenStore(deps.keyring);
  const log = (m: string) => deps.rt.log.debug(m);

  const load = async (): Promise<LoginToken | undefined> => {
    try {
      return await store.get(session);
    } catch (e) {
      if (!(e instanceof DamagedLoginTokenError)) throw e;
      throw new CredentialsError(`profile ${profile}: the stored sign-in session is unreadable (${e.message}): run ${signinCommand(profile)}`, { cause: e });
    }
  };

  /** No stored session: the browser sign-in, as an SSO profile starts its device flow on first use. */
  const firstSignin = async (): Promise<LoginToken> => {
    if (!deps.aws.signin) throw new InternalError("no AWS Sign-In client");
    deps.rt.stderr.write(
      `aws-vault: no sign-in session for ${session} in the keyring; signing in (\`aws-vault import --login-cache\` moves a session \`aws login\` made)\n`,
    );
    const region = config.region ?? DEFAULT_SIGNIN_REGION;
    const endpoint = deps.signinEndpoint?.(config);
    const client = await deps.aws.signin({ region, ...(endpoint ? { endpoint } : {}) });
    // Loaded only here: the browser, loopback server and prompt are not needed on any other path.
    const { signinFlow } = await import("../signin-flow.ts");
    const { interactiveSigninDeps, signinBaseUrl } = await import("../signin-interactive.ts");
    const signedIn = await signinFlow(interactiveSigninDeps(deps.rt, client, signinBaseUrl(endpoint, region), profile), { remote: false });
    if (signedIn.loginSession !== session) {
      throw new CredentialsError(`profile ${profile}: signed in as ${signedIn.loginSession}, but the profile's login_session is ${session}`, {
        hints: [`run ${signinCommand(profile)} to switch the profile to the session you signed in with`],
      });
    }
    const token: LoginToken = { ...signedIn.token, signInRegion: region };
    await store.save(session, token, signedIn.dpopKey);
    return token;
  };

  const fresh = (t: LoginToken): boolean => t.credentials.expiration.getTime() - deps.rt.now().getTime() >= LOGIN_REFRESH_WINDOW_MS;

  const refresh = async (t: LoginToken): Promise<LoginToken> => {
    const key = await store.getDpopKey(session);
    if (!key) throw new CredentialsError(`profile ${profile}: the DPoP key of the sign-in session is missing from the keyring: run ${signinCommand(profile)}`);
    if (!deps.aws.signin) throw new InternalError("no AWS Sign-In client");
    const region = t.signInRegion ?? config.region;
    const client: SigninApi = await deps.aws.signin({ ...(region ? { region } : {}), endpoint: deps.signinEndpoint?.(config) });
    log(`profile ${profile}: refreshing the sign-in session credentials through AWS Sign-In`);
    let out;
    try {
      out = await client.createOAuth2Token({ grantType: "refresh_token", clientId: t.clientId, refreshToken: t.refreshToken }, key);
    } catch (e) {
      const denied = signinDeniedError(profile, e);
      if (denied) throw denied;
      // Sign-In unreachable or failing: the current credentials still work until they expire (as the SDKs do).
      if (t.credentials.expiration.getTime() > deps.rt.now().getTime()) {
        log(`profile ${profile}: could not refresh the sign-in session (${awsCallError(profile, "Sign-In CreateOAuth2Token", e).message}); using the current credentials until they expire`);
        return t;
      }
      throw awsCallError(profile, "Sign-In CreateOAuth2Token", e);
    }
    const next: LoginToken = {
      ...t,
      credentials: {
        ...t.credentials,
        accessKeyId: out.accessKeyId,
        secretAccessKey: out.secretAccessKey,
        sessionToken: out.sessionToken,
        expiration: new Date(deps.rt.now().getTime() + out.expiresInSeconds * 1000),
      },
      refreshToken: out.refreshToken,
    };
    await store.set(session, next);
    return next;
  };

  return {
    kind: "login-session",
    async retrieve() {
      const t = await load();
      if (t && fresh(t)) {
        log(`profile ${profile}: using the stored sign-in session credentials, expire in ${formatGoDuration(Math.trunc((t.credentials.expiration.getTime() - deps.rt.now().getTime()) / 1000) * 1000)}`);
        return toCredentials(t);
      }
      await mkdir(deps.lockDir, { recursive: true, mode: 0o700 });
      const lockName = nodeCrypto()
        .createHash("sha256")
        .update(`login\0${deps.keyring.backend}\0${deps.keyring.describeLocation?.("") ?? ""}\0${session}`)
        .digest("hex")
        .slice(0, 32);
      return withFileLock(
        join(deps.lockDir, `${lockName}.lock`),
        async () => {
          // Another invocation may have refreshed (and rotated the refresh token) while we waited.
          const now = await load();
          if (!now) return toCredentials(await firstSignin());
          return toCredentials(fresh(now) ? now : await refresh(now));
        },
        { timeoutMs: LOCK_TIMEOUT_MS, sleep: (ms) => deps.rt.sleep(ms) },
      );
    },
  };
}
