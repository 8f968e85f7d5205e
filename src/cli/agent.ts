// `unlock`, `lock` and `agent status|start|stop`: the file keyring's agent (docs/agent.md).
import { type Command } from "commander";
import { dirname, join, resolve } from "node:path";
import { agentRequest, agentStatus, ensureAgent, NoAgentError } from "../agent/client.ts";
import { agentSocketPath, checkSocketFolder } from "../agent/paths.ts";
import type { AgentStatus } from "../agent/protocol.ts";
import { AgentServer } from "../agent/server.ts";
import { KeyringError, UserError, WrongPassphraseError } from "../errors.ts";
import { askFilePassphrase } from "../prompt/passphrase.ts";
import { currentUid, restrictUmask } from "../runtime/agent-process.ts";
import { withFileLock } from "../runtime/lock.ts";
import { formatGoDuration } from "../util/duration.ts";
import { Secret } from "../util/secret.ts";
import type { CliContext } from "./context.ts";
import { agentDurations, ENV, type Session } from "./global.ts";

export interface UnlockOptions {
  ttl?: string;
  idle?: string;
}

export function registerAgentCommands(program: Command, ctx: CliContext): void {
  program
    .command("unlock")
    .description("Unlock the file keyring once: an agent keeps the passphrase in memory until it locks.")
    .option("--ttl <duration>", "Lock after this long (env: AWS_VAULT_AGENT_TTL). Defaults to 8h")
    .option("--idle <duration>", "Lock after this long without a request (env: AWS_VAULT_AGENT_IDLE). Defaults to 1h")
    .action((flags: UnlockOptions, cmd: Command) => ctx.run("unlock", () => runUnlock(flags, ctx.session(cmd))));
  program
    .command("lock")
    .description("Make the agent forget the file keyring passphrase.")
    .action((_flags: unknown, cmd: Command) => ctx.run("lock", () => runLock(ctx.session(cmd))));
  const agent = program.command("agent").description("Manage the file keyring's agent.");
  agent
    .command("status")
    .description("Show whether the agent is unlocked (exit 0) or not (exit 1).")
    .action((_flags: unknown, cmd: Command) => ctx.run("agent status", () => runAgentStatus(ctx.session(cmd))));
  agent
    .command("stop")
    .description("Stop the agent.")
    .action((_flags: unknown, cmd: Command) => ctx.run("agent stop", () => runAgentStop(ctx.session(cmd))));
  agent
    .command("start")
    .description("Start the agent (locked).")
    .option("--foreground", "Run in the foreground (for a systemd user unit or a launchd job)")
    .action((flags: { foreground?: boolean }, cmd: Command) =>
      ctx.run("agent start", () => runAgentStart(Boolean(flags.foreground), ctx.session(cmd))),
    );
}

function socketOf(s: Session): string {
  return agentSocketPath(s.rt.env, s.rt.homedir);
}

/** The agent's status; undefined when none runs. Refuses an untrustworthy socket folder. */
async function currentStatus(s: Session): Promise<AgentStatus | undefined> {
  const sock = socketOf(s);
  if (!(await checkSocketFolder(sock, currentUid()))) return undefined;
  return agentStatus(sock);
}

export async function runUnlock(o: UnlockOptions, s: Session): Promise<number> {
  const { rt, options } = s;
  if (options.backend !== "file") {
    throw new UserError(`the agent serves the file keyring only, and the backend here is ${options.backend}`, { hints: ["use --backend file"] });
  }
  const durations = agentDurations(rt, o);
  const sock = socketOf(s);
  const uid = currentUid();
  const dir = options.fileDir;
  const envPass = rt.env[ENV.filePassphrase];
  const confirm = (await (await s.keyring()).keys()).length === 0;
  const passphrase =
    envPass !== undefined
      ? new Secret(envPass)
      : await askFilePassphrase(rt, `Enter passphrase to unlock "${dir}": `, { confirm, ...(options.prompt ? { driver: options.prompt } : {}) });
  const start = () => ensureAgent({ socketPath: sock, uid, selfCommand: rt.selfCommand, env: rt.env, sleep: (ms) => rt.sleep(ms), log: (m) => rt.log.debug(m) });
  await start();
  const r = await withFileLock(join(dirname(sock), "unlock.lock"), async () => {
    await start();
    return agentRequest(sock, { op: "unlock", dir: resolve(dir), passphrase: passphrase.reveal(), ...durations });
  });
  if (!r.ok && r.code === "wrong-passphrase") {
    throw new WrongPassphraseError(`wrong passphrase for the file keyring at ${dir}; the agent stays locked`);
  }
  if (!r.ok) throw new KeyringError(`aws-vault agent: ${r.message}`);
  rt.stderr.write(
    `aws-vault: agent unlocked for ${dir}; it locks after ${formatGoDuration(durations.ttlMs)}, or after ${formatGoDuration(durations.idleMs)} without a request\n`,
  );
  return 0;
}

