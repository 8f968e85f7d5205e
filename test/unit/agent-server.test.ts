// The agent process's state machine, in process: a real socket in a temp folder, the real file
// keyring, a fake clock for TTL and idle.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { connect } from "node:net";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { agentRequest } from "../../src/agent/client.ts";
import { REQUEST_TIMEOUT_MS } from "../../src/agent/protocol.ts";
import { AgentServer } from "../../src/agent/server.ts";
import { FileKeyring } from "../../src/keyring/file.ts";
import { pbes2Derivations } from "../../src/keyring/file-format.ts";
import { newItem } from "../../src/keyring/keyring.ts";
import { Secret } from "../../src/util/secret.ts";
import { fakeRuntime } from "../support/fake-runtime.ts";

const PASS = "unit agent pass";
const servers: AgentServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.stop();
});

async function setup() {
  const base = mkdtempSync(join(tmpdir(), "awsv-agent-"));
  const dir = join(base, "keys");
  const rt = fakeRuntime({ tty: false });
  const k = new FileKeyring({ dir, passphrase: { fromEnv: new Secret(PASS), prompt: () => Promise.reject(new Error("no")) }, now: () => rt.now(), random: (n) => rt.random(n) });
  await k.set(newItem("alice", new TextEncoder().encode('{"AccessKeyID":"AKIAUNIT"}'), "aws-vault (alice)"));
  const socketPath = join(base, "a", "agent.sock");
  const server = new AgentServer(rt, { socketPath, uid: process.getuid?.() });
  await server.listen();
  servers.push(server);
  const ask = (req: Parameters<typeof agentRequest>[1]) => agentRequest(socketPath, req);
  return { rt, dir, server, ask };
}

describe("AgentServer", () => {
  it("serves items only while unlocked; lock forgets the passphrase and the derived keys", async () => {
    const { dir, ask } = await setup();
    expect(await ask({ op: "get", dir, key: "alice" })).toMatchObject({ ok: false, code: "locked" });
    expect(await ask({ op: "unlock", dir, passphrase: "nope", ttlMs: 60_000, idleMs: 60_000 })).toMatchObject({ ok: false, code: "wrong-passphrase" });
    expect(await ask({ op: "status" })).toMatchObject({ ok: true, status: { unlocked: false } });
    expect(await ask({ op: "unlock", dir, passphrase: PASS, ttlMs: 60_000, idleMs: 60_000 })).toMatchObject({ ok: true, status: { unlocked: true, dir } });
    const got = await ask({ op: "get", dir, key: "alice" });
    expect(got.ok && new TextDecoder().decode(Buffer.from(got.item?.data ?? "", "base64"))).toBe('{"AccessKeyID":"AKIAUNIT"}');
    expect(await ask({ op: "get", dir, key: "bob" })).toMatchObject({ ok: false, code: "not-found" });
    expect(await ask({ op: "get", dir: join(dir, "..", "other"), key: "alice" })).toMatchObject({ ok: false, code: "locked" });

    // While unlocked, the derived key is reused; after lock it must be derived again.
    const before = pbes2Derivations();
    await ask({ op: "get", dir, key: "alice" });
    expect(pbes2Derivations()).toBe(before);
    expect(await ask({ op: "lock" })).toMatchObject({ ok: true, status: { unlocked: false } });
    expect(await ask({ op: "get", dir, key: "alice" })).toMatchObject({ ok: false, code: "locked" });
    await ask({ op: "unlock", dir, passphrase: PASS, ttlMs: 60_000, idleMs: 60_000 });
    expect(pbes2Derivations()).toBe(before + 1);
  });

  it("locks at the TTL and when idle (fake clock), counting only item requests as use", async () => {
    const { rt, dir, ask } = await setup();
    await ask({ op: "unlock", dir, passphrase: PASS, ttlMs: 10_000, idleMs: 4_000 });
    rt.advance(3_000);
    expect((await ask({ op: "get", dir, key: "alice" })).ok).toBe(true); // idle clock restarts
    rt.advance(3_000);
    expect(await ask({ op: "status" })).toMatchObject({ status: { unlocked: true, ttlLeftMs: 4_000, idleLeftMs: 1_000 } });
    rt.advance(1_500); // status is not use: idle has passed
    expect(await ask({ op: "get", dir, key: "alice" })).toMatchObject({ ok: false, code: "locked" });

    await ask({ op: "unlock", dir, passphrase: PASS, ttlMs: 5_000, idleMs: 60_000 });
    rt.advance(4_000);
    expect((await ask({ op: "get", dir, key: "alice" })).ok).toBe(true);
    rt.advance(1_000);
    expect(await ask({ op: "get", dir, key: "alice" })).toMatchObject({ ok: false, code: "locked" });
  });

  it("an item error reaches the client with the file keyring's own message and hints", async () => {
    const { dir, ask } = await setup();
    const { writeFileSync } = await import("node:fs");
    writeFileSync(join(dir, "broken"), "eyJhbGciOiJQQkVTMi1IUzI1NitBMTI4S1ciLCJlbmMiOiJBMjU2R0NNIn0.x.y.z.w", { mode: 0o600 });
    await ask({ op: "unlock", dir, passphrase: PASS, ttlMs: 60_000, idleMs: 60_000 });
    const r = await ask({ op: "get", dir, key: "broken" });
    expect(r).toMatchObject({ ok: false, code: "error" });
    expect(!r.ok && r.message).toContain(join(dir, "broken"));
  });

  it("a client that trickles its request byte by byte still gets the request-time bound (not an idle timer)", async () => {
    const { server } = await setup();
    const socketPath = server.opts.socketPath;
    const reply = await new Promise<string>((resolve, reject) => {
      const s = connect(socketPath);
      let got = "";
      let sent = 0;
      // One byte a second, never a newline: each byte would restart an idle timer. Gives up after
      // twice the bound, so without a request-time bound the test fails instead of hanging.
      const drip = setInterval(() => {
        if (sent++ >= (2 * REQUEST_TIMEOUT_MS) / 1000) {
          clearInterval(drip);
          s.destroy();
          resolve(got);
        } else if (!s.destroyed) s.write("{");
      }, 1_000);
      s.on("data", (d) => (got += d.toString()));
      s.on("close", () => {
        clearInterval(drip);
        resolve(got);
      });
      s.on("error", (e: NodeJS.ErrnoException) => (e.code === "EPIPE" || e.code === "ECONNRESET" ? resolve(got) : reject(e)));
    });
    expect(reply).not.toBe("");
    expect(JSON.parse(reply)).toMatchObject({ ok: false, code: "bad-request", message: `no complete request within ${REQUEST_TIMEOUT_MS / 1000}s` });
  }, 30_000);
});
