// Credential-server benchmark: for each artifact, starts `aws-vault exec --ecs-server --lazy` against
// moto (loopback only), fires N requests from C concurrent keep-alive clients at the ECS endpoint and
// reports requests/s with p50/p99 latency. It checks correctness, not speed: every answer must be a
// 200 with the same credentials, and each server must make exactly one STS call (counted by a proxy
// in front of moto). No timing assertions.
//
//   node bench/servers.mjs [--requests 10000] [--clients 50] [--warmup 500] [--dist DIR] [--artifacts node,bun]
//
// (after `node scripts/build.mjs [--outdir DIR]`; DIR defaults to $AWS_VAULT_DIST or dist/).
// bench/run.mjs can call `benchServers(opts)`, which returns rows
// { case, artifact, kind: "server", requests, clients, seconds, rps, p50Ms, p99Ms, stsCalls }.
import { startCountedMoto } from "./moto.mjs";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

const root = resolve(import.meta.dirname, "..");
const ROLE_ARN = "arn:aws:iam::123456789012:role/admin";

export function artifactsIn(dist) {
  return [
    { name: "node", argv: [process.execPath, join(dist, "aws-vault.mjs")] },
    { name: "bun", argv: [join(dist, "aws-vault")] },
  ];
}

function runOnce(argv, env) {
  return new Promise((ok, fail) => {
    const child = spawn(argv[0], argv.slice(1), { env, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (d) => (stderr += d));
    child.stdout.resume();
    child.once("error", fail);
    child.once("close", (code) => ok({ code, stderr }));
  });
}

/** Starts exec --ecs-server whose child prints the endpoint and token, then sleeps until killed. */
function startServer(argv, env) {
  const child = spawn(
    argv[0],
    [...argv.slice(1), "exec", "--ecs-server", "--lazy", "admin", "--", "sh", "-c",
      'echo "$AWS_CONTAINER_CREDENTIALS_FULL_URI $AWS_CONTAINER_AUTHORIZATION_TOKEN"; exec sleep 600'],
    { env, stdio: ["ignore", "pipe", "pipe"] },
  );
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (d) => (stderr += d));
  const exited = new Promise((ok) => child.once("close", (code) => ok(code)));
  const ready = new Promise((ok, fail) => {
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (d) => {
      out += d;
      const nl = out.indexOf("\n");
      if (nl !== -1) {
        const [url, token] = out.slice(0, nl).split(" ");
        ok({ url, token });
      }
    });
    exited.then((code) => fail(new Error(`exec --ecs-server exited (${code}) before serving: ${stderr}`)));
  });
  return { child, ready, exited };
}

function get(url, token, agent) {
  return new Promise((ok, fail) => {
    const req = http.request(url, { headers: { Authorization: token }, agent }, (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (d) => (body += d));
      res.on("end", () => ok({ status: res.statusCode, body }));
    });
    req.once("error", fail);
    req.end();
  });
}

/** N requests from C clients (each its own keep-alive connection); per-request latency in ms. */
async function load(url, token, requests, clients) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
  const latencies = new Float64Array(requests);
  const bodies = new Map();
  let next = 0;
  let bad = 0;
  const t0 = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      for (let i = next++; i < requests; i = next++) {
        const s = process.hrtime.bigint();
        const r = await get(url, token, agent);
        latencies[i] = Number(process.hrtime.bigint() - s) / 1e6;
        if (r.status !== 200) bad++;
        bodies.set(r.body, (bodies.get(r.body) ?? 0) + 1);
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  agent.destroy();
  return { latencies, seconds, bad, bodies };
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}

/**
 * Runs the ECS-server load for each artifact. Options: dist, artifacts (names), requests, clients,
 * warmup, log (progress sink). Returns one row per artifact; throws if any answer was wrong.
 */
