import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { CancelledError, UsageError, UserError } from "../../src/errors.ts";
import { osascriptScript } from "../../src/prompt/osascript.ts";
import { goQuote } from "../../src/util/go-format.ts";
import {
  PASS_PROMPT_REMOVED_MESSAGE,
  choosePromptDriver,
  getPrompt,
  mfaPromptText,
  promptDrivers,
} from "../../src/prompt/prompt.ts";
import { confirm, promptLine, promptSecretLine } from "../../src/prompt/terminal.ts";
import { FakeBinDir, type FakeRuntimeOptions, fakeRuntime } from "../support/fake-runtime.ts";
import { bundleForNode } from "../support/bundle.ts";

const SERIAL = "arn:aws:iam::123456789012:mfa/jon";
const PROMPT_TEXT = "Enter MFA code for arn:aws:iam::123456789012:mfa/jon: ";

let bin: FakeBinDir;
beforeEach(() => {
  bin = new FakeBinDir();
});
afterEach(() => bin.cleanup());

function rtWith(opts: FakeRuntimeOptions = {}) {
  return fakeRuntime({ ...opts, env: { PATH: bin.PATH, ...opts.env } });
}

describe("promptDrivers", () => {
  it("lists only terminal when no prompt program is installed", () => {
    expect(promptDrivers(rtWith())).toEqual(["terminal"]);
  });

  it("lists installed programs sorted like aws-vault", () => {
    for (const name of ["zenity", "ykman", "osascript", "kdialog"]) bin.tool(name);
    expect(promptDrivers(rtWith())).toEqual(["kdialog", "osascript", "terminal", "ykman", "zenity"]);
  });

  it("lists wincredui only on win32", () => {
    bin.tool("ykman");
    expect(promptDrivers(rtWith({ platform: "win32" }))).toEqual(["terminal", "wincredui", "ykman"]);
    expect(promptDrivers(rtWith({ platform: "darwin" }))).toEqual(["terminal", "ykman"]);
  });

  it("looks programs up on the runtime's PATH, not the test process's", () => {
    bin.tool("zenity");
    expect(promptDrivers(fakeRuntime({ env: { PATH: "/nonexistent" } }))).toEqual(["terminal"]);
  });
});

describe("getPrompt", () => {
  it("rejects pass with aws-vault's removal message", () => {
    const err = catchSync(() => getPrompt(rtWith(), "pass"));
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).exitCode).toBe(1);
    expect((err as UsageError).message).toBe(
      "--prompt=pass (or AWS_VAULT_PROMPT=pass) has been removed from aws-vault as using TOTPs without a dedicated " +
        "device goes against security best practices. If you wish to continue using pass, add `mfa_process = pass " +
        "otp <your mfa_serial>` to profiles in your ~/.aws/config file.",
    );
    expect((err as UsageError).message).toBe(PASS_PROMPT_REMOVED_MESSAGE);
  });

  it("rejects unknown and uninstalled names, listing the available ones", () => {
    bin.tool("ykman");
    bin.tool("kdialog");
    const rt = rtWith();
    expect(() => getPrompt(rt, "bogus")).toThrow(
      new UsageError("--prompt value must be one of kdialog,terminal,ykman, got 'bogus'"),
    );
    expect(() => getPrompt(rt, "zenity")).toThrow("--prompt value must be one of kdialog,terminal,ykman, got 'zenity'");
    expect(() => getPrompt(rt, "constructor")).toThrow(UsageError);
    expect(() => getPrompt(rt, "wincredui")).toThrow(UsageError);
  });

  it("wincredui fails clearly on win32", async () => {
    const prompt = getPrompt(rtWith({ platform: "win32" }), "wincredui");
    await expect(prompt(SERIAL)).rejects.toThrow(
      new UserError("wincredui is not supported by this build; use --prompt=terminal"),
    );
  });
});

