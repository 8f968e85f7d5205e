// Issue 2 acceptance, run against both built artifacts.
import { existsSync, readdirSync, readFileSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ARTIFACTS, run, sandbox, vectorKeyring } from "../support/cli.ts";
import { damageItem } from "../support/damage.ts";

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

  it("a damaged item is named with a recovery hint, told apart from a wrong passphrase, and blocks no other item", async () => {
    const dir = vectorKeyring();
    // "100%-sure" sorts first, so every write checks the passphrase against it first.
    damageItem(join(dir, "100%25-sure"), 3);
    damageItem(join(dir, "default"), 1);
    const sb = sandbox({ AWS_VAULT_FILE_DIR: dir, AWS_VAULT_FILE_PASSPHRASE: "correct horse battery staple" });
    for (const [profile, why] of [
      ["100%-sure", `${join(dir, "100%25-sure")}: the content fails its integrity check`],
      ["default", `${join(dir, "default")}: its content key does not unwrap with the passphrase that opens the other items`],
    ]) {
      const bad = await run(artifact, ["export", "--no-session", profile!], { env: sb.env });
      expect(bad.code, bad.stderr).toBe(1);
      expect(bad.stderr).toBe(
        `aws-vault: error: export: Failed to get credentials for ${profile}: item "${profile}" in the file keyring is damaged: ${why}\n` +
          `aws-vault: hint: the other items are not affected; remove this one with \`aws-vault remove ${profile}\`, then store it again with \`aws-vault add ${profile}\`\n`,
      );
    }
    const add = await run(artifact, ["add", "--env", "newone"], {
      env: { ...sb.env, AWS_ACCESS_KEY_ID: KEY_ID, AWS_SECRET_ACCESS_KEY: SECRET },
    });
    expect(add.code, add.stderr).toBe(0);
    for (const [profile, id] of [["demo", "AKIAVECTOR0000000001"], ["newone", KEY_ID]]) {
      const good = await run(artifact, ["export", "--no-session", profile!], { env: sb.env });
      expect(good.code, good.stderr).toBe(0);
      expect(good.stdout).toContain(`AWS_ACCESS_KEY_ID=${id}\n`);
    }
    // The same damaged items under a wrong passphrase: it is the passphrase that is reported.
    const wrong = await run(artifact, ["export", "--no-session", "default"], { env: { ...sb.env, AWS_VAULT_FILE_PASSPHRASE: "nope" } });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/^aws-vault: error: export: Failed to get credentials for default: wrong passphrase for the file keyring at /);
    expect(wrong.stderr).not.toContain("damaged");
  });

  it("lists only items: stray files, our lock and temp files are left out; our stale temp files are cleaned up", async () => {
    const dir = vectorKeyring();
    writeFileSync(join(dir, "notes.txt"), "my notes\n", { mode: 0o600 });
    writeFileSync(join(dir, ".DS_Store"), Buffer.from([0, 0, 0, 1, 0x42, 0x75, 0x64, 0x31]), { mode: 0o600 });
    const staleTemp = join(dir, ".aws-vault-tmp-00000000000000aa");
    const freshTemp = join(dir, ".aws-vault-tmp-00000000000000bb");
    writeFileSync(staleTemp, "half-written", { mode: 0o600 });
    writeFileSync(freshTemp, "being written", { mode: 0o600 });
    const tenMinutesAgo = new Date(Date.now() - 10 * 60 * 1000);
    utimesSync(staleTemp, tenMinutesAgo, tenMinutesAgo);
    const sb = sandbox({ AWS_VAULT_FILE_DIR: dir, AWS_VAULT_FILE_PASSPHRASE: "correct horse battery staple" });
    const vectors = ["100%-sure", "default", "demo", "prod/admin", "with space", "ünïcode"];
    const list = await run(artifact, ["list", "--credentials"], { env: sb.env });
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout.split("\n").filter(Boolean).sort()).toEqual(vectors.sort());
    const add = await run(artifact, ["add", "--env", "--no-add-config", ".aws-vault-mine"], {
      env: { ...sb.env, AWS_ACCESS_KEY_ID: KEY_ID, AWS_SECRET_ACCESS_KEY: SECRET },
    });
    expect(add.code, add.stderr).toBe(0);
    expect(existsSync(staleTemp)).toBe(false);
    expect(existsSync(freshTemp)).toBe(true);
    expect(existsSync(join(dir, "notes.txt"))).toBe(true);
    const after = await run(artifact, ["list", "--credentials"], { env: sb.env });
    expect(after.stdout.split("\n").filter(Boolean).sort()).toEqual([...vectors, ".aws-vault-mine"].sort());
    const exp = await run(artifact, ["export", "--no-session", ".aws-vault-mine"], { env: sb.env });
    expect(exp.stdout).toContain(`AWS_ACCESS_KEY_ID=${KEY_ID}\n`);
  });

  it("refuses names that collide with the keyring's own files or leave its folder, on every add path", async () => {
    const sb = sandbox();
    const env = { ...sb.env, AWS_ACCESS_KEY_ID: KEY_ID, AWS_SECRET_ACCESS_KEY: SECRET };
    expect((await run(artifact, ["add", "--env", "first"], { env })).code).toBe(0);
    const awsvault = join(sb.home, ".awsvault");
    const before = { keys: snapshot(sb.keysDir), parent: readdirSync(awsvault).sort(), config: readFileSync(sb.configPath, "utf8") };
    for (const [name, reason] of [
      [".", "the name is a folder"],
      ["..", "the name is a folder"],
      [".aws-vault-lock", "names starting with .aws-vault-lock or .aws-vault-tmp- are reserved for the keyring's own files"],
      [".aws-vault-lock.break", "names starting with .aws-vault-lock or .aws-vault-tmp- are reserved for the keyring's own files"],
      [".aws-vault-tmp-0011223344556677", "names starting with .aws-vault-lock or .aws-vault-tmp- are reserved for the keyring's own files"],
      ["x".repeat(256), "the file name would be longer than 255 bytes"],
    ]) {
      for (const flags of [["--env"], ["--env", "--no-add-config"]]) {
        const r = await run(artifact, ["add", ...flags, name!], { env });
        expect(r.code, `${name} ${flags.join(" ")}: ${r.stderr}`).toBe(1);
        expect(r.stderr).toBe(
          `aws-vault: error: add: cannot store "${name}" in the file keyring at ${sb.keysDir}: ${reason}\naws-vault: hint: choose another profile name\n`,
        );
      }
    }
    for (const name of ["", "evil\n[profile injected]", "tab\there"]) {
      for (const flags of [["--env"], ["--env", "--no-add-config"]]) {
        const r = await run(artifact, ["add", ...flags, name], { env });
        expect(r.code, `${JSON.stringify(name)} ${flags.join(" ")}: ${r.stderr}`).toBe(2);
        expect(r.stderr).toMatch(/^aws-vault: error: invalid profile name "/);
      }
    }
    expect({ keys: snapshot(sb.keysDir), parent: readdirSync(awsvault).sort(), config: readFileSync(sb.configPath, "utf8") }).toEqual(before);
    const list = await run(artifact, ["list", "--credentials"], { env });
    expect(list.stdout).toBe("first\n");
  });

  it("lists a session key with an absurd expiry; names that only look like session keys are credentials", async () => {
    const sb = sandbox();
    const env = { ...sb.env, AWS_ACCESS_KEY_ID: KEY_ID, AWS_SECRET_ACCESS_KEY: SECRET };
    const names = [
      // past what a JS Date holds, within Go's int64: a session key, far in the future
      "sts.AssumeRole,ZGVtbw,,9999999999999",
      // not session keys in aws-vault: "b" is not base64url, "!" neither, the expiry overflows int64
      "a,b,,1",
      "sts.GetSessionToken,ZGVtbw!,,1",
      "sts.GetSessionToken,ZGVtbw,,99999999999999999999",
    ];
    for (const name of names) {
      const add = await run(artifact, ["add", "--env", "--no-add-config", name], { env });
      expect(add.code, add.stderr).toBe(0);
    }
    writeFileSync(sb.configPath, "[profile demo]\n");
    const list = await run(artifact, ["list"], { env: sb.env });
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toBe(
      [
        "Profile                  Credentials                                       Sessions                       ",
        "=======                  ===========                                       ========                       ",
        "demo                     -                                                 sts.AssumeRole:2562047h47m16s  ",
        "-                        a,b,,1                                            -                              ",
        "-                        sts.GetSessionToken,ZGVtbw!,,1                    -                              ",
        "-                        sts.GetSessionToken,ZGVtbw,,99999999999999999999  -                              ",
        "",
      ].join("\n"),
    );
    const creds = await run(artifact, ["list", "--credentials"], { env: sb.env });
    expect(creds.stdout).toBe(`${names.slice(1).join("\n")}\n`);
    const sessions = await run(artifact, ["list", "--sessions"], { env: sb.env });
    expect(sessions.stdout).toBe("sts.AssumeRole:2562047h47m16s\n");
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
