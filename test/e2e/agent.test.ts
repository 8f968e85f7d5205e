// Issue 10 (unlock once: an agent for the file keyring), end to end against both artifacts, mixed:
// each test's agent runs in its own temp HOME + XDG_RUNTIME_DIR, and every agent a test starts is
// stopped (and checked gone) after it. Prompts are answered in a pseudo-terminal; commands run
// without a terminal prove that they asked nothing (they would fail with "no terminal to ask").
import { execFileSync } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ARTIFACTS, type Artifact, type CliResult, run, sandbox, start, vectorKeyring } from "../support/cli.ts";
import { bootstrapUser, type Moto, type MotoUser, startMoto } from "../support/moto.ts";
import { runInPty, type PtyStep } from "../support/pty.ts";

const PASS = "agent-test passphrase 7f3a";
const PROMPT = /Enter passphrase to unlock "[^"]+"(?: \(profile [^)]+\))?: /;
const NO_WAY = /^aws-vault: error: .*the file keyring is locked and there is no terminal to ask for its passphrase: run `aws-vault unlock` in a terminal, or set AWS_VAULT_FILE_PASSPHRASE_CMD to a command that prints it$/m;
const VECTOR_PASS = "correct horse battery staple";

let moto: Moto;
let user: MotoUser;
beforeAll(async () => {
  moto = await startMoto({ authAfter: 3 });
  user = await bootstrapUser(moto);
});
afterAll(async () => moto?.stop());

/** The other artifact (or the same one when only one is built): agent and client mixed. */
function other(a: Artifact): Artifact {
  return ARTIFACTS.find((x) => x.name !== a.name) ?? a;
}

interface AgentBox {
  home: string;
  keysDir: string;
  configPath: string;
  sockDir: string;
  sock: string;
  /** No AWS_VAULT_FILE_PASSPHRASE: the agent or a prompt must provide it. */
  env: Record<string, string>;
  run(args: string[], extra?: Record<string, string | undefined>, artifact?: Artifact): Promise<CliResult>;
  pty(args: string[], steps: PtyStep[], extra?: Record<string, string | undefined>, artifact?: Artifact): ReturnType<typeof runInPty>;
  /** Writes a passphrase command that counts its runs; returns its path. */
  passCmd(passphrase?: string): string;
  passCmdRuns(): number;
  agentPid(): Promise<number | undefined>;
}

const boxes: AgentBox[] = [];
const pids = new Set<number>();

/** Running (a zombie waiting for init to reap it counts as gone). */
/**
 * Whether any thread of the process still runs. A killed process's leader turns zombie while its
 * other threads are still exiting and holding its files (the agent's listening socket among them),
 * so the leader's state alone says "dead" too early.
 */
function alive(pid: number): boolean {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return false;
  }
  return tids.some((tid) => {
    try {
      return !/^\d+ \(.*\) [ZX]/.test(readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8"));
    } catch {
      return false;
    }
  });
}

afterEach(async () => {
  for (const b of boxes.splice(0)) {
    const pid = await b.agentPid().catch(() => undefined);
    if (pid) pids.add(pid);
    await b.run(["agent", "stop"]).catch(() => undefined);
  }
  // No stray agents: each one a test started is gone (stop, else SIGKILL and fail).
  const stray: number[] = [];
  for (const pid of pids) {
    for (let i = 0; i < 50 && alive(pid); i++) await new Promise((r) => setTimeout(r, 20));
    if (alive(pid)) {
      stray.push(pid);
      process.kill(pid, "SIGKILL");
    }
  }
  pids.clear();
  expect(stray, "agents still running after agent stop").toEqual([]);
});

function box(artifact: Artifact, opts: { keysDir?: string } = {}): AgentBox {
  const sb = sandbox({ AWS_ENDPOINT_URL: moto.endpoint });
  const runDir = join(sb.home, "run");
  mkdirSync(runDir, { mode: 0o700 });
  const env: Record<string, string> = { ...sb.env, XDG_RUNTIME_DIR: runDir };
  delete env.AWS_VAULT_FILE_PASSPHRASE;
  const keysDir = opts.keysDir ?? sb.keysDir;
  if (opts.keysDir) env.AWS_VAULT_FILE_DIR = opts.keysDir;
  const counter = join(sb.home, "passcmd.runs");
  const b: AgentBox = {
    home: sb.home,
    keysDir,
    configPath: sb.configPath,
    sockDir: join(runDir, "aws-vault"),
    sock: join(runDir, "aws-vault", "agent.sock"),
    env,
    run: (args, extra = {}, a = artifact) => run(a, args, { env: { ...env, ...extra }, timeoutMs: 60_000 }),
    pty: (args, steps, extra = {}, a = artifact) => runInPty([...a.argv, ...args], { ...env, ...extra }, steps, { timeoutMs: 60_000 }),
    passCmd(passphrase = PASS) {
      const file = join(sb.home, "passcmd.sh");
      writeFileSync(counter, "");
      writeFileSync(file, `#!/bin/sh\necho run >> '${counter}'\nprintf '%s\\n' '${passphrase}'\n`, { mode: 0o700 });
      return file;
    },
    passCmdRuns: () => readFileSync(counter, "utf8").split("\n").filter(Boolean).length,
    async agentPid() {
      const r = await b.run(["agent", "status"]);
      const m = /\(pid (\d+)\)/.exec(r.stdout);
      return m ? Number(m[1]) : undefined;
    },
  };
  boxes.push(b);
  return b;
}

