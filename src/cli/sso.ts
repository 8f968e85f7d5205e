// `sso populate`: sign in to an [sso-session] (as exec would), list every account and role the
// user can reach, and append one profile per pair to the config file (vault/sso-populate.ts).
import { join } from "node:path";
import type { Command } from "commander";
import { sdkClients } from "../aws/clients.ts";
import { awsCallError } from "../aws/errors.ts";
import { UsageError, UserError } from "../errors.ts";
import { serviceEndpoint } from "../vault/config/loader.ts";
import { parseRegistrationScopes } from "../vault/sso-auth-code-flow.ts";
import { fetchAccountRoles, populateConfig, renderSections, validatePrefix } from "../vault/sso-populate.ts";
import { SsoTokenSource } from "../vault/sso-token.ts";
import type { CliContext } from "./context.ts";
import type { Session } from "./global.ts";

export interface SsoPopulateOptions {
  ssoSession: string;
  prefix?: string;
  region?: string;
  dryRun: boolean;
  useDeviceCode: boolean;
  stdout: boolean;
}

interface SsoPopulateFlags {
  ssoSession?: string;
  prefix?: string;
  region?: string;
  dryRun?: boolean;
  useDeviceCode?: boolean;
  stdout?: boolean;
}

export function registerSso(program: Command, ctx: CliContext): void {
  const sso = program.command("sso").description("Work with IAM Identity Center (SSO) sessions.");
  sso
    .command("populate")
    .description("Add a profile for every account and role of an [sso-session] to the config file.")
    .option("--sso-session <name>", "The [sso-session] section to sign in with")
    .option("--prefix <prefix>", "Prefix for the new profile names")
    .option("--region <region>", "The region of the new profiles (default: the session's sso_region)")
    .option("--dry-run", "Print the sections that would be added, change nothing")
    .option("--use-device-code", "Sign in with the device code flow instead of the browser and a loopback redirect")
    .option("--stdout", "Print the SSO link to the terminal without automatically opening the browser")
    .action((flags: SsoPopulateFlags, cmd: Command) =>
      ctx.run("sso populate", () => runSsoPopulate(validateSsoPopulateOptions(flags), ctx.session(cmd))),
    );
}

export function validateSsoPopulateOptions(f: SsoPopulateFlags): SsoPopulateOptions {
  if (!f.ssoSession) {
    throw new UsageError("required flag --sso-session not provided", { hints: ["name the [sso-session] section to populate from"] });
  }
  validatePrefix(f.prefix);
  return {
    ssoSession: f.ssoSession,
    ...(f.prefix ? { prefix: f.prefix } : {}),
    ...(f.region ? { region: f.region } : {}),
    dryRun: Boolean(f.dryRun),
    useDeviceCode: Boolean(f.useDeviceCode),
    stdout: Boolean(f.stdout),
  };
}

export async function runSsoPopulate(o: SsoPopulateOptions, s: Session): Promise<number> {
  const { rt } = s;
  const file = await s.configFile();
  const session = file.ssoSessionSection(o.ssoSession);
  if (!session) {
    throw new UserError(`[sso-session ${o.ssoSession}] not found in ${file.path}`, {
      hints: ["add an [sso-session NAME] section with sso_start_url and sso_region"],
    });
  }
  const startUrl = session.sso_start_url;
  const ssoRegion = session.sso_region;
  if (!startUrl || !ssoRegion) {
    throw new UserError(`[sso-session ${o.ssoSession}] is missing ${[!startUrl && "sso_start_url", !ssoRegion && "sso_region"].filter(Boolean).join(", ")}`);
  }
  const label = `sso-session ${o.ssoSession}`;
  const aws = sdkClients();
  const deps = { rt, keyring: await s.keyring(), aws, lockDir: join(rt.homedir, ".awsvault", "locks") };
  const oidcEndpoint = serviceEndpoint(file, { profileName: label }, "sso_oidc", rt.env);
  const tokens = new SsoTokenSource(deps, {
    profileName: label,
    startUrl,
    region: ssoRegion,
    scopes: parseRegistrationScopes(session.sso_registration_scopes),
    ...(oidcEndpoint ? { oidcEndpoint } : {}),
    useStdout: o.stdout,
    useDeviceCode: o.useDeviceCode,
    cacheToken: true,
  });
  const { token } = await tokens.acquire();
  const portal = await aws.sso({ region: ssoRegion, endpoint: serviceEndpoint(file, { profileName: label }, "sso", rt.env) });
  const accounts = await fetchAccountRoles(portal, token.accessToken).catch((e: unknown) => {
    throw awsCallError(label, "SSO ListAccounts/ListAccountRoles", e);
  });
  const plan = await populateConfig(s.options.configPath, accounts, {
    ssoSession: o.ssoSession,
    startUrl,
    region: o.region ?? ssoRegion,
    ...(o.prefix ? { prefix: o.prefix } : {}),
    dryRun: o.dryRun,
  });
  if (o.dryRun) {
    rt.stdout.write(renderSections(plan.add).replace(/^\n/, ""));
    rt.stderr.write(`Would add ${plan.add.length} profiles to ${s.options.configPath} (${plan.existing} already configured)\n`);
    return 0;
  }
  for (const p of plan.add) rt.stdout.write(`Added profile ${p.name} (${p.accountId}, ${p.roleName})\n`);
  rt.stderr.write(`Added ${plan.add.length} profiles to ${s.options.configPath} (${plan.existing} already configured)\n`);
  return 0;
}
