import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { UsageError, UserError } from "../../src/errors.ts";
import { mfaTokenProvider } from "../../src/vault/mfa.ts";
import { FakeBinDir, type FakeRuntimeOptions, fakeRuntime, shQuote } from "../support/fake-runtime.ts";

const SERIAL = "arn:aws:iam::123456789012:mfa/jon";

let bin: FakeBinDir;
beforeEach(() => {
  bin = new FakeBinDir();
});
afterEach(() => bin.cleanup());

function rtWith(opts: FakeRuntimeOptions = {}) {
  return fakeRuntime({ ...opts, env: { PATH: bin.PATH, ...opts.env } });
}

describe("--mfa-token", () => {
  it("is reused for every hop and beats mfa_process and the prompt", async () => {
    const marker = join(bin.dir, "ran");
    const rt = rtWith({ tty: [] });
    const provider = mfaTokenProvider(rt, {
      mfaToken: "123456",
      mfaProcess: `touch ${shQuote(marker)}; echo 999999`,
      promptMethod: "terminal",
    });
    expect((await provider(SERIAL)).reveal()).toBe("123456");
    expect((await provider("arn:aws:iam::123456789012:mfa/other")).reveal()).toBe("123456");
    expect(existsSync(marker)).toBe(false);
    expect(rt.spawnCalls).toEqual([]);
    expect(rt.tty.opened).toBe(0);
  });
});

describe("mfa_process", () => {
  it("runs through the shell with the runtime env, stdin/stderr on the tty, stdout trimmed", async () => {
    const rt = rtWith({ env: { OTP_CODE: "654321" }, tty: [] });
    const provider = mfaTokenProvider(rt, { mfaProcess: `printf '  %s\\n\\n' "$OTP_CODE"`, promptMethod: "terminal" });
    expect((await provider(SERIAL)).reveal()).toBe("654321");
    expect(rt.spawnCalls).toHaveLength(1);
    expect(rt.spawnCalls[0]).toMatchObject({ kind: "shellOutput", opts: { stdio: "tty" } });
    expect(rt.spawnCalls[0]?.opts.env.OTP_CODE).toBe("654321");
    expect(rt.tty.opened).toBe(0);
  });

  it("runs again for each code", async () => {
    const counter = join(bin.dir, "count");
    const rt = rtWith();
    const provider = mfaTokenProvider(rt, { mfaProcess: `echo x >> ${shQuote(counter)}; wc -l < ${shQuote(counter)}` });
    expect((await provider(SERIAL)).reveal()).toBe("1");
    expect((await provider(SERIAL)).reveal()).toBe("2");
  });

  it("does not capture stderr", async () => {
    const rt = rtWith();
    const provider = mfaTokenProvider(rt, { mfaProcess: "echo 'touch your key' >&2; echo 111222" });
    expect((await provider(SERIAL)).reveal()).toBe("111222");
  });

  it("reports the exit status without its output", async () => {
    const rt = rtWith();
    const provider = mfaTokenProvider(rt, { mfaProcess: "echo 424242; exit 3" });
    const err = await provider(SERIAL).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toBe("mfa_process failed: exit status 3");
    expect(rt.log.messages.join("\n")).not.toContain("424242");
  });

  it("rejects empty output", async () => {
    const provider = mfaTokenProvider(rtWith(), { mfaProcess: "echo '   '" });
    await expect(provider(SERIAL)).rejects.toThrow(UserError);
  });

  it("beats the prompt driver", async () => {
    bin.tool("ykman", { stdout: "000000\n" });
    const provider = mfaTokenProvider(rtWith(), { mfaProcess: "echo 333333", promptMethod: "ykman" });
    expect((await provider(SERIAL)).reveal()).toBe("333333");
    expect(bin.argv("ykman")).toBeUndefined();
  });
});

describe("prompt driver", () => {
  it("is created lazily: an unusable driver fails only when a code is needed", async () => {
    const rt = rtWith();
    const provider = mfaTokenProvider(rt, { promptMethod: "zenity" });
    await expect(provider(SERIAL)).rejects.toBeInstanceOf(UsageError);
  });

  it("prompts on the terminal for each code", async () => {
    const rt = rtWith({ tty: ["111111", "222222"] });
    const provider = mfaTokenProvider(rt, { promptMethod: "terminal" });
    expect(rt.tty.opened).toBe(0);
    expect((await provider(SERIAL)).reveal()).toBe("111111");
    expect((await provider("arn:aws:iam::123456789012:mfa/two")).reveal()).toBe("222222");
    expect(rt.tty.transcript).toContain("Enter MFA code for arn:aws:iam::123456789012:mfa/two: ");
  });

  it("uses the named driver", async () => {
    bin.tool("ykman", { stdout: "777888\n" });
    const provider = mfaTokenProvider(rtWith(), { promptMethod: "ykman" });
    expect((await provider(SERIAL)).reveal()).toBe("777888");
    expect(bin.argv("ykman")).toEqual(["oath", "accounts", "code", "--single", SERIAL]);
  });

  it("auto-selects a driver when none is named", async () => {
    bin.tool("ykman", { stdout: "999000\n" });
    const rt = rtWith({ stdoutIsTTY: false });
    const provider = mfaTokenProvider(rt, {});
    expect(rt.log.messages).toEqual([]);
    expect((await provider(SERIAL)).reveal()).toBe("999000");
    expect(rt.log.messages).toContain("Using prompt driver: ykman");
  });

  it("an empty --mfa-token counts as absent", async () => {
    const rt = rtWith({ tty: ["121212"] });
    const provider = mfaTokenProvider(rt, { mfaToken: "", promptMethod: "terminal" });
    expect((await provider(SERIAL)).reveal()).toBe("121212");
  });
});
