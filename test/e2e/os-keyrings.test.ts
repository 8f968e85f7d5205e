// OS keyrings through the built command, both artifacts: secret-service on a real gnome-keyring
// (fresh and headless: only the unlocked "login" collection exists, where aws-vault v7 fails with
// `Object does not exist at path "/"`), pass with real gpg, exec/export against moto with both,
// migrate-backend file -> secret-service -> pass -> file, a migration that fails midway, and
// the errors for a backend that is hung or cannot open.
import { appendFileSync, chmodSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FileKeyring } from "../../src/keyring/file.ts";
import { SecretServiceKeyring } from "../../src/keyring/secret-service.ts";
import { Secret } from "../../src/util/secret.ts";
import { ARTIFACTS, run, sandbox, type Artifact, type Sandbox } from "../support/cli.ts";
import { damageItem } from "../support/damage.ts";
import { missing, type PassStore, type SecretServiceDaemon, startPassStore, startSecretService } from "../support/daemons.ts";
import { bootstrapUser, type Moto, type MotoUser, startMoto } from "../support/moto.ts";

const KEY_ID = "AKIAEXAMPLEKEY000001";
const ROLE_ARN = "arn:aws:iam::123456789012:role/admin";
const SECRET = "exampleSecretKey/000000000000000000000001";
const skip = missing("dbus-daemon", "gnome-keyring-daemon", "pass", "gpg");

function envLines(stdout: string): Record<string, string> {
  return Object.fromEntries(
    stdout
      .split("\n")
      .filter((l) => l.includes("="))
      .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
  );
}

/** The decrypted credential bytes of every item in a file keyring. */
async function fileCredentials(dir: string, passphrase: string): Promise<Record<string, string>> {
  const k = new FileKeyring({
    dir,
    passphrase: { fromEnv: new Secret(passphrase), prompt: async () => new Secret(passphrase) },
    now: () => new Date(),
    random: () => new Uint8Array(12),
  });
  const out: Record<string, string> = {};
  for (const key of await k.keys()) out[key] = Buffer.from((await k.get(key)).data).toString("base64");
  return out;
}

