// Opening the login URL: $BROWSER (xdg conventions) or the platform opener, never a shell, and
// failures that do not contain the URL.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { UserError } from "../../src/errors.ts";
import { browserCommands, openBrowser, splitCommandLine } from "../../src/util/browser.ts";
import { FakeBinDir, fakeRuntime, shQuote } from "../support/fake-runtime.ts";

const URL_WITH_TOKEN = "https://signin.example/federation?Action=login&Issuer=aws-vault&SigninToken=s3cr3t%2Btoken";

describe("browserCommands", () => {
  it("uses the platform opener without BROWSER", () => {
    expect(browserCommands("U", {}, "linux")).toEqual([{ cmd: "xdg-open", args: ["U"] }]);
    expect(browserCommands("U", {}, "darwin")).toEqual([{ cmd: "open", args: ["U"] }]);
    expect(browserCommands("U", {}, "win32")).toEqual([{ cmd: "rundll32", args: ["url.dll,FileProtocolHandler", "U"] }]);
  });

  it("tries each BROWSER entry first; %s is replaced, else the URL is appended", () => {
    expect(browserCommands("U", { BROWSER: "firefox:chromium --new-window %s:w3m '%s' --x=%%s" }, "linux")).toEqual([
      { cmd: "firefox", args: ["U"] },
      { cmd: "chromium", args: ["--new-window", "U"] },
      { cmd: "w3m", args: ["U", "--x=%s"] },
      { cmd: "xdg-open", args: ["U"] },
    ]);
    expect(browserCommands("U", { BROWSER: " : " }, "linux")).toEqual([{ cmd: "xdg-open", args: ["U"] }]);
  });

  it("splits command lines with quotes and escapes, without a shell", () => {
    expect(splitCommandLine(`"/opt/My Browser/bin" --flag 'a b' c\\ d ""`)).toEqual(["/opt/My Browser/bin", "--flag", "a b", "c d", ""]);
    expect(splitCommandLine("  ")).toEqual([]);
  });
});

describe("openBrowser", () => {
  const bins: FakeBinDir[] = [];
  afterEach(() => {
    for (const b of bins.splice(0)) b.cleanup();
  });
  function binDir(): FakeBinDir {
    const b = new FakeBinDir("awsv-browser-");
    bins.push(b);
    return b;
  }

  it("hands exactly the URL to $BROWSER as one argument", async () => {
    const bin = binDir();
    const browser = bin.tool("my-browser");
    const rt = fakeRuntime({ env: { PATH: bin.PATH, BROWSER: browser } });
    await openBrowser(rt, URL_WITH_TOKEN);
    expect(bin.argv("my-browser")).toEqual([URL_WITH_TOKEN]);
    expect(rt.spawnCalls.map((c) => c.cmd)).toEqual([browser]);
  });

  it("falls through a failing entry to the next one and then to xdg-open", async () => {
    const bin = binDir();
    const broken = bin.tool("broken", { exitCode: 3 });
    bin.tool("xdg-open");
    const rt = fakeRuntime({ env: { PATH: bin.PATH, BROWSER: `${broken}:${bin.dir}/missing` } });
    await openBrowser(rt, URL_WITH_TOKEN);
    expect(bin.argv("broken")).toEqual([URL_WITH_TOKEN]);
    expect(bin.argv("xdg-open")).toEqual([URL_WITH_TOKEN]);
  });

  it("returns while the browser keeps running, and leaves it running", async () => {
    const bin = binDir();
    const pidFile = join(bin.dir, "browser.pid");
    // Runs for far longer than settleMs: had openBrowser waited for it (or killed it), it would be gone.
    const slow = bin.tool("slow", { script: `echo $$ > ${shQuote(pidFile)}; exec sleep 30` });
    const rt = fakeRuntime({ env: { PATH: bin.PATH, BROWSER: slow } });
    await openBrowser(rt, URL_WITH_TOKEN, { settleMs: 200 });
    const pid = Number(readFileSync(pidFile, "utf8").trim());
    try {
      // A running process, not a zombie or a reaped one (field 3 of /proc/PID/stat is the state).
      const state = readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\) /s, "")[0];
      expect(state).toMatch(/^[RS]$/);
    } finally {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone: the assertion above has failed
      }
    }
  });

  it("reports a failure without the URL or the token", async () => {
    const bin = binDir();
    const broken = bin.tool("broken", { exitCode: 4 });
    // Only the fake dir on PATH: the host's own xdg-open must not be found.
    const rt = fakeRuntime({ env: { PATH: bin.dir, BROWSER: broken } });
    const err = (await openBrowser(rt, URL_WITH_TOKEN).catch((e: unknown) => e)) as UserError;
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toBe(`could not open a browser (${broken}: exit status 4, xdg-open: not found); re-run with --stdout`);
    const everything = [err.message, ...err.hints, ...rt.log.messages, rt.stdout.text, rt.stderr.text].join("\n");
    expect(everything).not.toContain("s3cr3t");
    expect(everything).not.toContain("SigninToken");
  });
});
