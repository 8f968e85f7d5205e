// `rotate [-n] profile` (aws-vault §10): the orchestration lives in vault/rotate.ts.
import type { Command } from "commander";
import { sdkClients } from "../aws/clients.ts";
import { legacyStsEndpoint } from "../aws/endpoints.ts";
import { ConfigLoader, serviceEndpoint } from "../vault/config/loader.ts";
import { rotateAccessKey } from "../vault/rotate.ts";
import type { CliContext } from "./context.ts";
import type { Session } from "./global.ts";
import { resolveCredentials } from "./temp-credentials.ts";

export interface RotateCommandOptions {
  profile: string;
  noSession: boolean;
}

interface RotateFlags {
  session?: boolean;
}

export function registerRotate(program: Command, ctx: CliContext): void {
  program
    .command("rotate")
    .description("Rotate credentials.")
    .argument("<profile>", "Name of the profile")
    .option("-n, --no-session", "Use master credentials, no session or role used")
    .action((profile: string, flags: RotateFlags, cmd: Command) =>
      ctx.run("rotate", () => runRotate(validateRotateOptions(profile, flags), ctx.session(cmd))),
    );
}

export function validateRotateOptions(profile: string, f: RotateFlags): RotateCommandOptions {
  return { profile, noSession: f.session === false };
}

export async function runRotate(o: RotateCommandOptions, s: Session): Promise<number> {
  const { rt } = s;
  const file = await s.configFile();
  const config = new ConfigLoader({ file, baseConfig: {}, env: rt.env, activeProfile: o.profile, log: (m) => rt.log.debug(m) })
    .getProfileConfig(o.profile);
  await rotateAccessKey(
    {
      rt,
      keyring: await s.keyring(o.profile),
      aws: sdkClients(),
      stsEndpoint: (hop) => serviceEndpoint(file, hop, "sts", rt.env) ?? legacyStsEndpoint(hop.region, hop.stsRegionalEndpoints),
      iamEndpoint: (hop) => serviceEndpoint(file, hop, "iam", rt.env),
      print: (line) => rt.stdout.write(`${line}\n`),
    },
    {
      config,
      noSession: o.noSession,
      // A fresh session (never cached): GetSessionToken with MFA, or the profile's role.
      sessionProvider: async () => (await resolveCredentials(s, { profile: o.profile, noSession: false }, { disableCache: true })).provider,
    },
  );
  return 0;
}
