// The root proxy, tested on injected loopback addresses (no root, no 169.254.169.254 alias): it
// forwards with the shared secret so the EC2 server accepts the 169.254.169.254 Host, `--stop`
// needs a header a web page cannot send, the alias commands per OS, the stdin configuration, and
// exec's launcher (sudo -n, readiness wait, clear failures, shutdown on stdin EOF).
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { UserError } from "../../src/errors.ts";
import type { OutputResult, RunOptions } from "../../src/runtime/runtime.ts";
import { type Ec2Server, startEc2Server } from "../../src/server/ec2.ts";
import { listenHttp } from "../../src/server/middleware.ts";
import {
  aliasCommands,
  formatProxyConfig,
  installAlias,
  isListening,
  launchMetadataProxy,
  type MetadataProxy,
  parseProxyConfig,
  type ProxyInput,
  proxyArgv,
  ProxyUnavailableError,
  requestProxyStop,
  serveMetadataProxy,
  startMetadataProxy,
} from "../../src/server/proxy.ts";
import { Secret } from "../../src/util/secret.ts";
import { FakeBinDir, fakeRuntime } from "../support/fake-runtime.ts";
import { httpRequest } from "../support/http.ts";

const random = (n: number) => new Uint8Array(randomBytes(n));
const SECRET = new Secret("s3cret-s3cret-s3cret-s3cret-s3cret-0123");
const DOC = "/latest/meta-data/iam/security-credentials/local-credentials";
const bins = new FakeBinDir("aws-vault-proxy-test-");
const work = mkdtempSync(join(tmpdir(), "aws-vault-proxy-test-"));
afterAll(() => bins.cleanup());

function req(port: number, path: string, headers: Record<string, string> = {}, method = "GET") {
  return httpRequest(port, path, { headers, method });
}

async function ec2Server(secret = SECRET): Promise<Ec2Server> {
  return startEc2Server({
    provider: {
      kind: "assume-role",
      retrieve: async () => ({ accessKeyId: "ASIAPROXY", secretAccessKey: new Secret("x"), sessionToken: new Secret("y"), expiration: new Date(Date.now() + 3_600_000) }),
    },
    region: "us-east-1",
    now: () => new Date(),
    windowMs: 300_000,
    random,
    proxySecret: secret,
    log: undefined,
  });
}

describe("startMetadataProxy", () => {
  it("forwards with the secret, keeps the Host, and overrides a client's own secret header", async () => {
    const server = await ec2Server();
    const log: string[] = [];
    const proxy = await startMetadataProxy({ listenHost: "127.0.0.1", listenPort: 0, upstreamPort: server.port, secret: SECRET, log: (l) => log.push(l) });
    try {
      const ok = await req(proxy.port, DOC, { Host: "169.254.169.254" });
      expect(ok.status).toBe(200);
      expect(JSON.parse(ok.body).AccessKeyId).toBe("ASIAPROXY");
      expect(JSON.stringify(ok.headers)).not.toContain(SECRET.reveal());
      expect((await req(proxy.port, DOC, { Host: "169.254.169.254", "X-Aws-Vault-Proxy-Secret": "guess" })).status).toBe(200);
      // The server still applies its own Host check to proxied requests.
      expect((await req(proxy.port, DOC, { Host: "evil.example" })).status).toBe(401);
      // IMDSv2 through the proxy.
      const token = await req(proxy.port, "/latest/api/token", { Host: "169.254.169.254", "X-aws-ec2-metadata-token-ttl-seconds": "30" }, "PUT");
      expect(token.status).toBe(200);
      expect((await req(proxy.port, DOC, { Host: "169.254.169.254", "X-aws-ec2-metadata-token": token.body })).status).toBe(200);
      // Directly, the 169.254.169.254 Host is refused: only the proxy knows the secret.
      expect((await req(server.port, DOC, { Host: "169.254.169.254" })).status).toBe(401);
      expect(log).toContain(`http: GET ${DOC} 200`);
      expect(log.join("\n")).not.toContain(SECRET.reveal());
    } finally {
      await proxy.close();
      await server.close();
    }
  });

  it("stops only on POST /stop with X-Aws-Vault-Proxy: stop; an unreachable server is a 502", async () => {
    const proxy: MetadataProxy = await startMetadataProxy({ listenHost: "127.0.0.1", listenPort: 0, upstreamPort: 1, secret: SECRET, log: undefined });
    let stopped = false;
    void proxy.stopRequested.then(() => (stopped = true));
    try {
      expect((await req(proxy.port, DOC, { Host: "169.254.169.254" })).status).toBe(502);
      expect((await req(proxy.port, "/stop")).status).toBe(403);
      expect((await req(proxy.port, "/stop", {}, "POST")).status).toBe(403);
      await new Promise((r) => setImmediate(r));
      expect(stopped).toBe(false);
      expect(await requestProxyStop("127.0.0.1", proxy.port)).toBe(true);
      await proxy.stopRequested;
      expect(stopped).toBe(true);
    } finally {
      await proxy.close();
    }
    expect(await isListening("127.0.0.1", proxy.port)).toBe(false);
    expect(await requestProxyStop("127.0.0.1", proxy.port)).toBe(false);
  });
});

