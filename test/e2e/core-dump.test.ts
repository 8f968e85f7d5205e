// Issue 9 item 5: an aborted aws-vault leaves no core file holding its secrets. The process is
// started as a user would debug it (`ulimit -c unlimited`), in a folder of its own; the kernel's
// core_pattern on this machine writes `core` into the crashing process's working folder, which a
// control process (`sleep`) checks first, so the test cannot pass because cores are off.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ARTIFACTS, type Artifact, run, sandbox } from "../support/cli.ts";
import { type FakeSts, startFakeSts } from "../support/fake-sts.ts";

const ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE";
const SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

let sts: FakeSts;
beforeAll(async () => {
  sts = await startFakeSts({ users: [{ accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET, arn: "arn:aws:iam::123456789012:user/alice" }] });
});
afterAll(async () => sts?.stop());

const cores = (dir: string) => readdirSync(dir).filter((f) => f.startsWith("core"));

/** Starts `cmd` under `ulimit -c unlimited` in dir, in its own process group. */
function startUnlimited(dir: string, argv: string[], env: Record<string, string>) {
  return spawn("/bin/sh", ["-c", 'ulimit -c unlimited && exec "$@"', "sh", ...argv], {
    cwd: dir,
    env,
    stdio: ["ignore", "ignore", "pipe"],
    detached: true,
  });
}

function waitFor(check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const tick = () => {
      if (check()) return resolve();
      if (Date.now() - started > timeoutMs) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(tick, 50);
    };
    tick();
  });
}

/** Whether this machine writes cores of an aborted process into its working folder. */
async function coresLandInCwd(dir: string): Promise<boolean> {
  const control = startUnlimited(dir, ["sleep", "30"], { PATH: process.env.PATH ?? "/usr/bin:/bin" });
  const exited = new Promise((r) => control.on("exit", r));
  await new Promise((r) => setTimeout(r, 100));
  process.kill(control.pid as number, "SIGABRT");
  await exited;
  const found = cores(dir).length > 0;
  for (const f of cores(dir)) rmSync(join(dir, f));
  return found;
}

function coreSoftLimit(pid: number): string {
  const line = readFileSync(`/proc/${pid}/limits`, "utf8").split("\n").find((l) => l.startsWith("Max core file size"));
  return (line ?? "").split(/\s{2,}/)[1] ?? "";
}

describe.each(ARTIFACTS)("core dumps ($name)", (artifact: Artifact) => {
  it.skipIf(process.platform !== "linux")("exec --ecs-server aborted with SIGABRT leaves no core", async (ctx) => {
    const sb = sandbox({ AWS_ENDPOINT_URL: sts.endpoint });
    const add = await run(artifact, ["add", "--env", "alice"], {
      env: { ...sb.env, AWS_ACCESS_KEY_ID: ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY: SECRET },
    });
    expect(add.code, add.stderr).toBe(0);
    const dir = join(sb.home, "cwd");
    mkdirSync(dir);
    if (!(await coresLandInCwd(dir))) ctx.skip("this machine writes no core into the working folder (core_pattern)");

    const ready = join(sb.home, "ready");
    const child = startUnlimited(dir, [...artifact.argv, "exec", "--ecs-server", "alice", "--", "/bin/sh", "-c", `: > '${ready}'; exec sleep 60`], sb.env);
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const exited = new Promise<NodeJS.Signals | null>((r) => child.on("exit", (_c, s) => r(s)));
    try {
      await waitFor(() => existsSync(ready), `the server to start (stderr: ${stderr})`);
      const pid = child.pid as number;
      // The secrets are in memory now (master key, session, passphrase); the core limit is 0.
      expect(coreSoftLimit(pid)).toBe("0");
      if (artifact.name === "bun") {
        // Non-dumpable as well: even with the limit raised from outside, no core is written.
        expect(spawnSync("prlimit", ["--pid", String(pid), "--core=unlimited:unlimited"]).status).toBe(0);
        expect(coreSoftLimit(pid)).toBe("unlimited");
      }
      process.kill(pid, "SIGABRT");
      expect(await exited).toBe("SIGABRT");
      expect(cores(dir)).toEqual([]);
    } finally {
      try {
        process.kill(-(child.pid as number), "SIGKILL");
      } catch {
        // gone
      }
    }
  });
});
