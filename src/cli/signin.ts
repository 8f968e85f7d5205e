// `aws-vault signin PROFILE [--remote] [--region R]`: the browser sign-in of `aws login`, with the
// tokens and DPoP key kept in the keyring (vault/signin-flow.ts) and `login_session` (plus `region`
// when the profile has none) written into the profile (vault/config/writer.ts).
import type { Command } from "commander";
import { sdkClients } from "../aws/clients.ts";
import { InternalError, UserError } from "../errors.ts";
import { resolveProfileValue, serviceEndpoint } from "../vault/config/loader.ts";
import { setProfileValues, validateProfileName } from "../vault/config/writer.ts";
import { LoginTokenStore } from "../vault/login-store.ts";
import type { CliContext } from "./context.ts";
import type { Session } from "./global.ts";

export interface SigninOptions {
  profile: string;
  remote: boolean;
  region?: string;
}

/** Profile keys that mean another credential source, which would win over login_session. */
const OTHER_SOURCES = ["sso_start_url", "sso_session", "sso_account_id", "role_arn", "credential_process", "web_identity_token_file", "source_profile"];

export function registerSignin(program: Command, ctx: CliContext): void {
  program
    .command("signin")
    .description("Sign in with AWS console credentials (as `aws login`), keeping the session in the secure keystore.")
    .argument("<profile>", "Name of the profile")
    .option("--remote", "Sign in on another device: print the URL and ask for the code it shows")
    .option("--region <region>", "The AWS region to sign in to (default: the profile's region, else us-east-1)")
    .action((profile: string, flags: { remote?: boolean; region?: string }, cmd: Command) =>
      ctx.run("signin", () => runSignin({ profile, remote: Boolean(flags.remote), ...(flags.region ? { region: flags.region } : {}) }, ctx.session(cmd))),
    );
}

export async function runSignin(o: SigninOptions, s: Session): Promise<number> {
  validateProfileName(o.profile);
  const { rt } = s;
  const file = await s.configFile();
  const other = OTHER_SOURCES.find((k) => file.profileSection(o.profile)?.[k]);
  if (other) {
    throw new UserError(`profile ${o.profile} already gets credentials another way (${other} in ${s.options.configPath})`, {
      hints: ["sign in to a new profile name, or remove that setting first"],
    });
  }
  const profileRegion = resolveProfileValue(file, o.profile, "region");
  const region = o.region ?? profileRegion ?? (rt.env.AWS_REGION || rt.env.AWS_DEFAULT_REGION || "us-east-1");
  const endpoint = serviceEndpoint(file, o.profile, "signin", rt.env);
  const aws = sdkClients();
  if (!aws.signin) throw new InternalError("no AWS Sign-In client");
  const signin = await aws.signin({ region, ...(endpoint ? { endpoint } : {}) });
  // Loaded on use: the loopback server, browser and prompt stay off every other command's start-up.
  const { signinFlow } = await import("../vault/signin-flow.ts");
  const { interactiveSigninDeps, signinBaseUrl } = await import("../vault/signin-interactive.ts");
  const signedIn = await signinFlow(interactiveSigninDeps(rt, signin, signinBaseUrl(endpoint, region), o.profile), { remote: o.remote });
  await new LoginTokenStore(await s.keyring()).save(signedIn.loginSession, { ...signedIn.token, signInRegion: region }, signedIn.dpopKey);
  const previous = file.profileSection(o.profile)?.["login_session"];
  if (previous && previous !== signedIn.loginSession) {
    rt.stderr.write(`aws-vault: profile ${o.profile} used login session ${previous}; it now uses ${signedIn.loginSession}\n`);
  }
  await setProfileValues(s.options.configPath, o.profile, [["login_session", signedIn.loginSession], ["region", region]], { ifMissing: ["region"] });
  rt.stdout.write(`Updated profile ${o.profile} to use ${signedIn.loginSession} credentials.\n`);
  return 0;
}
