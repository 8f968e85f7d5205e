// Server hygiene shared by the ECS and EC2 servers and the proxy: loopback peers, the Host
// allow-list, constant-time secrets, a request log without headers, and ports that really close.
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import { connect, type Socket } from "node:net";
import { describe, expect, it } from "vitest";
import {
  isLoopbackAddress,
  listenHttp,
  printable,
  requestHeader,
  secretMatcher,
  type ServerRequest,
  withSecurityChecks,
} from "../../src/server/middleware.ts";
import { Secret } from "../../src/util/secret.ts";
import { httpRequest } from "../support/http.ts";

function get(port: number, path: string, headers: Record<string, string> = {}, agent: http.Agent | false = false) {
  return httpRequest(port, path, { headers, agent });
}

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: "127.0.0.1", port });
    s.once("connect", () => (s.destroy(), resolve(false)));
    s.once("error", () => resolve(true));
  });
}

/** A fake request/response pair for peers we cannot produce over real loopback sockets. */
function fakeExchange(remoteAddress: string, host = "127.0.0.1:1") {
  const req = { method: "GET", url: "/x?secret=1", headers: { host, authorization: "tok" }, socket: { remoteAddress, localAddress: "127.0.0.1" } };
  const res = {
    statusCode: 200,
    body: "",
    headers: {} as Record<string, string>,
    headersSent: false,
    listeners: [] as Array<() => void>,
    once(_e: string, f: () => void) {
      this.listeners.push(f);
      return this;
    },
    writeHead(status: number, headers: Record<string, string>) {
      this.statusCode = status;
      this.headers = headers;
      this.headersSent = true;
      return this;
    },
    end(body: string) {
      this.body = body;
      for (const f of this.listeners) f();
    },
  };
  return { req: req as unknown as IncomingMessage, res: res as unknown as ServerResponse & { body: string; headers: Record<string, string> } };
}

describe("isLoopbackAddress", () => {
  it.each([
    ["127.0.0.1", true],
    ["127.1.2.3", true],
    ["::1", true],
    ["::ffff:127.0.0.1", true],
    ["::FFFF:127.0.0.9", true],
    ["10.0.0.1", false],
    ["169.254.169.254", false],
    ["128.0.0.1", false],
    ["127.0.0.256", false],
    ["::ffff:10.0.0.1", false],
    ["", false],
    [undefined, false],
  ])("%s -> %s", (addr, expected) => {
    expect(isLoopbackAddress(addr)).toBe(expected);
  });
});

describe("isLoopbackAddress, asked again and again (it remembers the last loopback address)", () => {
  it("still refuses other addresses between answers for a remembered one", () => {
    for (const addr of ["127.0.0.1", "10.0.0.1", "127.0.0.1", "127.0.0.1x", "::ffff:10.0.0.1", "::1", "", "::1"]) {
      expect(isLoopbackAddress(addr), addr).toBe(addr === "127.0.0.1" || addr === "::1");
    }
  });
});

describe("secretMatcher", () => {
  const matches = secretMatcher(new Secret("correct-horse-battery-staple"));
  it("accepts exactly the secret, whatever the length of a wrong one", () => {
    expect(matches("correct-horse-battery-staple")).toBe(true);
    expect(matches("correct-horse-battery-stapl")).toBe(false);
    expect(matches("correct-horse-battery-staplee")).toBe(false);
    expect(matches("x")).toBe(false);
    expect(matches("")).toBe(false);
    expect(matches(undefined)).toBe(false);
    expect(matches(["correct-horse-battery-staple"])).toBe(false);
  });
  it("refuses a prefix or a wrong value after the right one (its buffer is reused between calls)", () => {
    expect(matches("correct-horse-battery-staple")).toBe(true);
    expect(matches("correct-horse")).toBe(false);
    expect(matches("correct-horse-battery-stapl")).toBe(false);
    expect(matches("correct-horse-battery-staplf")).toBe(false);
    expect(matches("correct-horse-battery-staple")).toBe(true);
  });
  it("compares UTF-8 bytes: a value of the same length in characters but not in bytes is refused", () => {
    const accented = secretMatcher(new Secret("caf\u00e9-token"));
    expect(accented("caf\u00e9-token")).toBe(true);
    expect(accented("cafe-token")).toBe(false);
    expect(accented("caf\u00e9-tokenx")).toBe(false);
    expect(accented("caf\u0100-token")).toBe(false);
    expect(matches("correct-horse-battery-stapl\u00e9")).toBe(false);
  });
});

describe("printable", () => {
  it("replaces control and non-ASCII characters and truncates", () => {
    expect(printable("evil\u0000.example\u00e9<b>")).toBe("evil?.example?<b>");
    expect(printable("a".repeat(300), 10)).toBe(`${"a".repeat(10)}...`);
  });
});