describe("network alias", () => {
  it("uses aws-vault's commands per OS", () => {
    expect(aliasCommands("linux")).toEqual({
      add: { cmd: "ip", args: ["addr", "add", "169.254.169.254/24", "dev", "lo", "label", "lo:0"] },
      remove: { cmd: "ip", args: ["addr", "del", "169.254.169.254/24", "dev", "lo", "label", "lo:0"] },
    });
    expect(aliasCommands("darwin")).toEqual({
      add: { cmd: "ifconfig", args: ["lo0", "alias", "169.254.169.254"] },
      remove: { cmd: "ifconfig", args: ["lo0", "-alias", "169.254.169.254"] },
    });
    expect(aliasCommands("win32").add).toEqual({
      cmd: "netsh",
      args: ["interface", "ipv4", "add", "address", "Loopback Pseudo-Interface 1", "169.254.169.254", "255.255.0.0"],
    });
  });

  function spawner(results: Array<Partial<OutputResult>>) {
    const calls: Array<{ cmd: string; args: string[]; opts: RunOptions }> = [];
    const rt = fakeRuntime({
      spawn: {
        output: async (cmd, args, opts) => {
          calls.push({ cmd, args, opts });
          return { code: 0, signal: null, stdout: "", stderr: "", ...(results.shift() ?? {}) };
        },
      },
    });
    return { spawn: rt.spawn, calls };
  }

  it("adds, then removes on shutdown", async () => {
    const s = spawner([{}, {}]);
    const remove = await installAlias(s.spawn, "linux", { PATH: "/usr/sbin" });
    expect(s.calls.map((c) => [c.cmd, c.args[1]])).toEqual([["ip", "add"]]);
    await remove();
    expect(s.calls.map((c) => [c.cmd, c.args[1]])).toEqual([["ip", "add"], ["ip", "del"]]);
  });

  it("leaves an alias that was already there", async () => {
    const s = spawner([{ code: 2, stderr: "RTNETLINK answers: File exists\n" }]);
    const remove = await installAlias(s.spawn, "linux", {});
    await remove();
    expect(s.calls).toHaveLength(1);
  });

  it("reports failures clearly, including Windows' elevation message", async () => {
    await expect(installAlias(spawner([{ code: 2, stderr: "RTNETLINK answers: Operation not permitted\n" }]).spawn, "linux", {})).rejects.toThrow(
      "RTNETLINK answers: Operation not permitted: ip exited with 2",
    );
    await expect(installAlias(spawner([{ code: 1, stdout: "Run as administrator (elevated)" }]).spawn, "win32", {})).rejects.toThrow(
      "Creation of network alias for server mode requires elevated permissions, run as administrator",
    );
  });
});

describe("proxy configuration on stdin", () => {
  it("round-trips the port and secret; the secret never appears in argv", () => {
    const line = formatProxyConfig(4242, SECRET);
    expect(line.endsWith("\n")).toBe(true);
    const c = parseProxyConfig(line.trim());
    expect(c.port).toBe(4242);
    expect(c.secret.reveal()).toBe(SECRET.reveal());
    expect(proxyArgv({ selfCommand: ["/bin/aws-vault"], isRoot: false, platform: "linux", sudo: "/usr/bin/sudo", debug: false }).join(" ")).not.toContain(
      SECRET.reveal(),
    );
  });

  it.each(["", "not json", "{}", '{"port":0,"secret":"' + "x".repeat(40) + '"}', '{"port":80,"secret":"short"}', '{"port":"80","secret":"' + "x".repeat(40) + '"}'])(
    "rejects %j",
    (line) => {
      expect(() => parseProxyConfig(line)).toThrow(UserError);
    },
  );
});

