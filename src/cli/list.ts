import type { Command } from "commander";
import { formatGoDuration } from "../util/duration.ts";
import { CredentialStore } from "../vault/credential-store.ts";
import { isOidcKey, type SessionKey } from "../vault/session-key.ts";
import { SessionStore } from "../vault/session-store.ts";
import type { CliContext } from "./context.ts";
import type { Session } from "./global.ts";

export interface ListOptions {
  profiles: boolean;
  sessions: boolean;
  credentials: boolean;
}

export function registerList(program: Command, ctx: CliContext): void {
  program
    .command("list")
    .alias("ls")
    .description("List profiles, along with their credentials and sessions.")
    .option("--profiles", "Show only the profile names")
    .option("--sessions", "Show only the session names")
    .option("--credentials", "Show only the profiles with stored credential")
    .action((flags: Partial<ListOptions>, cmd: Command) =>
      ctx.run("list", () =>
        runList(
          { profiles: Boolean(flags.profiles), sessions: Boolean(flags.sessions), credentials: Boolean(flags.credentials) },
          ctx.session(cmd),
        ),
      ),
    );
}

/** `Type:time-left`, as aws-vault labels sessions (Go Duration, truncated to seconds). */
export function sessionLabel(s: SessionKey, now: Date): string {
  const ms = s.expiration.getTime() - now.getTime();
  const truncated = Math.trunc(ms / 1000) * 1000;
  return `${s.type}:${formatGoDuration(truncated)}`;
}

/** Go text/tabwriter with minwidth 25, padding 2, every cell tab-terminated (so lines keep trailing spaces). */
export function renderTable(rows: string[][]): string {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 25, [...cell].length + 2);
    });
  }
  return rows.map((row) => `${row.map((c, i) => c + " ".repeat((widths[i] ?? 25) - [...c].length)).join("")}\n`).join("");
}

export async function runList(o: ListOptions, s: Session): Promise<number> {
  const { rt } = s;
  const keyring = await s.keyring();
  const now = rt.now();
  const credentialNames = await new CredentialStore(keyring).names();
  if (o.credentials) {
    for (const name of credentialNames) rt.stdout.write(`${name}\n`);
    return 0;
  }
  const config = await s.configFile();
  const profileNames = config.profileNames();
  if (o.profiles) {
    for (const name of profileNames) rt.stdout.write(`${name}\n`);
    return 0;
  }
  const sessions = await new SessionStore(keyring, () => now).list();
  const oidcLabels = (await keyring.keys()).filter(isOidcKey);
  if (o.sessions) {
    for (const label of oidcLabels) rt.stdout.write(`${label}\n`);
    for (const { session } of sessions) rt.stdout.write(`${sessionLabel(session, now)}\n`);
    return 0;
  }

  const rows: string[][] = [
    ["Profile", "Credentials", "Sessions"],
    ["=======", "===========", "========"],
  ];
  const shownSessions = new Set<string>();
  for (const name of profileNames) {
    const labels = sessions
      .filter(({ session }) => session.profileName === name)
      .map(({ key, session }) => {
        shownSessions.add(key);
        return sessionLabel(session, now);
      });
    rows.push([name, credentialNames.includes(name) ? name : "-", labels.length ? labels.join(", ") : "-"]);
  }
  for (const name of credentialNames) if (!profileNames.includes(name)) rows.push(["-", name, "-"]);
  for (const { key, session } of sessions) if (!shownSessions.has(key)) rows.push(["-", "-", sessionLabel(session, now)]);
  for (const label of oidcLabels) rows.push(["-", "-", label]);
  rt.stdout.write(renderTable(rows));
  return 0;
}
