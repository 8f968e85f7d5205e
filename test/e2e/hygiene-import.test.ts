// Issue 12: `aws-vault import` end to end on both artifacts, against moto and the AWS CLI.
import { lstatSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ARTIFACTS, type Artifact, run, sandbox, type Sandbox, start } from "../support/cli.ts";
import { bootstrapUser, type Moto, type MotoUser, startMoto } from "../support/moto.ts";

let moto: Moto;
const users: MotoUser[] = [];

beforeAll(async () => {
  moto = await startMoto({ authAfter: 15 });
  for (const name of ["imp-a", "imp-b", "imp-c", "imp-d", "imp-e"]) users.push(await bootstrapUser(moto, name));
});
afterAll(async () => moto?.stop());

interface Fixture {
  text: string;
  /** The expected file after --scrub. */
  scrubbed: string;
}

/** Five profiles: three to import (comments between sections, CRLF in one), one temporary, one already stored with other keys. */
function fixture(): Fixture {
  const [a, b, c, d] = users as [MotoUser, MotoUser, MotoUser, MotoUser];
  const keep = (s: string) => ({ s, keep: true });
  const drop = (s: string) => ({ s, keep: false });
  const parts = [
    keep("# work keys, moved by hand in 2019\n"),
    keep("[default]\n"),
    drop(`aws_access_key_id = ${a.accessKeyId}\n`),
    keep("output = json\n"),
    drop(`aws_secret_access_key = ${a.secretAccessKey}\n`),
    keep("\n; the CI user\n"),
    keep("[ci]\r\n"),
    drop(`aws_access_key_id=${b.accessKeyId}\r\n`),
    keep("region = eu-west-1\r\n"),
    drop(`aws_secret_access_key=${b.secretAccessKey}\r\n`),
    keep("\n"),
    keep("[temp]\naws_access_key_id = ASIAQQQQQQQQQQQQQQQQ\naws_secret_access_key = tempsecret\naws_session_token = temptoken\n\n"),
    keep("# already in the vault with other keys\n"),
    keep(`[taken]\naws_access_key_id = ${d.accessKeyId}\naws_secret_access_key = ${d.secretAccessKey}\n\n`),
    drop("[ops]\n"),
    drop(`aws_access_key_id = ${c.accessKeyId}\n`),
    drop(`aws_secret_access_key = ${c.secretAccessKey}\n`),
    keep("# trailing comment"),
  ];
  return { text: parts.map((p) => p.s).join(""), scrubbed: parts.filter((p) => p.keep).map((p) => p.s).join("") };
}

async function setup(artifact: Artifact): Promise<{ sb: Sandbox; credsPath: string; fx: Fixture }> {
  const sb = sandbox({ AWS_ENDPOINT_URL: moto.endpoint });
  const credsPath = join(sb.home, ".aws", "credentials");
  sb.env.AWS_SHARED_CREDENTIALS_FILE = credsPath;
  const e = users[4] as MotoUser;
  const add = await run(artifact, ["add", "--env", "taken"], { env: { ...sb.env, AWS_ACCESS_KEY_ID: e.accessKeyId, AWS_SECRET_ACCESS_KEY: e.secretAccessKey } });
  expect(add.code, add.stderr).toBe(0);
  writeFileSync(sb.configPath, "[profile ci]\nregion = us-east-1\n\n[profile taken]\nregion = us-east-1\n", { mode: 0o600 });
  const fx = fixture();
  writeFileSync(credsPath, fx.text, { mode: 0o640 });
  return { sb, credsPath, fx };
}

async function storedKeyId(artifact: Artifact, sb: Sandbox, profile: string): Promise<{ id: string; secret: string } | undefined> {
  const r = await run(artifact, ["export", "--no-session", "--format", "json", profile], { env: { ...sb.env, AWS_VAULT_ROTATE_AFTER: "off" } });
  if (r.code !== 0) return undefined;
  const doc = JSON.parse(r.stdout);
  return { id: doc.AccessKeyId, secret: doc.SecretAccessKey };
}

