import type { Command } from "commander";
import { UserError } from "../errors.ts";
import { confirm } from "../prompt/terminal.ts";
import { goQuote } from "../util/go-format.ts";
import { CredentialStore } from "../vault/credential-store.ts";
import { SessionStore } from "../vault/session-store.ts";
import { audit } from "../vault/audit-log.ts";
import { forgetKey } from "../vault/key-age.ts";
import type { CliContext } from "./context.ts";
import type { Session } from "./global.ts";

export interface RemoveOptions {
  profile: string;
  force: boolean;
  sessionsOnly: boolean;
}

export function registerRemove(program: Command, ctx: CliContext): void {
  program
    .command("remove")
    .alias("rm")
    .description("Remove credentials from the secure keystore.")
    .argument("<profile>", "Name of the profile")
    .option("-f, --force", "Force-remove the profile without a prompt")
    .option("-s, --sessions-only", "Only remove sessions, leave credentials intact (deprecated: use clear)")
    .action((profile: string, flags: { force?: boolean; sessionsOnly?: boolean }, cmd: Command) =>
      ctx.run("remove", () =>
        runRemove({ profile, force: Boolean(flags.force), sessionsOnly: Boolean(flags.sessionsOnly) }, ctx.session(cmd)),
      ),
    );
}

export async function runRemove(o: RemoveOptions, s: Session): Promise<number> {
  const { rt } = s;
  const keyring = await s.keyring(o.profile);
  const sessions = new SessionStore(keyring, () => rt.now());
  if (o.sessionsOnly) {
    rt.stdout.write(`Deleted ${await sessions.removeForProfile(o.profile)} sessions.\n`);
    return 0;
  }
  const creds = new CredentialStore(keyring);
  if (!(await creds.has(o.profile))) {
    throw new UserError(`no credentials stored for profile ${goQuote(o.profile)}`, {
      hints: ["`aws-vault list --credentials` shows the stored credentials"],
    });
  }
  const question = `Delete credentials for profile ${goQuote(o.profile)}? (y|N) `;
  if (!o.force && !(await confirm(rt, question, { withoutTerminal: "without a terminal, confirm with -f (--force)" }))) return 0;
  await creds.remove(o.profile);
  rt.stdout.write("Deleted credentials.\n");
  await audit(rt, { command: "remove", profile: o.profile, source: "keyring", result: "ok" });
  await forgetKey(rt, o.profile);
  // Unlike aws-vault v7, also drop the profile's cached sessions: removed keys should stop working here.
  const n = await sessions.removeForProfile(o.profile);
  if (n > 0) rt.stdout.write(`Deleted ${n} sessions.\n`);
  return 0;
}
