import type { Command } from "commander";
import { formatGoDuration } from "../util/duration.ts";
import { CredentialStore } from "../vault/credential-store.ts";
import type { ConfigFile } from "../vault/config/loader.ts";
import { loginSessionsIn } from "../vault/login-store.ts";
import { oidcStartUrlsIn, profileSsoStartUrl } from "../vault/oidc-store.ts";
import { isCredentialKey, type SessionKey } from "../vault/session-key.ts";
import { storedKeyAges } from "../vault/key-age.ts";
import { sessionsIn } from "../vault/session-store.ts";
import type { CliContext } from "./context.ts";
import type { Session } from "./global.ts";

export interface ListOptions {
  profiles: boolean;
  sessions: boolean;
  credentials: boolean;
  /** Adds key age and last rotation (not in aws-vault: plain `list` output stays aws-vault's). */
  long?: boolean;
}

export function registerList(program: Command, ctx: CliContext): void {
  program
    .command("list")
    .alias("ls")
    .description("List profiles, along with their credentials and sessions.")
    .option("--profiles", "Show only the profile names")
    .option("--sessions", "Show only the session names")
    .option("--credentials", "Show only the profiles with stored credential")
    .option("--long", "Also show each stored key's age and last rotation")
    .action((flags: Partial<ListOptions>, cmd: Command) =>
      ctx.run("list", () =>
        runList(
          {
            profiles: Boolean(flags.profiles),
            sessions: Boolean(flags.sessions),
            credentials: Boolean(flags.credentials),
            long: Boolean(flags.long),
          },
          ctx.session(cmd),
        ),
      ),
    );
}

/** Go's time.Until saturates at the largest Duration, 2562047h47m16.854775807s (in ms, truncated to seconds). */
const MAX_GO_DURATION_S = 9_223_372_036;

/**
 * `Type:time-left`, as aws-vault labels sessions (Go Duration, truncated to seconds). An expiry
 * more than ~292 years away shows Go's saturated `2562047h47m16s`, as aws-vault prints it.
 */
export function sessionLabel(s: SessionKey, now: Date): string {
  const seconds = Math.trunc((s.expiration.getTime() - now.getTime()) / 1000);
  const saturated = Math.max(-MAX_GO_DURATION_S, Math.min(MAX_GO_DURATION_S, seconds));
  return `${s.type}:${formatGoDuration(saturated * 1000)}`;
}

/**
 * ByteNess's OIDC label: `oidc:<sso-session name>` when an [sso-session] has the token's start URL
 * (the first in file order), else `oidc:<host of the start URL>`. No time left is shown: that would
 * mean reading (and on macOS, unlocking) every token.
 */
export function oidcLabel(config: ConfigFile, startUrl: string): string {
  for (const section of config.document.sections) {
    if (section.kind === "sso-session" && section.values["sso_start_url"] === startUrl) return `oidc:${section.name}`;
  }
  let host = "";
  try {
    host = new URL(startUrl).host;
  } catch {
    // not a URL: show it as it is
  }
  return `oidc:${host || startUrl}`;
}

/** Go text/tabwriter with minwidth 25, padding 2, every cell tab-terminated (so lines keep trailing spaces). */
export function renderTable(rows: string[][]): string {
  const widths: number[] = [];
  const cells = rows.map((row) => row.map(cellWidth));
  for (const row of cells) {
    for (let i = 0; i < row.length; i++) widths[i] = Math.max(widths[i] ?? 25, (row[i] as number) + 2);
  }
  const lines: string[] = [];
  rows.forEach((row, r) => {
    let line = "";
    for (let i = 0; i < row.length; i++) line += (row[i] as string) + " ".repeat((widths[i] ?? 25) - (cells[r]?.[i] ?? 0));
    lines.push(`${line}\n`);
  });
  return lines.join("");
}

/** A cell's width in code points (a surrogate pair is one character). */
function cellWidth(cell: string): number {
  return /[\uD800-\uDFFF]/.test(cell) ? [...cell].length : cell.length;
}