describe("requestHeader", () => {
  it("reads through header() where the request has one (Bun), else from the header map (node:http)", () => {
    const socket = { remoteAddress: "127.0.0.1" };
    const node: ServerRequest = { headers: { host: "a:1", "set-cookie": ["x", "y"] }, socket };
    expect(requestHeader(node, "host")).toBe("a:1");
    expect(requestHeader(node, "set-cookie")).toEqual(["x", "y"]);
    expect(requestHeader(node, "authorization")).toBeUndefined();
    const asked: string[] = [];
    const bun: ServerRequest = {
      get headers(): never {
        throw new Error("the map is not built");
      },
      header: (name) => (asked.push(name), name === "host" ? "b:2" : undefined),
      socket,
    };
    expect(requestHeader(bun, "host")).toBe("b:2");
    expect(requestHeader(bun, "authorization")).toBeUndefined();
    expect(asked).toEqual(["host", "authorization"]);
  });

  it("is what the Host check reads: header() wins over the map", () => {
    const h = withSecurityChecks((_req, res) => void res.end("ok"), { allowHost: (host) => host === "127.0.0.1:7", log: undefined });
    const { req, res } = fakeExchange("127.0.0.1", "attacker.test");
    void h(Object.assign(req, { header: (n: string) => (n === "host" ? "127.0.0.1:7" : undefined) }), res);
    expect(res.body).toBe("ok");
    const denied = fakeExchange("127.0.0.1", "127.0.0.1:7");
    void h(Object.assign(denied.req, { header: (n: string) => (n === "host" ? "Evil.Test" : undefined) }), denied.res);
    expect(denied.res.statusCode).toBe(401);
    expect(denied.res.body).toBe("Access denied for host 'Evil.Test'\n");
  });
});

describe("withSecurityChecks", () => {
  it("rejects peers that are not loopback with 401, before the Host check or the handler", () => {
    let called = false;
    const h = withSecurityChecks(() => void (called = true), { allowHost: () => true, log: undefined });
    const { req, res } = fakeExchange("192.168.1.20");
    void h(req, res);
    expect(res.statusCode).toBe(401);
    expect(res.body).toBe("Access denied from non-localhost address\n");
    expect(called).toBe(false);
  });

  it("answers 401 for a foreign Host as text/plain with the host made printable; logs method, path, status only", () => {
    const lines: string[] = [];
    const h = withSecurityChecks(() => undefined, { allowHost: (host) => host === "127.0.0.1:1", log: (l) => lines.push(l) });
    const { req, res } = fakeExchange("127.0.0.1", "<script>evil.example\u0007");
    void h(req, res);
    expect(res.statusCode).toBe(401);
    expect(res.headers["Content-Type"]).toBe("text/plain; charset=utf-8");
    expect(res.headers["X-Content-Type-Options"]).toBe("nosniff");
    expect(res.body).toBe("Access denied for host '<script>evil.example?'\n");
    expect(lines).toEqual(["http: GET /x 401"]);
  });

  it("serves real requests: Host matching is exact, a throwing handler gives a bare 500, the log has no headers", async () => {
    const lines: string[] = [];
    let port = 0;
    const server = await listenHttp(
      withSecurityChecks(
        (req, res) => {
          if (req.url === "/boom") throw new Error("secret detail");
          res.end("ok");
        },
        { allowHost: (h) => h === `127.0.0.1:${port}`, log: (l) => lines.push(l) },
      ),
      "127.0.0.1",
      0,
    );
    port = server.port;
    try {
      expect((await get(port, "/a?token=zzz", { Authorization: "hunter2" })).body).toBe("ok");
      expect((await get(port, "/", { Host: `127.0.0.1:${port + 1}` })).status).toBe(401);
      expect((await get(port, "/", { Host: `LOCALHOST:${port}` })).status).toBe(401);
      const boom = await get(port, "/boom");
      expect([boom.status, boom.body]).toEqual([500, "internal error\n"]);
      expect(lines).toEqual(["http: GET /a 200", "http: GET / 401", "http: GET / 401", "http: GET /boom 500"]);
      expect(lines.join("\n")).not.toMatch(/hunter2|zzz/);
    } finally {
      await server.close();
    }
  });
});

describe("listenHttp", () => {
  it("close() frees the port at once, even with an idle keep-alive connection open", async () => {
    const server = await listenHttp((_req, res) => void res.end("hi"), "127.0.0.1", 0);
    const agent = new http.Agent({ keepAlive: true });
    expect((await get(server.port, "/", {}, agent)).body).toBe("hi");
    await server.close();
    expect(await refused(server.port)).toBe(true);
    agent.destroy();
  });

  it("close() destroys a connection whose request is still in progress", async () => {
    // Node's server.close() drops idle keep-alive connections by itself; one with a request that
    // was never answered keeps the server (and its port) open until requestTimeout, unless close()
    // destroys it.
    let serverSide: Socket | undefined;
    let arrived!: () => void;
    const requestArrived = new Promise<void>((resolve) => (arrived = resolve));
    const server = await listenHttp((req) => {
      serverSide = req.socket;
      arrived();
    }, "127.0.0.1", 0);
    const client = connect({ host: "127.0.0.1", port: server.port });
    client.on("error", () => undefined);
    const clientClosed = new Promise<void>((resolve) => client.once("close", () => resolve()));
    client.write("GET /hang HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    await requestArrived;
    const closing = server.close();
    expect(serverSide?.destroyed).toBe(true);
    await closing;
    await clientClosed;
    expect(await refused(server.port)).toBe(true);
  });

  it("reports a busy port as the listen error", async () => {
    const a = await listenHttp((_req, res) => void res.end(), "127.0.0.1", 0);
    try {
      await expect(listenHttp((_req, res) => void res.end(), "127.0.0.1", a.port)).rejects.toMatchObject({ code: "EADDRINUSE" });
    } finally {
      await a.close();
    }
  });
});
