// bun-http.ts under Node, with a stand-in for Bun.serve: the Response each request gets (prepared
// replies, headers set before them, the async path) and the request as the handlers see it.
import { describe, expect, it } from "vitest";
import { listenBun } from "../../src/server/bun-http.ts";
import { type CredentialHandler, prepareJson, sendJson, sendPrepared, type ServerRequest } from "../../src/server/middleware.ts";

type Fetch = (request: Request, server: unknown) => Response | Promise<Response>;

async function fakeBun(handler: CredentialHandler): Promise<{ fetch(r: Request): Promise<Response>; timeouts: number }> {
  let fetch: Fetch | undefined;
  const state = { timeouts: 0 };
  const srv = {
    port: 4321,
    requestIP: () => ({ address: "127.0.0.1" }),
    timeout: () => void state.timeouts++,
    stop: () => undefined,
  };
  const serve = (o: { fetch: Fetch }) => {
    fetch = o.fetch;
    return srv;
  };
  await listenBun(serve as unknown as Parameters<typeof listenBun>[0], handler, "127.0.0.1", 0);
  return {
    fetch: async (r) => (fetch as Fetch)(r, srv),
    get timeouts() {
      return state.timeouts;
    },
  };
}

const headersOf = (r: Response) => Object.fromEntries(r.headers);

describe("listenBun", () => {
  it("sends a prepared reply with all its headers, as a new Response each time, like sendJson", async () => {
    const prepared = prepareJson(200, '{"A":"é"}\n');
    const bun = await fakeBun((req, res) => (req.url === "/prepared" ? sendPrepared(res, prepared) : sendJson(res, 200, prepared.body)));
    const a = await bun.fetch(new Request("http://127.0.0.1:4321/prepared"));
    const b = await bun.fetch(new Request("http://127.0.0.1:4321/prepared"));
    const plain = await bun.fetch(new Request("http://127.0.0.1:4321/plain"));
    expect(a).not.toBe(b);
    for (const r of [a, b, plain]) {
      expect(r.status).toBe(200);
      expect(headersOf(r)).toEqual({
        "cache-control": "no-store",
        "content-length": String(Buffer.byteLength(prepared.body)),
        "content-type": "application/json",
        "x-content-type-options": "nosniff",
      });
      expect(await r.text()).toBe(prepared.body);
    }
  });

  it("answers each prepared reply with its own body and length (new credentials, new reply)", async () => {
    const replies = [prepareJson(200, '{"AccessKeyId":"ASIAOLD"}\n'), prepareJson(200, '{"AccessKeyId":"ASIANEWER"}\n')];
    let current = 0;
    const bun = await fakeBun((_req, res) => sendPrepared(res, replies[current] as ReturnType<typeof prepareJson>));
    for (const which of [0, 1, 1, 0]) {
      current = which;
      const r = await bun.fetch(new Request("http://127.0.0.1:4321/"));
      const body = (replies[which] as ReturnType<typeof prepareJson>).body;
      expect(await r.text()).toBe(body);
      expect(r.headers.get("content-length")).toBe(String(body.length));
    }
  });

  it("keeps headers set before a prepared reply, and answers a late reply through the async path", async () => {
    const prepared = prepareJson(405, "{}\n");
    const bun = await fakeBun(async (_req, res) => {
      await new Promise((r) => setTimeout(r, 5));
      res.setHeader("Allow", "GET, HEAD");
      sendPrepared(res, prepared);
    });
    const r = await bun.fetch(new Request("http://127.0.0.1:4321/"));
    expect(r.status).toBe(405);
    expect(r.headers.get("allow")).toBe("GET, HEAD");
    expect(r.headers.get("content-type")).toBe("application/json");
    expect(bun.timeouts).toBe(1);
    expect(prepared.headers).not.toHaveProperty("Allow");
  });

  it("presents the request as node:http does: target path, lower-case header map, peer and local address", async () => {
    const seen: ServerRequest[] = [];
    const bun = await fakeBun((req, res) => {
      seen.push(req);
      sendJson(res, 200, "{}\n");
    });
    const headers = new Headers([["Authorization", "tok"], ["X-Twice", "a"], ["X-Twice", "b"]]);
    await bun.fetch(new Request("http://127.0.0.1:4321/role-arn/x?y=1", { headers }));
    // Bun's Headers has toJSON (native); the same map either way.
    const native = new Request("http://127.0.0.1:4321/", { headers });
    Object.defineProperty(native.headers, "toJSON", { value: () => ({ authorization: "from-toJSON" }) });
    await bun.fetch(native);
    expect(seen[0]?.url).toBe("/role-arn/x?y=1");
    expect(seen[0]?.method).toBe("GET");
    expect({ ...seen[0]?.headers }).toEqual({ authorization: "tok", "x-twice": "a, b" });
    expect(seen[0]?.socket).toEqual({ remoteAddress: "127.0.0.1", localAddress: "127.0.0.1" });
    expect(seen[1]?.headers.authorization).toBe("from-toJSON");
    // One header without the map, with the same joined value for a repeated one.
    expect(seen[0]?.header?.("authorization")).toBe("tok");
    expect(seen[0]?.header?.("x-twice")).toBe("a, b");
    expect(seen[0]?.header?.("x-absent")).toBeUndefined();
  });
});
