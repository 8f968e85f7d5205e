import type { Command } from "commander";
import { OidcTokenStore, profileSsoStartUrl } from "../vault/oidc-store.ts";
import { SessionStore } from "../vault/session-store.ts";
import type { CliContext } from "./context.ts";
import type { Session } from "./global.ts";

export function registerClear(program: Command, ctx: CliContext): void {
  program
    .command("clear")
    .description("Clear temporary credentials from the secure keystore.")
    .argument("[profile]", "Name of the profile")
    .action((profile: string | undefined, _flags: unknown, cmd: Command) =>
      ctx.run("clear", () => runClear(profile, ctx.session(cmd))),
    );
}

export async function runClear(profile: string | undefined, s: Session): Promise<number> {
  const keyring = await s.keyring(profile);
  const sessions = new SessionStore(keyring, () => s.rt.now());
  const tokens = new OidcTokenStore(keyring, () => s.rt.now());
  let n: number;
  if (profile === undefined) {
    n = (await sessions.removeOldSessions()) + (await sessions.removeAll()) + (await tokens.removeAll());
  } else {
    n = await sessions.removeForProfile(profile);
    // The SSO token the profile uses (its inline sso_start_url or its [sso-session]); aws-vault
    // means to remove it too but never does (its `Has` bug, §16 item 3).
    const file = await s.configFile().catch((e: unknown) => {
      s.rt.log.debug(`clear: config not readable, so no SSO token is removed: ${(e as Error).message}`);
      return undefined;
    });
    const startUrl = file && profileSsoStartUrl(file, profile, s.rt.env);
    if (startUrl !== undefined && (await tokens.remove(startUrl))) n++;
  }
  s.rt.stdout.write(`Cleared ${n} sessions.\n`);
  return 0;
}
