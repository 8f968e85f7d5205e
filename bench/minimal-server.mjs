// The baseline of the credential-server rows: the smallest server that does the same job in the
// same runtime. It checks the same Authorization header (string equality) and answers the same JSON
// body, with the runtime's natural HTTP server (Bun.serve under Bun, node:http under Node).
// Usage: BENCH_TOKEN=... BENCH_BODY=... <runtime> bench/minimal-server.mjs; prints the port.
import http from "node:http";

const token = process.env.BENCH_TOKEN ?? "";
const body = process.env.BENCH_BODY ?? "";
const denied = '{"Message":"invalid Authorization token"}\n';

if (typeof globalThis.Bun !== "undefined") {
  const server = globalThis.Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req) {
      if (req.headers.get("authorization") !== token) return new Response(denied, { status: 403 });
      return new Response(body, { headers: { "Content-Type": "application/json" } });
    },
  });
  console.log(server.port);
} else {
  const server = http.createServer((req, res) => {
    if (req.headers.authorization !== token) {
      res.writeHead(403).end(denied);
      return;
    }
    res.writeHead(200, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) }).end(body);
  });
  server.keepAliveTimeout = 5_000;
  server.listen(0, "127.0.0.1", () => console.log(server.address().port));
}
