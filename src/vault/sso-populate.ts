// `aws-vault sso populate`: one profile per account and role an IAM Identity Center user can reach,
// appended to ~/.aws/config. Planning is pure (planSsoProfiles); writing appends text under the
// config file's lock, re-planning against the file as it is then, and never rewrites a section.
//
// Names: `<prefix><account name>.<role name>`, lower-cased, whitespace and characters INI or shells
// stumble on turned into `-` (Granted's default template is `{{ .AccountName }}/{{ .RoleName }}`,
// kept as typed; aws-sso-util joins account and role names with a separator, `.` by default). A name
// that is taken gets `-<account id>`, then `-2`, `-3`… An account/role pair that some profile with
// the same sso_session (or start URL) already covers is skipped, whatever that profile is called,
// so a second run adds nothing.
import { appendFile, mkdir, readFile } from "node:fs/promises";
import { dirname } from "node:path";
import type { SsoApi } from "../aws/types.ts";
import { UsageError } from "../errors.ts";
import { withFileLock } from "../runtime/lock.ts";
import type { Secret } from "../util/secret.ts";
import { ConfigFile } from "./config/loader.ts";
import { profileSectionHeader } from "./config/writer.ts";

export interface SsoAccountRoles {
  accountId: string;
  accountName: string;
  roles: string[];
}

export interface PlannedProfile {
  name: string;
  accountId: string;
  roleName: string;
  values: Array<[string, string]>;
}

export interface PopulatePlanOptions {
  ssoSession: string;
  startUrl: string;
  region: string;
  prefix?: string;
}

export interface PopulatePlan {
  add: PlannedProfile[];
  /** Account/role pairs some existing profile already covers. */
  existing: number;
}

/** `Dev Account` → `dev-account`: lower case, whitespace and unsafe characters to `-`. */
export function profileNamePart(s: string): string {
  return s
    .trim()
    .toLowerCase()
    .replace(/[\s\u0000-\u001f\u007f[\]#;'"`\\/=]+/g, "-")
    .replace(/-{2,}/g, "-")
    .replace(/^-+|-+$/g, "");
}

/** Checks --prefix before anything is signed in: it starts every new section header. */
export function validatePrefix(prefix: string | undefined): void {
  if (prefix === undefined || prefix === "") return;
  if (/[\s\u0000-\u001f\u007f[\]#;'"`\\=]/.test(prefix)) {
    throw new UsageError(`invalid --prefix ${JSON.stringify(prefix)}`, {
      hints: ["a prefix cannot contain spaces, quotes, brackets, `#`, `;`, `=` or control characters"],
    });
  }
}

export function planSsoProfiles(file: ConfigFile, accounts: SsoAccountRoles[], o: PopulatePlanOptions): PopulatePlan {
  const taken = new Set(file.profileNames());
  const covered = new Set<string>();
  for (const name of file.profileNames()) {
    const v = file.profileSection(name);
    if (!v?.sso_account_id || !v.sso_role_name) continue;
    const sameSource = v.sso_session ? v.sso_session === o.ssoSession : v.sso_start_url === o.startUrl;
    if (sameSource) covered.add(`${v.sso_account_id}/${v.sso_role_name}`);
  }
  const add: PlannedProfile[] = [];
  let existing = 0;
  const sorted = [...accounts].sort((a, b) => a.accountName.localeCompare(b.accountName) || a.accountId.localeCompare(b.accountId));
  for (const account of sorted) {
    for (const roleName of [...account.roles].sort()) {
      if (covered.has(`${account.accountId}/${roleName}`)) {
        existing++;
        continue;
      }
      const base = `${o.prefix ?? ""}${profileNamePart(account.accountName) || account.accountId}.${profileNamePart(roleName) || "role"}`;
      let name = base;
      if (taken.has(name)) name = `${base}-${account.accountId}`;
      for (let n = 2; taken.has(name); n++) name = `${base}-${account.accountId}-${n}`;
      taken.add(name);
      covered.add(`${account.accountId}/${roleName}`);
      add.push({
        name,
        accountId: account.accountId,
        roleName,
        values: [
          ["sso_session", o.ssoSession],
          ["sso_account_id", account.accountId],
          ["sso_role_name", roleName],
          ["region", o.region],
        ],
      });
    }
  }
  return { add, existing };
}

/** The text of the planned sections, each preceded by a blank line. */
export function renderSections(profiles: PlannedProfile[]): string {
  return profiles.map((p) => `\n${profileSectionHeader(p.name)}\n${p.values.map(([k, v]) => `${k} = ${v}\n`).join("")}`).join("");
}

async function readIfExists(path: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException)?.code === "ENOENT") return "";
    throw e;
  }
}

/**
 * Plans against the file as it is under its lock and appends the new sections (0600 file, 0700
 * folder when created). With `dryRun`, only plans.
 */
export async function populateConfig(
  path: string,
  accounts: SsoAccountRoles[],
  o: PopulatePlanOptions & { dryRun: boolean },
): Promise<PopulatePlan> {
  if (o.dryRun) return planSsoProfiles(ConfigFile.fromText(await readIfExists(path), path), accounts, o);
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  return withFileLock(`${path}.lock`, async () => {
    const text = await readIfExists(path);
    const plan = planSsoProfiles(ConfigFile.fromText(text, path), accounts, o);
    if (plan.add.length > 0) {
      const separator = text === "" || text.endsWith("\n") ? "" : "\n";
      const body = renderSections(plan.add);
      await appendFile(path, separator + (text === "" ? body.slice(1) : body), { mode: 0o600 });
    }
    return plan;
  });
}

/** Every account (ListAccounts) and its roles (ListAccountRoles), all pages. */
export async function fetchAccountRoles(api: SsoApi, accessToken: Secret): Promise<SsoAccountRoles[]> {
  const accounts = await api.listAccounts({ accessToken });
  const out: SsoAccountRoles[] = [];
  for (const a of accounts) {
    out.push({ accountId: a.accountId, accountName: a.accountName, roles: await api.listAccountRoles({ accessToken, accountId: a.accountId }) });
  }
  return out;
}
