// moto_server (no signature checks) behind a loopback proxy that records each request's AWS action,
// shared by the benchmarks: they prove how many STS calls a measured run made.
import { spawn } from "node:child_process";
import http from "node:http";

function freePort() {
  return new Promise((ok, fail) => {
    const srv = http.createServer().listen(0, "127.0.0.1");
    srv.once("error", fail).once("listening", () => {
      const { port } = srv.address();
      srv.close(() => ok(port));
    });
  });
}

/** moto_server without signature checks, behind a proxy that counts STS actions. */
export async function startCountedMoto() {
  const port = await freePort();
  const env = { ...process.env };
  delete env.INITIAL_NO_AUTH_ACTION_COUNT;
  const child = spawn("moto_server", ["-H", "127.0.0.1", "-p", String(port)], { env, stdio: "ignore" });
  let failed = false;
  child.once("error", () => (failed = true));
  const url = `http://127.0.0.1:${port}`;
  let up = false;
  for (const deadline = Date.now() + 20_000; Date.now() < deadline && !failed && child.exitCode === null; ) {
    if (await fetch(`${url}/moto-api/`).then((r) => r.ok, () => false)) {
      up = true;
      break;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  if (!up) {
    child.kill("SIGKILL");
    throw new Error("moto_server did not start (is it installed and on PATH?)");
  }
  const actions = [];
  const proxy = http.createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      actions.push(new URLSearchParams(body.toString("utf8")).get("Action") ?? String(req.headers["x-amz-target"] ?? req.url));
      const upReq = http.request(
        { host: "127.0.0.1", port, method: req.method, path: req.url, headers: req.headers },
        (r) => (res.writeHead(r.statusCode ?? 502, r.headers), r.pipe(res)),
      );
      upReq.once("error", (e) => (res.writeHead(502), res.end(e.message)));
      upReq.end(body);
    });
  });
  const proxyPort = await freePort();
  await new Promise((ok) => proxy.listen(proxyPort, "127.0.0.1", ok));
  return {
    endpoint: `http://127.0.0.1:${proxyPort}`,
    actions,
    stop() {
      proxy.closeAllConnections();
      proxy.close();
      child.kill("SIGKILL");
    },
  };
}