describe("choosePromptDriver", () => {
  it("uses terminal when stdout is a TTY", () => {
    bin.tool("ykman");
    const rt = rtWith({ stdoutIsTTY: true });
    expect(choosePromptDriver(rt, { avoidTerminal: false })).toBe("terminal");
    expect(rt.log.messages).toContain("Using prompt driver: terminal");
  });

  it("picks the first non-terminal driver in sorted order when stdout is not a TTY", () => {
    bin.tool("zenity");
    bin.tool("ykman");
    const rt = rtWith({ stdoutIsTTY: false });
    expect(choosePromptDriver(rt, { avoidTerminal: false })).toBe("ykman");
    expect(rt.log.messages).toContain("Using prompt driver: ykman");
    bin.tool("kdialog");
    expect(choosePromptDriver(rt, { avoidTerminal: false })).toBe("kdialog");
  });

  it("avoids terminal for the credential servers even on a TTY", () => {
    bin.tool("zenity");
    expect(choosePromptDriver(rtWith({ stdoutIsTTY: true }), { avoidTerminal: true })).toBe("zenity");
  });

  it("falls back to terminal when nothing else is installed", () => {
    expect(choosePromptDriver(rtWith({ stdoutIsTTY: false }), { avoidTerminal: true })).toBe("terminal");
    // wincredui is listed on win32 but never auto-selected: it only fails in this build.
    expect(choosePromptDriver(rtWith({ platform: "win32" }), { avoidTerminal: true })).toBe("terminal");
  });

  it("an explicit choice wins, and is validated", () => {
    bin.tool("ykman");
    const rt = rtWith({ stdoutIsTTY: false });
    expect(choosePromptDriver(rt, { explicit: "terminal", avoidTerminal: true })).toBe("terminal");
    expect(rt.log.messages).toEqual(["Using prompt driver: terminal"]);
    expect(() => choosePromptDriver(rt, { explicit: "pass", avoidTerminal: false })).toThrow(PASS_PROMPT_REMOVED_MESSAGE);
    expect(() => choosePromptDriver(rt, { explicit: "zenity", avoidTerminal: false })).toThrow(
      "--prompt value must be one of terminal,ykman, got 'zenity'",
    );
  });
});

describe("terminal driver", () => {
  it("writes the prompt to the tty, reads with echo, trims, and closes the tty", async () => {
    const rt = rtWith({ tty: ["  123456 \t"] });
    const code = await getPrompt(rt, "terminal")(SERIAL);
    expect(code.reveal()).toBe("123456");
    expect(String(code)).toBe("[redacted]");
    expect(rt.tty.transcript.startsWith(PROMPT_TEXT)).toBe(true);
    expect(rt.tty.reads).toEqual([{ echo: true }]);
    expect(rt.tty.opened).toBe(1);
    expect(rt.tty.closed).toBe(1);
    expect(rt.stdout.text).toBe("");
    expect(rt.stderr.text).toBe("");
  });

  it("rejects an empty code", async () => {
    const rt = rtWith({ tty: ["   "] });
    await expect(getPrompt(rt, "terminal")(SERIAL)).rejects.toThrow(new UserError("no MFA code entered"));
    expect(rt.tty.closed).toBe(1);
  });

  it("Ctrl-C cancels and still closes the tty", async () => {
    const rt = rtWith({ tty: [new CancelledError()] });
    await expect(getPrompt(rt, "terminal")(SERIAL)).rejects.toBeInstanceOf(CancelledError);
    expect(rt.tty.closed).toBe(1);
  });

  it("fails with a UserError when there is no terminal", async () => {
    const rt = rtWith({ tty: false });
    await expect(getPrompt(rt, "terminal")(SERIAL)).rejects.toBeInstanceOf(UserError);
  });

  it("uses aws-vault's prompt text", () => {
    expect(mfaPromptText(SERIAL)).toBe(PROMPT_TEXT);
  });
});

describe("terminal helpers", () => {
  it("promptLine echoes and trims", async () => {
    const rt = rtWith({ tty: [" AKIAEXAMPLE "] });
    expect(await promptLine(rt, "Enter Access Key ID: ")).toBe("AKIAEXAMPLE");
    expect(rt.tty.reads).toEqual([{ echo: true }]);
    expect(rt.tty.transcript).toBe("Enter Access Key ID:  AKIAEXAMPLE \n");
  });

  it("promptSecretLine does not echo and returns a Secret", async () => {
    const rt = rtWith({ tty: [" s3cret ", " pass phrase "] });
    const s = await promptSecretLine(rt, "Enter Secret Access Key: ");
    expect(s.reveal()).toBe("s3cret");
    expect(rt.tty.reads).toEqual([{ echo: false }]);
    expect(rt.tty.transcript).toBe("Enter Secret Access Key: \n");
    const raw = await promptSecretLine(rt, "Passphrase: ", { trim: false });
    expect(raw.reveal()).toBe(" pass phrase ");
    expect(rt.tty.closed).toBe(2);
  });

  it("confirm accepts y and yes in any case, nothing else", async () => {
    const answers = ["y", "YES", " Yes ", "n", "", "yep", "no"];
    const rt = rtWith({ tty: answers });
    const results: boolean[] = [];
    for (let i = 0; i < answers.length; i++) results.push(await confirm(rt, 'Delete credentials for profile "p"? (y|N) '));
    expect(results).toEqual([true, true, true, false, false, false, false]);
  });
});

