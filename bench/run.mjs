// One-command benchmark for both artifacts (`npm run bench`, or `node bench/run.mjs [--runs N] [--warmup N]`
// after `node scripts/build.mjs`). Measures whole-process wall time of the real CLI, interleaved round-robin
// with each runtime's floor measured in the same run (`node -e 0`; an empty program compiled with the
// binary's own bun flags), then the credential server against a minimal server (servers.mjs). Prints
// tables and writes bench/results/latest.json.
// It reports numbers only: there are no timing assertions. It fails (exit 1) only when a run is incorrect
// (non-zero exit, wrong output, or a network call during a "cached" run).
//
// Adding a case: append an object to CASES below. A "process" case is timed once per artifact per round:
//   { id, what, kind: "process", args: (fx) => [...argv after the binary], check: (result, fx) => errorString|undefined }
// optionally env, goal, maxRuns, rss, or pending (a placeholder row). Other kinds get their own runner in
// RUNNERS; each runner returns rows { case, artifact, kind, ...metrics } that land in the JSON file.
import { startCountedMoto } from "./moto.mjs";
import { benchServers, printServerTable } from "./servers.mjs";
import { bigConfig, fillKeyring, loadKeyringCode } from "./fixtures.mjs";
import { BUN_COMPILE_FLAGS } from "../scripts/bun-flags.mjs";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dirname, "..");
const PROFILES = 20;
const CACHED_PROFILE = "profile-01";
const BIG = 1_000; // profiles, stored items and cached sessions of the "1,000" rows
const BIG_TARGET = "p-0500"; // in the middle: AssumeRole with MFA from p-0491, cached
const HUGE = 100_000; // profiles of the huge-config row

