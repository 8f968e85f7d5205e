// The loopback redirect listener and the PKCE helpers shared by browser sign-ins: one request on
// the callback path ends the wait (right state → the code; wrong state, error=, no code → refused),
// anything else is answered and ignored; timeout and Ctrl-C end it; it always closes.
import http from "node:http";
import { describe, expect, it } from "vitest";
import { CancelledError, UserError } from "../../src/errors.ts";
import { isLoopbackPeer, startLoopbackCallback } from "../../src/vault/oauth-loopback.ts";
import { createPkcePair, randomState, s256Challenge } from "../../src/vault/oauth-pkce.ts";
import { fakeRuntime } from "../support/fake-runtime.ts";

const STATE = "0123456789abcdef0123456789abcdef";

function get(port: number, path: string, opts: { method?: string; host?: string } = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: "127.0.0.1", port, path, method: opts.method ?? "GET", headers: { host: opts.host ?? `127.0.0.1:${port}`, connection: "close" } },
      (res) => {
        let body = "";
        res.setEncoding("utf8").on("data", (d: string) => (body += d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

async function listener(timeoutMs?: number) {
  const rt = fakeRuntime();
  const cb = await startLoopbackCallback({
    path: "/oauth/callback",
    state: STATE,
    label: "the SSO sign-in",
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    onSignal: (s, h) => rt.onSignal(s, h),
  });
  return { rt, cb };
}

describe("startLoopbackCallback", () => {
  it("listens on 127.0.0.1 and a random port, and returns the code of the first right callback", async () => {
    const { cb } = await listener();
    expect(cb.redirectUri).toBe(`http://127.0.0.1:${cb.port}/oauth/callback`);
    const answer = await get(cb.port, `/oauth/callback?code=the-code&state=${STATE}&extra=1`);
    expect(answer.status).toBe(200);
    const result = await cb.result;
    expect(result.code.reveal()).toBe("the-code");
    expect(String(result.code)).toBe("[redacted]");
    expect(result.params).toEqual({ extra: "1" });
    // One request only: the listener is closed.
    await expect(get(cb.port, `/oauth/callback?code=again&state=${STATE}`)).rejects.toThrow(/ECONNREFUSED/);
  });

  it("answers and ignores other paths, methods and foreign Host headers", async () => {
    const { cb } = await listener();
    expect((await get(cb.port, "/favicon.ico")).status).toBe(404);
    expect((await get(cb.port, `/oauth/callback?code=x&state=${STATE}`, { method: "POST" })).status).toBe(405);
    expect((await get(cb.port, `/oauth/callback?code=x&state=${STATE}`, { host: "evil.example:80" })).status).toBe(400);
    // Still waiting: the right callback is accepted after all of them.
    expect((await get(cb.port, `/oauth/callback?code=ok&state=${STATE}`)).status).toBe(200);
    expect((await cb.result).code.reveal()).toBe("ok");
  });

  it.each([
    ["a wrong state", `code=c&state=${STATE.replace("0", "1")}`, "the SSO sign-in was refused: the browser came back with a different state"],
    ["no state", "code=c", "the SSO sign-in was refused: the browser came back with no state"],
    ["error=", `error=access_denied&error_description=User%20said%20no&state=${STATE}`, "the SSO sign-in was not completed: the authorization server answered access_denied (User said no)"],
    ["no code", `state=${STATE}`, "the SSO sign-in failed: the browser came back without an authorization code"],
  ])("%s ends the sign-in with a clear error and closes", async (_name, query, message) => {
    const { cb } = await listener();
    const answer = await get(cb.port, `/oauth/callback?${query}`);
    expect(answer.status).toBe(400);
    const err = await cb.result.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toBe(message);
    expect(answer.body).not.toContain(STATE);
    await expect(get(cb.port, `/oauth/callback?code=c&state=${STATE}`)).rejects.toThrow(/ECONNREFUSED/);
  });

  it("times out", async () => {
    const { cb } = await listener(30);
    const err = await cb.result.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).message).toBe("timed out after 30ms waiting for the SSO sign-in in the browser");
    expect((err as UserError).hints).toEqual(["run the command again, or pass --use-device-code to approve with a code instead"]);
  });

  it("Ctrl-C (and close) cancel the wait, and the signal handlers are removed", async () => {
    const { rt, cb } = await listener();
    expect(rt.emitSignal("SIGINT")).toBe(1);
    await expect(cb.result).rejects.toBeInstanceOf(CancelledError);
    await cb.close();
    expect(rt.emitSignal("SIGINT")).toBe(0);
    const other = await listener();
    await other.cb.close();
    await expect(other.cb.result).rejects.toBeInstanceOf(CancelledError);
  });

  it("accepts loopback peers only", () => {
    expect(["127.0.0.1", "::ffff:127.0.0.1", "::1"].map(isLoopbackPeer)).toEqual([true, true, true]);
    expect(["10.0.0.2", "::ffff:192.168.1.1", undefined].map(isLoopbackPeer)).toEqual([false, false, false]);
  });
});

describe("PKCE (RFC 7636) and state", () => {
  it("S256 matches the RFC's appendix B example", () => {
    expect(s256Challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")).toBe("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
  });

  it("a verifier is 43 base64url characters from 32 random bytes; the challenge is its S256", () => {
    const bytes = Uint8Array.from({ length: 32 }, (_, i) => i * 7);
    const pair = createPkcePair(() => bytes);
    expect(pair.verifier.reveal()).toBe(Buffer.from(bytes).toString("base64url"));
    expect(pair.verifier.reveal()).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(pair.challenge).toBe(s256Challenge(pair.verifier.reveal()));
    expect(pair.method).toBe("S256");
    expect(String(pair.verifier)).toBe("[redacted]");
    expect(randomState(() => new Uint8Array(16).fill(255))).toBe("f".repeat(32));
  });
});
