// Issue 12: `rotate --all --older-than 90d` against moto: old keys replaced and working, fresh untouched,
// IAM holds exactly the stored keys; a failing profile is reported and leaves the others whole.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CreateAccessKeyCommand, CreateUserCommand, IAMClient, ListAccessKeysCommand, PutUserPolicyCommand } from "@aws-sdk/client-iam";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ARTIFACTS, type Artifact, run, sandbox, type Sandbox } from "../support/cli.ts";
import { bootstrapUser, type Moto, type MotoUser, startMoto } from "../support/moto.ts";

const ALLOW_ALL = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }] });
let moto: Moto;
let iam: IAMClient;
let n = 0;

beforeAll(async () => {
  moto = await startMoto({ authAfter: 3 });
  const admin: MotoUser = await bootstrapUser(moto, "admin");
  iam = new IAMClient({ endpoint: moto.motoEndpoint, region: "us-east-1", credentials: admin });
});
afterAll(async () => moto?.stop());

async function newUser(): Promise<{ name: string; id: string; secret: string }> {
  const name = `all-${++n}`;
  await iam.send(new CreateUserCommand({ UserName: name }));
  await iam.send(new PutUserPolicyCommand({ UserName: name, PolicyName: "all", PolicyDocument: ALLOW_ALL }));
  const k = (await iam.send(new CreateAccessKeyCommand({ UserName: name }))).AccessKey!;
  return { name, id: k.AccessKeyId!, secret: k.SecretAccessKey! };
}

async function keysOf(user: string): Promise<string[]> {
  return ((await iam.send(new ListAccessKeysCommand({ UserName: user }))).AccessKeyMetadata ?? []).map((k) => k.AccessKeyId as string);
}

function ageKey(sb: Sandbox, profile: string, days: number): void {
  const path = join(sb.home, ".awsvault", "key-metadata.json");
  const doc = JSON.parse(readFileSync(path, "utf8"));
  doc.profiles[profile].storedAt = new Date(Date.now() - days * 86_400_000).toISOString();
  writeFileSync(path, JSON.stringify(doc));
}

async function stored(artifact: Artifact, sb: Sandbox, profile: string): Promise<string> {
  const r = await run(artifact, ["export", "--no-session", "--format", "json", profile], { env: { ...sb.env, AWS_VAULT_ROTATE_AFTER: "off" } });
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout).AccessKeyId;
}

async function setup(artifact: Artifact, profiles: Record<string, { id: string; secret: string }>): Promise<Sandbox> {
  const sb = sandbox({ AWS_ENDPOINT_URL: moto.endpoint });
  for (const [p, k] of Object.entries(profiles)) {
    const r = await run(artifact, ["add", "--env", p], { env: { ...sb.env, AWS_ACCESS_KEY_ID: k.id, AWS_SECRET_ACCESS_KEY: k.secret } });
    expect(r.code, r.stderr).toBe(0);
  }
  writeFileSync(sb.configPath, Object.keys(profiles).map((p) => `[profile ${p}]\nregion = us-east-1\n`).join("\n"));
  return sb;
}

describe.each(ARTIFACTS)("rotate --all ($name)", (artifact) => {
  it("two old keys replaced and working, the fresh one untouched, IAM holds exactly the stored keys", async () => {
    const [old1, old2, fresh] = [await newUser(), await newUser(), await newUser()];
    const sb = await setup(artifact, { old1, old2, fresh });
    ageKey(sb, "old1", 120);
    ageKey(sb, "old2", 91);

    const dry = await run(artifact, ["rotate", "--all", "--older-than", "90d", "--dry-run"], { env: sb.env });
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/^would rotate old1: key is 120 days old/m);
    expect(dry.stdout).toMatch(/^would rotate old2: key is 91 days old/m);
    expect(dry.stdout).toMatch(/^skipped fresh: key is less than an hour old/m);
    expect(dry.stdout).toMatch(/^dry run: would rotate 2, skipped 1, failed 0$/m);
    expect(await keysOf(old1.name)).toEqual([old1.id]);

    const r = await run(artifact, ["rotate", "--all", "--older-than", "90d"], { env: sb.env, timeoutMs: 120_000 });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^rotated 2, skipped 1, failed 0$/m);
    for (const [profile, user] of [["old1", old1], ["old2", old2]] as const) {
      const id = await stored(artifact, sb, profile);
      expect(id).not.toBe(user.id);
      expect(await keysOf(user.name)).toEqual([id]);
      const e = await run(artifact, ["exec", "--no-session", profile, "--", "aws", "sts", "get-caller-identity", "--output", "json"], { env: sb.env });
      expect(e.code, e.stderr).toBe(0);
      expect(JSON.parse(e.stdout).Arn).toBe(`arn:aws:iam::123456789012:user/${user.name}`);
    }
    expect(await stored(artifact, sb, "fresh")).toBe(fresh.id);
    expect(await keysOf(fresh.name)).toEqual([fresh.id]);
    // The rotation is recorded: list --long shows it, and a second run has nothing to do.
    const list = await run(artifact, ["list", "--long"], { env: sb.env });
    expect(list.stdout).toMatch(new RegExp(`^old1\\s+old1\\s+-\\s+0d\\s+${new Date().toISOString().slice(0, 10)}`, "m"));
    const again = await run(artifact, ["rotate", "--all"], { env: sb.env });
    expect(again.stdout).toMatch(/^rotated 0, skipped 3, failed 0$/m);
    const audit = readFileSync(join(sb.home, ".awsvault", "audit.log"), "utf8");
    for (const u of [old1, old2, fresh]) expect(audit).not.toContain(u.secret);
  });

  it("a profile that fails is reported with the reason; the others rotate whole; exit 1", async () => {
    const good = await newUser();
    const sb = await setup(artifact, { good, bogus: { id: "AKIAZZZZZZZZZZZZZZZZ", secret: "not-a-real-secret-not-a-real-secret-0000" } });
    ageKey(sb, "good", 200);
    ageKey(sb, "bogus", 200);
    const r = await run(artifact, ["rotate", "--all"], { env: sb.env, timeoutMs: 120_000 });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^failed bogus: Error creating a new access key: profile bogus: CreateAccessKey failed: InvalidClientTokenId/m);
    expect(r.stdout).toMatch(/^rotated 1, skipped 0, failed 1$/m);
    const id = await stored(artifact, sb, "good");
    expect(await keysOf(good.name)).toEqual([id]);
    expect(await stored(artifact, sb, "bogus")).toBe("AKIAZZZZZZZZZZZZZZZZ");
  });
});