const args = process.argv.slice(2);
const flag = (name, dflt) => {
  const i = args.indexOf(name);
  if (i === -1) return dflt;
  const n = Number(args[i + 1]);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} needs a non-negative integer`);
  return n;
};
const RUNS = Math.max(1, flag("--runs", 20));
const SERVER_SECONDS = Math.max(1, flag("--server-seconds", 5));
const SERVER_ROUNDS = Math.max(1, flag("--server-rounds", 3));
const WARMUP = flag("--warmup", 3);
const HUGE_RUNS = Math.max(1, flag("--huge-runs", 5)); // the 100,000-profile row runs this many times at most
// --fixtures-only: build the fixtures, write their environments to <home>/env.json, print the folder and stop
// (moto and the agent stopped, the folder kept), for profiling one case by hand.
const FIXTURES_ONLY = args.includes("--fixtures-only");

// The build under test: dist/, or AWS_VAULT_DIST (a `scripts/build.mjs --outdir` output), as the tests.
const DIST = resolve(process.env.AWS_VAULT_DIST ?? join(root, "dist"));
const ARTIFACTS = [
  { name: "node", argv: [process.execPath, join(DIST, "aws-vault.mjs")] },
  { name: "bun", argv: [join(DIST, "aws-vault")] },
];
// Each artifact is compared with the floor of its runtime: `node -e 0`, and an empty program compiled
// with dist/aws-vault's own `bun build` flags (built below, in the throw-away folder).
const BASELINES = [
  { case: "floor", artifact: "node -e 0", for: "node", argv: [process.execPath, "-e", "0"] },
  { case: "floor", artifact: "floor-bun", for: "bun", argv: undefined /* set by buildFloorBun */ },
];

const jsonCheck = (want) => (r) => {
  let doc;
  try {
    doc = JSON.parse(r.stdout);
  } catch {
    return "output is not JSON";
  }
  if (!doc.AccessKeyId) return "no AccessKeyId in output";
  return want && doc.SessionToken !== want ? `expected the cached session ${want}, got another` : undefined;
};

const CASES = [
  {
    id: "version",
    what: "aws-vault --version (startup + argument parsing)",
    kind: "process",
    goal: { bun: 1.2 },
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
    what: `aws-vault export --format json ${CACHED_PROFILE}: GetSessionToken session served from the keyring cache (decrypt included)`,
    kind: "process",
    goal: { bun: 1.6, node: 1.8 },
    args: () => ["export", "--format", "json", CACHED_PROFILE],
    check: jsonCheck(),
  },
  {
    // Not aws-vault: bench/lower-bound.mjs does only the cached export's file work and crypto (read config,
    // list keys, read and decrypt the session item, print JSON), run by node and compiled with the binary's
    // bun flags. Its ratio is the least any implementation of this format reaches in that runtime.
    id: "lower bound: the cached export's own work",
    what: "bench/lower-bound.mjs: read the config, list the keyring, read and decrypt the cached session (PBKDF2, AES-KW, AES-GCM), print JSON; nothing else",
    kind: "process",
    argv: (fx, artifact) => (artifact === "bun" ? [fx.lowerBoundBun] : [process.execPath, join(root, "bench/lower-bound.mjs")]),
    check: jsonCheck(),
  },
  {
    // Issue 10: the same export with no AWS_VAULT_FILE_PASSPHRASE, answered by an agent unlocked in set-up.
    id: "export (cached, agent)",
    what: "the same export through an unlocked file keyring agent (no AWS_VAULT_FILE_PASSPHRASE in the environment)",
    kind: "process",
    goal: { bun: 1.3 },
    env: (fx) => fx.agentEnv,
    args: () => ["export", "--format", "json", CACHED_PROFILE],
    check: jsonCheck(),
  },
  {
    id: `export (cached, ${BIG.toLocaleString("en")} profiles)`,
    what: `export --format json ${BIG_TARGET} (AssumeRole with MFA, cached) from a ${BIG}-profile config with role chains, include_profile, sso-session and services sections; ${BIG} stored items and ${BIG} cached sessions in the keyring`,
    kind: "process",
    goal: { bun: 1.7 },
    env: (fx) => fx.bigEnv,
    args: () => ["export", "--format", "json", BIG_TARGET],
    check: jsonCheck(`bench-session-${BIG_TARGET}`),
  },
  {
    id: `list (${BIG.toLocaleString("en")} profiles)`,
    what: `aws-vault list: ${BIG} profiles, ${BIG} stored items, ${BIG} cached sessions`,
    kind: "process",
    goal: { bun: 3 },
    env: (fx) => fx.bigEnv,
    args: () => ["list"],
    check: (r) => {
      const rows = r.stdout.match(/^p-\d+ +\S+ +sts\./gm) ?? [];
      return rows.length === BIG ? undefined : `expected ${BIG} profiles with a session, saw ${rows.length}`;
    },
  },
  {
    id: `export (${HUGE.toLocaleString("en")} profiles)`,
    what: `export --format json ${CACHED_PROFILE} (cached) with a ${HUGE}-profile config, the profile in the middle; peak RSS measured separately`,
    kind: "process",
    goal: { absolute: "< 1 s, < 200 MB" },
    maxRuns: HUGE_RUNS,
    rss: true,
    env: (fx) => fx.hugeEnv,
    args: () => ["export", "--format", "json", CACHED_PROFILE],
    check: jsonCheck(),
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
const log = (m) => process.stderr.write(`${m}\n`);

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

  // 1,000 profiles with 1,000 stored items and 1,000 cached sessions, written straight into the keyring.
  log(`writing the ${BIG}-profile fixture (${BIG} stored items, ${BIG} sessions)`);
  const big = bigConfig(BIG);
  const bigHome = join(home, "big");
  mkdirSync(bigHome);
  writeFileSync(join(bigHome, "config"), big.text);
  ctx.bigEnv = { ...ctx.env, HOME: bigHome, AWS_CONFIG_FILE: join(bigHome, "config"), AWS_VAULT_FILE_DIR: join(bigHome, "keys") };
  const profiles = Array.from({ length: BIG }, (_, i) => ({ name: big.name(i + 1), base: big.isBase(i + 1) }));
  await fillKeyring(await loadKeyringCode(), {
    dir: ctx.bigEnv.AWS_VAULT_FILE_DIR, passphrase: ctx.env.AWS_VAULT_FILE_PASSPHRASE, profiles, stored: BIG, fakeKeyId, fakeSecret,
  });

  // 100,000 profiles around the small fixture's cached profile (same keyring).
  const huge = bigConfig(HUGE, { extra: `[profile ${CACHED_PROFILE}]\nregion = us-east-1\n` });
  writeFileSync(join(home, "huge-config"), huge.text);
  ctx.hugeEnv = { ...ctx.env, AWS_CONFIG_FILE: join(home, "huge-config") };
  moto.actions.length = 0;
  // An agent unlocked for the fixture's keyring, on a socket of its own (stopped in cleanup()).
  const { AWS_VAULT_FILE_PASSPHRASE: _, ...withoutPassphrase } = ctx.env;
  ctx.agentEnv = { ...withoutPassphrase, AWS_VAULT_AGENT_SOCK: join(home, "agent", "agent.sock") };
  await must([...node.argv, "unlock"], { ...ctx.agentEnv, AWS_VAULT_FILE_PASSPHRASE: ctx.env.AWS_VAULT_FILE_PASSPHRASE });
  ctx.agentStarted = true;
}

/** The empty program for the floor-bun baseline, compiled with dist/aws-vault's `bun build` flags. */
function buildFloorBun(ctx) {
  const dir = join(ctx.home, "floor");
  mkdirSync(dir);
  writeFileSync(join(dir, "floor.ts"), 'console.log("v0.0.0");\n');
  const out = join(dir, "floor-bun");
  execFileSync(join(root, "node_modules/.bin/bun"), ["build", ...BUN_COMPILE_FLAGS, join(dir, "floor.ts"), "--outfile", out], {
    stdio: ["ignore", "ignore", "inherit"],
  });
  BASELINES[1].argv = [out];
  ctx.lowerBoundBun = join(dir, "lower-bound-bun");
  execFileSync(join(root, "node_modules/.bin/bun"), ["build", ...BUN_COMPILE_FLAGS, join(root, "bench/lower-bound.mjs"), "--outfile", ctx.lowerBoundBun], {
    stdio: ["ignore", "ignore", "inherit"],
  });
}

/** Peak RSS (KiB, GNU time's %M) of one run, or undefined where /usr/bin/time is missing. */
function peakRssKb(argv, env) {
  if (!existsSync("/usr/bin/time")) return undefined;
  return new Promise((ok) => {
    const child = spawn("/usr/bin/time", ["-f", "\n%M", ...argv], { env, stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    child.stderr.setEncoding("utf8").on("data", (d) => (err += d));
    child.once("close", () => ok(Number(err.trim().split("\n").at(-1)) || undefined));
  });
}

// ---------- runners ----------

async function runProcessCases(ctx, cases) {
  const jobs = [
    ...BASELINES.map((b) => ({ ...b, env: ctx.env, baseline: true })),
    ...cases.filter((c) => !c.pending).flatMap((c) =>
      ARTIFACTS.map((a) => ({
        case: c.id, artifact: a.name, argv: c.argv ? c.argv(ctx, a.name) : [...a.argv, ...c.args(ctx)], check: c.check, env: c.env?.(ctx) ?? ctx.env,
        maxRuns: c.maxRuns ?? Infinity, rss: c.rss, goal: c.goal,
      })),
    ),
  ];
  for (const j of jobs) j.samples = [];
  const rounds = WARMUP + RUNS;
  for (let round = 0; round < rounds; round++) {
    if (process.stderr.isTTY) process.stderr.write(`\r${round < WARMUP ? "warm-up" : "measuring"} round ${round + 1}/${rounds} `);
    for (let k = 0; k < jobs.length; k++) {
      const job = jobs[(k + round) % jobs.length]; // rotate the order every round to spread drift
      if (job.samples.length >= job.maxRuns || (round < WARMUP && job.maxRuns !== Infinity)) continue;
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
  const floors = Object.fromEntries(jobs.filter((j) => j.baseline).map((j) => [j.for, { name: j.artifact, ms: stats(j.samples).medianMs }]));
  const rows = [];
  for (const j of jobs) {
    const s = stats(j.samples);
    const floor = j.baseline ? floors[j.for] : floors[j.artifact];
    const row = {
      case: j.case, artifact: j.artifact, kind: "process", runs: j.samples.length, ...s,
      baseline: floor.name, baselineMs: floor.ms, ratio: s.medianMs / floor.ms, samplesMs: j.samples,
    };
    const goal = j.goal?.[j.artifact] ?? j.goal?.absolute;
    if (goal !== undefined) row.goal = typeof goal === "number" ? `<= ${goal}x` : goal;
    if (j.rss) {
      const kb = [];
      for (let i = 0; i < 3; i++) kb.push(await peakRssKb(j.argv, j.env));
      if (kb.every((k) => k !== undefined)) row.peakRssMb = Math.max(...kb) / 1024;
    }
    rows.push(row);
  }
  // In CASES order, placeholders included.
  const ordered = rows.filter((r) => r.case === "floor");
  for (const c of cases) {
    for (const a of ARTIFACTS) {
      const goal = c.goal?.[a.name];
      const row = c.pending
        ? { case: c.id, artifact: a.name, kind: "process", pending: c.pending, ...(goal ? { goal: `<= ${goal}x` } : {}) }
        : rows.find((r) => r.case === c.id && r.artifact === a.name);
      if (row) ordered.push(row);
    }
  }
  return ordered;
}

const RUNNERS = { process: runProcessCases };

function printTable(rows) {
  const head = ["case", "artifact", "median ms", "p90 ms", "baseline", "ratio", "goal", "peak RSS"];
  const body = rows.map((r) =>
    r.pending
      ? [r.case, r.artifact, "-", "-", "-", "-", r.goal ?? "", `pending: ${r.pending}`]
      : [
          r.case, r.artifact, r.medianMs.toFixed(1), r.p90Ms.toFixed(1), `${r.baseline} ${r.baselineMs.toFixed(1)} ms`,
          `${r.ratio.toFixed(2)}x`, r.goal ?? "", r.peakRssMb !== undefined ? `${r.peakRssMb.toFixed(0)} MB` : "",
        ],
  );
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells) => cells.map((c, i) => (i < 2 || i >= 6 ? c.padEnd(w[i]) : c.padStart(w[i]))).join("  ").trimEnd();
  console.log([line(head), w.map((n) => "-".repeat(n)).join("  "), ...body.map(line)].join("\n"));
}

// ---------- main ----------

const ctx = {};
function cleanup() {
  if (ctx.agentStarted) spawnSync(process.execPath, [join(root, "dist/aws-vault.mjs"), "agent", "stop"], { env: ctx.agentEnv, stdio: "ignore" });
  ctx.moto?.stop();
  if (ctx.home && !ctx.keepHome) rmSync(ctx.home, { recursive: true, force: true });
}
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => (cleanup(), process.exit(130)));
try {
  for (const a of ARTIFACTS) {
    if (!existsSync(a.argv.at(-1))) throw new Error(`${a.argv.at(-1)} is missing: run \`node scripts/build.mjs\` first`);
  }
  await setupFixture(ctx);
  buildFloorBun(ctx);
  if (FIXTURES_ONLY) {
    const envs = { env: ctx.env, agentEnv: ctx.agentEnv, bigEnv: ctx.bigEnv, hugeEnv: ctx.hugeEnv, floorBun: BASELINES[1].argv[0], lowerBoundBun: ctx.lowerBoundBun };
    writeFileSync(join(ctx.home, "env.json"), `${JSON.stringify(envs, null, 2)}\n`, { mode: 0o600 });
    console.log(ctx.home);
    ctx.keepHome = true;
  }
  if (!FIXTURES_ONLY) await measure();
} catch (err) {
  console.error(`\nbench FAILED: ${err?.message ?? err}`);
  process.exitCode = 1;
} finally {
  cleanup();
}