/** Stores alice's keys (moto user) without any agent. */
async function addAlice(b: AgentBox, profile = "alice"): Promise<void> {
  const r = await b.run(["add", "--env", "--no-add-config", profile], {
    AWS_VAULT_AGENT: "off",
    AWS_VAULT_FILE_PASSPHRASE: PASS,
    AWS_ACCESS_KEY_ID: user.accessKeyId,
    AWS_SECRET_ACCESS_KEY: user.secretAccessKey,
  });
  expect(r.code, r.stderr).toBe(0);
  writeFileSync(b.configPath, `[profile ${profile}]\nregion = us-east-1\n`, { flag: "a" });
}

async function unlockWithCommand(b: AgentBox, args: string[] = [], artifact?: Artifact): Promise<void> {
  const r = await b.run(["unlock", ...args], { AWS_VAULT_FILE_PASSPHRASE_CMD: b.passCmd() }, artifact);
  expect(r.code, r.stderr).toBe(0);
  const pid = await b.agentPid();
  if (pid) pids.add(pid);
}

function snapshot(dir: string): Record<string, string> {
  if (!existsSync(dir)) return {};
  return Object.fromEntries(readdirSync(dir).map((f) => [f, `${statSync(join(dir, f)).mtimeMs} ${readFileSync(join(dir, f), "utf8")}`]));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each(ARTIFACTS)("agent ($name)", (artifact) => {
  it("unlock at a terminal; then nothing asks; status tells the truth; lock makes the next command prompt again", async () => {
    const b = box(artifact);
    await addAlice(b);
    const before = await b.run(["agent", "status"]);
    expect(before).toMatchObject({ code: 1, stdout: `not running\nsocket: ${b.sock}\n` });

    const unlock = await b.pty(["unlock"], [{ expect: PROMPT, send: `${PASS}\r` }]);
    expect(unlock.code, unlock.output).toBe(0);
    expect(unlock.output).toContain(`aws-vault: agent unlocked for ${b.keysDir}; it locks after 8h0m0s, or after 1h0m0s without a request`);
    expect(unlock.output).not.toContain(PASS);
    const pid = await b.agentPid();
    expect(pid).toBeTypeOf("number");
    pids.add(pid as number);

    const status = await b.run(["agent", "status"]);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(new RegExp(`^unlocked: ${b.keysDir}\\nlocks in 7h59m\\d+s, or after 59m\\d+s without a request\\nsocket: ${b.sock} \\(pid ${pid}\\)\\n$`));
    expect(statSync(b.sockDir).mode & 0o777).toBe(0o700);
    expect(statSync(b.sock).mode & 0o777).toBe(0o600);

    // Without a terminal, and with the other artifact as the client: served by the agent.
    for (const a of [artifact, other(artifact)]) {
      const exp = await b.run(["export", "--no-session", "--format", "json", "alice"], {}, a);
      expect(exp.code, exp.stderr).toBe(0);
      expect(JSON.parse(exp.stdout).AccessKeyId).toBe(user.accessKeyId);
    }

    const lock = await b.run(["lock"]);
    expect(lock).toMatchObject({ code: 0, stderr: "aws-vault: agent locked\n" });
    expect(await b.run(["agent", "status"])).toMatchObject({ code: 1, stdout: `locked\nsocket: ${b.sock} (pid ${pid})\n` });
    const noTty = await b.run(["export", "--no-session", "alice"]);
    expect(noTty.code).toBe(1);
    expect(noTty.stderr).toMatch(NO_WAY);
    expect(noTty.stderr.trim().split("\n")).toHaveLength(1);

    const again = await b.pty(["export", "--no-session", "alice"], [{ expect: PROMPT, send: `${PASS}\r` }]);
    expect(again.code, again.output).toBe(0);
    expect(again.output).toContain("aws-vault: hint: run `aws-vault unlock` to enter the passphrase once (or set AWS_VAULT_AGENT=auto)");
    expect(again.output.match(/Enter passphrase/g)).toHaveLength(1);
    expect(again.output).toContain(`AWS_ACCESS_KEY_ID=${user.accessKeyId}`);
  });

  it("a wrong passphrase on unlock is refused: the agent stays locked and nothing is written", async () => {
    const b = box(artifact);
    await addAlice(b);
    const before = snapshot(b.keysDir);
    const r = await b.pty(["unlock"], [{ expect: PROMPT, send: "not the passphrase\r" }]);
    expect(r.code).toBe(1);
    expect(r.output).toMatch(/aws-vault: error: unlock: wrong passphrase for the file keyring at \S+; the agent stays locked/);
    const pid = await b.agentPid();
    if (pid) pids.add(pid);
    expect((await b.run(["agent", "status"])).stdout).toMatch(/^locked\n/);
    expect((await b.run(["export", "--no-session", "alice"])).stderr).toMatch(NO_WAY);
    // A wrong passphrase command is refused the same way.
    const cmd = await b.run(["unlock"], { AWS_VAULT_FILE_PASSPHRASE_CMD: b.passCmd("wrong one") });
    expect(cmd.code).toBe(1);
    expect(cmd.stderr).toContain("the agent stays locked");
    expect(cmd.stderr).not.toContain("wrong one");
    expect((await b.run(["agent", "status"])).code).toBe(1);
    expect(snapshot(b.keysDir)).toEqual(before);
  });

  it("TTL expiry and idle expiry each lock the agent: the next command prompts again", async () => {
    const b = box(artifact);
    await addAlice(b);
    await unlockWithCommand(b, ["--ttl", "6s"]);
    expect((await b.run(["export", "--no-session", "alice"])).code).toBe(0);
    await sleep(7_000);
    expect((await b.run(["agent", "status"])).stdout).toMatch(/^locked\n/);
    const ttl = await b.pty(["export", "--no-session", "alice"], [{ expect: PROMPT, send: `${PASS}\r` }]);
    expect(ttl.code, ttl.output).toBe(0);
    expect(ttl.answered).toBe(1);

    // Idle: each request resets the idle clock (the second export comes more than 6s after the
    // unlock, less than 6s after the first export); silence past it locks.
    await unlockWithCommand(b, [], other(artifact));
    const idle = await b.run(["unlock", "--idle", "6s"], { AWS_VAULT_AGENT_IDLE: undefined, AWS_VAULT_FILE_PASSPHRASE_CMD: b.passCmd() });
    expect(idle.stderr).toContain("it locks after 8h0m0s, or after 6s without a request");
    await sleep(3_500);
    expect((await b.run(["export", "--no-session", "alice"])).code).toBe(0);
    await sleep(3_500);
    expect((await b.run(["export", "--no-session", "alice"])).code).toBe(0);
    await sleep(7_000);
    const status = await b.run(["agent", "status"]);
    expect(status.stdout).toMatch(/^locked\n/);
    const after = await b.pty(["export", "--no-session", "alice"], [{ expect: PROMPT, send: `${PASS}\r` }]);
    expect(after.code, after.output).toBe(0);
    expect(after.answered).toBe(1);
  });

  it("AWS_VAULT_AGENT=auto: 20 parallel `export --format json` on a locked keyring run the passphrase command once; all succeed", async () => {
    const b = box(artifact);
    await addAlice(b);
    const cmd = b.passCmd();
    moto.resetCalls();
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        b.run(["export", "--format", "json", "alice"], { AWS_VAULT_AGENT: "auto", AWS_VAULT_FILE_PASSPHRASE_CMD: cmd }, i % 2 ? other(artifact) : artifact),
      ),
    );
    const pid = await b.agentPid();
    if (pid) pids.add(pid);
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    expect(b.passCmdRuns()).toBe(1);
    expect(new Set(results.map((r) => r.stdout)).size).toBe(1);
    expect(JSON.parse(results[0]!.stdout).SessionToken).toBeTruthy();
    expect(moto.calls("GetSessionToken")).toHaveLength(1);
    expect((await b.run(["agent", "status"])).code).toBe(0);
    // The agent started by auto holds nothing of the passphrase in its environment or argv.
    expect(readFileSync(`/proc/${pid}/environ`, "latin1")).not.toMatch(/AWS_VAULT_FILE_PASSPHRASE|agent-test passphrase/);
    expect(readFileSync(`/proc/${pid}/cmdline`, "latin1")).not.toContain(PASS);
  });

  it("100 credential_process calls by the AWS CLI's credential provider after one unlock: one passphrase prompt in all", async () => {
    const b = box(artifact);
    await addAlice(b);
    const self = artifact.argv.map((a) => `'${a}'`).join(" ");
    writeFileSync(b.configPath, `\n[profile cp]\ncredential_process = ${self} export --no-session --format json alice\nregion = us-east-1\n`, { flag: "a" });
    // botocore is the AWS CLI's own credential code; one Python process keeps 100 calls affordable
    // (each `aws` start costs seconds here). A fresh botocore session runs credential_process anew.
    const loop = join(b.home, "loop.py");
    writeFileSync(
      loop,
      [
        "import botocore.session",
        "ids = set()",
        "for i in range(100):",
        "    s = botocore.session.Session(profile='cp')",
        "    ids.add(s.create_client('sts').get_caller_identity()['Arn'])",
        "print('CALLS-OK', len(ids), sorted(ids)[0])",
      ].join("\n"),
    );
    const py = execFileSync("python3", ["-c", "import sys; print(sys.executable)"], { encoding: "utf8" }).trim();
    const script = `${self} unlock && '${py}' '${loop}' && aws sts get-caller-identity --profile cp --output text --query Arn && echo ALL-DONE`;
    moto.resetCalls();
    const r = await runInPty(["sh", "-c", script], b.env, [{ expect: PROMPT, send: `${PASS}\r` }], { timeoutMs: 240_000 });
    const pid = await b.agentPid();
    if (pid) pids.add(pid);
    expect(r.code, r.output).toBe(0);
    expect(r.output).toContain(`CALLS-OK 1 ${user.arn}`);
    expect(r.output).toContain("ALL-DONE");
    expect(r.output.match(/Enter passphrase/g)).toHaveLength(1);
    expect(moto.calls("GetCallerIdentity").filter((c) => c.accessKeyId === user.accessKeyId)).toHaveLength(101);
  }, 300_000);

  it("the Go aws-vault's keys folder: read while the agent runs, and an item it writes is served at once", async () => {
    // No Go binary here: aws-vault v7.2.0's own vector files, and items written by python joserfc in
    // its format (in place, as Go's os.WriteFile does), stand in for it.
    const dir = vectorKeyring();
    const b = box(artifact, { keysDir: dir });
    const r = await b.run(["unlock"], { AWS_VAULT_FILE_PASSPHRASE_CMD: b.passCmd(VECTOR_PASS) });
    expect(r.code, r.stderr).toBe(0);
    pids.add((await b.agentPid()) as number);
    const demo = await b.run(["export", "--no-session", "--format", "json", "demo"]);
    expect(demo.code, demo.stderr).toBe(0);
    expect(JSON.parse(demo.stdout).AccessKeyId).toBe("AKIAVECTOR0000000001");

    const goWrite = (key: string, file: string, keyId: string) =>
      execFileSync("python3", ["-c", GO_WRITER, join(dir, file), VECTOR_PASS, key, keyId], { encoding: "utf8" });
    goWrite("fromgo", "fromgo", "AKIAWRITTENBYGO00001");
    goWrite("demo", "demo", "AKIAREWRITTENBYGO002");
    for (const [profile, keyId] of [["fromgo", "AKIAWRITTENBYGO00001"], ["demo", "AKIAREWRITTENBYGO002"]] as const) {
      const e = await b.run(["export", "--no-session", "--format", "json", profile], {}, other(artifact));
      expect(e.code, e.stderr).toBe(0);
      expect(JSON.parse(e.stdout).AccessKeyId).toBe(keyId);
    }

    // A damaged item is reported through the agent exactly as without one (message and hints).
    writeFileSync(join(dir, "broken"), readFileSync(join(dir, "demo"), "utf8").replace(/\.([^.]+)$/, ".AAAA$1"), { mode: 0o600 });
    const viaAgent = await b.run(["export", "--no-session", "broken"]);
    const direct = await b.run(["export", "--no-session", "broken"], { AWS_VAULT_FILE_PASSPHRASE: VECTOR_PASS });
    expect(viaAgent.code).toBe(1);
    expect(viaAgent.stderr).toContain(join(dir, "broken"));
    expect(viaAgent).toEqual(direct);

    // An item added through the agent is readable by an independent reader of the Go format.
    const add = await b.run(["add", "--env", "viaagent"], { AWS_ACCESS_KEY_ID: "AKIAADDEDVIAAGENT001", AWS_SECRET_ACCESS_KEY: "x".repeat(40) });
    expect(add.code, add.stderr).toBe(0);
    const plain = execFileSync("python3", ["-c", GO_READER, join(dir, "viaagent"), VECTOR_PASS], { encoding: "utf8" });
    expect(JSON.parse(Buffer.from(JSON.parse(plain).Data, "base64").toString()).AccessKeyID).toBe("AKIAADDEDVIAAGENT001");
  });

  it("exec children (env, ECS and EC2 modes), credential_process helpers and the agent's environment hold no passphrase", async () => {
    const b = box(artifact);
    await addAlice(b);
    const helper = join(b.home, "helper.sh");
    const helperEnv = join(b.home, "helper.env");
    writeFileSync(
      helper,
      `#!/bin/sh\nenv > '${helperEnv}'\nprintf '{"Version":1,"AccessKeyId":"%s","SecretAccessKey":"%s"}' '${user.accessKeyId}' '${user.secretAccessKey}'\n`,
      { mode: 0o700 },
    );
    writeFileSync(b.configPath, `\n[profile helper]\ncredential_process = ${helper}\n`, { flag: "a" });
    // The passphrase reaches the agent from AWS_VAULT_FILE_PASSPHRASE here: the agent must not inherit it.
    const unlock = await b.run(["unlock"], { AWS_VAULT_FILE_PASSPHRASE: PASS });
    expect(unlock.code, unlock.stderr).toBe(0);
    const pid = (await b.agentPid()) as number;
    pids.add(pid);
    const environ = readFileSync(`/proc/${pid}/environ`, "latin1");
    expect(environ).not.toContain(PASS);
    expect(environ).not.toContain("AWS_VAULT_FILE_PASSPHRASE");
    expect(readFileSync(`/proc/${pid}/cmdline`, "latin1").split("\0").slice(-4)).toEqual(["agent", "start", "--foreground", ""]);
    // No core file can hold what the agent holds (soft RLIMIT_CORE 0; the Bun binary is also non-dumpable).
    expect(readFileSync(`/proc/${pid}/limits`, "utf8")).toMatch(/^Max core file size\s+0\s/m);

    const extra = { AWS_VAULT_FILE_PASSPHRASE_CMD: b.passCmd(), AWS_VAULT_EC2_PROXY: "off" };
    for (const mode of [["--no-session"], [], ["--ecs-server"], ["--ec2-server"]]) {
      const r = await b.run(["exec", ...mode, "alice", "--", "env"], extra);
      expect(r.code, `${mode.join(" ")}: ${r.stderr}`).toBe(0);
      expect(r.stdout).toContain("AWS_VAULT=alice");
      expect(r.stdout, mode.join(" ")).not.toContain(PASS);
    }
    const debug = await b.run(["--debug", "exec", "--no-session", "alice", "--", "env"], extra);
    expect(debug.code, debug.stderr).toBe(0);
    expect(debug.stdout + debug.stderr).not.toContain(PASS);
    const viaHelper = await b.run(["exec", "helper", "--", "env"], extra);
    expect(viaHelper.code, viaHelper.stderr).toBe(0);
    expect(viaHelper.stdout).not.toContain(PASS);
    expect(readFileSync(helperEnv, "utf8")).not.toContain(PASS);
    expect(b.passCmdRuns()).toBe(0); // the agent answered every time
  });

  it("a socket folder that is group/world accessible or not ours is refused by the client, saying why", async () => {
    const b = box(artifact);
    await addAlice(b);
    await unlockWithCommand(b);
    chmodSync(b.sockDir, 0o770);
    for (const args of [["export", "--no-session", "alice"], ["agent", "status"]]) {
      const r = await b.run(args);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`refusing the aws-vault agent socket ${b.sock}: its folder ${b.sockDir} is group/world accessible (mode 0770)`);
      expect(r.stderr).toContain(`aws-vault: hint: chmod 700 ${b.sockDir}`);
    }
    // --no-agent bypasses it (and then asks as without an agent).
    expect((await b.run(["--no-agent", "export", "--no-session", "alice"])).stderr).toMatch(NO_WAY);
    chmodSync(b.sockDir, 0o700);
    chownSync(b.sockDir, 65534, 65534);
    const foreign = await b.run(["export", "--no-session", "alice"]);
    expect(foreign.code).toBe(1);
    expect(foreign.stderr).toContain(`its folder ${b.sockDir} is owned by uid 65534, not by you (uid 0)`);
    chownSync(b.sockDir, 0, 0);
    expect((await b.run(["export", "--no-session", "alice"])).code).toBe(0);
  });

  it("another uid obtains nothing: no status, no item, no connection", async () => {
    const b = box(artifact);
    await addAlice(b);
    await unlockWithCommand(b);
    // Open every folder above the agent's own, so only its 0700 folder and 0600 socket stand guard.
    chmodSync(b.home, 0o755);
    chmodSync(join(b.home, "run"), 0o755);
    const asNobody = (argv: string[]) => {
      try {
        return { code: 0, out: execFileSync("/usr/sbin/runuser", ["-u", "nobody", "--", ...argv], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], env: { PATH: "/usr/bin:/bin", HOME: "/tmp", AWS_VAULT_AGENT_SOCK: b.sock } }) };
      } catch (e) {
        const err = e as { status: number; stdout: string; stderr: string };
        return { code: err.status, out: err.stdout + err.stderr };
      }
    };
    const nodeArgv = artifact.name === "node" ? ["/usr/bin/node", artifact.argv[1] as string] : artifact.argv;
    const status = asNobody([...nodeArgv, "agent", "status"]);
    expect(status.code).toBe(1);
    expect(status.out).toContain(`its folder ${b.sockDir} is owned by uid 0, not by you (uid 65534)`);
    const direct = `
import socket, sys
s = socket.socket(socket.AF_UNIX)
try:
    s.connect(sys.argv[1])
    s.sendall(b'{"v":1,"op":"get","dir":"${b.keysDir}","key":"alice"}\\n')
    print("CONNECTED", s.recv(65536))
except OSError as e:
    print("REFUSED", e.errno)
`;
    const viaFolder = asNobody(["/usr/bin/python3", "-c", direct, b.sock]);
    expect(viaFolder.out).toBe("REFUSED 13\n");
    // Even with the folder opened by mistake, the 0600 socket refuses another uid.
    chmodSync(b.sockDir, 0o755);
    expect(asNobody(["/usr/bin/python3", "-c", direct, b.sock]).out).toBe("REFUSED 13\n");
    chmodSync(b.sockDir, 0o700);
    expect((await b.run(["agent", "status"])).code).toBe(0);
  });

  it("SIGKILL of the agent loses nothing: the next command prompts as without an agent, and unlock starts afresh", async () => {
    const b = box(artifact);
    await addAlice(b);
    await unlockWithCommand(b);
    const add = await b.run(["add", "--env", "second"], { AWS_ACCESS_KEY_ID: "AKIASECONDVIAAGENT01", AWS_SECRET_ACCESS_KEY: "y".repeat(40) });
    expect(add.code, add.stderr).toBe(0);
    const pid = (await b.agentPid()) as number;
    process.kill(pid, "SIGKILL");
    for (let i = 0; i < 100 && alive(pid); i++) await sleep(20);
    expect(await b.run(["agent", "status"])).toMatchObject({ code: 1, stdout: `not running\nsocket: ${b.sock}\n` });
    expect((await b.run(["export", "--no-session", "alice"])).stderr).toMatch(NO_WAY);
    const typed = await b.pty(["export", "--no-session", "second"], [{ expect: PROMPT, send: `${PASS}\r` }]);
    expect(typed.code, typed.output).toBe(0);
    expect(typed.output).toContain("AWS_ACCESS_KEY_ID=AKIASECONDVIAAGENT01");
    await unlockWithCommand(b, [], other(artifact));
    expect((await b.run(["export", "--no-session", "second"])).code).toBe(0);
  });

  it("a malformed, oversized, wrong-version, incomplete or slow request gets an error reply; the agent keeps serving", async () => {
    const b = box(artifact);
    await addAlice(b);
    await unlockWithCommand(b);
    const exchange = (payload: Buffer | string, opts: { end?: boolean } = {}) =>
      new Promise<string>((resolve, reject) => {
        const s = connect(b.sock);
        let got = "";
        s.on("data", (d) => (got += d.toString()));
        s.on("close", () => resolve(got));
        s.on("error", (e: NodeJS.ErrnoException) => (e.code === "EPIPE" || e.code === "ECONNRESET" ? resolve(got) : reject(e)));
        s.write(payload);
        if (opts.end) s.end();
      });
    expect(JSON.parse(await exchange("not json\n"))).toMatchObject({ v: 1, ok: false, code: "bad-request", message: "malformed message (not JSON)" });
    expect(JSON.parse(await exchange('{"v":2,"op":"status"}\n'))).toMatchObject({ ok: false, code: "bad-request", message: "unsupported protocol version 2 (this agent speaks 1)" });
    expect(JSON.parse(await exchange('{"v":1,"op":"get","dir":7}\n'))).toMatchObject({ ok: false, code: "bad-request" });
    expect(JSON.parse(await exchange('{"v":1,"op":"explode"}\n'))).toMatchObject({ ok: false, code: "bad-request", message: 'unknown request "explode"' });
    expect(JSON.parse(await exchange(Buffer.alloc(2 * 1024 * 1024, 0x61)))).toMatchObject({ ok: false, code: "bad-request", message: "request larger than 1048576 bytes" });
    expect(JSON.parse(await exchange('{"v":1,"op":"sta', { end: true }))).toMatchObject({ ok: false, code: "bad-request", message: "incomplete request" });
    expect(JSON.parse(await exchange('{"v":1,"op":"status"'))).toMatchObject({ ok: false, code: "bad-request", message: "no complete request within 5s" });
    // A client that goes away mid-request does no harm.
    await new Promise<void>((resolve) => {
      const s = connect(b.sock, () => {
        s.write('{"v":1,"op":"get","dir":"');
        s.destroy();
        resolve();
      });
    });
    const status = JSON.parse(await exchange('{"v":1,"op":"status"}\n'));
    expect(status).toMatchObject({ v: 1, ok: true, status: { unlocked: true } });
    expect(JSON.stringify(status)).not.toContain(PASS);
    expect((await b.run(["export", "--no-session", "alice"])).code).toBe(0);
  }, 60_000);

  it("Ctrl-C at an auto-unlock prompt ends cleanly: exit 130, the agent stays locked, the next command asks again", async () => {
    const b = box(artifact);
    await addAlice(b);
    const auto = { AWS_VAULT_AGENT: "auto" };
    const cancelled = await b.pty(["export", "--no-session", "alice"], [{ expect: PROMPT, send: "\u0003" }], auto);
    expect(cancelled.code).toBe(130);
    expect(cancelled.output).toMatch(/aws-vault: error: export: .*cancelled/);
    const pid = await b.agentPid();
    if (pid) pids.add(pid);
    expect((await b.run(["agent", "status"])).stdout).toMatch(/^locked\n/);
    expect(readdirSync(b.sockDir).sort()).toEqual(["agent.sock"]); // no lock file left behind
    const typed = await b.pty(["export", "--no-session", "alice"], [{ expect: PROMPT, send: `${PASS}\r` }], auto, other(artifact));
    expect(typed.code, typed.output).toBe(0);
    expect(typed.output).not.toContain("aws-vault: hint:"); // auto needs no suggestion
    expect((await b.run(["agent", "status"])).code).toBe(0);
  });

  it("agent start --foreground (systemd, launchd) serves until SIGTERM, refuses a second agent, removes its socket", async () => {
    const b = box(artifact);
    await addAlice(b);
    const child = start(artifact, ["agent", "start", "--foreground"], { env: b.env });
    let err = "";
    child.stderr?.setEncoding("utf8").on("data", (d: string) => (err += d));
    const exited = new Promise<number | null>((resolve) => child.on("close", (c) => resolve(c)));
    for (let i = 0; i < 200 && !err.includes("listening"); i++) await sleep(25);
    expect(err).toBe(`aws-vault: agent listening on ${b.sock} (pid ${child.pid})\n`);
    expect(await b.run(["agent", "status"])).toMatchObject({ code: 1, stdout: `locked\nsocket: ${b.sock} (pid ${child.pid})\n` });
    const second = await b.run(["agent", "start", "--foreground"], {}, other(artifact));
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(`an aws-vault agent (pid ${child.pid}) is already running on ${b.sock}`);
    await unlockWithCommand(b, [], other(artifact));
    expect((await b.run(["export", "--no-session", "alice"])).code).toBe(0);
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(existsSync(b.sock)).toBe(false);
    expect((await b.run(["agent", "status"])).stdout).toBe(`not running\nsocket: ${b.sock}\n`);
  });

  it("bad agent settings are refused up front; unlock needs the file backend", async () => {
    const b = box(artifact);
    const mode = await b.run(["list"], { AWS_VAULT_AGENT: "sometimes" });
    expect(mode).toMatchObject({ code: 2, stderr: "aws-vault: error: AWS_VAULT_AGENT must be one of auto, on, off, got 'sometimes', try --help\n" });
    const ttl = await b.run(["unlock", "--ttl", "soon"]);
    expect(ttl.code).toBe(2);
    expect(ttl.stderr).toContain('invalid duration "soon"');
    // A socket path no Unix socket can have: unlock says so; other commands work as without an agent.
    const long = { AWS_VAULT_AGENT_SOCK: join(b.home, "x".repeat(100), "agent.sock") };
    const tooLong = await b.run(["unlock"], { ...long, AWS_VAULT_FILE_PASSPHRASE_CMD: b.passCmd() });
    expect(tooLong.code).toBe(1);
    expect(tooLong.stderr).toMatch(/^aws-vault: error: unlock: the aws-vault agent socket path \S+ is too long \(\d+ bytes; Unix sockets allow 103\)\naws-vault: hint: set AWS_VAULT_AGENT_SOCK to a shorter path in a private folder\n$/);
    await addAlice(b);
    expect((await b.run(["export", "--no-session", "alice"], { ...long, AWS_VAULT_FILE_PASSPHRASE_CMD: b.passCmd() })).code).toBe(0);
    const backend = await b.run(["--backend", "pass", "unlock"]);
    expect(backend).toMatchObject({
      code: 1,
      stderr: "aws-vault: error: unlock: the agent serves the file keyring only, and the backend here is pass\naws-vault: hint: use --backend file\n",
    });
    expect(await b.run(["agent", "status"])).toMatchObject({ code: 1 });
  });

  it("passphrase sources without an agent: the command's failure names it and its exit status, a dialog without a terminal, else one line", async () => {
    const b = box(artifact);
    await addAlice(b);
    const failing = join(b.home, "failing.sh");
    writeFileSync(failing, "#!/bin/sh\necho SECRET-LOOKING-OUTPUT\nexit 3\n", { mode: 0o700 });
    const r = await b.run(["export", "--no-session", "alice"], { AWS_VAULT_FILE_PASSPHRASE_CMD: failing });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`AWS_VAULT_FILE_PASSPHRASE_CMD (\`${failing}\`) failed: exit status 3`);
    expect(r.stderr).not.toContain("SECRET-LOOKING-OUTPUT");
    const debug = await b.run(["--debug", "export", "--no-session", "alice"], { AWS_VAULT_FILE_PASSPHRASE_CMD: failing });
    expect(debug.stderr).not.toContain("SECRET-LOOKING-OUTPUT");

    // No terminal: zenity's password dialog (a stand-in on PATH that records its arguments).
    const bin = join(b.home, "bin");
    mkdirSync(bin);
    const args = join(b.home, "zenity.args");
    writeFileSync(join(bin, "zenity"), `#!/bin/sh\necho "$@" > '${args}'\nenv | grep -c AWS_VAULT_FILE_PASSPHRASE >> '${args}'\nprintf '%s\\n' '${PASS}'\n`, { mode: 0o755 });
    const dialog = await b.run(["export", "--no-session", "alice"], { PATH: `${bin}:${b.env.PATH}` });
    expect(dialog.code, dialog.stderr).toBe(0);
    expect(dialog.stdout).toContain(`AWS_ACCESS_KEY_ID=${user.accessKeyId}`);
    expect(readFileSync(args, "utf8")).toBe("--password --title aws-vault\n0\n");

    const none = await b.run(["export", "--no-session", "alice"]);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(NO_WAY);
  });
});

