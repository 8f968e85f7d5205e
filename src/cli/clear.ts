import type { Command } from "commander";
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
  const keyring = await s.keyring();
  const sessions = new SessionStore(keyring, () => s.rt.now());
  const n = profile === undefined ? (await sessions.removeOldSessions()) + (await sessions.removeAll()) : await sessions.removeForProfile(profile);
  s.rt.stdout.write(`Cleared ${n} sessions.\n`);
  return 0;
}
