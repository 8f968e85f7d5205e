// The audit log: one JSON line per credential hand-out in ~/.awsvault/audit.log (0600).
//
// * Never a secret: entries are built from a fixed set of non-secret fields (names, kinds, times,
//   pids, a masked key id); error text goes through redact().
// * Concurrent writers never interleave: each line is one write(2) on an O_APPEND descriptor, which
//   the kernel applies at the end of the file as one unit.
// * Rotation at 10 MB keeps one old file (audit.log.1). The rename happens under the shared file
//   lock, after re-checking the size, so two writers never rotate twice; a writer still holding the
//   old descriptor finishes its line in audit.log.1 (whole, not lost).
// * AWS_VAULT_AUDIT=off disables it. Failing to write the log never fails the command (a debug line).
//
// This sits on the performance-critical `export --format json` path: no heavy imports, one open,
// one write, one fstat.
import { closeSync, constants, fstatSync, openSync, readFileSync, readlinkSync, renameSync, statSync, writeSync } from "node:fs";
import { mkdirPrivateSync } from "../runtime/mkdir.ts";
import { join } from "node:path";
import { withFileLock } from "../runtime/lock.ts";
import type { Runtime } from "../runtime/runtime.ts";
import { maskKeyId, redact } from "../util/redact.ts";
import type { ProviderKind } from "./providers/provider.ts";

export const AUDIT_MAX_BYTES = 10 * 1024 * 1024;

/** How the credentials were obtained (the `source` field). */
export type AuditSource =
  | "cache"
  | "master keys"
  | "GetSessionToken"
  | "AssumeRole"
  | "SSO"
  | "web identity"
  | "console sign-in"
  | "process"
  | "GetFederationToken"
  | "static"
  | "keyring"
  | "IAM";

export interface AuditEvent {
  command: string;
  profile: string;
  source?: AuditSource;
  expires?: Date;
  mfa?: boolean;
  /** Masked (last four characters), never the whole id. */
  accessKeyId?: string;
  result: "ok" | "error";
  /** A short, redacted reason when result is "error", or a note ("dry run", "skipped: ..."). */
  detail?: string;
}

/** One stored line (the documented format, see docs/hygiene.md). */
export interface AuditRecord {
  time: string;
  command: string;
  profile: string;
  source?: string;
  expires?: string;
  mfa?: boolean;
  key?: string;
  result: string;
  detail?: string;
  pid: number;
  ppid?: number;
  parent?: string;
  tty?: string;
}

export function auditLogPath(homedir: string): string {
  return join(homedir, ".awsvault", "audit.log");
}

export function auditEnabled(env: Readonly<Record<string, string | undefined>>): boolean {
  const v = (env.AWS_VAULT_AUDIT ?? "").trim().toLowerCase();
  return !(v === "off" || v === "0" || v === "false" || v === "no");
}

export function sourceOfKind(kind: ProviderKind, fromCache: boolean): AuditSource {
  if (fromCache) return "cache";
  switch (kind) {
    case "master":
      return "master keys";
    case "session-token":
      return "GetSessionToken";
    case "assume-role":
      return "AssumeRole";
    case "sso":
      return "SSO";
    case "web-identity":
      return "web identity";
    case "login-session":
      return "console sign-in";
    case "credential-process":
      return "process";
    case "federation-token":
      return "GetFederationToken";
    case "static":
      return "static";
  }
}

/** The parent's command name and our terminal (Linux /proc; absent elsewhere). */
function callerDetails(pid: number, ppid: number | undefined): { parent?: string; tty?: string } {
  const out: { parent?: string; tty?: string } = {};
  if (ppid !== undefined) {
    try {
      out.parent = readFileSync(`/proc/${ppid}/comm`, "utf8").trim().slice(0, 64);
    } catch {
      // not Linux, or the parent is gone
    }
  }
  for (const fd of [0, 2]) {
    try {
      const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      if (/^\/dev\/(pts\/\d+|tty\w*)$/.test(target)) {
        out.tty = target;
        break;
      }
    } catch {
      // no /proc
    }
  }
  return out;
}

export function buildRecord(rt: Runtime, e: AuditEvent): AuditRecord {
  const caller = callerDetails(rt.pid, rt.ppid);
  return {
    time: rt.now().toISOString(),
    command: e.command,
    profile: e.profile,
    ...(e.source ? { source: e.source } : {}),
    ...(e.expires ? { expires: e.expires.toISOString() } : {}),
    ...(e.mfa !== undefined ? { mfa: e.mfa } : {}),
    ...(e.accessKeyId ? { key: maskKeyId(e.accessKeyId) } : {}),
    result: e.result,
    ...(e.detail ? { detail: redact(e.detail).replace(/\s+/g, " ").slice(0, 300) } : {}),
    pid: rt.pid,
    ...(rt.ppid !== undefined ? { ppid: rt.ppid } : {}),
    ...caller,
  };
}

/** Appends one event. Never throws: a log that cannot be written is reported under --debug only. */
export async function audit(rt: Runtime, e: AuditEvent): Promise<void> {
  if (!auditEnabled(rt.env)) return;
  const path = auditLogPath(rt.homedir);
  try {
    const line = `${JSON.stringify(buildRecord(rt, e))}\n`;
    const size = appendLine(path, line);
    if (size > AUDIT_MAX_BYTES) await rotate(path);
  } catch (err) {
    rt.log.debug(`could not write the audit log ${path}: ${(err as Error).message}`);
  }
}

/** One write(2) with O_APPEND; returns the file size afterwards. */
function appendLine(path: string, line: string): number {
  let fd: number;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT, 0o600);
  } catch (e) {
    if ((e as { code?: string }).code !== "ENOENT") throw e;
    mkdirPrivateSync(join(path, ".."));
    fd = openSync(path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT, 0o600);
  }
  try {
    const buf = Buffer.from(line, "utf8");
    const written = writeSync(fd, buf);
    if (written !== buf.length) throw new Error(`short write (${written} of ${buf.length} bytes)`);
    return fstatSync(fd).size;
  } finally {
    closeSync(fd);
  }
}

async function rotate(path: string): Promise<void> {
  await withFileLock(`${path}.lock`, async () => {
    // Another writer may have rotated while we waited.
    let size = 0;
    try {
      size = statSync(path).size;
    } catch {
      return;
    }
    if (size > AUDIT_MAX_BYTES) renameSync(path, `${path}.1`);
  });
}

/** Every parseable line of the old and the current file, oldest first. Malformed lines are skipped. */
export function readAuditLog(homedir: string): AuditRecord[] {
  const path = auditLogPath(homedir);
  const records: AuditRecord[] = [];
  for (const file of [`${path}.1`, path]) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (e) {
      if ((e as { code?: string }).code === "ENOENT") continue;
      throw e;
    }
    for (const line of text.split("\n")) {
      if (!line.trim()) continue;
      try {
        const r = JSON.parse(line) as AuditRecord;
        if (r && typeof r.time === "string" && typeof r.command === "string") records.push(r);
      } catch {
        // a torn line from a crash: skipped
      }
    }
  }
  return records;
}