export async function runList(o: ListOptions, s: Session): Promise<number> {
  const { rt } = s;
  const keyring = await s.keyring();
  const now = rt.now();
  // One listing serves the whole table; --credentials and --profiles need the stored names only.
  const namesOnly = o.credentials || o.profiles;
  const keys = namesOnly ? await new CredentialStore(keyring).names() : await keyring.keys();
  const sessions = namesOnly ? [] : sessionsIn(keys);
  // A key that parsed as a session is no credential; the others take the full check.
  const sessionKeys = new Set(sessions.map((x) => x.key));
  const credentialNames = namesOnly ? keys : keys.filter((k) => !sessionKeys.has(k) && isCredentialKey(k));
  if (o.credentials) {
    for (const name of credentialNames) rt.stdout.write(`${name}\n`);
    return 0;
  }
  // Token labels come from key names only: listing never reads or decrypts a token.
  const tokenUrls = namesOnly ? [] : oidcStartUrlsIn(keys);
  // SSO tokens are matched to profiles through their settings; without any, headers suffice.
  const config = tokenUrls.length ? await s.configFile() : await s.configFileForList();
  const profileNames = config.profileNames();
  if (o.profiles) {
    for (const name of profileNames) rt.stdout.write(`${name}\n`);
    return 0;
  }
  const tokenLabels = new Map(tokenUrls.map((url) => [url, oidcLabel(config, url)]));
  // Console sign-in sessions, also from key names only: `login:<account id>`.
  const loginSessions = new Set(loginSessionsIn(keys));
  const loginLabel = (arn: string) => `login:${arn.split(":")[4] || arn}`;
  if (o.sessions) {
    for (const label of tokenLabels.values()) rt.stdout.write(`${label}\n`);
    for (const arn of loginSessions) rt.stdout.write(`${loginLabel(arn)}\n`);
    for (const { session } of sessions) rt.stdout.write(`${sessionLabel(session, now)}\n`);
    return 0;
  }

  const rows: string[][] = [
    ["Profile", "Credentials", "Sessions"],
    ["=======", "===========", "========"],
  ];
  // --long: key age and last rotation (from the key records; no key is decrypted).
  const ages = o.long
    ? new Map((await storedKeyAges(rt, new CredentialStore(keyring), { verify: false })).map((a) => [a.profile, a]))
    : undefined;
  const shownSessions = new Set<string>();
  const shownTokens = new Set<string>();
  const shownLogins = new Set<string>();
  // Indexes, so 1,000 profiles with 1,000 sessions is linear work, not a million comparisons.
  const sessionsByProfile = new Map<string, Array<{ key: string; session: SessionKey }>>();
  for (const s of sessions) {
    const list = sessionsByProfile.get(s.session.profileName);
    if (list) list.push(s);
    else sessionsByProfile.set(s.session.profileName, [s]);
  }
  const storedNames = new Set(credentialNames);
  const configNames = new Set(profileNames);
  for (const name of profileNames) {
    const labels: string[] = [];
    // The token this profile's SSO config uses (aws-vault never shows it: its `Has` bug, §16 item 3).
    const startUrl = tokenLabels.size ? profileSsoStartUrl(config, name, rt.env) : undefined;
    const tokenLabel = startUrl === undefined ? undefined : tokenLabels.get(startUrl);
    if (startUrl !== undefined && tokenLabel !== undefined) {
      shownTokens.add(startUrl);
      labels.push(tokenLabel);
    }
    const loginSession = config.profileSection(name)?.["login_session"];
    if (loginSession && loginSessions.has(loginSession)) {
      shownLogins.add(loginSession);
      labels.push(loginLabel(loginSession));
    }
    for (const { key, session } of sessionsByProfile.get(name) ?? []) {
      shownSessions.add(key);
      labels.push(sessionLabel(session, now));
    }
    rows.push([name, storedNames.has(name) ? name : "-", labels.length ? labels.join(", ") : "-"]);
  }
  for (const name of credentialNames) if (!configNames.has(name)) rows.push(["-", name, "-"]);
  // Then everything not shown yet, tokens first (aws-vault's order).
  for (const [url, label] of tokenLabels) if (!shownTokens.has(url)) rows.push(["-", "-", label]);
  for (const arn of loginSessions) if (!shownLogins.has(arn)) rows.push(["-", "-", loginLabel(arn)]);
  for (const { key, session } of sessions) if (!shownSessions.has(key)) rows.push(["-", "-", sessionLabel(session, now)]);
  if (ages) {
    rows[0]?.push("Key age", "Last rotated");
    rows[1]?.push("=======", "============");
    for (const row of rows.slice(2)) {
      const a = row[1] && row[1] !== "-" ? ages.get(row[1]) : undefined;
      row.push(
        a?.ageMs === undefined ? "-" : `${Math.floor(a.ageMs / 86_400_000)}d${a.basis === "created" ? "" : " (stored)"}`,
        a?.lastRotated ? a.lastRotated.toISOString().slice(0, 10) : "-",
      );
    }
  }
  rt.stdout.write(renderTable(rows));
  return 0;
}