describe("ykman driver (real executable)", () => {
  it("runs `ykman oath accounts code --single <serial>` and trims stdout", async () => {
    bin.tool("ykman", { stdout: "  987654\n" });
    const rt = rtWith();
    const code = await getPrompt(rt, "ykman")(SERIAL);
    expect(code.reveal()).toBe("987654");
    expect(bin.argv("ykman")).toEqual(["oath", "accounts", "code", "--single", SERIAL]);
    expect(rt.log.messages).toContain(`Fetching MFA code using \`ykman oath accounts code --single ${SERIAL}\``);
    expect(rt.spawnCalls.at(-1)?.opts.stdio).toBe("tty");
  });

  it("honours YKMAN_OATH_DEVICE_SERIAL and YKMAN_OATH_CREDENTIAL_NAME", async () => {
    bin.tool("ykman", { stdout: "111111\n" });
    const rt = rtWith({ env: { YKMAN_OATH_DEVICE_SERIAL: "12345678", YKMAN_OATH_CREDENTIAL_NAME: "AWS:jon" } });
    await getPrompt(rt, "ykman")(SERIAL);
    expect(bin.argv("ykman")).toEqual(["--device", "12345678", "oath", "accounts", "code", "--single", "AWS:jon"]);
  });

  it.each(["1", "2", "3"])("uses `oath code` for AWS_VAULT_YKMAN_VERSION=%s", async (version) => {
    bin.tool("ykman", { stdout: "111111\n" });
    await getPrompt(rtWith({ env: { AWS_VAULT_YKMAN_VERSION: version } }), "ykman")(SERIAL);
    expect(bin.argv("ykman")).toEqual(["oath", "code", "--single", SERIAL]);
  });

  it("uses `oath accounts code` for version 4 and above", async () => {
    bin.tool("ykman", { stdout: "111111\n" });
    await getPrompt(rtWith({ env: { AWS_VAULT_YKMAN_VERSION: "5" } }), "ykman")(SERIAL);
    expect(bin.argv("ykman")).toEqual(["oath", "accounts", "code", "--single", SERIAL]);
  });

  it("reports a non-zero exit without echoing output", async () => {
    bin.tool("ykman", { stdout: "424242", exitCode: 1 });
    const err = await getPrompt(rtWith(), "ykman")(SERIAL).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toBe("ykman: exit status 1");
  });
});

describe("zenity, kdialog and osascript drivers (real executables)", () => {
  it("zenity: exact argv and trimmed stdout", async () => {
    bin.tool("zenity", { stdout: "222333\n" });
    const code = await getPrompt(rtWith(), "zenity")(SERIAL);
    expect(code.reveal()).toBe("222333");
    expect(bin.argv("zenity")).toEqual(["--entry", "--title", "aws-vault", "--text", PROMPT_TEXT]);
  });

  it("zenity: cancel is a CancelledError, other failures a UserError", async () => {
    bin.tool("zenity", { exitCode: 1 });
    await expect(getPrompt(rtWith(), "zenity")(SERIAL)).rejects.toBeInstanceOf(CancelledError);
    bin.tool("zenity", { exitCode: 5 });
    await expect(getPrompt(rtWith(), "zenity")(SERIAL)).rejects.toThrow(new UserError("zenity: exit status 5"));
  });

  it("kdialog: exact argv, trimmed stdout, cancel", async () => {
    bin.tool("kdialog", { stdout: " 333444 \n" });
    const code = await getPrompt(rtWith(), "kdialog")(SERIAL);
    expect(code.reveal()).toBe("333444");
    expect(bin.argv("kdialog")).toEqual(["--inputbox", PROMPT_TEXT, "--title", "aws-vault"]);
    bin.tool("kdialog", { exitCode: 1 });
    await expect(getPrompt(rtWith(), "kdialog")(SERIAL)).rejects.toBeInstanceOf(CancelledError);
  });

  it("osascript: exact script, trimmed stdout, cancel", async () => {
    bin.tool("osascript", { stdout: "444555\n" });
    const code = await getPrompt(rtWith(), "osascript")(SERIAL);
    expect(code.reveal()).toBe("444555");
    expect(bin.argv("osascript")).toEqual([
      "-e",
      '\n\t\tdisplay dialog "Enter MFA code for arn:aws:iam::123456789012:mfa/jon: " default answer "" buttons {"OK", "Cancel"} default button 1\n        text returned of the result\n        return result',
    ]);
    bin.tool("osascript", { stderr: "execution error: User canceled. (-128)\n", exitCode: 1 });
    await expect(getPrompt(rtWith(), "osascript")(SERIAL)).rejects.toBeInstanceOf(CancelledError);
    bin.tool("osascript", { stderr: "syntax error\n", exitCode: 1 });
    await expect(getPrompt(rtWith(), "osascript")(SERIAL)).rejects.toThrow(new UserError("osascript: exit status 1"));
  });

  it("quotes the AppleScript string like Go's %q", () => {
    expect(goQuote('a "b" \\ c\n\t\u0001é')).toBe('"a \\"b\\" \\\\ c\\n\\t\\x01é"');
    expect(osascriptScript('x"y')).toContain('display dialog "x\\"y" default answer');
  });
});

