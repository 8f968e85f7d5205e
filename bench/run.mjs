// One-command benchmark for both artifacts (`npm run bench`, or `node bench/run.mjs [--runs N] [--warmup N]`
// after `node scripts/build.mjs`). Measures whole-process wall time of the real CLI, interleaved round-robin
// with a `node -e 0` baseline measured in the same run. Prints a table and writes bench/results/latest.json.
// It reports numbers only: there are no timing assertions. It fails (exit 1) only when a run is incorrect
// (non-zero exit, wrong output, or a network call during a "cached" run).
//
// Adding a case: append an object to CASES below. A "process" case is timed once per artifact per round:
//   { id, what, kind: "process", args: (fx) => [...argv after the binary], check: (result, fx) => errorString|undefined }
// Other kinds (e.g. a future credential-server case reporting requests/s with p50/p99 latency) get their own
// runner in RUNNERS; each runner returns rows { case, artifact, kind, ...metrics } that land in the JSON file.
import { startCountedMoto } from "./moto.mjs";
import { benchServers, printServerTable } from "./servers.mjs";
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dirname, "..");
const PROFILES = 20;
const CACHED_PROFILE = "profile-01";

const args = process.argv.slice(2);
const flag = (name, dflt) => {
  const i = args.indexOf(name);
  if (i === -1) return dflt;
  const n = Number(args[i + 1]);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} needs a non-negative integer`);
  return n;
};
const RUNS = Math.max(1, flag("--runs", 20));
const SERVER_REQUESTS = Math.max(100, flag("--server-requests", 10_000));
const WARMUP = flag("--warmup", 3);

const ARTIFACTS = [
  { name: "node", argv: [process.execPath, join(root, "dist/aws-vault.mjs")] },
  { name: "bun", argv: [join(root, "dist/aws-vault")] },
];
const BASELINE = { case: "baseline", artifact: "node -e 0", argv: [process.execPath, "-e", "0"] };

const CASES = [
  {
    id: "version",
    what: "aws-vault --version (startup + argument parsing)",
    kind: "process",
    args: () => ["--version"],
    check: (r) => (/^v\d/.test(r.stdout + r.stderr) ? undefined : "no version printed"),
  },
  {
    id: `list (${PROFILES} profiles)`,
    what: `aws-vault list: ${PROFILES}-profile config, file keyring with ${PROFILES} stored credentials`,
    kind: "process",
    args: () => ["list"],
    check: (r) => {
      const rows = r.stdout.match(/^profile-\d+ +profile-\d+ /gm) ?? [];
      return rows.length === PROFILES ? undefined : `expected ${PROFILES} profiles with credentials, saw ${rows.length}`;
    },
  },
  {
    id: "export (cached)",
    what: `aws-vault export --format json ${CACHED_PROFILE}: GetSessionToken session served from the keyring cache`,
    kind: "process",
    args: () => ["export", "--format", "json", CACHED_PROFILE],
    check: (r) => {
      try {
        return JSON.parse(r.stdout).AccessKeyId ? undefined : "no AccessKeyId in output";
      } catch {
        return "output is not JSON";
      }
    },
  },
  {
    id: "export (cached, agent)",
    what: `the same export through an unlocked file keyring agent (no AWS_VAULT_FILE_PASSPHRASE in the environment)`,
    kind: "process",
    args: () => ["export", "--format", "json", CACHED_PROFILE],
    env: (fx) => fx.agentEnv,
    check: (r) => {
      try {
        return JSON.parse(r.stdout).AccessKeyId ? undefined : "no AccessKeyId in output";
      } catch {
        return "output is not JSON";
      }
    },
  },
];

// ---------- helpers ----------

/** Runs argv to completion; resolves with wall time (spawn -> exit and stdio closed) and output. */
function runOnce(argv, env) {
  return new Promise((ok, fail) => {
    const start = process.hrtime.bigint();
    const child = spawn(argv[0], argv.slice(1), { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.once("error", fail);
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      ok({ ms: Number(process.hrtime.bigint() - start) / 1e6, code, signal, stdout, stderr });
    });
  });
}

function stats(samples) {
  const s = [...samples].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
  const p90 = s[Math.max(0, Math.ceil(0.9 * s.length) - 1)];
  return { medianMs: median, p90Ms: p90, minMs: s[0], maxMs: s.at(-1) };
}

const fakeKeyId = () => `AKIA${randomBytes(16).toString("hex").toUpperCase().replace(/[^A-Z2-7]/g, "Q").slice(0, 16)}`;
const fakeSecret = () => randomBytes(30).toString("base64");

/** Throw-away HOME: 20-profile config, file keyring with 20 stored credentials, one cached session. */
async function setupFixture(ctx) {
  const home = (ctx.home = mkdtempSync(join(tmpdir(), "aws-vault-bench-")));
  const moto = (ctx.moto = await startCountedMoto());
  const configFile = join(home, "aws-config");
  const names = Array.from({ length: PROFILES }, (_, i) => `profile-${String(i + 1).padStart(2, "0")}`);
  writeFileSync(configFile, names.map((n) => `[profile ${n}]\nregion = us-east-1\n`).join("\n"));
  ctx.env = {
    PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: home, LANG: "C.UTF-8",
    AWS_CONFIG_FILE: configFile, AWS_SHARED_CREDENTIALS_FILE: join(home, "no-credentials-file"),
    AWS_VAULT_BACKEND: "file", AWS_VAULT_FILE_DIR: join(home, "keys"), AWS_VAULT_FILE_PASSPHRASE: "bench-passphrase",
    AWS_EC2_METADATA_DISABLED: "true", AWS_ENDPOINT_URL: moto.endpoint,
  };
  const must = async (argv, env = ctx.env) => {
    const r = await runOnce(argv, env);
    if (r.code !== 0) throw new Error(`setup: ${argv.slice(1).join(" ")} failed (exit ${r.code}): ${r.stderr}`);
  };
  const [node] = ARTIFACTS;
  for (const n of names) {
    await must([...node.argv, "add", "--env", n], { ...ctx.env, AWS_ACCESS_KEY_ID: fakeKeyId(), AWS_SECRET_ACCESS_KEY: fakeSecret() });
  }
  await must([...node.argv, "export", "--format", "json", CACHED_PROFILE]); // primes the session cache
  const sts = moto.actions.filter((a) => a === "GetSessionToken").length;
  if (sts !== 1) throw new Error(`priming the cache: expected 1 GetSessionToken, saw [${moto.actions}]`);
  moto.actions.length = 0;
  // An agent unlocked for the fixture's keyring, on a socket of its own (stopped in cleanup()).
  const { AWS_VAULT_FILE_PASSPHRASE: _, ...withoutPassphrase } = ctx.env;
  ctx.agentEnv = { ...withoutPassphrase, AWS_VAULT_AGENT_SOCK: join(home, "agent", "agent.sock") };
  await must([...node.argv, "unlock"], { ...ctx.agentEnv, AWS_VAULT_FILE_PASSPHRASE: ctx.env.AWS_VAULT_FILE_PASSPHRASE });
  ctx.agentStarted = true;
}

// ---------- runners ----------

async function runProcessCases(ctx, cases) {
  const jobs = [
    { ...BASELINE, env: ctx.env },
    ...cases.flatMap((c) =>
      ARTIFACTS.map((a) => ({ case: c.id, artifact: a.name, argv: [...a.argv, ...c.args(ctx)], check: c.check, env: c.env?.(ctx) ?? ctx.env })),
    ),
  ];
  for (const j of jobs) j.samples = [];
  const rounds = WARMUP + RUNS;
  for (let round = 0; round < rounds; round++) {
    if (process.stderr.isTTY) process.stderr.write(`\r${round < WARMUP ? "warm-up" : "measuring"} round ${round + 1}/${rounds} `);
    for (let k = 0; k < jobs.length; k++) {
      const job = jobs[(k + round) % jobs.length]; // rotate the order every round to spread drift
      const r = await runOnce(job.argv, job.env);
      const problem = r.code !== 0 ? `exit ${r.code ?? r.signal}: ${r.stderr.trim()}` : job.check?.(r, ctx);
      if (problem) throw new Error(`${job.case} [${job.artifact}]: ${problem}`);
      if (round >= WARMUP) job.samples.push(r.ms);
    }
  }
  if (process.stderr.isTTY) process.stderr.write("\n");
  if (ctx.moto.actions.length) {
    throw new Error(`timed runs must not call AWS (the cache should answer), but the endpoint saw: ${ctx.moto.actions.join(", ")}`);
  }
  const base = stats(jobs[0].samples).medianMs;
  return jobs.map((j) => {
    const s = stats(j.samples);
    return { case: j.case, artifact: j.artifact, kind: "process", runs: j.samples.length, ...s, ratio: s.medianMs / base, samplesMs: j.samples };
  });
}

const RUNNERS = { process: runProcessCases };

function printTable(rows) {
  const head = ["case", "artifact", "median ms", "p90 ms", "ratio vs node -e 0"];
  const body = rows.map((r) => [r.case, r.artifact, r.medianMs.toFixed(1), r.p90Ms.toFixed(1), `${r.ratio.toFixed(2)}x`]);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells) => cells.map((c, i) => (i < 2 ? c.padEnd(w[i]) : c.padStart(w[i]))).join("  ");
  console.log([line(head), w.map((n) => "-".repeat(n)).join("  "), ...body.map(line)].join("\n"));
}

// ---------- main ----------

const ctx = {};
function cleanup() {
  if (ctx.agentStarted) spawnSync(process.execPath, [join(root, "dist/aws-vault.mjs"), "agent", "stop"], { env: ctx.agentEnv, stdio: "ignore" });
  ctx.moto?.stop();
  if (ctx.home) rmSync(ctx.home, { recursive: true, force: true });
}
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => (cleanup(), process.exit(130)));
try {
  for (const a of ARTIFACTS) {
    if (!existsSync(a.argv.at(-1))) throw new Error(`${a.argv.at(-1)} is missing: run \`node scripts/build.mjs\` first`);
  }
  await setupFixture(ctx);
  const rows = [];
  for (const [kind, runner] of Object.entries(RUNNERS)) {
    const cases = CASES.filter((c) => c.kind === kind);
    if (cases.length) rows.push(...(await runner(ctx, cases)));
  }
  console.log(`aws-vault benchmark: ${RUNS} runs (+${WARMUP} warm-up) per row, interleaved round-robin; wall time per process\n`);
  printTable(rows.filter((r) => r.kind === "process")); // other kinds print their own tables
  if (!args.includes("--no-servers")) {
    console.log(`\ncredential server (exec --ecs-server): ${SERVER_REQUESTS} requests from 50 concurrent keep-alive clients\n`);
    const serverRows = await benchServers({ requests: SERVER_REQUESTS, clients: 50 });
    printServerTable(serverRows);
    rows.push(...serverRows.map((r) => ({ kind: "server", ...r })));
  }
  const out = join(root, "bench/results/latest.json");
  mkdirSync(join(root, "bench/results"), { recursive: true });
  const meta = {
    date: new Date().toISOString(), node: process.version, platform: `${process.platform}-${process.arch}`,
    cpu: cpus()[0]?.model, cpus: cpus().length, runs: RUNS, warmup: WARMUP,
  };
  const cases = Object.fromEntries(CASES.map((c) => [c.id, c.what]));
  writeFileSync(out, `${JSON.stringify({ meta, cases, results: rows }, null, 2)}\n`);
  console.log(`\nwrote ${out}`);
} catch (err) {
  console.error(`\nbench FAILED: ${err?.message ?? err}`);
  process.exitCode = 1;
} finally {
  cleanup();
}
