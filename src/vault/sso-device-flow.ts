// The OIDC device authorization grant against IAM Identity Center (aws-vault
// ssorolecredentialsprovider.go, §4.6): RegisterClient, StartDeviceAuthorization, send the user to
// the verification page, then poll CreateToken every `interval` seconds while the answer is
// authorization_pending, adding 5 s on slow_down (RFC 8628 §3.5). Unlike aws-vault, polling stops
// when the device code expires instead of waiting for the service to say so.
import { awsCallError } from "../aws/errors.ts";
import type { OidcToken, SsoOidcApi } from "../aws/types.ts";
import { CancelledError, CredentialsError } from "../errors.ts";
import type { Runtime } from "../runtime/runtime.ts";
import { startWait } from "../prompt/wait.ts";
import { openBrowser } from "./sso-browser.ts";

/** The client name aws-vault registers (clients are public and not cached). */
export const OIDC_CLIENT_NAME = "aws-vault";
export const OIDC_CLIENT_TYPE = "public";
/** RFC 8628: the default polling interval, and what slow_down adds to it. */
const DEFAULT_INTERVAL_S = 5;
const SLOW_DOWN_STEP_S = 5;

export interface DeviceFlowOptions {
  profileName: string;
  startUrl: string;
  /** --stdout: print the link instead of opening a browser. */
  useStdout: boolean;
  /** Opens the verification page; defaults to openBrowser (BROWSER, xdg-open, open). */
  open?: (url: string) => void;
}

function errorName(e: unknown): string | undefined {
  if (typeof e !== "object" || e === null) return undefined;
  const name = (e as { name?: unknown }).name;
  return typeof name === "string" ? name : undefined;
}

export async function ssoDeviceFlow(rt: Runtime, oidc: SsoOidcApi, opts: DeviceFlowOptions): Promise<OidcToken> {
  const { profileName, startUrl } = opts;
  const fail = (call: string, e: unknown) => awsCallError(profileName, `SSO OIDC ${call}`, e);

  rt.log.debug(`profile ${profileName}: starting the SSO device authorization for ${startUrl}`);
  const client = await oidc.registerClient({ clientName: OIDC_CLIENT_NAME, clientType: OIDC_CLIENT_TYPE }).catch((e: unknown) => {
    throw fail("RegisterClient", e);
  });
  const auth = await oidc.startDeviceAuthorization({ client, startUrl }).catch((e: unknown) => {
    throw fail("StartDeviceAuthorization", e);
  });

  const url = auth.verificationUriComplete || auth.verificationUri;
  if (opts.useStdout) {
    rt.stderr.write(`Open the SSO authorization page in a browser (use Ctrl-C to abort)\n${url}\n`);
  } else {
    rt.stderr.write(`Opening the SSO authorization page in your default browser (use Ctrl-C to abort)\n${url}\n`);
    (opts.open ?? ((u: string) => openBrowser(rt, u)))(url);
  }

  rt.stderr.write(`Check that the page shows this code:\n${auth.userCode}\n`);

  let intervalS = auth.intervalSeconds > 0 ? auth.intervalSeconds : DEFAULT_INTERVAL_S;
  const deadline = auth.expiresInSeconds > 0 ? rt.now().getTime() + auth.expiresInSeconds * 1000 : undefined;
  const wait = startWait(rt, () => waitingText(deadline === undefined ? undefined : deadline - rt.now().getTime()));
  try {
    for (;;) {
      try {
        const token = await wait.race(oidc.createToken({ client, deviceCode: auth.deviceCode }));
        rt.log.debug(`profile ${profileName}: SSO authorization approved; the token expires in ${token.expiresInSeconds}s`);
        return token;
      } catch (e) {
        // (By class: names do not survive minification.)
        if (e instanceof CancelledError) throw e;
        const name = errorName(e);
        if (name === "SlowDownException") {
          intervalS += SLOW_DOWN_STEP_S;
          rt.log.debug(`profile ${profileName}: SSO OIDC asked to slow down; polling every ${intervalS}s`);
        } else if (name === "ExpiredTokenException") {
          throw expired(profileName, e);
        } else if (name === "AccessDeniedException") {
          throw new CredentialsError(`profile ${profileName}: the SSO authorization request was denied`, { cause: e });
        } else if (name !== "AuthorizationPendingException") {
          throw fail("CreateToken", e);
        }
      }
      if (deadline !== undefined && rt.now().getTime() + intervalS * 1000 >= deadline) throw expired(profileName);
      await wait.race(rt.sleep(intervalS * 1000));
    }
  } finally {
    wait.stop();
  }
}

/** "waiting for approval in the browser (expires in 9m)", the minutes rounded up. */
export function waitingText(msLeft: number | undefined): string {
  const base = "waiting for approval in the browser";
  if (msLeft === undefined) return base;
  return `${base} (expires in ${Math.max(0, Math.ceil(msLeft / 60_000))}m)`;
}

function expired(profileName: string, cause?: unknown): CredentialsError {
  return new CredentialsError(`profile ${profileName}: the SSO authorization request expired before it was approved`, {
    hints: ["run the command again and approve the request in the browser"],
    ...(cause === undefined ? {} : { cause }),
  });
}