describe.each(ARTIFACTS)("import ($name)", (artifact) => {
  it("--dry-run writes nothing; then --scrub stores and verifies the right 3, adds config, and only removes key lines", async () => {
    const { sb, credsPath, fx } = await setup(artifact);
    const configBefore = readFileSync(sb.configPath, "utf8");
    const dry = await run(artifact, ["import", "--scrub", "--dry-run"], { env: sb.env });
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/^dry run: would import 3, skipped 2, would scrub 3$/m);
    expect(readFileSync(credsPath, "utf8")).toBe(fx.text);
    expect(readFileSync(sb.configPath, "utf8")).toBe(configBefore);
    expect(await storedKeyId(artifact, sb, "ops")).toBeUndefined();

    const r = await run(artifact, ["import", "--scrub"], { env: sb.env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^skipped temp: temporary keys/m);
    expect(r.stdout).toMatch(/^skipped taken: different keys are already stored/m);
    expect(r.stdout).toMatch(/^imported 3, skipped 2, scrubbed 3$/m);
    expect(readFileSync(credsPath, "utf8")).toBe(fx.scrubbed);
    expect(statSync(credsPath).mode & 0o777).toBe(0o640);
    const config = readFileSync(sb.configPath, "utf8");
    expect(config.startsWith("[profile ci]\nregion = us-east-1\n")).toBe(true); // existing value wins
    expect(config).toMatch(/\n\[default\]\noutput = json\n/); // carried over
    expect(config).toMatch(/\n\[profile ops\]\n/);
    // Each imported profile works through exec with the AWS CLI.
    const [a, b, c] = users as [MotoUser, MotoUser, MotoUser];
    for (const [profile, user] of [["default", a], ["ci", b], ["ops", c]] as const) {
      const e = await run(artifact, ["exec", "--no-session", profile, "--", "aws", "sts", "get-caller-identity", "--output", "json"], { env: sb.env });
      expect(e.code, e.stderr).toBe(0);
      expect(JSON.parse(e.stdout).Arn).toBe(user.arn);
    }
    // The other stored key is untouched; --overwrite replaces it.
    expect((await storedKeyId(artifact, sb, "taken"))?.id).toBe(users[4]?.accessKeyId);
    const ow = await run(artifact, ["import", "--overwrite", "--scrub", "taken"], { env: sb.env });
    expect(ow.code, ow.stderr).toBe(0);
    expect((await storedKeyId(artifact, sb, "taken"))?.id).toBe(users[3]?.accessKeyId);
    expect(readFileSync(credsPath, "utf8")).not.toContain(users[3]?.accessKeyId);
    // No secret in the audit log or the key records.
    for (const f of ["audit.log", "key-metadata.json"]) {
      const text = readFileSync(join(sb.home, ".awsvault", f), "utf8");
      for (const u of users) expect(text).not.toContain(u.secretAccessKey);
    }
  });

  it("a key id without a secret: one error naming file and line, nothing imported", async () => {
    const { sb, credsPath } = await setup(artifact);
    writeFileSync(credsPath, `[good]\naws_access_key_id = ${users[0]?.accessKeyId}\naws_secret_access_key = ${users[0]?.secretAccessKey}\n\n[bad]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\n`);
    const r = await run(artifact, ["import", "--scrub"], { env: sb.env });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `aws-vault: error: import: ${credsPath}:6: profile 'bad' has aws_access_key_id but no aws_secret_access_key\n` +
        "aws-vault: hint: complete or remove the section, then run aws-vault import again; nothing was imported\n",
    );
    expect(await storedKeyId(artifact, sb, "good")).toBeUndefined();
    writeFileSync(credsPath, "[x]\nthis is not a key line\n");
    const parse = await run(artifact, ["import"], { env: sb.env });
    expect(parse.code).toBe(1);
    expect(parse.stderr).toMatch(new RegExp(`^aws-vault: error: import: ${credsPath}:2: expected "key = value"`));
    // A name the file keyring reserves stops it too, naming the section's line.
    writeFileSync(credsPath, `[good]\naws_access_key_id = ${users[0]?.accessKeyId}\naws_secret_access_key = ${users[0]?.secretAccessKey}\n[.aws-vault-lock]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = x\n`);
    const reserved = await run(artifact, ["import"], { env: sb.env });
    expect(reserved.code).toBe(1);
    expect(reserved.stderr).toMatch(new RegExp(`^aws-vault: error: import: ${credsPath}:4: section \\[\\.aws-vault-lock\\] cannot be imported: .*reserved`));
    expect(await storedKeyId(artifact, sb, "good")).toBeUndefined();
    // A broken config file stops the import before anything is stored.
    writeFileSync(credsPath, `[good]\naws_access_key_id = ${users[0]?.accessKeyId}\naws_secret_access_key = ${users[0]?.secretAccessKey}\n`);
    writeFileSync(sb.configPath, "[profile x\n");
    const cfg = await run(artifact, ["import", "--scrub"], { env: sb.env });
    expect(cfg.code).toBe(1);
    expect(cfg.stderr).toMatch(new RegExp(`^aws-vault: error: import: Error parsing config file ${sb.configPath}: line 1: `));
    expect(readFileSync(credsPath, "utf8")).toContain(users[0]?.secretAccessKey);
    expect(readdirSync(sb.keysDir).filter((n) => !n.startsWith("."))).toEqual(["taken"]);
  });

  it("--scrub through a symlinked credentials file rewrites the file it points to and keeps the link", async () => {
    const { sb, credsPath } = await setup(artifact);
    const target = join(sb.home, "dotfiles-credentials");
    const u = users[0] as MotoUser;
    writeFileSync(target, `# mine\n[good]\naws_access_key_id = ${u.accessKeyId}\naws_secret_access_key = ${u.secretAccessKey}\nregion = eu-west-1\n`, { mode: 0o600 });
    rmSync(credsPath);
    symlinkSync(target, credsPath);
    const r = await run(artifact, ["import", "--scrub", "good"], { env: sb.env });
    expect(r.code, r.stderr).toBe(0);
    expect(lstatSync(credsPath).isSymbolicLink()).toBe(true);
    expect(readFileSync(target, "utf8")).toBe("# mine\n[good]\nregion = eu-west-1\n");
    expect(statSync(target).mode & 0o777).toBe(0o600);
    expect(await storedKeyId(artifact, sb, "good")).toEqual({ id: u.accessKeyId, secret: u.secretAccessKey });
  });

  it("kill -9 at random points, repeated, never loses a key that was in the file", async () => {
    const { sb, credsPath } = await setup(artifact);
    const [a, b, c] = users as [MotoUser, MotoUser, MotoUser];
    const keys = { default: a, ci: b, ops: c };
    for (let round = 0; round < 8; round++) {
      const child = start(artifact, ["import", "--scrub"], { env: sb.env });
      const closed = new Promise((r) => child.once("close", r));
      await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 700)));
      child.kill("SIGKILL");
      await closed;
      const text = readFileSync(credsPath, "utf8");
      for (const [profile, user] of Object.entries(keys)) {
        const inFile = text.includes(user.accessKeyId) && text.includes(user.secretAccessKey);
        if (inFile) continue;
        const stored = await storedKeyId(artifact, sb, profile);
        expect(stored, `round ${round}: ${profile} is neither in the file nor in the vault`).toEqual({ id: user.accessKeyId, secret: user.secretAccessKey });
      }
    }
    const done = await run(artifact, ["import", "--scrub"], { env: sb.env });
    expect(done.code, done.stderr).toBe(0);
    for (const [profile, user] of Object.entries(keys)) {
      expect(await storedKeyId(artifact, sb, profile)).toEqual({ id: user.accessKeyId, secret: user.secretAccessKey });
      expect(readFileSync(credsPath, "utf8")).not.toContain(user.accessKeyId);
    }
    // No temp copy of the file is left behind.
    expect(readdirSync(join(sb.home, ".aws")).filter((n) => n.startsWith(".aws-vault-import-"))).toEqual([]);
  }, 240_000);
});