describe("proxyArgv", () => {
  const base = { selfCommand: ["/usr/bin/node", "/opt/aws-vault.mjs"], platform: "linux" as NodeJS.Platform, sudo: "/usr/bin/sudo", debug: false };
  it("uses sudo -n (never a password prompt) unless already root", () => {
    expect(proxyArgv({ ...base, isRoot: false })).toEqual(["/usr/bin/sudo", "-n", "/usr/bin/node", "/opt/aws-vault.mjs", "proxy"]);
    expect(proxyArgv({ ...base, isRoot: true, debug: true })).toEqual(["/usr/bin/node", "/opt/aws-vault.mjs", "--debug", "proxy"]);
    expect(proxyArgv({ ...base, isRoot: false, platform: "win32" })).toEqual(["/usr/bin/node", "/opt/aws-vault.mjs", "proxy"]);
  });
  it("without sudo, explains and hints", () => {
    expect(() => proxyArgv({ ...base, isRoot: false, sudo: undefined })).toThrow(ProxyUnavailableError);
    try {
      proxyArgv({ ...base, isRoot: false, sudo: undefined });
    } catch (e) {
      expect((e as ProxyUnavailableError).message).toBe("the EC2 metadata proxy needs root, and sudo is not installed");
      expect((e as ProxyUnavailableError).hints[0]).toMatch(/AWS_EC2_METADATA_SERVICE_ENDPOINT/);
    }
  });
});

describe("launchMetadataProxy", () => {
  // Stands in for `aws-vault proxy`: records its argv and config, says ready, exits on stdin EOF.
  const fakeProxy = join(work, "fake-proxy.mjs");
  writeFileSync(
    fakeProxy,
    `import { appendFileSync } from "node:fs";
const out = process.env.FAKE_PROXY_OUT;
appendFileSync(out, JSON.stringify({ argv: process.argv.slice(2) }) + "\\n");
let buf = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (d) => {
  buf += d;
  if (buf.includes("\\n") && process.env.FAKE_PROXY_MODE === "ok") {
    appendFileSync(out, buf);
    buf = "";
    process.stderr.write("proxy log line\\n");
    process.stdout.write("ready\\n");
  }
});
process.stdin.on("end", () => { appendFileSync(out, "stopped\\n"); process.exit(0); });
if (process.env.FAKE_PROXY_MODE === "fail") { process.stderr.write("aws-vault: error: proxy: Another process is already bound to 169.254.169.254:80\\n"); process.exit(1); }
`,
  );

  function options(mode: string, over: Partial<Parameters<typeof launchMetadataProxy>[0]> = {}) {
    const out = join(work, `out-${mode}-${Math.random().toString(36).slice(2)}`);
    const stderr: string[] = [];
    return {
      out,
      stderr,
      opts: {
        selfCommand: [process.execPath, fakeProxy],
        upstreamPort: 4321,
        secret: SECRET,
        isRoot: true,
        platform: "linux" as NodeJS.Platform,
        sudo: undefined,
        env: { PATH: process.env.PATH ?? "", FAKE_PROXY_OUT: out, FAKE_PROXY_MODE: mode },
        debug: false,
        onStderr: (t: string) => void stderr.push(t),
        timeoutMs: 5_000,
        ...over,
      },
    };
  }

  it("hands over the port and secret on stdin, waits for ready, and stops it by closing stdin", async () => {
    const { out, stderr, opts } = options("ok");
    const launched = await launchMetadataProxy(opts);
    const lines = readFileSync(out, "utf8").trim().split("\n");
    expect(JSON.parse(lines[0] as string).argv).toEqual(["proxy"]);
    expect(JSON.parse(lines[1] as string)).toEqual({ port: 4321, secret: SECRET.reveal() });
    expect(stderr.join("")).toBe("proxy log line\n");
    await launched.stop();
    expect(readFileSync(out, "utf8").trim().split("\n").at(-1)).toBe("stopped");
  });

  it("a proxy that exits reports its last error line, with hints; the exec carries on", async () => {
    const { opts } = options("fail");
    const err = await launchMetadataProxy(opts).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProxyUnavailableError);
    expect((err as Error).message).toBe(
      "the EC2 metadata proxy on 169.254.169.254:80 did not start: proxy: Another process is already bound to 169.254.169.254:80",
    );
  });

  it("sudo without a cached password fails at once (sudo -n) with a hint to run sudo -v", async () => {
    const sudo = bins.tool("sudo", { stderr: "sudo: a password is required\n", exitCode: 1 });
    const { opts } = options("ok", { isRoot: false, sudo });
    const err = (await launchMetadataProxy(opts).catch((e: unknown) => e)) as ProxyUnavailableError;
    expect(err).toBeInstanceOf(ProxyUnavailableError);
    expect(err.message).toBe("the EC2 metadata proxy on 169.254.169.254:80 did not start: sudo: a password is required");
    expect(err.hints[0]).toMatch(/sudo -v/);
    expect(bins.argv("sudo")).toEqual(["-n", process.execPath, fakeProxy, "proxy"]);
  });

  it("a proxy that never gets ready is stopped after the timeout", async () => {
    const { out, opts } = options("silent", { timeoutMs: 300 });
    const err = (await launchMetadataProxy(opts).catch((e: unknown) => e)) as Error;
    expect(err.message).toBe("the EC2 metadata proxy on 169.254.169.254:80 did not start in time");
    expect(readFileSync(out, "utf8")).toMatch(/stopped\n$/);
  });
});

