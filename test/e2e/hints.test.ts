// Issue 9 item 12: without a terminal, every prompt's hint says what to do instead, once.
// `run` starts aws-vault in a new session: it has no controlling terminal.
import { appendFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ARTIFACTS, type Artifact, run, sandbox } from "../support/cli.ts";

const KEYS = { AWS_ACCESS_KEY_ID: "AKIAIOSFODNN7EXAMPLE", AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" };
const NO_TTY = "open /dev/tty: no such device or address";

async function withAlice(artifact: Artifact) {
  const sb = sandbox({ AWS_ENDPOINT_URL: "http://127.0.0.1:1" });
  const add = await run(artifact, ["add", "--env", "alice"], { env: { ...sb.env, ...KEYS } });
  expect(add.code, add.stderr).toBe(0);
  return sb;
}

describe.each(ARTIFACTS)("hints without a terminal ($name)", (artifact) => {
  it("the file passphrase points at `aws-vault unlock` and AWS_VAULT_FILE_PASSPHRASE_CMD, in one line (issue 10)", async () => {
    const sb = await withAlice(artifact);
    const r = await run(artifact, ["export", "alice"], { env: { ...sb.env, AWS_VAULT_FILE_PASSPHRASE: undefined } });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      "aws-vault: error: export: Failed to get credentials for alice: the file keyring is locked and there is no terminal to ask " +
        "for its passphrase: run `aws-vault unlock` in a terminal, or set AWS_VAULT_FILE_PASSPHRASE_CMD to a command that prints it\n",
    );
  });

  it("add points at --env", async () => {
    const sb = sandbox();
    const r = await run(artifact, ["add", "bob"], { env: sb.env });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `aws-vault: error: add: ${NO_TTY}\naws-vault: hint: without a terminal, use --env with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY set\n`,
    );
  });

  it("remove points at -f", async () => {
    const sb = await withAlice(artifact);
    const r = await run(artifact, ["remove", "alice"], { env: sb.env });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`aws-vault: error: remove: ${NO_TTY}\naws-vault: hint: without a terminal, confirm with -f (--force)\n`);
  });

  it("the MFA prompt gives one hint", async () => {
    const sb = await withAlice(artifact);
    appendFileSync(sb.configPath, "\n[profile m]\nsource_profile = alice\nmfa_serial = arn:aws:iam::123456789012:mfa/alice\n");
    const r = await run(artifact, ["export", "m"], { env: sb.env });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `aws-vault: error: export: Failed to get credentials for m: cannot ask for the MFA code: ${NO_TTY}\n` +
        "aws-vault: hint: without a terminal, pass the code with --mfa-token or set mfa_process in the profile\n",
    );
  });

  it("rotate of a profile without stored credentials reads as English", async () => {
    const sb = await withAlice(artifact);
    appendFileSync(sb.configPath, "\n[profile r1]\nsource_profile = r2\nrole_arn = arn:aws:iam::123456789012:role/r\n[profile r2]\n");
    const one = await run(artifact, ["rotate", "nosuch"], { env: sb.env });
    expect(one.stderr).toContain(
      "aws-vault: hint: 'nosuch' has no stored credentials: store them with `aws-vault add nosuch`; `aws-vault list` shows what is stored\n",
    );
    const two = await run(artifact, ["rotate", "r1"], { env: sb.env });
    expect(two.stderr).toContain("aws-vault: hint: neither 'r1' nor 'r2' has stored credentials: store them with `aws-vault add r2`;");
  });
});
