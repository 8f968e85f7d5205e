// The device flow through the real SDK adapter (src/aws/sso-oidc-sdk.ts) against the fake OIDC
// service, with a fake clock: polling, authorization_pending, slow_down, expiry and denial.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createSsoOidc } from "../../src/aws/sso-oidc-sdk.ts";
import { CancelledError, CredentialsError, UserError } from "../../src/errors.ts";
import { browserCommand, openBrowser } from "../../src/vault/sso-browser.ts";
import { ssoDeviceFlow } from "../../src/vault/sso-device-flow.ts";
import { FakeBinDir, FakeOutput, fakeRuntime, type FakeRuntime } from "../support/fake-runtime.ts";
import { type FakeSso, startFakeSso } from "../support/fake-sso.ts";

const START_URL = "https://corp.awsapps.com/start";

let sso: FakeSso;
beforeAll(async () => {
  // The runtime's clock is fake, so the fake must not judge polling speed by the real clock.
  sso = await startFakeSso({ interval: 2, deviceCodeExpiresIn: 60, enforceInterval: false });
});
afterAll(() => sso?.stop());
beforeEach(() => sso.resetCalls());

/** A fake runtime that records how long each sleep was. */
function rtWithSleeps(): FakeRuntime & { sleeps: number[] } {
  const rt = fakeRuntime();
  const sleeps: number[] = [];
  const sleep = rt.sleep;
  return Object.assign(rt, {
    sleeps,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      await sleep(ms);
    },
  });
}

const oidc = () => createSsoOidc({ region: "eu-west-1", endpoint: sso.oidcEndpoint });
const userCode = (url: string) => new URL(url).searchParams.get("user_code") ?? "";

