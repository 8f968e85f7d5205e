// `login [profile]` (aws-vault §7): a console sign-in URL from the profile's credentials (or, without
// a profile, from AWS_ACCESS_KEY_ID & co.), printed with --stdout or handed to the browser.
// The URL holds a SigninToken: it goes to stdout or the browser's argv, never into an error or log.
import type { Command } from "commander";
import { sdkClients } from "../aws/clients.ts";
import { legacyStsEndpoint } from "../aws/endpoints.ts";
import { consoleSessionSeconds, loginTarget, loginUrl, requestSigninToken, signOutFirstUrl } from "../aws/signin.ts";
import { UsageError, UserError } from "../errors.ts";
import { openBrowser } from "../util/browser.ts";
import { formatGoDuration, parseSessionDuration } from "../util/duration.ts";
import { Secret } from "../util/secret.ts";
import { ConfigLoader, DEFAULT_PROFILE, serviceEndpoint } from "../vault/config/loader.ts";
import { chooseIsolatedBrowser, isolatedOptions, openIsolated, wantsBrowserProfile } from "../vault/console-browser.ts";
import type { ProfileConfig } from "../vault/config/profile.ts";
import { profileChain } from "../vault/master-name.ts";
import { consoleCredentials, type FederationDeps, staticProvider } from "../vault/providers/federation-token.ts";
import { type CredentialsProvider, unwrap } from "../vault/providers/provider.ts";
import { audit, sourceOfKind } from "../vault/audit-log.ts";
import { remindToRotate } from "./hand-out.ts";
import type { CliContext } from "./context.ts";
import { prefixed } from "./export.ts";
import type { Session } from "./global.ts";
import { canPick, profileOrPick } from "./pick-profile.ts";
import { resolveCredentials } from "./temp-credentials.ts";

export interface LoginOptions {
  /** Undefined: credentials from the environment. */
  profile?: string;
  durationMs?: number;
  noSession: boolean;
  mfaToken?: string;
  path?: string;
  region?: string;
  stdout: boolean;
  /** --browser-profile: a browser session of the profile's own (else AWS_VAULT_BROWSER_PROFILE / aws_vault_browser_profile). */
  browserProfile?: boolean;
  /** --auto-logout: through the console's sign-out first. */
  autoLogout?: boolean;
  /** --use-device-code for SSO profiles. */
  useDeviceCode?: boolean;
}

interface LoginFlags {
  duration?: string;
  session?: boolean;
  mfaToken?: string;
  path?: string;
  region?: string;
  stdout?: boolean;
  browserProfile?: boolean;
  autoLogout?: boolean;
  useDeviceCode?: boolean;
}

export function registerLogin(program: Command, ctx: CliContext): void {
  program
    .command("login")
    .description("Generate a login link for the AWS Console.")
    .argument("[profile]", "Name of the profile. If none given, credentials will be sourced from env vars")
    .option("-d, --duration <duration>", "Duration of the assume-role or federated session. Defaults to 1h")
    .option("-n, --no-session", "Skip creating STS session with GetSessionToken")
    .option("-t, --mfa-token <token>", "The MFA token to use")
    .option("--path <path>", "The AWS service you would like access")
    .option("--region <region>", "The AWS region")
    .option("-s, --stdout", "Print login URL to stdout instead of opening in default browser")
    .option("--browser-profile", "Open the console in a browser session of the profile's own (env: AWS_VAULT_BROWSER_PROFILE)")
    .option("--auto-logout", "Sign out of any console session in the browser first")
    .option("--use-device-code", "Sign in to SSO with the device code flow instead of the browser and a loopback redirect")
    .action((given: string | undefined, flags: LoginFlags, cmd: Command) =>
      ctx.run("login", async () => {
        const s = ctx.session(cmd);
        const o = validateLoginOptions(given, flags);
        // Without a profile the environment's credentials are used; with none there, a terminal picks one.
        const fromEnv = Boolean(s.rt.env.AWS_ACCESS_KEY_ID || s.rt.env.AWS_ACCESS_KEY);
        const profile = given || fromEnv || !canPick(s) ? given : await profileOrPick(s, undefined, "log in with");
        return runLogin({ ...o, ...(profile ? { profile } : {}) }, s);
      }),
    );
}

export function validateLoginOptions(profile: string | undefined, f: LoginFlags): LoginOptions {
  return {
    ...(profile ? { profile } : {}),
    ...(f.duration !== undefined ? { durationMs: parseSessionDuration(f.duration) } : {}),
    noSession: f.session === false,
    ...(f.mfaToken ? { mfaToken: f.mfaToken } : {}),
    ...(f.path ? { path: f.path } : {}),
    ...(f.region ? { region: f.region } : {}),
    stdout: Boolean(f.stdout),
    browserProfile: Boolean(f.browserProfile),
    autoLogout: Boolean(f.autoLogout),
    ...(f.useDeviceCode ? { useDeviceCode: true } : {}),
  };
}

