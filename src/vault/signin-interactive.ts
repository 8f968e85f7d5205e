// The production wiring of the sign-in flow's ports: the URL on stderr and in the browser, the
// loopback receiver, the terminal prompt for --remote, and Sign-In's denials as one-line errors.
// Shared by `aws-vault signin` and a login_session profile's first use.
import { awsCallError } from "../aws/errors.ts";
import type { SigninApi } from "../aws/types.ts";
import { promptSecretLine } from "../prompt/terminal.ts";
import type { Runtime } from "../runtime/runtime.ts";
import { signinDeniedError } from "./signin-errors.ts";
import { openBrowser } from "./sso-browser.ts";
import type { SigninFlowDeps } from "./signin-flow.ts";
import { startLoopbackCallback } from "./oauth-loopback.ts";

export function signinBaseUrl(endpoint: string | undefined, region: string): string {
  return endpoint ?? `https://${region}.signin.aws.amazon.com`;
}

export function interactiveSigninDeps(rt: Runtime, signin: SigninApi, baseUrl: string, profile: string): SigninFlowDeps {
  return {
    random: (n) => rt.random(n),
    now: () => rt.now(),
    signin: {
      createOAuth2Token: (p, key) =>
        signin.createOAuth2Token(p, key).catch((e: unknown) => {
          throw signinDeniedError(profile, e) ?? awsCallError(profile, "Sign-In CreateOAuth2Token", e);
        }),
    },
    baseUrl,
    show: (url, remote) => {
      if (remote) {
        rt.stderr.write(`Open this URL on a device with a browser, sign in, then paste the code it shows:\n${url}\n`);
      } else {
        rt.stderr.write(`Opening the AWS sign-in page in your default browser (use Ctrl-C to abort)\n${url}\n`);
        openBrowser(rt, url);
      }
    },
    // The shared loopback callback (it checks the state itself, and ends on Ctrl-C or after its timeout).
    receiver: async (state) => {
      const cb = await startLoopbackCallback({
        path: "/oauth/callback",
        state,
        label: "the AWS sign-in",
        onSignal: (signal, handler) => rt.onSignal(signal, handler),
        log: (m) => rt.log.debug(m),
      });
      return {
        redirectUri: cb.redirectUri,
        wait: async () => ({ code: (await cb.result).code.reveal(), state }),
        close: () => cb.close(),
      };
    },
    promptCode: () =>
      promptSecretLine(rt, "Enter the authorization code displayed in your browser: ", { withoutTerminal: "run `aws-vault signin --remote` in a terminal" }),
    profile,
  };
}