export async function runLock(s: Session): Promise<number> {
  const sock = socketOf(s);
  if (!(await currentStatus(s))) {
    s.rt.stderr.write("aws-vault: no agent is running\n");
    return 0;
  }
  const r = await agentRequest(sock, { op: "lock" });
  if (!r.ok) throw new KeyringError(`aws-vault agent: ${r.message}`);
  s.rt.stderr.write("aws-vault: agent locked\n");
  return 0;
}

function left(ms: number | undefined): string {
  return formatGoDuration(Math.max(0, Math.trunc((ms ?? 0) / 1000) * 1000));
}

export async function runAgentStatus(s: Session): Promise<number> {
  const sock = socketOf(s);
  const st = await currentStatus(s);
  const out = s.rt.stdout;
  if (!st) {
    out.write(`not running\nsocket: ${sock}\n`);
    return 1;
  }
  if (!st.unlocked) {
    out.write(`locked\nsocket: ${sock} (pid ${st.pid})\n`);
    return 1;
  }
  out.write(`unlocked: ${st.dir ?? "?"}\nlocks in ${left(st.ttlLeftMs)}, or after ${left(st.idleLeftMs)} without a request\nsocket: ${sock} (pid ${st.pid})\n`);
  return 0;
}

export async function runAgentStop(s: Session): Promise<number> {
  const sock = socketOf(s);
  const st = await currentStatus(s);
  if (!st) {
    s.rt.stderr.write("aws-vault: no agent is running\n");
    return 0;
  }
  try {
    await agentRequest(sock, { op: "stop" });
  } catch (e) {
    if (!(e instanceof NoAgentError)) throw e;
  }
  for (let i = 0; i < 100 && (await agentStatus(sock).catch(() => undefined)); i++) await s.rt.sleep(20);
  s.rt.stderr.write(`aws-vault: agent stopped (pid ${st.pid})\n`);
  return 0;
}

export async function runAgentStart(foreground: boolean, s: Session): Promise<number> {
  const { rt } = s;
  const sock = socketOf(s);
  if (!foreground) {
    const st = await ensureAgent({ socketPath: sock, uid: currentUid(), selfCommand: rt.selfCommand, env: rt.env, sleep: (ms) => rt.sleep(ms), log: (m) => rt.log.debug(m) });
    rt.stderr.write(`aws-vault: agent running on ${sock} (pid ${st.pid})\n`);
    return 0;
  }
  restrictUmask();
  // The agent holds the passphrase for hours: no core file, and (Bun) no ptrace by the user's other
  // processes. The Bun binary is already non-dumpable from start-up (bin/aws-vault.ts); this adds
  // what costs a process start under Node (RLIMIT_CORE 0 through prlimit).
  const hardened = rt.hardenLongRunning?.();
  rt.log.debug(`[agent] core dumps: ${hardened?.detail ?? "no hardening in this runtime"}`);
  const server = new AgentServer(rt, { socketPath: sock, uid: currentUid() });
  await server.listen();
  const offs = (["SIGTERM", "SIGINT", "SIGHUP"] as const).map((sig) => rt.onSignal(sig, () => void server.stop()));
  rt.stderr.write(`aws-vault: agent listening on ${sock} (pid ${rt.pid})\n`);
  await server.stopped;
  for (const off of offs) off();
  return 0;
}
