// Credential-server benchmark: for each artifact, starts `aws-vault exec --ecs-server --lazy` against
// moto (loopback only) and drives its ECS endpoint with wrk (50 keep-alive connections), alternating
// with a minimal server in the same runtime (bench/minimal-server.mjs: same Authorization check, same
// JSON body). Reports requests/s and p99 latency of both and their ratios. It checks correctness,
// not speed: every answer must be a 200 (wrk counts non-2xx), the body the credentials, and each
// aws-vault server must make exactly one STS call (counted by a proxy in front of moto). No timing
// assertions.
//
//   node bench/servers.mjs [--seconds 5] [--connections 50] [--rounds 3] [--dist DIR] [--artifacts node,bun]
//
// (after `node scripts/build.mjs [--outdir DIR]`; DIR defaults to $AWS_VAULT_DIST or dist/). Needs
// wrk on PATH (Debian: apt-get install wrk). bench/run.mjs calls `benchServers(opts)`, which returns
// rows { case, artifact, kind: "server", rps, p99Ms, baseRps, baseP99Ms, rpsRatio, p99Ratio, stsCalls, ... }.
import { startCountedMoto } from "./moto.mjs";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

const root = resolve(import.meta.dirname, "..");
const ROLE_ARN = "arn:aws:iam::123456789012:role/admin";

