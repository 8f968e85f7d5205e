import type { Command } from "commander";
import { environmentError } from "../util/environment-error.ts";
import { errorMessage, UserError } from "../errors.ts";
import { promptLine, promptSecretLine } from "../prompt/terminal.ts";
import type { Runtime } from "../runtime/runtime.ts";
import { goQuote } from "../util/go-format.ts";
import { Secret } from "../util/secret.ts";
import { appendProfileSection, validateProfileName } from "../vault/config/writer.ts";
import { CredentialStore } from "../vault/credential-store.ts";
import { SessionStore } from "../vault/session-store.ts";
import { audit } from "../vault/audit-log.ts";
import { recordKeyStored } from "../vault/key-age.ts";
import type { CliContext } from "./context.ts";
import type { Session } from "./global.ts";

export interface AddOptions {
  profile: string;
  fromEnv: boolean;
  addConfig: boolean;
}

export function registerAdd(program: Command, ctx: CliContext): void {
  program
    .command("add")
    .description("Add credentials to the secure keystore.")
    .argument("<profile>", "Name of the profile")
    .option("--env", "Read the credentials from the environment (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)")
    .option("--add-config", "Add a profile to ~/.aws/config if one doesn't exist (default)", true)
    .option("--no-add-config", "Don't add a profile to ~/.aws/config")
    .action((profile: string, flags: { env?: boolean; addConfig: boolean }, cmd: Command) =>
      ctx.run("add", () =>
        runAdd({ profile, fromEnv: Boolean(flags.env), addConfig: flags.addConfig }, ctx.session(cmd)),
      ),
    );
}

async function readKeys(o: AddOptions, rt: Runtime): Promise<{ accessKeyId: string; secretAccessKey: Secret }> {
  if (o.fromEnv) {
    const id = rt.env.AWS_ACCESS_KEY_ID;
    const secret = rt.env.AWS_SECRET_ACCESS_KEY;
    if (!id) throw new UserError("Missing value for AWS_ACCESS_KEY_ID");
    if (!secret) throw new UserError("Missing value for AWS_SECRET_ACCESS_KEY");
    return { accessKeyId: id, secretAccessKey: new Secret(secret) };
  }
  const withoutTerminal = "without a terminal, use --env with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY set";
  const accessKeyId = (await promptLine(rt, "Enter Access Key ID: ", { withoutTerminal })).trim();
  if (!accessKeyId) throw new UserError("no access key id entered; nothing was stored");
  const secretAccessKey = new Secret((await promptSecretLine(rt, "Enter Secret Access Key: ", { withoutTerminal })).reveal().trim());
  if (secretAccessKey.isEmpty()) throw new UserError("no secret access key entered; nothing was stored");
  return { accessKeyId, secretAccessKey };
}

export async function runAdd(o: AddOptions, s: Session): Promise<number> {
  const { rt } = s;
  const config = await s.configFile();
  const sourceProfile = config.profileSection(o.profile)?.source_profile;
  if (sourceProfile) {
    throw new UserError(
      `Your profile has a source_profile of ${sourceProfile}, adding credentials to ${o.profile} won't have any effect`,
    );
  }
  // The name is checked on every path (--no-add-config too): a newline in it would inject lines
  // into `export --format ini`, and the keyring may reserve names (the file backend's own files).
  validateProfileName(o.profile);
  const keyring = await s.keyring(o.profile);
  keyring.checkKey?.(o.profile);
  const keys = await readKeys(o, rt);
  await new CredentialStore(keyring).set(o.profile, keys);
  await recordKeyStored(rt, o.profile, keys.accessKeyId);
  await audit(rt, { command: "add", profile: o.profile, source: "keyring", accessKeyId: keys.accessKeyId, result: "ok" });
  rt.stdout.write(`Added credentials to profile ${goQuote(o.profile)} in vault\n`);
  rt.log.debug(`stored credentials for ${o.profile} in ${keyring.describeLocation?.(o.profile) ?? keyring.backend}`);

  const deleted = await new SessionStore(keyring, () => rt.now()).removeForProfile(o.profile);
  if (deleted > 0) rt.stdout.write(`Deleted ${deleted} existing sessions.\n`);

  if (o.addConfig && !config.hasProfile(o.profile)) {
    rt.log.debug(`Adding profile ${o.profile} to config at ${s.options.configPath}`);
    try {
      await appendProfileSection(s.options.configPath, o.profile);
    } catch (e) {
      // The key is stored; say so, so nobody types it in again, and say why the config is not.
      const why = environmentError(e);
      throw new UserError(
        `the credentials were stored, but [profile ${o.profile}] could not be added to ${s.options.configPath}: ${why ? why.message : errorMessage(e)}`,
        { hints: [...(why?.hints ?? []), "add the section yourself, or use --no-add-config"], cause: e },
      );
    }
  }
  return 0;
}
