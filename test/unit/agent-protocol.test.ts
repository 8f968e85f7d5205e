// The agent's wire format and socket rules (src/agent/protocol.ts, paths.ts), without a process.
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { agentSocketPath, checkSocketFolder } from "../../src/agent/paths.ts";
import { encodeMessage, fromWire, MAX_MESSAGE_BYTES, parseRequest, parseResponse, toWire } from "../../src/agent/protocol.ts";
import { newItem } from "../../src/keyring/keyring.ts";

describe("agent protocol", () => {
  it("round-trips every request through encode and parse", () => {
    const item = toWire(newItem("prod/admin", new TextEncoder().encode('{"a":1}'), "aws-vault (prod/admin)"));
    for (const req of [
      { op: "status" },
      { op: "lock" },
      { op: "stop" },
      { op: "unlock", dir: "/k", passphrase: "p w", ttlMs: 1000, idleMs: 2000 },
      { op: "get", dir: "/k", key: "x" },
      { op: "set", dir: "/k", item },
    ] as const) {
      expect(parseRequest(encodeMessage(req).trimEnd())).toEqual(req);
    }
    expect(new TextDecoder().decode(fromWire(item).data)).toBe('{"a":1}');
  });

  it.each([
    ["not json", "malformed message (not JSON)"],
    ["[1]", "malformed message (not an object)"],
    ['{"op":"status"}', "unsupported protocol version undefined (this agent speaks 1)"],
    ['{"v":2,"op":"status"}', "unsupported protocol version 2 (this agent speaks 1)"],
    ['{"v":1,"op":"nope"}', 'unknown request "nope"'],
    ['{"v":1,"op":"get","dir":"/k"}', "malformed request: key must be a string"],
    ['{"v":1,"op":"unlock","dir":"/k","passphrase":"p","ttlMs":-1,"idleMs":1}', "malformed request: ttlMs must be a positive number of milliseconds"],
    ['{"v":1,"op":"set","dir":"/k","item":{"key":"k","data":"!!","label":"","description":"","keychainNotTrustApplication":false,"keychainNotSynchronizable":false}}', "malformed item: data must be base64"],
  ])("refuses %s", (line, message) => {
    expect(() => parseRequest(line)).toThrow(message);
  });

  it("never encodes a message over the size bound", () => {
    const big = toWire(newItem("k", new Uint8Array(MAX_MESSAGE_BYTES), "l"));
    expect(() => encodeMessage({ op: "set", dir: "/k", item: big })).toThrow("message too large");
  });

  it("parses replies strictly", () => {
    expect(parseResponse('{"v":1,"ok":false,"code":"locked","message":"m"}')).toEqual({ ok: false, code: "locked", message: "m" });
    expect(parseResponse('{"v":1,"ok":true,"status":{"pid":3,"unlocked":false}}')).toEqual({ ok: true, status: { pid: 3, unlocked: false } });
    expect(() => parseResponse('{"v":1,"ok":false,"code":"weird"}')).toThrow("malformed response");
  });
});

describe("agent socket path and folder checks", () => {
  it("AWS_VAULT_AGENT_SOCK, else XDG_RUNTIME_DIR, else ~/.awsvault/agent", () => {
    expect(agentSocketPath({ AWS_VAULT_AGENT_SOCK: "/s/a.sock", XDG_RUNTIME_DIR: "/run/user/1" }, "/h")).toBe("/s/a.sock");
    expect(agentSocketPath({ XDG_RUNTIME_DIR: "/run/user/1" }, "/h")).toBe("/run/user/1/aws-vault/agent.sock");
    expect(agentSocketPath({}, "/h")).toBe("/h/.awsvault/agent/agent.sock");
  });

  it("accepts a private folder of ours, reports a missing one, refuses others saying why", async () => {
    const base = mkdtempSync(join(tmpdir(), "awsv-sock-"));
    const dir = join(base, "aws-vault");
    const sock = join(dir, "agent.sock");
    const uid = process.getuid?.() as number;
    expect(await checkSocketFolder(sock, uid)).toBe(false);
    mkdirSync(dir, { mode: 0o700 });
    expect(await checkSocketFolder(sock, uid)).toBe(true);
    chmodSync(dir, 0o750);
    await expect(checkSocketFolder(sock, uid)).rejects.toThrow(`its folder ${dir} is group/world accessible (mode 0750)`);
    chmodSync(dir, 0o700);
    await expect(checkSocketFolder(sock, uid + 1)).rejects.toThrow(`its folder ${dir} is owned by uid ${uid}, not by you (uid ${uid + 1})`);
    await expect(checkSocketFolder(join(base, "x".repeat(120), "agent.sock"), uid)).rejects.toThrow(/is too long \(\d+ bytes; Unix sockets allow 103\)/);
    const file = join(base, "file");
    writeFileSync(file, "");
    await expect(checkSocketFolder(join(file, "agent.sock"), uid)).rejects.toThrow("is not a directory");
  });
});
