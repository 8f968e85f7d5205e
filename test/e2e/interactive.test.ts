// What a person at a terminal sees: prompts on /dev/tty, no echo for secrets, Ctrl-C, confirmations, subshells.
import { existsSync, readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ARTIFACTS, run, sandbox } from "../support/cli.ts";
import { runInPty } from "../support/pty.ts";

const KEY_ID = "AKIAINTERACTIVE00001";
const SECRET = "interactiveSecret/000000000000000000000001";

describe.each(ARTIFACTS)("at a terminal ($name)", (artifact) => {
  it("add prompts for the keys and a new keyring's passphrase twice, echoing no secret", async () => {
    const sb = sandbox({ AWS_VAULT_FILE_PASSPHRASE: "" });
    delete (sb.env as Record<string, string | undefined>).AWS_VAULT_FILE_PASSPHRASE;
    const env = { ...sb.env, AWS_VAULT_FILE_PASSPHRASE: undefined };
    const add = await runInPty([...artifact.argv, "add", "jonsmith"], env, [
      { expect: /Enter Access Key ID: /, send: `${KEY_ID}\r` },
      { expect: /Enter Secret Access Key: /, send: `${SECRET}\r` },
      { expect: /Enter passphrase to unlock "[^"]+" \(profile jonsmith\): /, send: "correct horse\r" },
      { expect: /Enter passphrase again to confirm: /, send: "correct horse\r" },
    ]);
    expect(add.code, add.output).toBe(0);
    expect(add.answered).toBe(4);
    expect(add.output).toContain('Added credentials to profile "jonsmith" in vault');
    expect(add.output).toContain(KEY_ID); // the key id is echoed, as aws-vault does
    expect(add.output).not.toContain(SECRET);
    expect(add.output).not.toContain("correct horse");

    // An existing keyring asks once; the typed passphrase opens it.
    const exp = await runInPty([...artifact.argv, "export", "--no-session", "jonsmith"], env, [
      { expect: /Enter passphrase to unlock "[^"]+" \(profile jonsmith\): /, send: "correct horse\r" },
    ]);
    expect(exp.code, exp.output).toBe(0);
    expect(exp.output).toContain(`AWS_ACCESS_KEY_ID=${KEY_ID}`);
    expect(exp.output.match(/Enter passphrase/g)).toHaveLength(1);

    const wrong = await runInPty([...artifact.argv, "export", "--no-session", "jonsmith"], env, [
      { expect: /Enter passphrase to unlock "[^"]+" \(profile jonsmith\): /, send: "not it\r" },
    ]);
    expect(wrong.code).toBe(1);
    expect(wrong.output).toMatch(/aws-vault: error: export: .*wrong passphrase for the file keyring/);
  });

  it("a new keyring refuses mismatched passphrases and stores nothing", async () => {
    const sb = sandbox();
    const env = { ...sb.env, AWS_VAULT_FILE_PASSPHRASE: undefined, AWS_ACCESS_KEY_ID: KEY_ID, AWS_SECRET_ACCESS_KEY: SECRET };
    const r = await runInPty([...artifact.argv, "add", "--env", "p"], env, [
      { expect: /Enter passphrase to unlock/, send: "one\r" },
      { expect: /Enter passphrase again to confirm: /, send: "two\r" },
    ]);
    expect(r.code).toBe(1);
    expect(r.output).toContain("the passphrases do not match; nothing was stored");
    expect(existsSync(sb.keysDir) ? readdirSync(sb.keysDir) : []).toEqual([]);
  });

  it("Ctrl-C at a prompt exits 130 and stores nothing", async () => {
    const sb = sandbox();
    const r = await runInPty([...artifact.argv, "add", "jonsmith"], sb.env, [
      { expect: /Enter Access Key ID: /, send: KEY_ID },
      { expect: new RegExp(KEY_ID), send: "\u0003" },
    ]);
    expect(r.code).toBe(130);
    expect(r.output).toMatch(/aws-vault: error: add: cancelled/);
    expect(existsSync(sb.keysDir) ? readdirSync(sb.keysDir) : []).toEqual([]);
  });

  it("remove asks for confirmation", async () => {
    const sb = sandbox();
    await run(artifact, ["add", "--env", "gone"], { env: { ...sb.env, AWS_ACCESS_KEY_ID: KEY_ID, AWS_SECRET_ACCESS_KEY: SECRET } });
    const no = await runInPty([...artifact.argv, "remove", "gone"], sb.env, [
      { expect: /Delete credentials for profile "gone"\? \(y\|N\) /, send: "n\r" },
    ]);
    expect(no.code).toBe(0);
    expect(readdirSync(sb.keysDir)).toEqual(["gone"]);
    const yes = await runInPty([...artifact.argv, "remove", "gone"], sb.env, [
      { expect: /Delete credentials for profile "gone"\? \(y\|N\) /, send: "y\r" },
    ]);
    expect(yes.code).toBe(0);
    expect(yes.output).toContain("Deleted credentials.");
    expect(readdirSync(sb.keysDir)).toEqual([]);
  });

  it("exec without a command starts $SHELL with a hint and returns its exit code", async () => {
    const sb = sandbox();
    await run(artifact, ["add", "--env", "dev"], { env: { ...sb.env, AWS_ACCESS_KEY_ID: KEY_ID, AWS_SECRET_ACCESS_KEY: SECRET } });
    const r = await runInPty([...artifact.argv, "exec", "--no-session", "dev"], { ...sb.env, SHELL: "/bin/sh", PS1: "$ " }, [
      { expect: /Starting subshell \/bin\/sh, use `exit` to exit the subshell/, send: "" },
      { expect: /\$ /, send: 'echo "in:$AWS_VAULT"; exit 3\r' },
    ]);
    expect(r.output).toContain("in:dev");
    expect(r.code).toBe(3);
  });
});
