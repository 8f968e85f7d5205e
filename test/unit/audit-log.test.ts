import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { AUDIT_MAX_BYTES, audit, auditLogPath, readAuditLog } from "../../src/vault/audit-log.ts";
import { filterAudit, validateAuditOptions } from "../../src/cli/audit.ts";
import { fakeRuntime } from "../support/fake-runtime.ts";

function home(): string {
  return mkdtempSync(join(tmpdir(), "awsv-audit-"));
}

describe("audit log", () => {
  it("appends one JSON line per event, 0600 in a 0700 folder, with the caller and no secret field", async () => {
    const h = home();
    const rt = fakeRuntime({ homedir: h, pid: 4242, now: new Date("2026-01-02T03:04:05Z") });
    await audit(rt, {
      command: "export",
      profile: "dev",
      source: "AssumeRole",
      mfa: true,
      expires: new Date("2026-01-02T04:04:05Z"),
      accessKeyId: "ASIAEXAMPLEEXAMPLE12",
      result: "ok",
    });
    await audit(rt, { command: "exec", profile: "dev", result: "error", detail: "bad key AKIAABCDEFGHIJKLMNOP\nsecond line" });
    const path = auditLogPath(h);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(join(h, ".awsvault")).mode & 0o777).toBe(0o700);
    const lines = readFileSync(path, "utf8").split("\n");
    expect(lines).toHaveLength(3);
    expect(JSON.parse(lines[0] as string)).toMatchObject({
      time: "2026-01-02T03:04:05.000Z",
      command: "export",
      profile: "dev",
      source: "AssumeRole",
      mfa: true,
      expires: "2026-01-02T04:04:05.000Z",
      key: "****************LE12",
      result: "ok",
      pid: 4242,
    });
    const second = JSON.parse(lines[1] as string);
    expect(second.detail).not.toContain("AKIAABCDEFGHIJKLMNOP");
    expect(second.detail).not.toContain("\n");
    expect(readFileSync(path, "utf8")).not.toContain("ASIAEXAMPLEEXAMPLE12");
  });

  it("AWS_VAULT_AUDIT=off writes nothing", async () => {
    const h = home();
    await audit(fakeRuntime({ homedir: h, env: { AWS_VAULT_AUDIT: "off" } }), { command: "export", profile: "p", result: "ok" });
    expect(existsSync(auditLogPath(h))).toBe(false);
  });

  it("rotates past 10 MB keeping one old file, losing no line", async () => {
    const h = home();
    mkdirSync(join(h, ".awsvault"), { mode: 0o700 });
    const path = auditLogPath(h);
    const filler = `${JSON.stringify({ time: "2025-01-01T00:00:00.000Z", command: "old", profile: "x", result: "ok", pid: 1 })}\n`;
    writeFileSync(path, filler.repeat(Math.ceil(AUDIT_MAX_BYTES / filler.length)), { mode: 0o600 });
    writeFileSync(`${path}.1`, "older file, replaced\n");
    const before = readAuditLog(h).length;
    const rt = fakeRuntime({ homedir: h });
    await Promise.all(Array.from({ length: 10 }, (_, i) => audit(rt, { command: "export", profile: `p${i}`, result: "ok" })));
    expect(existsSync(`${path}.1`)).toBe(true);
    expect(readFileSync(`${path}.1`, "utf8")).not.toContain("older file");
    await audit(rt, { command: "export", profile: "after", result: "ok" });
    expect(statSync(path).size).toBeLessThan(1000);
    // the overfull file became .1; every line (old and new) is still there
    const all = readAuditLog(h);
    expect(all.length).toBe(before + 11);
    expect(all.filter((r) => r.command === "export").map((r) => r.profile).sort()).toEqual(["after", ...Array.from({ length: 10 }, (_, i) => `p${i}`)].sort());
  });

  it("filters by --since and --profile; bad flags are usage errors", () => {
    const now = new Date("2026-01-10T00:00:00Z");
    const recs = [
      { time: "2026-01-01T00:00:00.000Z", command: "export", profile: "a", result: "ok", pid: 1 },
      { time: "2026-01-09T12:00:00.000Z", command: "export", profile: "a", result: "ok", pid: 1 },
      { time: "2026-01-09T13:00:00.000Z", command: "exec", profile: "b", result: "ok", pid: 1 },
    ];
    expect(filterAudit(recs, validateAuditOptions({ since: "24h" }), now)).toHaveLength(2);
    expect(filterAudit(recs, validateAuditOptions({ since: "30d", profile: "a" }), now)).toHaveLength(2);
    expect(() => validateAuditOptions({ since: "yesterday" })).toThrow(/not a duration/);
    expect(() => validateAuditOptions({ format: "xml" })).toThrow(/text,json/);
  });
});
