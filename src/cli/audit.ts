// `audit [--since 24h] [--profile P] [--format text|json]`: the audit log as a table or JSON lines.
import { type Command, Option } from "commander";
import { UsageError } from "../errors.ts";
import { parseFlagDuration } from "../util/duration.ts";
import { type AuditRecord, auditLogPath, readAuditLog } from "../vault/audit-log.ts";
import type { CliContext } from "./context.ts";
import type { Session } from "./global.ts";
import { renderTable } from "./list.ts";

export interface AuditOptions {
  sinceMs?: number;
  profile?: string;
  format: "text" | "json";
}

export function registerAudit(program: Command, ctx: CliContext): void {
  program
    .command("audit")
    .description("Show which program got credentials when (the audit log).")
    .option("--since <duration>", "Only entries newer than this, e.g. 24h or 7d")
    .option("--profile <profile>", "Only entries for this profile")
    .addOption(new Option("--format <format>", "Output format: text or json").default("text"))
    .action((flags: { since?: string; profile?: string; format: string }, cmd: Command) =>
      ctx.run("audit", () => runAudit(validateAuditOptions(flags), ctx.session(cmd))),
    );
}

export function validateAuditOptions(f: { since?: string; profile?: string; format?: string }): AuditOptions {
  const format = f.format ?? "text";
  if (format !== "text" && format !== "json") throw new UsageError(`enum value must be one of text,json, got '${format}'`);
  let sinceMs: number | undefined;
  if (f.since !== undefined) {
    try {
      sinceMs = parseFlagDuration(f.since);
    } catch {
      throw new UsageError(`--since: ${JSON.stringify(f.since)} is not a duration (e.g. 24h, 7d)`);
    }
  }
  return { format, ...(sinceMs !== undefined ? { sinceMs } : {}), ...(f.profile ? { profile: f.profile } : {}) };
}

export function filterAudit(records: AuditRecord[], o: AuditOptions, now: Date): AuditRecord[] {
  const from = o.sinceMs === undefined ? -Infinity : now.getTime() - o.sinceMs;
  return records.filter((r) => Date.parse(r.time) >= from && (o.profile === undefined || r.profile === o.profile));
}

export async function runAudit(o: AuditOptions, s: Session): Promise<number> {
  const { rt } = s;
  const records = filterAudit(readAuditLog(rt.homedir), o, rt.now());
  if (o.format === "json") {
    for (const r of records) rt.stdout.write(`${JSON.stringify(r)}\n`);
    return 0;
  }
  if (records.length === 0) {
    rt.stderr.write(`no audit entries${o.sinceMs !== undefined || o.profile ? " match" : ` in ${auditLogPath(rt.homedir)}`}\n`);
    return 0;
  }
  const rows = [
    ["Time", "Command", "Profile", "Source", "MFA", "Expires", "Result", "Caller"],
    ["====", "=======", "=======", "======", "===", "=======", "======", "======"],
  ];
  for (const r of records) {
    const caller = `${r.parent ?? "?"}(${r.ppid ?? "?"})${r.tty ? ` ${r.tty}` : ""}`;
    rows.push([
      r.time.replace(/\.\d+Z$/, "Z"),
      r.command,
      r.profile,
      r.source ?? "-",
      r.mfa === undefined ? "-" : r.mfa ? "yes" : "no",
      r.expires ? r.expires.replace(/\.\d+Z$/, "Z") : "-",
      r.result + (r.detail ? `: ${r.detail.length > 60 ? `${r.detail.slice(0, 57)}...` : r.detail}` : ""),
      caller,
    ]);
  }
  rt.stdout.write(renderTable(rows));
  return 0;
}
