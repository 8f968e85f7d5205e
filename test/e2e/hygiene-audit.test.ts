// Issue 12: the audit log and rotation reminders, end to end on both artifacts against moto.
import { readFileSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ARTIFACTS, type Artifact, run, sandbox, type Sandbox } from "../support/cli.ts";
import { bootstrapUser, type Moto, type MotoUser, startMoto } from "../support/moto.ts";

let moto: Moto;
let user: MotoUser;

beforeAll(async () => {
  moto = await startMoto({ authAfter: 3 });
  user = await bootstrapUser(moto);
});
afterAll(async () => moto?.stop());

async function setup(artifact: Artifact, profile = "alice"): Promise<Sandbox> {
  const sb = sandbox({ AWS_ENDPOINT_URL: moto.endpoint });
  const add = await run(artifact, ["add", "--env", profile], {
    env: { ...sb.env, AWS_ACCESS_KEY_ID: user.accessKeyId, AWS_SECRET_ACCESS_KEY: user.secretAccessKey },
  });
  expect(add.code, add.stderr).toBe(0);
  return sb;
}

function auditLines(sb: Sandbox): string[] {
  return readFileSync(join(sb.home, ".awsvault", "audit.log"), "utf8").split("\n").filter(Boolean);
}

/** Makes the recorded key of `profile` `days` old (the record's storedAt). */
function ageKey(sb: Sandbox, profile: string, days: number): void {
  const path = join(sb.home, ".awsvault", "key-metadata.json");
  const doc = JSON.parse(readFileSync(path, "utf8"));
  doc.profiles[profile].storedAt = new Date(Date.now() - days * 86_400_000).toISOString();
  writeFileSync(path, JSON.stringify(doc));
}

