// Issue 2 acceptance, run against both built artifacts.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ARTIFACTS, run, sandbox, vectorKeyring } from "../support/cli.ts";

const KEY_ID = "AKIAEXAMPLEKEY000001";
const SECRET = "exampleSecretKey/000000000000000000000001";

function snapshot(dir: string): Record<string, string> {
  return Object.fromEntries(readdirSync(dir).map((f) => [f, readFileSync(join(dir, f), "utf8")]));
}

describe.each(ARTIFACTS)("keyring and config ($name)", (artifact) => {
  it("add --env then list", async () => {
    const sb = sandbox();
    const add = await run(artifact, ["add", "--env", "demo"], {
      env: { ...sb.env, AWS_ACCESS_KEY_ID: KEY_ID, AWS_SECRET_ACCESS_KEY: SECRET },
    });
    expect(add).toMatchObject({ code: 0, stdout: 'Added credentials to profile "demo" in vault\n', stderr: "" });
    expect(readFileSync(sb.configPath, "utf8")).toContain("[profile demo]\n");
    const list = await run(artifact, ["list"], { env: sb.env });
    expect(list.code).toBe(0);
    expect(list.stdout).toBe(
      [
        "Profile                  Credentials              Sessions                 ",
        "=======                  ===========              ========                 ",
        "demo                     demo                     -                        ",
        "",
      ].join("\n"),
    );
    expect((await run(artifact, ["ls", "--credentials"], { env: sb.env })).stdout).toBe("demo\n");
    expect((await run(artifact, ["list", "--profiles"], { env: sb.env })).stdout).toBe("demo\n");
    // Secrets never reach the config file or the output.
    expect(readFileSync(sb.configPath, "utf8")).not.toContain(SECRET);
    expect(add.stdout + list.stdout).not.toContain(SECRET);
  });

  it("reads every item of the aws-vault v7.2.0 keyring and exports the vector values", async () => {
    const dir = vectorKeyring();
    const sb = sandbox({ AWS_VAULT_FILE_DIR: dir, AWS_VAULT_FILE_PASSPHRASE: "correct horse battery staple" });
    const list = await run(artifact, ["list", "--credentials"], { env: sb.env });
    expect(list.stdout.split("\n").filter(Boolean).sort()).toEqual(
      ["100%-sure", "default", "demo", "prod/admin", "with space", "ünïcode"].sort(),
    );
    const exp = await run(artifact, ["export", "--no-session", "--format", "ini", "prod/admin"], { env: sb.env });
    expect(exp.stderr).toBe("");
    expect(exp.stdout).toBe(
      "[prod/admin]\naws_access_key_id=AKIAVECTOR0000000002\naws_secret_access_key=vectorSecret/2+abcdefghijklmnopqrstuvwxyz0123\nregion=us-east-1\n",
    );
  });

  it("a wrong passphrase exits 1 saying so, for reads and for add, and changes no file", async () => {
    const dir = vectorKeyring();
    const before = snapshot(dir);
    const sb = sandbox({ AWS_VAULT_FILE_DIR: dir, AWS_VAULT_FILE_PASSPHRASE: "wrong" });
    const read = await run(artifact, ["export", "--no-session", "demo"], { env: sb.env });
    expect(read.code).toBe(1);
    expect(read.stderr).toMatch(/^aws-vault: error: export: .*wrong passphrase for the file keyring at /m);
    expect(read.stderr).not.toMatch(/integrity check|KeyUnwrap|at .*\.ts:\d+/);
    const add = await run(artifact, ["add", "--env", "newone"], {
      env: { ...sb.env, AWS_ACCESS_KEY_ID: KEY_ID, AWS_SECRET_ACCESS_KEY: SECRET },
    });
    expect(add.code).toBe(1);
    expect(add.stderr).toMatch(/wrong passphrase for the file keyring/);
    expect(snapshot(dir)).toEqual(before);
  });

  it("an empty AWS_VAULT_FILE_PASSPHRASE counts as set", async () => {
    const sb = sandbox({ AWS_VAULT_FILE_PASSPHRASE: "" });
    const add = await run(artifact, ["add", "--env", "p"], {
      env: { ...sb.env, AWS_ACCESS_KEY_ID: KEY_ID, AWS_SECRET_ACCESS_KEY: SECRET },
    });
    expect(add.code).toBe(0);
    const exp = await run(artifact, ["export", "--no-session", "p"], { env: sb.env });
    expect(exp.stdout).toContain(`AWS_ACCESS_KEY_ID=${KEY_ID}\n`);
  });

  it("a corrupt or foreign file is reported by name and the other items stay usable", async () => {
    const dir = vectorKeyring();
    writeFileSync(join(dir, "stray"), "not a keyring item\n", { mode: 0o600 });
    const sb = sandbox({ AWS_VAULT_FILE_DIR: dir, AWS_VAULT_FILE_PASSPHRASE: "correct horse battery staple" });
    const bad = await run(artifact, ["export", "--no-session", "stray"], { env: sb.env });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(join(dir, "stray"));
    const good = await run(artifact, ["export", "--no-session", "demo"], { env: sb.env });
    expect(good.code).toBe(0);
    expect(good.stdout).toContain("AWS_ACCESS_KEY_ID=AKIAVECTOR0000000001\n");
  });

  it("50 concurrent adds of distinct profiles leave 50 valid files and no temporary file", async () => {
    const sb = sandbox();
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        run(artifact, ["add", "--env", `p${i}`], {
          env: { ...sb.env, AWS_ACCESS_KEY_ID: `AKIACONCURRENT${String(i).padStart(6, "0")}`, AWS_SECRET_ACCESS_KEY: `${SECRET}${i}` },
          timeoutMs: 60_000,
        }),
      ),
    );
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(sb.keysDir).sort()).toEqual(Array.from({ length: 50 }, (_, i) => `p${i}`).sort());
    const config = readFileSync(sb.configPath, "utf8");
    for (let i = 0; i < 50; i++) expect(config.split(`[profile p${i}]\n`)).toHaveLength(2);
    for (const i of [0, 17, 49]) {
      const exp = await run(artifact, ["export", "--no-session", `p${i}`], { env: sb.env });
      expect(exp.stdout).toContain(`AWS_ACCESS_KEY_ID=AKIACONCURRENT${String(i).padStart(6, "0")}\n`);
    }
  });

  it("20 concurrent adds of one profile leave one valid file", async () => {
    const sb = sandbox();
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        run(artifact, ["add", "--env", "same"], {
          env: { ...sb.env, AWS_ACCESS_KEY_ID: `AKIASAME${String(i).padStart(12, "0")}`, AWS_SECRET_ACCESS_KEY: SECRET },
          timeoutMs: 60_000,
        }),
      ),
    );
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(sb.keysDir)).toEqual(["same"]);
    expect(readFileSync(sb.configPath, "utf8").split("[profile same]")).toHaveLength(2);
    const exp = await run(artifact, ["export", "--no-session", "same"], { env: sb.env });
    expect(exp.stdout).toMatch(/^AWS_ACCESS_KEY_ID=AKIASAME\d{12}\n/);
  });

  it("remove deletes after -f, refuses without a terminal, and reports a missing profile", async () => {
    const sb = sandbox();
    await run(artifact, ["add", "--env", "gone"], { env: { ...sb.env, AWS_ACCESS_KEY_ID: KEY_ID, AWS_SECRET_ACCESS_KEY: SECRET } });
    const noTty = await run(artifact, ["remove", "gone"], { env: sb.env });
    expect(noTty.code).toBe(1);
    expect(noTty.stderr).toMatch(/^aws-vault: error: remove: open \/dev\/tty/m);
    expect(readdirSync(sb.keysDir)).toEqual(["gone"]);
    const rm = await run(artifact, ["rm", "-f", "gone"], { env: sb.env });
    expect(rm).toMatchObject({ code: 0, stdout: "Deleted credentials.\n" });
    expect(readdirSync(sb.keysDir)).toEqual([]);
    const again = await run(artifact, ["remove", "-f", "gone"], { env: sb.env });
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('no credentials stored for profile "gone"');
  });

  it("add refuses a profile with a source_profile, and --no-add-config leaves the config alone", async () => {
    const sb = sandbox();
    writeFileSync(sb.configPath, "# my config\n[profile role]\nsource_profile = base\n");
    const env = { ...sb.env, AWS_ACCESS_KEY_ID: KEY_ID, AWS_SECRET_ACCESS_KEY: SECRET };
    const refused = await run(artifact, ["add", "--env", "role"], { env });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("Your profile has a source_profile of base, adding credentials to role won't have any effect");
    expect((await run(artifact, ["add", "--env", "--no-add-config", "solo"], { env })).code).toBe(0);
    expect(readFileSync(sb.configPath, "utf8")).toBe("# my config\n[profile role]\nsource_profile = base\n");
    expect((await run(artifact, ["add", "--env", "other"], { env })).code).toBe(0);
    expect(readFileSync(sb.configPath, "utf8")).toBe("# my config\n[profile role]\nsource_profile = base\n\n[profile other]\n");
  });

  it("reports usage errors, a malformed config and --version like aws-vault", async () => {
    const sb = sandbox();
    const version = await run(artifact, ["--version"], { env: sb.env });
    expect(version.code).toBe(0);
    expect(version.stderr).toMatch(/^v\d+\.\d+\.\d+/);
    const noArg = await run(artifact, ["add"], { env: sb.env });
    expect(noArg.code).toBe(2);
    expect(noArg.stderr).toBe("aws-vault: error: required argument 'profile' not provided, try --help\n");
    const fmt = await run(artifact, ["export", "--format", "yaml", "x"], { env: sb.env });
    expect(fmt.stderr).toBe("aws-vault: error: enum value must be one of env,export-env,json,ini, got 'yaml', try --help\n");
    writeFileSync(sb.configPath, "[profile ok]\nregion = us-east-1\nthis line is garbage\n");
    const bad = await run(artifact, ["list"], { env: sb.env });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(sb.configPath);
    expect(bad.stderr).toMatch(/line 3/);
    for (const cmd of ["add", "list", "remove", "exec", "export", "clear"]) {
      const help = await run(artifact, [cmd, "--help"], { env: sb.env });
      expect(help.code).toBe(0);
      expect(help.stdout).toContain(`Usage: aws-vault ${cmd}`);
    }
  });
});

describe.each(ARTIFACTS)("global flag validation ($name)", (artifact) => {
  it("refuses --prompt=pass and unknown drivers before doing anything", async () => {
    const sb = sandbox();
    const pass = await run(artifact, ["--prompt", "pass", "list"], { env: sb.env });
    expect(pass.code).toBe(1);
    expect(pass.stderr).toMatch(/^aws-vault: error: --prompt=pass \(or AWS_VAULT_PROMPT=pass\) has been removed/);
    expect(pass.stdout).toBe("");
    const unknown = await run(artifact, ["list"], { env: { ...sb.env, AWS_VAULT_PROMPT: "nope" } });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/--prompt value must be one of .*terminal.*, got 'nope', try --help/);
  });

  it("tells exec users to put the command after --", async () => {
    const sb = sandbox();
    const r = await run(artifact, ["exec", "p", "ls", "-la"], { env: sb.env });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      "aws-vault: error: unknown option '-la', try --help\naws-vault: hint: put the command after --, e.g. aws-vault exec PROFILE -- COMMAND ARGS...\n",
    );
  });
});