async function measure() {
  const rows = [];
  for (const [kind, runner] of Object.entries(RUNNERS)) {
    const cases = CASES.filter((c) => c.kind === kind);
    if (cases.length) rows.push(...(await runner(ctx, cases)));
  }
  console.log(`aws-vault benchmark: ${RUNS} runs (+${WARMUP} warm-up) per row, interleaved round-robin; wall time per process\n`);
  printTable(rows.filter((r) => r.kind === "process")); // other kinds print their own tables
  if (!args.includes("--no-servers")) {
    console.log(`\ncredential server (exec --ecs-server) vs a minimal server in the same runtime: wrk, 50 keep-alive connections, ${SERVER_SECONDS}s per run\n`);
    const serverRows = await benchServers({ dist: DIST, seconds: SERVER_SECONDS, connections: 50, rounds: SERVER_ROUNDS, log });
    printServerTable(serverRows);
    rows.push(...serverRows.map((r) => ({ kind: "server", ...r })));
  }
  const out = join(root, "bench/results/latest.json");
  mkdirSync(join(root, "bench/results"), { recursive: true });
  const meta = {
    date: new Date().toISOString(), node: process.version, platform: `${process.platform}-${process.arch}`,
    cpu: cpus()[0]?.model, cpus: cpus().length, runs: RUNS, warmup: WARMUP, bunFlags: BUN_COMPILE_FLAGS,
  };
  const cases = Object.fromEntries(CASES.map((c) => [c.id, c.what]));
  writeFileSync(out, `${JSON.stringify({ meta, cases, results: rows }, null, 2)}\n`);
  console.log(`\nwrote ${out}`);
}
