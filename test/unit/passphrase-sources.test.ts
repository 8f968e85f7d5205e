// The file keyring passphrase sources after the environment and the agent (src/prompt/passphrase.ts):
// the passphrase command, the terminal, a password dialog without a terminal, else one line.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CancelledError, UserError } from "../../src/errors.ts";
import { askFilePassphrase, NO_WAY_TO_ASK } from "../../src/prompt/passphrase.ts";
import { FakeBinDir, type FakeRuntimeOptions, fakeRuntime, shQuote } from "../support/fake-runtime.ts";

const MSG = 'Enter passphrase to unlock "/k": ';
let bin: FakeBinDir;
beforeEach(() => {
  bin = new FakeBinDir();
});
afterEach(() => bin.cleanup());

function rt(opts: FakeRuntimeOptions = {}) {
  return fakeRuntime({ ...opts, env: { PATH: bin.PATH, ...opts.env } });
}

describe("askFilePassphrase", () => {
  it("runs AWS_VAULT_FILE_PASSPHRASE_CMD first: stdout minus one newline, spaces kept, no passphrase variables in its environment", async () => {
    const envDump = `${bin.dir}/env.out`;
    const cmd = bin.tool("get-pass", { script: `env > ${shQuote(envDump)}`, stdout: "  spaced pass \n" });
    const r = rt({ env: { AWS_VAULT_FILE_PASSPHRASE_CMD: cmd, AWS_VAULT_FILE_PASSPHRASE: "", OTHER: "kept" }, tty: ["typed"] });
    const pass = await askFilePassphrase(r, MSG, { confirm: true });
    expect(pass.reveal()).toBe("  spaced pass ");
    expect(r.tty.reads).toEqual([]); // the terminal was not asked, not even to confirm
    const { readFileSync } = await import("node:fs");
    const env = readFileSync(envDump, "utf8");
    expect(env).toContain("OTHER=kept");
    expect(env).not.toContain("AWS_VAULT_FILE_PASSPHRASE");
    expect(r.log.messages.join("\n")).toContain("running AWS_VAULT_FILE_PASSPHRASE_CMD");
    expect(r.log.messages.join("\n")).not.toContain("spaced pass");
  });

  it("a failing command is named with its exit status; its output is never shown", async () => {
    const cmd = bin.tool("bad-pass", { stdout: "LEAKED-OUTPUT", exitCode: 5 });
    const err = await askFilePassphrase(rt({ env: { AWS_VAULT_FILE_PASSPHRASE_CMD: cmd } }), MSG, { confirm: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).message).toBe(`AWS_VAULT_FILE_PASSPHRASE_CMD (\`${cmd}\`) failed: exit status 5`);
    expect(JSON.stringify({ m: (err as UserError).message, h: (err as UserError).hints })).not.toContain("LEAKED");
    const empty = bin.tool("empty-pass", { stdout: "\n" });
    await expect(askFilePassphrase(rt({ env: { AWS_VAULT_FILE_PASSPHRASE_CMD: empty } }), MSG, { confirm: false })).rejects.toThrow("printed no passphrase");
  });

  it("asks on the terminal without echo, twice for a new keyring, and refuses a mismatch", async () => {
    const r = rt({ tty: [" a b ", " a b "] });
    let asked = 0;
    expect((await askFilePassphrase(r, MSG, { confirm: true, beforeAsking: () => asked++ })).reveal()).toBe(" a b ");
    expect(r.tty.reads).toEqual([{ echo: false }, { echo: false }]);
    expect(r.tty.transcript).toContain(MSG);
    expect(asked).toBe(1);
    await expect(askFilePassphrase(rt({ tty: ["one", "two"] }), MSG, { confirm: true })).rejects.toThrow("the passphrases do not match; nothing was stored");
  });

  it("without a terminal uses the password dialog (the --prompt one when it is a dialog), with hidden input", async () => {
    bin.tool("zenity", { stdout: "from zenity\n" });
    bin.tool("kdialog", { stdout: "from kdialog\n" });
    const first = await askFilePassphrase(rt({ tty: false }), MSG, { confirm: false });
    expect(first.reveal()).toBe("from kdialog");
    expect(bin.argv("kdialog")).toEqual(["--password", MSG, "--title", "aws-vault"]);
    const chosen = await askFilePassphrase(rt({ tty: false }), MSG, { confirm: false, driver: "zenity" });
    expect(chosen.reveal()).toBe("from zenity");
    expect(bin.argv("zenity")).toEqual(["--password", "--title", "aws-vault"]);
  });

  it("a dismissed dialog is a cancellation; no terminal and no dialog is one line naming both ways out", async () => {
    bin.tool("zenity", { exitCode: 1 });
    await expect(askFilePassphrase(rt({ tty: false }), MSG, { confirm: false })).rejects.toBeInstanceOf(CancelledError);
    bin.cleanup();
    bin = new FakeBinDir();
    const err = (await askFilePassphrase(rt({ tty: false }), MSG, { confirm: false }).catch((e: unknown) => e)) as UserError;
    expect(err.message).toBe(NO_WAY_TO_ASK);
    expect(err.message).toContain("aws-vault unlock");
    expect(err.message).toContain("AWS_VAULT_FILE_PASSPHRASE_CMD");
    expect(err.message).not.toContain("\n");
  });
});
