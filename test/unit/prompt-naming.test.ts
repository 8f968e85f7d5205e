// Every MFA prompt names the device and the profile; the YubiKey driver says it may need a touch.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { getPrompt, mfaPromptText } from "../../src/prompt/prompt.ts";
import { mfaTokenProvider } from "../../src/vault/mfa.ts";
import { FakeBinDir, type FakeRuntimeOptions, fakeRuntime } from "../support/fake-runtime.ts";

const SERIAL = "arn:aws:iam::123456789012:mfa/jon";

let bin: FakeBinDir;
beforeEach(() => {
  bin = new FakeBinDir();
});
afterEach(() => bin.cleanup());

function rtWith(opts: FakeRuntimeOptions = {}) {
  return fakeRuntime({ ...opts, env: { PATH: bin.PATH, ...opts.env } });
}

describe("prompts name the profile", () => {
  it("the prompt text has the serial and the profile", () => {
    expect(mfaPromptText(SERIAL, "dev")).toBe(`Enter MFA code for ${SERIAL} (profile dev): `);
    expect(mfaPromptText(SERIAL)).toBe(`Enter MFA code for ${SERIAL}: `);
  });

  it("the terminal driver shows it", async () => {
    const rt = rtWith({ tty: ["123456"] });
    await mfaTokenProvider(rt, { promptMethod: "terminal" })(SERIAL, "prod-admin");
    expect(rt.tty.transcript).toContain(`Enter MFA code for ${SERIAL} (profile prod-admin): `);
  });

  it("the dialog drivers get it as their text", async () => {
    bin.tool("zenity", { stdout: "222333\n" });
    await getPrompt(rtWith(), "zenity")(SERIAL, "dev");
    expect(bin.argv("zenity")).toEqual(["--entry", "--title", "aws-vault", "--text", `Enter MFA code for ${SERIAL} (profile dev): `]);
  });

  it("ykman: says a touch may be needed, for which device and profile, on stderr", async () => {
    bin.tool("ykman", { stdout: "111111\n" });
    const rt = rtWith();
    await getPrompt(rt, "ykman")(SERIAL, "dev");
    expect(rt.stderr.text).toBe(`aws-vault: getting the MFA code for ${SERIAL} (profile dev) from your YubiKey: touch it if it flashes\n`);
    expect(rt.stdout.text).toBe("");
  });
});