export async function benchServers(opts = {}) {
  const dist = resolve(opts.dist ?? process.env.AWS_VAULT_DIST ?? join(root, "dist"));
  const requests = opts.requests ?? 10_000;
  const clients = opts.clients ?? 50;
  const warmup = opts.warmup ?? 500;
  const log = opts.log ?? (() => undefined);
  const artifacts = artifactsIn(dist).filter((a) => !opts.artifacts || opts.artifacts.includes(a.name));
  for (const a of artifacts) if (!existsSync(a.argv.at(-1))) throw new Error(`${a.argv.at(-1)} is missing: build first`);

  const moto = await startCountedMoto();
  const home = mkdtempSync(join(tmpdir(), "aws-vault-bench-servers-"));
  const rows = [];
  try {
    mkdirSync(join(home, ".aws"), { recursive: true });
    const configFile = join(home, ".aws", "config");
    const env = {
      PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: home, LANG: "C.UTF-8",
      AWS_CONFIG_FILE: configFile, AWS_SHARED_CREDENTIALS_FILE: join(home, "no-credentials-file"),
      AWS_VAULT_BACKEND: "file", AWS_VAULT_FILE_PASSPHRASE: "bench-passphrase",
      AWS_EC2_METADATA_DISABLED: "true", AWS_ENDPOINT_URL: moto.endpoint, AWS_DEFAULT_REGION: "us-east-1",
    };
    const keyId = `AKIA${randomBytes(16).toString("hex").toUpperCase().replace(/[^A-Z2-7]/g, "Q").slice(0, 16)}`;
    const added = await runOnce([...artifacts[0].argv, "add", "--env", "alice"], {
      ...env, AWS_ACCESS_KEY_ID: keyId, AWS_SECRET_ACCESS_KEY: randomBytes(30).toString("base64"),
    });
    if (added.code !== 0) throw new Error(`setup: add failed: ${added.stderr}`);
    appendFileSync(configFile, `region = us-east-1\n\n[profile admin]\nsource_profile = alice\nrole_arn = ${ROLE_ARN}\n`);

    for (const a of artifacts) {
      moto.actions.length = 0;
      log(`${a.name}: starting exec --ecs-server`);
      const srv = startServer(a.argv, env);
      try {
        const { url, token } = await srv.ready;
        if (warmup > 0) await load(url, token, warmup, clients);
        log(`${a.name}: ${requests} requests from ${clients} clients`);
        const r = await load(url, token, requests, clients);
        const stsCalls = moto.actions.filter((x) => ["AssumeRole", "GetSessionToken"].includes(x)).length;
        if (r.bad) throw new Error(`${a.name}: ${r.bad} of ${requests} requests failed`);
        if (r.bodies.size !== 1) throw new Error(`${a.name}: ${r.bodies.size} different answers (expected 1)`);
        if (!JSON.parse([...r.bodies.keys()][0]).AccessKeyId) throw new Error(`${a.name}: no AccessKeyId in the answer`);
        if (stsCalls !== 1) throw new Error(`${a.name}: expected 1 STS call, moto saw [${moto.actions}]`);
        const sorted = [...r.latencies].sort((x, y) => x - y);
        rows.push({
          case: "ecs-server", artifact: a.name, kind: "server", requests, clients,
          seconds: r.seconds, rps: requests / r.seconds, p50Ms: percentile(sorted, 0.5), p99Ms: percentile(sorted, 0.99), stsCalls,
        });
      } finally {
        srv.child.kill("SIGTERM");
        await Promise.race([srv.exited, new Promise((ok) => setTimeout(ok, 3_000))]);
        srv.child.kill("SIGKILL");
      }
    }
  } finally {
    moto.stop();
    rmSync(home, { recursive: true, force: true });
  }
  return rows;
}

export function printServerTable(rows) {
  const head = ["case", "artifact", "requests", "clients", "req/s", "p50 ms", "p99 ms", "STS calls"];
  const body = rows.map((r) => [r.case, r.artifact, String(r.requests), String(r.clients), r.rps.toFixed(0), r.p50Ms.toFixed(2), r.p99Ms.toFixed(2), String(r.stsCalls)]);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells) => cells.map((c, i) => (i < 2 ? c.padEnd(w[i]) : c.padStart(w[i]))).join("  ");
  console.log([line(head), w.map((n) => "-".repeat(n)).join("  "), ...body.map(line)].join("\n"));
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const args = process.argv.slice(2);
  const opt = (name) => {
    const i = args.indexOf(name);
    return i === -1 ? undefined : args[i + 1];
  };
  const num = (name) => {
    const v = opt(name);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new Error(`${name} needs a non-negative integer`);
    return n;
  };
  try {
    const rows = await benchServers({
      dist: opt("--dist"),
      artifacts: opt("--artifacts")?.split(","),
      requests: num("--requests"),
      clients: num("--clients"),
      warmup: num("--warmup"),
      log: (m) => process.stderr.write(`${m}\n`),
    });
    console.log("aws-vault credential server benchmark (ECS endpoint, keep-alive clients in one Node process)\n");
    printServerTable(rows);
  } catch (err) {
    console.error(`\nbench FAILED: ${err?.message ?? err}`);
    process.exitCode = 1;
  }
}