// The production terminal prompt inside a real pseudo-terminal (python3's pty module).
describe("terminal prompt in a real pty", () => {
  let workDir: string;
  let bundle: string;

  const PTY_DRIVER = String.raw`
import os, pty, select, sys, time
expect = os.environ["PTY_EXPECT"].encode()
send = os.environ["PTY_SEND"].encode()
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
out = b""
sent = False
deadline = time.time() + 30
while time.time() < deadline:
    r, _, _ = select.select([fd], [], [], 0.1)
    if r:
        try:
            data = os.read(fd, 4096)
        except OSError:
            break
        if not data:
            break
        out += data
    if not sent and expect in out:
        time.sleep(0.3)  # let the reader switch the tty to raw mode
        os.write(fd, send)
        sent = True
_, status = os.waitpid(pid, 0)
sys.stdout.buffer.write(out)
sys.exit(os.waitstatus_to_exitcode(status))
`;

  beforeAll(async () => {
    workDir = mkdtempSync(join(tmpdir(), "aws-vault-pty-"));
    const src = (p: string) => JSON.stringify(resolve(import.meta.dirname, "../../src", p));
    const entry = join(workDir, "entry.ts");
    writeFileSync(
      entry,
      `import { writeFileSync } from "node:fs";
import { nodeRuntime } from ${src("runtime/node.ts")};
import { getPrompt } from ${src("prompt/prompt.ts")};
import { promptSecretLine } from ${src("prompt/terminal.ts")};
import { runMfaProcess } from ${src("vault/mfa.ts")};
const rt = nodeRuntime();
const mode = process.argv[2];
const result = (v: unknown) => writeFileSync(process.env.RESULT_FILE ?? "", JSON.stringify(v));
try {
  let code;
  if (mode === "mfa") code = await getPrompt(rt, "terminal")("arn:aws:iam::123456789012:mfa/jon");
  else if (mode === "secret") code = await promptSecretLine(rt, "Enter Secret Access Key: ");
  else if (mode === "ykman") code = await getPrompt(rt, "ykman")("arn:aws:iam::123456789012:mfa/jon");
  else code = await runMfaProcess(rt, process.env.MFA_PROCESS ?? "");
  result({ ok: true, value: code.reveal() });
} catch (e) {
  result({ ok: false, name: (e as Error).name, message: (e as Error).message });
}
`,
    );
    bundle = await bundleForNode(entry, join(workDir, "entry.mjs"));
  });
  afterAll(() => rmSync(workDir, { recursive: true, force: true }));

  function runInPty(mode: string, expectText: string, send: string, env: Record<string, string> = {}) {
    const resultFile = join(workDir, `${mode}-${Date.now()}.json`);
    // stdin is /dev/null: everything interactive must come from /dev/tty, as under credential_process.
    const argv = ["sh", "-c", 'exec "$@" </dev/null', "sh", process.execPath, bundle, mode];
    const proc = spawnSync("python3", ["-c", PTY_DRIVER, ...argv], {
      env: { PATH: process.env.PATH ?? "", PTY_EXPECT: expectText, PTY_SEND: send, RESULT_FILE: resultFile, ...env },
      encoding: "utf8",
      timeout: 45_000,
    });
    const result = JSON.parse(readFileSync(resultFile, "utf8")) as { ok: boolean; value?: string; name?: string };
    return { output: proc.stdout, result };
  }

  it("reads a typed code with echo", () => {
    const { output, result } = runInPty("mfa", "Enter MFA code for", "123456\r");
    expect(result).toEqual({ ok: true, value: "123456" });
    expect(output).toContain(PROMPT_TEXT);
    expect(output).toContain("123456");
  });

  it("Ctrl-C cancels the prompt", () => {
    const { result } = runInPty("mfa", "Enter MFA code for", "\u0003");
    expect(result).toMatchObject({ ok: false, name: "CancelledError" });
  });

  it("promptSecretLine does not echo what is typed", () => {
    const { output, result } = runInPty("secret", "Enter Secret Access Key:", "hunter2-top-secret\r");
    expect(result).toEqual({ ok: true, value: "hunter2-top-secret" });
    expect(output).toContain("Enter Secret Access Key:");
    expect(output).not.toContain("hunter2");
  });

  it("ykman and mfa_process get the terminal as stdin", () => {
    const isTty = 'if [ -t 0 ]; then echo 555666; else echo not-a-tty; fi';
    bin.tool("ykman", { script: isTty });
    const yk = runInPty("ykman", "", "", { PATH: bin.PATH });
    expect(yk.result).toEqual({ ok: true, value: "555666" });
    const mp = runInPty("mfa-process", "", "", { MFA_PROCESS: isTty });
    expect(mp.result).toEqual({ ok: true, value: "555666" });
  });
});

function catchSync(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error("expected a throw");
}
