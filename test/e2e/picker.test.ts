// The profile picker, in a pseudo-terminal: exec, export and login without a profile. Typing
// filters, arrows move, Enter picks, Ctrl-C cancels; the prompts after it (the file keyring's
// passphrase) and the child's stdin still get what is typed; without a terminal, the usage error.
import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ARTIFACTS, type Artifact, run, sandbox } from "../support/cli.ts";
import { runInPty } from "../support/pty.ts";

const KEYS = {
  dev: { id: "AKIAPICKERDEV0000001", secret: "pickerDevSecret/00000000000000000000001" },
  prod: { id: "AKIAPICKERPROD000001", secret: "pickerProdSecret/0000000000000000000001" },
};

const CONFIG = `[profile dev]
region = eu-west-1

[profile prod]
region = us-east-1

[profile staging]
`;

const DOWN = "\u001b[B";
/** Colour and bold (SGR); cursor movement is something else. */
const SGR_COLOUR = /\u001b\[(?:1|2|3\d|9\d)m/;

async function vault(artifact: Artifact) {
  const sb = sandbox({ TERM: "xterm-256color" });
  writeFileSync(sb.configPath, CONFIG);
  for (const [name, k] of Object.entries(KEYS)) {
    const r = await run(artifact, ["add", "--env", name], { env: { ...sb.env, AWS_ACCESS_KEY_ID: k.id, AWS_SECRET_ACCESS_KEY: k.secret } });
    expect(r.code, r.stderr).toBe(0);
  }
  return sb;
}

describe.each(ARTIFACTS)("profile picker ($name)", (artifact) => {
  it("export: type to filter, Enter picks; the list is drawn on the terminal, not in the output", async () => {
    const sb = await vault(artifact);
    const r = await runInPty([...artifact.argv, "export", "--no-session"], sb.env, [
      { expect: /Profile to export/, send: "pro" },
      // The cursor sits on dev until the filtered list is drawn.
      { expect: /❯ prod/, send: "\r" },
    ]);
    expect(r.code, r.output).toBe(0);
    expect(r.output).toContain(`AWS_ACCESS_KEY_ID=${KEYS.prod.id}`);
    expect(r.output).not.toContain(KEYS.dev.id);
  });

  it("export into a file: the list goes to the terminal, stdout gets only the credentials", async () => {
    const sb = await vault(artifact);
    const out = join(sb.home, "creds.env");
    const cmd = [...artifact.argv, "export", "--no-session"].map((a) => `'${a}'`).join(" ");
    const r = await runInPty(["sh", "-c", `${cmd} > '${out}'`], sb.env, [
      { expect: /Profile to export/, send: "dev" },
      { expect: /❯ dev/, send: "\r" },
    ]);
    expect(r.code, r.output).toBe(0);
    const written = readFileSync(out, "utf8");
    expect(written.split("\n").filter(Boolean).every((l) => /^AWS_[A-Z_]+=/.test(l)), written).toBe(true);
    expect(written).toContain(`AWS_ACCESS_KEY_ID=${KEYS.dev.id}`);
  });

  it("exec: arrows move; the passphrase prompt and the child's stdin still get every key", async () => {
    const sb = await vault(artifact);
    // No command can follow a left-out profile: the child is $SHELL, which reads a line.
    const shell = join(sb.home, "shell.sh");
    writeFileSync(shell, '#!/bin/sh\nprintf "ready> "\nread line\necho "child read: $line in $AWS_VAULT"\n', { mode: 0o755 });
    const env = { ...sb.env, AWS_VAULT_FILE_PASSPHRASE: undefined, SHELL: shell };
    const r = await runInPty([...artifact.argv, "exec", "--no-session"], env, [
      { expect: /Profile to exec/, send: DOWN },
      { expect: /❯ prod/, send: "\r" },
      { expect: /Enter passphrase to unlock "[^"]+" \(profile prod\): /, send: "test-passphrase\r" },
      { expect: /ready> /, send: "typed after\r" },
    ]);
    expect(r.code, r.output).toBe(0);
    expect(r.output).toContain("child read: typed after in prod");
  });

  it("Ctrl-C in the picker cancels: exit 130, nothing run", async () => {
    const sb = await vault(artifact);
    const marker = join(sb.home, "ran");
    const shell = join(sb.home, "shell.sh");
    writeFileSync(shell, `#!/bin/sh\ntouch ${marker}\n`, { mode: 0o755 });
    const r = await runInPty([...artifact.argv, "exec", "--no-session"], { ...sb.env, SHELL: shell }, [
      { expect: /Profile to exec/, send: "\u0003" },
    ]);
    expect(r.code, r.output).toBe(130);
    expect(r.output).toMatch(/aws-vault: error: exec: cancelled/);
    expect(existsSync(marker)).toBe(false);
  });

  it("colour only without NO_COLOR", async () => {
    const sb = await vault(artifact);
    const coloured = await runInPty([...artifact.argv, "export", "--no-session"], sb.env, [
      { expect: /Profile to export/, send: "dev" },
      { expect: /dev/, send: "\r" },
    ]);
    expect(coloured.code, coloured.output).toBe(0);
    expect(coloured.output).toMatch(SGR_COLOUR);
    const plain = await runInPty([...artifact.argv, "export", "--no-session"], { ...sb.env, NO_COLOR: "1" }, [
      { expect: /Profile to export/, send: "dev" },
      { expect: /dev/, send: "\r" },
    ]);
    expect(plain.code, plain.output).toBe(0);
    expect(plain.output).not.toMatch(SGR_COLOUR);
    expect(plain.output).toContain(`AWS_ACCESS_KEY_ID=${KEYS.dev.id}`);
  });

  it("login without a profile picks one too; without a terminal the usage error is unchanged", async () => {
    const sb = await vault(artifact);
    for (const cmd of ["exec", "export"]) {
      const r = await run(artifact, [cmd], { env: sb.env });
      expect(r.code).toBe(2);
      expect(r.stderr).toBe("aws-vault: error: required argument 'profile' not provided, try --help\n");
    }
    const login = await run(artifact, ["login", "--stdout"], { env: sb.env });
    expect(login.code).toBe(1);
    expect(login.stderr).toContain("argument 'profile' not provided, nor any AWS env vars found");
    const picked = await runInPty([...artifact.argv, "login", "--stdout"], { ...sb.env, AWS_ENDPOINT_URL_SIGNIN: "http://127.0.0.1:9" }, [
      { expect: /Profile to log in with/, send: "stag" },
      { expect: /❯ staging/, send: "\r" },
    ]);
    // staging has no credentials: the error names the picked profile.
    expect(picked.output).toMatch(/aws-vault: error: login: .*staging/);
    expect(picked.code).not.toBe(0);
    expect(readdirSync(sb.keysDir).sort()).toEqual(["dev", "prod"]);
  });
});