describe("ssoDeviceFlow", () => {
  it("registers, starts the authorization, opens the page, and polls while pending", async () => {
    const rt = rtWithSleeps();
    sso.scriptPolls("authorization_pending", "authorization_pending");
    const opened: string[] = [];
    const token = await ssoDeviceFlow(rt, await oidc(), {
      profileName: "dev",
      startUrl: START_URL,
      useStdout: false,
      open: (url) => {
        opened.push(url);
        sso.approve(userCode(url));
      },
    });
    expect(token.accessToken.reveal()).toMatch(/^aoa/);
    expect(token.expiresInSeconds).toBe(28_800);
    expect(token.tokenType).toBe("Bearer");
    expect(sso.callSummary()).toEqual([
      "RegisterClient",
      `StartDeviceAuthorization ${START_URL}`,
      "CreateToken -> AuthorizationPendingException",
      "CreateToken -> AuthorizationPendingException",
      "CreateToken",
    ]);
    expect(rt.sleeps).toEqual([2000, 2000]);
    expect(opened).toHaveLength(1);
    // Not a terminal: plain lines, the user code on its own line, no spinner.
    expect(rt.stderr.text).toBe(
      `Opening the SSO authorization page in your default browser (use Ctrl-C to abort)\n${opened[0]}\n` +
        `Check that the page shows this code:\n${userCode(opened[0]!)}\nwaiting for approval in the browser (expires in 1m)\n`,
    );
    // The token never reaches a log line.
    expect(rt.log.messages.join("\n")).not.toContain(token.accessToken.reveal());
  });

  it("adds 5 s to the interval on every slow_down", async () => {
    const rt = rtWithSleeps();
    sso.scriptPolls("slow_down", "authorization_pending", "slow_down");
    await ssoDeviceFlow(rt, await oidc(), {
      profileName: "dev",
      startUrl: START_URL,
      useStdout: false,
      open: (url) => sso.approve(userCode(url)),
    });
    expect(rt.sleeps).toEqual([7000, 7000, 12_000]);
  });

  it("--stdout prints the link and opens nothing", async () => {
    const rt = rtWithSleeps();
    const opened: string[] = [];
    const flow = ssoDeviceFlow(rt, await oidc(), { profileName: "dev", startUrl: START_URL, useStdout: true, open: (u) => opened.push(u) });
    // The user opens the printed link: approve what the fake is waiting for.
    for (let i = 0; i < 100 && sso.pendingUserCodes().length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    for (const code of sso.pendingUserCodes()) sso.approve(code);
    await flow;
    expect(opened).toEqual([]);
    expect(rt.stderr.text).toMatch(
      /^Open the SSO authorization page in a browser \(use Ctrl-C to abort\)\nhttp:\/\/127\.0\.0\.1:\d+\/device\?user_code=([A-Z]{4}-[A-Z]{4})\nCheck that the page shows this code:\n\1\nwaiting for approval in the browser \(expires in 1m\)\n$/,
    );
  });

  it("Ctrl-C while waiting rejects with CancelledError and stops listening for it", async () => {
    const rt = fakeRuntime();
    let started!: () => void;
    const waiting = new Promise<void>((r) => (started = r));
    const flow = ssoDeviceFlow(rt, await oidc(), { profileName: "dev", startUrl: START_URL, useStdout: false, open: () => started() });
    await waiting;
    for (let i = 0; i < 100 && !rt.stderr.text.includes("waiting for approval"); i++) await new Promise((r) => setTimeout(r, 10));
    expect(rt.emitSignal("SIGINT")).toBe(1);
    await expect(flow).rejects.toBeInstanceOf(CancelledError);
    expect(rt.emitSignal("SIGINT")).toBe(0);
  });

  it("on a terminal: a spinner on stderr, cleared when done; colour unless NO_COLOR", async () => {
    for (const env of [{}, { NO_COLOR: "1" }]) {
      const rt = Object.assign(fakeRuntime({ env }), { stderr: new FakeOutput(true) });
      await ssoDeviceFlow(rt, await oidc(), { profileName: "dev", startUrl: START_URL, useStdout: false, open: (url) => sso.approve(userCode(url)) });
      expect(rt.stderr.text).toMatch(/\r\u001b\[K(\u001b\[36m)?⠋(\u001b\[39m)? waiting for approval in the browser \(expires in 1m\)/);
      expect(rt.stderr.text.endsWith("\r\u001b[K")).toBe(true);
      expect(rt.stderr.text.includes("\u001b[36m")).toBe(!("NO_COLOR" in env));
      expect(rt.stdout.text).toBe("");
    }
  });

  it("gives up when the device code expires before approval", async () => {
    const rt = rtWithSleeps();
    const err = await ssoDeviceFlow(rt, await oidc(), { profileName: "dev", startUrl: START_URL, useStdout: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CredentialsError);
    expect((err as Error).message).toBe("profile dev: the SSO authorization request expired before it was approved");
    // 60 s device code, 2 s interval: the last poll is at 58 s.
    expect(rt.sleeps).toHaveLength(29);
    for (const code of sso.pendingUserCodes()) sso.deny(code);
  });

  it("reports the service's expired_token answer the same way", async () => {
    const rt = rtWithSleeps();
    const err = await ssoDeviceFlow(rt, await oidc(), {
      profileName: "dev",
      startUrl: START_URL,
      useStdout: false,
      open: () => sso.advanceClock(120),
    }).catch((e: unknown) => e);
    sso.advanceClock(-120);
    expect((err as Error).message).toBe("profile dev: the SSO authorization request expired before it was approved");
    expect(sso.callSummary().at(-1)).toBe("CreateToken -> ExpiredTokenException");
  });

  it("a denied request fails at once", async () => {
    const rt = rtWithSleeps();
    const err = await ssoDeviceFlow(rt, await oidc(), {
      profileName: "dev",
      startUrl: START_URL,
      useStdout: false,
      open: (url) => sso.deny(userCode(url)),
    }).catch((e: unknown) => e);
    expect((err as Error).message).toBe("profile dev: the SSO authorization request was denied");
    expect(rt.sleeps).toEqual([]);
  });

  it("other OIDC errors name the profile and the call", async () => {
    const rt = rtWithSleeps();
    const broken = await oidc();
    const err = await ssoDeviceFlow(
      rt,
      { ...broken, registerClient: () => Promise.reject(Object.assign(new Error("boom"), { name: "InternalServerException" })) },
      { profileName: "dev", startUrl: START_URL, useStdout: true },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toBe("profile dev: SSO OIDC RegisterClient failed: InternalServerException: boom");
  });
});

describe("browserCommand / openBrowser", () => {
  const url = "https://device.sso.eu-west-1.amazonaws.com/?user_code=ABCD-EFGH";

  it("uses $BROWSER, substituting %s or appending the URL; skips entries not on PATH", () => {
    const bin = new FakeBinDir();
    try {
      bin.tool("firefox");
      // Only the fake dir on PATH: the host's own xdg-open must not be found.
      const rt = (BROWSER: string) => fakeRuntime({ env: { PATH: bin.dir, BROWSER } });
      expect(browserCommand(rt("firefox --new-tab"), url)).toEqual({ cmd: "firefox", args: ["--new-tab", url] });
      expect(browserCommand(rt("nope:firefox -u %s --x"), url)).toEqual({ cmd: "firefox", args: ["-u", url, "--x"] });
      expect(browserCommand(rt("nope"), url)).toBeUndefined();
    } finally {
      bin.cleanup();
    }
  });

  it("falls back to the platform opener", () => {
    expect(browserCommand(fakeRuntime({ platform: "win32" }), url)).toEqual({ cmd: "rundll32", args: ["url.dll,FileProtocolHandler", url] });
    const bin = new FakeBinDir();
    try {
      bin.tool("xdg-open");
      bin.tool("open");
      expect(browserCommand(fakeRuntime({ platform: "darwin", env: { PATH: bin.PATH } }), url)).toEqual({ cmd: "open", args: [url] });
      expect(browserCommand(fakeRuntime({ env: { PATH: bin.PATH } }), url)).toEqual({ cmd: "xdg-open", args: [url] });
      // A $BROWSER that is not installed falls through to the platform opener.
      expect(browserCommand(fakeRuntime({ env: { PATH: bin.PATH, BROWSER: "nope" } }), url)).toEqual({ cmd: "xdg-open", args: [url] });
      expect(browserCommand(fakeRuntime({ env: { PATH: "/nonexistent" } }), url)).toBeUndefined();
    } finally {
      bin.cleanup();
    }
  });

  it("runs the opener without a shell, capturing its output, and only logs a failure", async () => {
    const bin = new FakeBinDir();
    try {
      bin.tool("browser", { stdout: "noise on stdout", exitCode: 4 });
      const rt = fakeRuntime({ env: { PATH: bin.PATH, BROWSER: "browser" } });
      openBrowser(rt, `${url}&x=$(touch /tmp/pwned)`);
      await new Promise((r) => setTimeout(r, 300));
      expect(bin.argv("browser")).toEqual([`${url}&x=$(touch /tmp/pwned)`]);
      expect(rt.spawnCalls[0]).toMatchObject({ kind: "output", cmd: "browser", opts: { stdio: "pipe-out" } });
      expect(rt.stdout.text).toBe("");
      expect(rt.log.messages).toContain("the browser command browser exited with status 4");
    } finally {
      bin.cleanup();
    }
  });
});