/** Writes a keyring item as aws-vault v7 does (jose2go PBES2-HS256+A128KW / A256GCM, p2c 8192), in place. */
const GO_WRITER = String.raw`
import base64, json, os, sys
from joserfc import jwe
from joserfc.jwe import JWERegistry
from joserfc.jwk import OctKey
path, passphrase, key, key_id = sys.argv[1:5]
creds = json.dumps({"AccessKeyID": key_id, "SecretAccessKey": "goSecret/" + key_id, "SessionToken": "", "Source": "", "CanExpire": False, "Expires": "0001-01-01T00:00:00Z"}, separators=(",", ":"))
item = json.dumps({"Key": key, "Data": base64.b64encode(creds.encode()).decode(), "Label": "aws-vault (" + key + ")", "Description": "", "KeychainNotTrustApplication": False, "KeychainNotSynchronizable": False}, separators=(",", ":"))
reg = JWERegistry(algorithms=["PBES2-HS256+A128KW", "A256GCM"], strict_check_header=False)
header = {"alg": "PBES2-HS256+A128KW", "enc": "A256GCM", "p2c": 8192, "p2s": base64.urlsafe_b64encode(os.urandom(12)).rstrip(b"=").decode(), "created": "2026-01-01 00:00:00 +0000 UTC"}
token = jwe.encrypt_compact(header, item.encode(), OctKey.import_key(passphrase.encode()), registry=reg)
with open(path, "w") as f:
    f.write(token)
os.chmod(path, 0o600)
`;

const GO_READER = String.raw`
import sys
from joserfc import jwe
from joserfc.jwe import JWERegistry
from joserfc.jwk import OctKey
reg = JWERegistry(algorithms=["PBES2-HS256+A128KW", "A256GCM"], strict_check_header=False)
sys.stdout.write(jwe.decrypt_compact(open(sys.argv[1]).read(), OctKey.import_key(sys.argv[2].encode()), registry=reg).plaintext.decode())
`;