describe("serveMetadataProxy (`aws-vault proxy`)", () => {
  function controlledInput(line: string) {
    let end: () => void = () => undefined;
    const input: ProxyInput = { firstLine: async () => line, ended: new Promise<void>((r) => (end = r)) };
    return { input, end: () => end() };
  }

  it("refuses to run without root, with a hint", async () => {
    const rt = fakeRuntime();
    const err = (await serveMetadataProxy(rt, { input: () => controlledInput("").input, isRoot: false }).catch((e: unknown) => e)) as UserError;
    expect(err.message).toBe("the EC2 metadata proxy must run as root to listen on 169.254.169.254:80");
    expect(err.hints.join("\n")).toMatch(/sudo -v/);
  });

  it("refuses to be run by hand from a terminal", async () => {
    const rt = fakeRuntime({ stdinIsTTY: true });
    let opened = false;
    await expect(
      serveMetadataProxy(rt, {
        input: () => ((opened = true), controlledInput("").input),
        isRoot: true,
      }),
    ).rejects.toThrow(/started by `aws-vault exec --ec2-server`/);
    expect(opened).toBe(false);
  });

  it("installs the alias, serves until stdin closes, then removes the alias and frees the port", async () => {
    const server = await ec2Server();
    const calls: string[] = [];
    const rt = fakeRuntime({
      spawn: {
        output: async (cmd, args) => {
          calls.push(`${cmd} ${args.join(" ")}`);
          return { code: 0, signal: null, stdout: "", stderr: "" };
        },
      },
    });
    const ctl = controlledInput(formatProxyConfig(server.port, SECRET).trim());
    const done = serveMetadataProxy(rt, { input: () => ctl.input, isRoot: true, listenHost: "127.0.0.1", listenPort: 0 });
    try {
      for (let i = 0; i < 100 && !rt.stdout.text.includes("ready"); i++) await new Promise((r) => setTimeout(r, 10));
      expect(rt.stdout.text).toBe("ready\n");
      expect(calls).toEqual(["ip addr add 127.0.0.1/24 dev lo label lo:0"]);
      const line = rt.log.messages.find((m) => m.startsWith("EC2 metadata proxy listening on")) ?? "";
      const port = Number(/127\.0\.0\.1:(\d+),/.exec(line)?.[1]);
      // Proxied requests name 169.254.169.254 in production; here the listener is 127.0.0.1.
      const r = await req(port, DOC, { Host: "169.254.169.254" });
      expect(r.status).toBe(200);
      ctl.end();
      expect(await done).toBe(0);
      expect(calls).toEqual(["ip addr add 127.0.0.1/24 dev lo label lo:0", "ip addr del 127.0.0.1/24 dev lo label lo:0"]);
      expect(await isListening("127.0.0.1", port)).toBe(false);
    } finally {
      ctl.end();
      await server.close();
    }
  });

  it("stops on SIGTERM; a busy address is reported as aws-vault does", async () => {
    const rt = fakeRuntime();
    const ctl = controlledInput(formatProxyConfig(1, SECRET).trim());
    const done = serveMetadataProxy(rt, { input: () => ctl.input, isRoot: true, listenHost: "127.0.0.1", listenPort: 0, manageAlias: false });
    for (let i = 0; i < 100 && !rt.stdout.text.includes("ready"); i++) await new Promise((r) => setTimeout(r, 10));
    expect(rt.emitSignal("SIGTERM")).toBe(1);
    expect(await done).toBe(0);

    const busy = await listenHttp((_q, s) => void s.end(), "127.0.0.1", 0);
    try {
      await expect(
        serveMetadataProxy(fakeRuntime(), { input: () => controlledInput(formatProxyConfig(1, SECRET).trim()).input, isRoot: true, listenHost: "127.0.0.1", listenPort: busy.port, manageAlias: false }),
      ).rejects.toThrow(`Another process is already bound to 127.0.0.1:${busy.port}`);
    } finally {
      await busy.close();
    }
    expect(existsSync(work)).toBe(true);
  });
});