describe.each(ARTIFACTS)("audit log and reminders ($name)", (artifact) => {
  it("20 parallel exports give 20 whole lines; no secret, token or passphrase in the log", async () => {
    const sb = await setup(artifact);
    const runs = await Promise.all(
      Array.from({ length: 20 }, () => run(artifact, ["export", "--format", "json", "alice"], { env: sb.env, timeoutMs: 60_000 })),
    );
    const secrets = new Set<string>([user.secretAccessKey, sb.env.AWS_VAULT_FILE_PASSPHRASE as string]);
    for (const r of runs) {
      expect(r.code, r.stderr).toBe(0);
      const doc = JSON.parse(r.stdout);
      secrets.add(doc.SecretAccessKey);
      secrets.add(doc.SessionToken);
    }
    const lines = auditLines(sb);
    expect(lines).toHaveLength(21); // add + 20 exports
    const records = lines.map((l) => JSON.parse(l));
    const exports = records.filter((r) => r.command === "export");
    expect(exports).toHaveLength(20);
    for (const r of exports) {
      expect(r).toMatchObject({ profile: "alice", result: "ok", mfa: false });
      expect(["GetSessionToken", "cache"]).toContain(r.source);
      expect(r.expires).toMatch(/Z$/);
      expect(typeof r.pid).toBe("number");
    }
    // One STS call shared by all (the cross-process lock), the others served from the cache.
    expect(exports.filter((r) => r.source === "GetSessionToken")).toHaveLength(1);
    const log = readFileSync(join(sb.home, ".awsvault", "audit.log"), "utf8");
    for (const s of secrets) expect(log.includes(s), "a secret reached the audit log").toBe(false);
    expect(log).not.toContain(user.accessKeyId);
    expect(statSync(join(sb.home, ".awsvault", "audit.log")).mode & 0o777).toBe(0o600);

    const table = await run(artifact, ["audit", "--since", "1h", "--profile", "alice"], { env: sb.env });
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout.split("\n")[0]).toMatch(/^Time\s+Command\s+Profile\s+Source\s+MFA\s+Expires\s+Result\s+Caller/);
    expect(table.stdout.match(/ export /g)).toHaveLength(20);
    const json = await run(artifact, ["audit", "--format", "json"], { env: sb.env });
    expect(json.stdout.trim().split("\n").map((l) => JSON.parse(l).command)).toEqual(["add", ...Array(20).fill("export")]);
  });

  it("rotation at 10 MB under 20 concurrent writers keeps one old file and every line whole", async () => {
    const sb = await setup(artifact);
    const path = join(sb.home, ".awsvault", "audit.log");
    const filler = `${JSON.stringify({ time: "2025-01-01T00:00:00.000Z", command: "old", profile: "x", result: "ok", pid: 1 })}\n`;
    const count = Math.floor((10 * 1024 * 1024 - 2000) / filler.length);
    writeFileSync(path, filler.repeat(count), { mode: 0o600 });
    writeFileSync(`${path}.1`, "an older file\n", { mode: 0o600 });
    const runs = await Promise.all(
      Array.from({ length: 20 }, () => run(artifact, ["export", "--no-session", "alice"], { env: sb.env, timeoutMs: 60_000 })),
    );
    for (const r of runs) expect(r.code, r.stderr).toBe(0);
    const lines = [`${path}.1`, path].flatMap((f) => readFileSync(f, "utf8").split("\n").filter(Boolean));
    expect(lines.every((l) => JSON.parse(l))).toBe(true);
    expect(lines.filter((l) => l.includes('"command":"old"'))).toHaveLength(count);
    expect(lines.filter((l) => l.includes('"command":"export"'))).toHaveLength(20);
    expect(readFileSync(`${path}.1`, "utf8")).not.toContain("an older file");
    expect(statSync(path).size).toBeLessThan(10 * 1024 * 1024);
  });

  it("AWS_VAULT_AUDIT=off writes nothing; exec and remove are logged", async () => {
    const sb = await setup(artifact);
    const off = await run(artifact, ["export", "--no-session", "alice"], { env: { ...sb.env, AWS_VAULT_AUDIT: "off" } });
    expect(off.code, off.stderr).toBe(0);
    expect(auditLines(sb)).toHaveLength(1);
    const exec = await run(artifact, ["exec", "--no-session", "alice", "--", "aws", "sts", "get-caller-identity"], { env: sb.env });
    expect(exec.code, exec.stderr).toBe(0);
    const rm = await run(artifact, ["remove", "-f", "alice"], { env: sb.env });
    expect(rm.code, rm.stderr).toBe(0);
    expect(auditLines(sb).map((l) => JSON.parse(l).command)).toEqual(["add", "exec", "remove"]);
  });

  it("the AWS CLI's credential_process and an ECS server's fetch are logged with their caller", async () => {
    const sb = await setup(artifact);
    const self = artifact.argv.map((x) => `'${x}'`).join(" ");
    writeFileSync(
      sb.configPath,
      `[profile alice]\nregion = us-east-1\n\n[profile admin]\nsource_profile = alice\nrole_arn = arn:aws:iam::123456789012:role/admin\nregion = us-east-1\n\n` +
        `[profile via]\nregion = us-east-1\ncredential_process = ${self} export --format json admin\n`,
    );
    const { execFile } = await import("node:child_process");
    await new Promise<void>((resolve, reject) =>
      execFile("aws", ["sts", "get-caller-identity", "--profile", "via"], { env: sb.env }, (e) => (e ? reject(e) : resolve())),
    );
    const ecs = await run(artifact, ["exec", "--ecs-server", "admin", "--", "aws", "sts", "get-caller-identity"], { env: sb.env });
    expect(ecs.code, ecs.stderr).toBe(0);
    const records = auditLines(sb).map((l) => JSON.parse(l));
    expect(records.find((r) => r.command === "export")).toMatchObject({ profile: "admin", source: "AssumeRole", parent: "aws", result: "ok" });
    expect(records.find((r) => r.command === "exec --ecs-server")).toMatchObject({ profile: "admin", result: "ok" });
  });

  it("a key recorded as 100 days old gets one reminder per day on stderr; a fresh one none", async () => {
    const sb = await setup(artifact, "old");
    const add = await run(artifact, ["add", "--env", "fresh"], {
      env: { ...sb.env, AWS_ACCESS_KEY_ID: user.accessKeyId, AWS_SECRET_ACCESS_KEY: user.secretAccessKey },
    });
    expect(add.code).toBe(0);
    ageKey(sb, "old", 100);
    const reminder = /^aws-vault: reminder: the access key stored for profile 'old' is 100 days old; rotate it with `aws-vault rotate old`/;

    const first = await run(artifact, ["export", "--no-session", "--format", "json", "old"], { env: sb.env });
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toMatch(reminder);
    expect(first.stderr.trim().split("\n")).toHaveLength(1);
    expect(JSON.parse(first.stdout).Version).toBe(1); // stdout untouched
    const again = await run(artifact, ["exec", "--no-session", "old", "--", "true"], { env: sb.env });
    expect(again.code).toBe(0);
    expect(again.stderr).toBe("");
    // A day later (the marker's time moved back 25 hours), one more.
    const marker = join(sb.home, ".awsvault", "reminders", Buffer.from("old").toString("base64url"));
    const dayAgo = new Date(Date.now() - 25 * 3600 * 1000);
    utimesSync(marker, dayAgo, dayAgo);
    const nextDay = await run(artifact, ["exec", "--no-session", "old", "--", "true"], { env: sb.env });
    expect(nextDay.stderr).toMatch(reminder);
    const fresh = await run(artifact, ["export", "--no-session", "fresh"], { env: sb.env });
    expect(fresh.code).toBe(0);
    expect(fresh.stderr).toBe("");
    utimesSync(marker, dayAgo, dayAgo);
    const off = await run(artifact, ["export", "--no-session", "old"], { env: { ...sb.env, AWS_VAULT_ROTATE_AFTER: "off" } });
    expect(off.stderr).toBe("");
    const list = await run(artifact, ["list", "--long"], { env: sb.env });
    expect(list.stdout).toMatch(/^old\s+old\s+-\s+100d \(stored\)\s+-/m);
    expect(list.stdout).toMatch(/^fresh\s+fresh\s+-\s+0d \(stored\)\s+-/m);
  });
});
