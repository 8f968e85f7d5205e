// Where the time goes in one bench case: runs it N times under the runtime's CPU profiler and prints the
// self and inclusive time per function (ms per run), summed over the runs (one run is ~10-20 samples).
//   node bench/run.mjs --fixtures-only            # prints the fixture folder (kept; delete it afterwards)
//   node bench/profile.mjs <folder> [--env env|agentEnv|bigEnv|hugeEnv] [--artifact bun|node] [--runs N] -- <args>
// e.g. node bench/profile.mjs /tmp/aws-vault-bench-XXXX --artifact bun -- export --format json profile-01
// Bun's profiler is `BUN_OPTIONS=--cpu-prof` (the compiled binary honours it); Node's is `--cpu-prof`.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dirname, "..");
const argv = process.argv.slice(2);
const dashdash = argv.indexOf("--");
if (dashdash < 1) throw new Error("usage: node bench/profile.mjs <fixture folder> [--env NAME] [--artifact bun|node] [--runs N] -- <aws-vault args>");
const opts = argv.slice(1, dashdash);
const opt = (name, dflt) => (opts.includes(name) ? opts[opts.indexOf(name) + 1] : dflt);
const fixtures = JSON.parse(readFileSync(join(argv[0], "env.json"), "utf8"));
const env = fixtures[opt("--env", "env")];
if (!env) throw new Error(`no environment ${opt("--env")} in ${argv[0]}/env.json`);
const artifact = opt("--artifact", "bun");
const runs = Number(opt("--runs", "30"));
const dist = resolve(process.env.AWS_VAULT_DIST ?? join(root, "dist"));
const out = mkdtempSync(join(argv[0], "profile-"));
const cmd = artifact === "bun" ? [join(dist, "aws-vault")] : [process.execPath, "--cpu-prof", "--cpu-prof-dir", out, join(dist, "aws-vault.mjs")];
for (let i = 0; i < runs; i++) {
  const r = spawnSync(cmd[0], [...cmd.slice(1), ...argv.slice(dashdash + 1)], {
    cwd: out, env: artifact === "bun" ? { ...env, BUN_OPTIONS: "--cpu-prof" } : env, stdio: ["ignore", "ignore", "pipe"], encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(`run failed (exit ${r.status}): ${r.stderr}`);
}

const self = new Map();
const inclusive = new Map();
let profiled = 0;
const files = readdirSync(out).filter((f) => f.endsWith(".cpuprofile"));
for (const f of files) {
  const p = JSON.parse(readFileSync(join(out, f), "utf8"));
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  profiled += (p.endTime - p.startTime) / 1000;
  const key = (n) => `${n.callFrame.functionName || "(anonymous)"} ${String(n.callFrame.url).split("/").pop()}:${n.callFrame.lineNumber + 1}`;
  for (let i = 0; i < p.samples.length; i++) {
    const ms = (p.timeDeltas[i + 1] ?? p.timeDeltas[i] ?? 0) / 1000;
    let id = p.samples[i];
    const leaf = key(byId.get(id));
    self.set(leaf, (self.get(leaf) ?? 0) + ms);
    const seen = new Set();
    for (; id !== undefined; id = parent.get(id)) {
      const k = key(byId.get(id));
      if (!seen.has(k)) inclusive.set(k, (inclusive.get(k) ?? 0) + ms), seen.add(k);
    }
  }
}
rmSync(out, { recursive: true, force: true });
const n = files.length;
const top = (m, count) => [...m].sort((a, b) => b[1] - a[1]).slice(0, count).map(([k, v]) => `${(v / n).toFixed(2).padStart(7)}  ${k}`).join("\n");
console.log(`${artifact}, ${n} runs, ${(profiled / n).toFixed(1)} ms profiled per run (names are minified where the bundle is)`);
console.log(`--- self ms/run\n${top(self, Number(opt("--self", "30")))}`);
console.log(`--- inclusive ms/run\n${top(inclusive, Number(opt("--inclusive", "60")))}`);