export function artifactsIn(dist) {
  return [
    { name: "node", argv: [process.execPath, join(dist, "aws-vault.mjs")], runtime: [process.execPath] },
    { name: "bun", argv: [join(dist, "aws-vault")], runtime: [join(root, "node_modules/.bin/bun")] },
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

/** The minimal server of a runtime; resolves with its URL once it listens. */
function startMinimal(runtime, token, body) {
  const child = spawn(runtime[0], [...runtime.slice(1), join(root, "bench/minimal-server.mjs")], {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", BENCH_TOKEN: token, BENCH_BODY: body },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const exited = new Promise((ok) => child.once("close", ok));
  const ready = new Promise((ok, fail) => {
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (d) => {
      out += d;
      if (out.includes("\n")) ok({ url: `http://127.0.0.1:${out.trim()}` });
    });
    exited.then((code) => fail(new Error(`minimal server exited (${code})`)));
  });
  return { child, ready, exited };
}

async function stop(srv) {
  srv.child.kill("SIGTERM");
  await Promise.race([srv.exited, new Promise((ok) => setTimeout(ok, 3_000))]);
  srv.child.kill("SIGKILL");
}

async function fetchOnce(url, token) {
  const r = await fetch(url, { headers: { Authorization: token } });
  return { status: r.status, body: await r.text() };
}

const UNIT_MS = { us: 1e-3, ms: 1, s: 1e3 };

/** One wrk run; the token goes in a 0600 Lua script, not on wrk's command line. */
function wrk(url, scriptPath, seconds, connections) {
  return new Promise((ok, fail) => {
    const child = spawn("wrk", ["-t1", `-c${connections}`, `-d${seconds}s`, "--latency", "-s", scriptPath, `${url}/`], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (d) => (out += d));
    child.stderr.setEncoding("utf8").on("data", (d) => (out += d));
    child.once("error", (e) => fail(new Error(`wrk could not start (${e.message}): install it (apt-get install wrk)`)));
    child.once("close", (code) => {
      const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
      const p99 = /^\s+99%\s+([\d.]+)(us|ms|s)\s*$/m.exec(out);
      const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
      const requests = Number(/(\d+) requests in/.exec(out)?.[1]);
      if (code !== 0 || !rps || !p99) return fail(new Error(`wrk failed (exit ${code}): ${out}`));
      ok({ rps, p99Ms: Number(p99[1]) * UNIT_MS[p99[2]], non2xx, requests, socketErrors: /Socket errors: (.*)/.exec(out)?.[1] });
    });
  });
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/**
 * Runs the ECS-server load for each artifact against its minimal server. Options: dist, artifacts
 * (names), seconds, connections, rounds (alternating runs of each), log. Returns one row per
 * artifact; throws if any answer was wrong.
 */
export async function benchServers(opts = {}) {
  const dist = resolve(opts.dist ?? process.env.AWS_VAULT_DIST ?? join(root, "dist"));
  const seconds = opts.seconds ?? 5;
  const connections = opts.connections ?? 50;
  const rounds = opts.rounds ?? 3;
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
      let minimal;
      try {
        const { url, token } = await srv.ready;
        const first = await fetchOnce(url, token);
        if (first.status !== 200 || !JSON.parse(first.body).AccessKeyId) throw new Error(`${a.name}: bad answer ${first.status}`);
        minimal = startMinimal(a.runtime, token, first.body);
        const base = await minimal.ready;
        const script = join(home, `auth-${a.name}.lua`);
        writeFileSync(script, `wrk.headers["Authorization"] = ${JSON.stringify(token)}\n`, { mode: 0o600 });
        const runs = { server: [], minimal: [] };
        for (let round = 0; round < rounds; round++) {
          for (const [which, target] of round % 2 ? [["minimal", base.url], ["server", url]] : [["server", url], ["minimal", base.url]]) {
            log(`${a.name}: ${which} round ${round + 1}/${rounds}`);
            const r = await wrk(target, script, seconds, connections);
            if (r.non2xx) throw new Error(`${a.name} ${which}: ${r.non2xx} of ${r.requests} answers were not 200`);
            runs[which].push(r);
          }
        }
        const last = await fetchOnce(url, token);
        if (last.body !== first.body) throw new Error(`${a.name}: the server answered different credentials under load`);
        const stsCalls = moto.actions.filter((x) => ["AssumeRole", "GetSessionToken"].includes(x)).length;
        if (stsCalls !== 1) throw new Error(`${a.name}: expected 1 STS call, moto saw [${moto.actions}]`);
        const rps = median(runs.server.map((r) => r.rps));
        const p99Ms = median(runs.server.map((r) => r.p99Ms));
        const baseRps = median(runs.minimal.map((r) => r.rps));
        const baseP99Ms = median(runs.minimal.map((r) => r.p99Ms));
        rows.push({
          case: "ecs-server", artifact: a.name, kind: "server", connections, seconds, rounds,
          rps, p99Ms, baseRps, baseP99Ms, rpsRatio: rps / baseRps, p99Ratio: p99Ms / baseP99Ms, stsCalls,
          socketErrors: [...runs.server, ...runs.minimal].map((r) => r.socketErrors).filter(Boolean),
        });
      } finally {
        if (minimal) await stop(minimal);
        await stop(srv);
      }
    }
  } finally {
    moto.stop();
    rmSync(home, { recursive: true, force: true });
  }
  return rows;
}

export function printServerTable(rows) {
  const head = ["case", "artifact", "req/s", "minimal req/s", "ratio (goal >= 0.7x)", "p99 ms", "minimal p99 ms", "ratio (goal <= 1.5x)", "STS calls"];
  const body = rows.map((r) => [
    r.case, r.artifact, r.rps.toFixed(0), r.baseRps.toFixed(0), `${r.rpsRatio.toFixed(2)}x`,
    r.p99Ms.toFixed(2), r.baseP99Ms.toFixed(2), `${r.p99Ratio.toFixed(2)}x`, String(r.stsCalls),
  ]);
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
      seconds: num("--seconds"),
      connections: num("--connections"),
      rounds: num("--rounds"),
      log: (m) => process.stderr.write(`${m}\n`),
    });
    console.log("aws-vault credential server benchmark (ECS endpoint, wrk with keep-alive connections)\n");
    printServerTable(rows);
  } catch (err) {
    console.error(`\nbench FAILED: ${err?.message ?? err}`);
    process.exitCode = 1;
  }
}