export async function runLogin(o: LoginOptions, s: Session): Promise<number> {
  const { rt } = s;
  const file = await s.configFile();
  // Decided before any AWS call, so a bad setting costs nothing.
  const isolated = !o.stdout && wantsBrowserProfile(Boolean(o.browserProfile), o.profile, rt.env, file);
  if (isolated && !o.profile) {
    throw new UsageError("--browser-profile needs a profile: the browser session is named after it", {
      hints: ["pass a profile, or unset AWS_VAULT_BROWSER_PROFILE"],
    });
  }
  const browser = isolated ? chooseIsolatedBrowser(rt) : undefined;
  const { config, provider, deps } = o.profile ? await profileCredentials(o, s) : await environmentCredentials(o, s);

  let signin;
  try {
    signin = await consoleCredentials(deps, config, provider, {
      durationMs: o.durationMs ?? config.getFederationTokenDuration,
      iamEndpoint: serviceEndpoint(file, config, "iam", rt.env),
    });
  } catch (e) {
    throw prefixed(`Failed to get credentials for ${o.profile ?? "the environment"}`, e);
  }
  const { credentials } = signin;
  await audit(rt, {
    command: "login",
    profile: o.profile ?? "(environment)",
    source: signin.source === "role-session" ? sourceOfKind(unwrap(provider).kind, Boolean(provider.fromCache)) : "GetFederationToken",
    ...(credentials.expiration ? { expires: credentials.expiration } : {}),
    result: "ok",
  });
  if (o.profile) await remindToRotate(rt, profileChain(config).map((c) => c.profileName));
  if (credentials.expiration) {
    rt.log.debug(`Requesting a signin token for session expiring in ${formatGoDuration(credentials.expiration.getTime() - rt.now().getTime())}`);
  }

  // Only AWS_ENDPOINT_URL_SIGNIN and a `[services]` signin entry move the federation endpoint: the
  // generic endpoint_url / AWS_ENDPOINT_URL name API endpoints, not the console sign-in.
  const signinBase = serviceEndpoint(file, { ...config, endpointUrl: undefined }, "signin", { ...rt.env, AWS_ENDPOINT_URL: undefined });
  const target = loginTarget(config.region, o.path, signinBase);
  const token = await requestSigninToken(target.federationUrl, credentials, {
    ...consoleSessionDuration(o, config, signin.source, (m) => rt.log.debug(m)),
    log: (m) => rt.log.debug(m),
  });
  const signIn = loginUrl(target, token);
  const url = o.autoLogout ? signOutFirstUrl(target, signIn) : signIn;
  if (o.stdout) {
    rt.stdout.write(`${url}\n`);
    return 0;
  }
  if (browser && o.profile) {
    await openIsolated(rt, browser, url, isolatedOptions(file, o.profile));
    return 0;
  }
  await openBrowser(rt, url);
  return 0;
}

/** SessionDuration: --duration, for role sessions only (the endpoint refuses it otherwise). */
export function consoleSessionDuration(
  o: LoginOptions,
  config: ProfileConfig,
  source: "role-session" | "federation-token",
  log: (m: string) => void,
): { sessionDurationSeconds?: number } {
  if (o.durationMs === undefined) return {};
  if (source !== "role-session") return {};
  if (profileChain(config).slice(1).some(assumesRole)) {
    log("Not sending SessionDuration: the federation endpoint refuses it for role-chained sessions");
    return {};
  }
  return { sessionDurationSeconds: consoleSessionSeconds(o.durationMs) };
}

/** Hops whose credentials are themselves a role session (a role assumed from them is chained). */
function assumesRole(c: ProfileConfig): boolean {
  return Boolean(c.roleArn || c.ssoStartUrl || c.ssoSession || c.webIdentityTokenFile || c.webIdentityTokenProcess);
}

interface LoginCredentials {
  config: ProfileConfig;
  provider: CredentialsProvider;
  deps: FederationDeps;
}

async function profileCredentials(o: LoginOptions, s: Session): Promise<LoginCredentials> {
  const profile = o.profile as string;
  return resolveCredentials(
    s,
    {
      profile,
      noSession: o.noSession,
      ...(o.durationMs !== undefined ? { durationMs: o.durationMs } : {}),
      ...(o.region ? { region: o.region } : {}),
      ...(o.mfaToken ? { mfaToken: o.mfaToken } : {}),
      ssoUseStdout: o.stdout,
      ...(o.useDeviceCode ? { ssoUseDeviceCode: true } : {}),
    },
    // Console sign-in refuses GetSessionToken credentials: the target never gets one.
    { disableSessionsForProfile: profile },
  );
}

/** Without a profile: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN; region via [default]. */
async function environmentCredentials(o: LoginOptions, s: Session): Promise<LoginCredentials> {
  const { rt } = s;
  const env = rt.env;
  const accessKeyId = env.AWS_ACCESS_KEY_ID || env.AWS_ACCESS_KEY;
  if (!accessKeyId) throw new UserError("argument 'profile' not provided, nor any AWS env vars found. Try --help");
  const secretKey = env.AWS_SECRET_ACCESS_KEY || env.AWS_SECRET_KEY;
  if (!secretKey) {
    throw new UserError("unable to authenticate to AWS through your environment variables: AWS_SECRET_ACCESS_KEY is not set");
  }
  const file = await s.configFile();
  const loader = new ConfigLoader({
    file,
    baseConfig: o.region ? { region: o.region } : {},
    env,
    activeProfile: DEFAULT_PROFILE,
    log: (m) => rt.log.debug(m),
  });
  // [default] supplies the region and endpoints; the name labels errors.
  const config: ProfileConfig = { ...loader.getProfileConfig(DEFAULT_PROFILE), profileName: "environment", sourceProfile: undefined };
  const sessionToken = env.AWS_SESSION_TOKEN || env.AWS_SECURITY_TOKEN;
  const provider = staticProvider({
    accessKeyId,
    secretAccessKey: new Secret(secretKey),
    ...(sessionToken ? { sessionToken: new Secret(sessionToken) } : {}),
  });
  const deps: FederationDeps = {
    rt,
    aws: sdkClients(),
    stsEndpoint: (hop) => serviceEndpoint(file, hop, "sts", env) ?? legacyStsEndpoint(hop.region, hop.stsRegionalEndpoints),
  };
  return { config, provider, deps };
}