describe.skipIf(Boolean(skip))(`OS keyrings${skip ? ` — skipped: ${skip}` : ""}`, () => {
  let moto: Moto;
  let user: MotoUser;
  beforeAll(async () => {
    moto = await startMoto({ authAfter: 3 });
    user = await bootstrapUser(moto);
  }, 60_000);
  afterAll(async () => moto?.stop());

  describe.each(ARTIFACTS)("($name)", (artifact: Artifact) => {
    let ss: SecretServiceDaemon;
    let pass: PassStore;
    beforeAll(async () => {
      [ss, pass] = await Promise.all([startSecretService(), startPassStore()]);
    }, 60_000);
    afterAll(async () => {
      await Promise.all([ss?.stop(), pass?.stop()]);
    });

    /** A sandbox that talks to this suite's gnome-keyring and pass store, with no backend chosen. */
    function box(extra: Record<string, string> = {}): Sandbox {
      const sb = sandbox({ ...ss.env, GNUPGHOME: pass.env.GNUPGHOME as string, AWS_VAULT_PASS_PASSWORD_STORE_DIR: pass.dir, ...extra });
      // sandbox() keeps its own HOME for ~/.aws; the daemons only need their env.
      sb.env.HOME = sb.home;
      if (!extra.AWS_VAULT_BACKEND) delete sb.env.AWS_VAULT_BACKEND;
      return sb;
    }

    it("fresh headless gnome-keyring: add goes to the login collection, says so, and reads back", async () => {
      const sb = box();
      const add = await run(artifact, ["add", "--env", "fresh"], {
        env: { ...sb.env, AWS_ACCESS_KEY_ID: KEY_ID, AWS_SECRET_ACCESS_KEY: SECRET },
      });
      expect(add.code, add.stderr).toBe(0);
      expect(add.stdout).toBe('Added credentials to profile "fresh" in vault\n');
      // The default backend on Linux with a session bus is secret-service (aws-vault's order).
      expect(add.stderr).toMatch(/^aws-vault: stored in secret-service collection "login" \(collection "awsvault" does not exist and cannot be created without a desktop prompt\)$/m);
      const k = new SecretServiceKeyring({ env: ss.env, collection: "awsvault" });
      expect(await k.keys()).toContain("fresh");
      expect(k.describeLocation("fresh")).toBe('secret-service collection "awsvault"');
      await k.get("fresh");
      expect(k.describeLocation("fresh")).toBe('secret-service collection "login"');
      k.close();
      const list = await run(artifact, ["list", "--credentials"], { env: sb.env });
      expect(list.stdout.split("\n")).toContain("fresh");
      const exp = await run(artifact, ["export", "--no-session", "fresh"], { env: sb.env });
      expect(exp.code, exp.stderr).toBe(0);
      expect(envLines(exp.stdout)).toMatchObject({ AWS_ACCESS_KEY_ID: KEY_ID, AWS_SECRET_ACCESS_KEY: SECRET });
      const rm = await run(artifact, ["remove", "-f", "fresh"], { env: sb.env });
      expect(rm.code, rm.stderr).toBe(0);
      expect((await run(artifact, ["list", "--credentials"], { env: sb.env })).stdout.split("\n")).not.toContain("fresh");
    });

    for (const backend of ["secret-service", "pass"]) {
      it(`exec and export against moto with the ${backend} backend (sessions cached in it too)`, async () => {
        const sb = box({ AWS_VAULT_BACKEND: backend, AWS_ENDPOINT_URL: moto.endpoint });
        const profile = `moto-${backend}`;
        const add = await run(artifact, ["add", "--env", profile], {
          env: { ...sb.env, AWS_ACCESS_KEY_ID: user.accessKeyId, AWS_SECRET_ACCESS_KEY: user.secretAccessKey },
        });
        expect(add.code, add.stderr).toBe(0);
        appendFileSync(sb.configPath, `region = us-east-1\n\n[profile ${profile}-admin]\nsource_profile = ${profile}\nrole_arn = ${ROLE_ARN}\n`);
        const ex = await run(artifact, ["exec", `${profile}-admin`, "--", "aws", "sts", "get-caller-identity", "--output", "json"], { env: sb.env });
        expect(ex.code, ex.stderr).toBe(0);
        expect(JSON.parse(ex.stdout).Arn).toMatch(/^arn:aws:sts::123456789012:assumed-role\/admin\//);
        // export of the base profile gets a GetSessionToken session, cached in this backend.
        const exp = await run(artifact, ["export", "--format", "json", profile], { env: sb.env });
        expect(exp.code, exp.stderr).toBe(0);
        const creds = JSON.parse(exp.stdout) as { AccessKeyId: string; SessionToken?: string };
        expect(creds.AccessKeyId).not.toBe(user.accessKeyId);
        expect(creds.SessionToken).toBeTruthy();
        const list = await run(artifact, ["list"], { env: sb.env });
        expect(list.stdout).toMatch(new RegExp(`^${profile}\\s+${profile}\\s+sts\\.GetSessionToken:`, "m"));
        const again = await run(artifact, ["export", "--format", "json", profile], { env: sb.env });
        expect((JSON.parse(again.stdout) as { AccessKeyId: string }).AccessKeyId).toBe(creds.AccessKeyId);
        expect((await run(artifact, ["clear"], { env: sb.env })).code).toBe(0);
        expect((await run(artifact, ["remove", "-f", profile], { env: sb.env })).code).toBe(0);
      });
    }

    it("migrate-backend file -> secret-service -> pass -> file ends with byte-identical credentials", async () => {
      const sb = box({ AWS_VAULT_BACKEND: "file" });
      const profiles = ["m-one", "prod/admin", "ünïcode ✓"];
      for (const [i, p] of profiles.entries()) {
        const add = await run(artifact, ["add", "--env", "--no-add-config", p], {
          env: { ...sb.env, AWS_ACCESS_KEY_ID: `AKIAMIGRATE00000000${i}`, AWS_SECRET_ACCESS_KEY: `${SECRET}${i}` },
        });
        expect(add.code, add.stderr).toBe(0);
      }
      const before = await fileCredentials(sb.keysDir, "test-passphrase");
      expect(Object.keys(before).sort()).toEqual([...profiles].sort());

      const dry = await run(artifact, ["migrate-backend", "--from", "file", "--to", "secret-service", "--dry-run"], { env: sb.env });
      expect(dry.code, dry.stderr).toBe(0);
      expect(dry.stdout).toMatch(/^Would migrate 3 credential profile\(s\) from file to secret-service:\n/);
      expect(dry.stdout).toMatch(/No changes made\.\n$/);
      expect(readdirSync(sb.keysDir).filter((f) => !f.startsWith("."))).toHaveLength(3);

      for (const [from, to] of [["file", "secret-service"], ["secret-service", "pass"], ["pass", "file"]] as const) {
        const only = profiles.flatMap((p) => ["--profile", p]);
        const r = await run(artifact, ["migrate-backend", "--from", from, "--to", to, ...only], { env: sb.env });
        expect(r.code, `${from} -> ${to}: ${r.stderr}`).toBe(0);
        for (const p of profiles) expect(r.stdout).toContain(`Migrating ${p}... copied, verified\n`);
        expect(r.stdout).toContain(`Migrated 3 credential profile(s) from ${from} to ${to}, removed 3 from ${from}.`);
        const left = await run(artifact, ["list", "--credentials", "--backend", from], { env: sb.env });
        expect(left.stdout.split("\n").filter(Boolean).filter((p) => profiles.includes(p))).toEqual([]);
      }
      expect(await fileCredentials(sb.keysDir, "test-passphrase")).toEqual(before);
    });

    it("a migration that fails midway loses nothing: source intact, destination copies undone", async () => {
      const sb = box({ AWS_VAULT_BACKEND: "file" });
      for (const p of ["a-first", "b-boom", "c-last"]) {
        const add = await run(artifact, ["add", "--env", "--no-add-config", p], {
          env: { ...sb.env, AWS_ACCESS_KEY_ID: KEY_ID, AWS_SECRET_ACCESS_KEY: SECRET },
        });
        expect(add.code, add.stderr).toBe(0);
      }
      const before = await fileCredentials(sb.keysDir, "test-passphrase");
      // A pass that fails to insert "b-boom", as a full disk or a gpg error would.
      const bin = mkdtempSync(join(tmpdir(), "awsv-flaky-"));
      const flaky = join(bin, "flaky-pass");
      writeFileSync(flaky, `#!/bin/sh\nfor a in "$@"; do case "$a" in *b-boom*) [ "$1" = insert ] && { cat >/dev/null; echo "gpg: simulated failure" >&2; exit 2; };; esac; done\nexec pass "$@"\n`);
      chmodSync(flaky, 0o755);
      const r = await run(artifact, ["migrate-backend", "--from", "file", "--to", "pass", "--pass-prefix", "flaky", "--pass-cmd", flaky], { env: sb.env });
      expect(r.code).toBe(1);
      expect(r.stdout).toContain("Migrating a-first... copied, verified\nMigrating b-boom... failed\n");
      expect(r.stderr).toMatch(/^aws-vault: error: migrate-backend: migrating "b-boom" from file to pass failed: pass insert failed: gpg: simulated failure$/m);
      expect(r.stderr).toContain("aws-vault: hint: nothing was removed from file");
      expect(r.stderr).toContain("aws-vault: hint: the 1 profile(s) already copied to pass were taken out again");
      expect(await fileCredentials(sb.keysDir, "test-passphrase")).toEqual(before);
      const dest = await run(artifact, ["list", "--credentials", "--backend", "pass", "--pass-prefix", "flaky"], { env: sb.env });
      expect(dest.stdout).toBe("");
    });

    it("a migration past an unreadable item names it, leaves it in the source, and moves the others", async () => {
      const sb = box({ AWS_VAULT_BACKEND: "file" });
      for (const p of ["a-ok", "b-damaged", "c-ok"]) {
        const add = await run(artifact, ["add", "--env", "--no-add-config", p], {
          env: { ...sb.env, AWS_ACCESS_KEY_ID: KEY_ID, AWS_SECRET_ACCESS_KEY: SECRET },
        });
        expect(add.code, add.stderr).toBe(0);
      }
      damageItem(join(sb.keysDir, "b-damaged"), 3);
      const r = await run(artifact, ["migrate-backend", "--from", "file", "--to", "pass", "--pass-prefix", "unreadable"], { env: sb.env });
      expect(r.code).toBe(1);
      expect(r.stdout).toBe(
        "Migrating a-ok... copied, verified\nMigrating b-damaged... unreadable, left in file\nMigrating c-ok... copied, verified\n" +
          "Migrated 2 credential profile(s) from file to pass, removed 2 from file.\n",
      );
      expect(r.stderr).toMatch(
        /^aws-vault: error: migrate-backend: 1 credential profile\(s\) could not be read from file and were not migrated: item "b-damaged" in the file keyring is damaged: .*b-damaged: the content fails its integrity check$/m,
      );
      expect(r.stderr).toContain("aws-vault: hint: they are still in file\n");
      expect(r.stderr).not.toContain("could not undo");
      const dest = await run(artifact, ["list", "--credentials", "--backend", "pass", "--pass-prefix", "unreadable"], { env: sb.env });
      expect(dest.stdout).toBe("a-ok\nc-ok\n");
      const source = await run(artifact, ["list", "--credentials"], { env: sb.env });
      expect(source.stdout).toBe("b-damaged\n");
    });

    it("an existing aws-vault collection is read as is, and new items go there without a note", async () => {
      const legacy = `{"Key":"legacy","Data":"${Buffer.from(JSON.stringify({ AccessKeyID: KEY_ID, SecretAccessKey: SECRET })).toString("base64")}","Label":"aws-vault (legacy)","Description":"","KeychainNotTrustApplication":true,"KeychainNotSynchronizable":false}`;
      const own = await startSecretService({ collections: { awsvault: [{ label: "legacy", attributes: { profile: "legacy" }, secret: legacy }] } });
      try {
        const sb = sandbox({ ...own.env, AWS_VAULT_BACKEND: "secret-service" });
        sb.env.HOME = sb.home;
        const exp = await run(artifact, ["export", "--no-session", "legacy"], { env: sb.env });
        expect(exp.code, exp.stderr).toBe(0);
        expect(envLines(exp.stdout)).toMatchObject({ AWS_ACCESS_KEY_ID: KEY_ID, AWS_SECRET_ACCESS_KEY: SECRET });
        const add = await run(artifact, ["add", "--env", "newer"], { env: { ...sb.env, AWS_ACCESS_KEY_ID: KEY_ID, AWS_SECRET_ACCESS_KEY: SECRET } });
        expect(add).toMatchObject({ code: 0, stderr: "" });
        const k = new SecretServiceKeyring({ env: own.env, collection: "awsvault" });
        await k.get("newer");
        expect(k.describeLocation("newer")).toBe('secret-service collection "awsvault"');
        k.close();
      } finally {
        await own.stop();
      }
    });
  });

  describe.each(ARTIFACTS)("errors ($name)", (artifact: Artifact) => {
    let hung: Server;
    let hungPath: string;
    const clients = new Set<Socket>();
    beforeAll(async () => {
      hungPath = join(mkdtempSync(join(tmpdir(), "awsv-hung-")), "bus");
      // Accepts connections and never answers: a hung daemon.
      hung = createServer((s) => {
        clients.add(s);
        s.on("error", () => undefined);
      });
      await new Promise<void>((resolve) => hung.listen(hungPath, resolve));
    });
    afterAll(async () => {
      for (const s of clients) s.destroy();
      await new Promise<void>((resolve) => hung.close(() => resolve()));
    });

    it("a hung daemon becomes an error with a hint, not a hang", async () => {
      const sb = sandbox({ AWS_VAULT_BACKEND: "secret-service", DBUS_SESSION_BUS_ADDRESS: `unix:path=${hungPath}`, AWS_VAULT_KEYRING_TIMEOUT: "1s" });
      const started = Date.now();
      const r = await run(artifact, ["list", "--credentials"], { env: sb.env, timeoutMs: 15_000 });
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^aws-vault: error: list: secret-service keyring did not answer within 1s$/m);
      expect(r.stderr).toContain("aws-vault: hint: is the daemon running? try --backend=file");
      expect(r.stderr).toMatch(/aws-vault: hint: available backends on this machine: secret-service, .*file/);
    });

    it("a backend that cannot open names the available ones", async () => {
      const sb = sandbox({ AWS_VAULT_BACKEND: "secret-service", DBUS_SESSION_BUS_ADDRESS: `unix:path=${join(tmpdir(), "awsv-no-such-bus")}` });
      const r = await run(artifact, ["list"], { env: sb.env });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^aws-vault: error: list: the secret-service keyring backend cannot be used: cannot connect to the D-Bus session bus: /m);
      expect(r.stderr).toMatch(/aws-vault: hint: available backends on this machine: secret-service, .*file \(choose with --backend or AWS_VAULT_BACKEND\)/);
      const kw = await run(artifact, ["list", "--backend", "wincred"], { env: sb.env });
      expect(kw.code).toBe(1);
      expect(kw.stderr).toMatch(/^aws-vault: error: list: Specified keyring backend not available: wincred$/m);
      const bad = await run(artifact, ["list", "--backend", "nope"], { env: sb.env });
      expect(bad.code).toBe(2);
    });
  });
});
