import { constants } from "node:os";
import type { Command } from "commander";
import { UsageError, UserError } from "../errors.ts";
import type { Child, Runtime, SignalName } from "../runtime/runtime.ts";
import { childEnvironment, type ChildCredentialMode, describeCredentialVars } from "../vault/child-env.ts";
import type { CliContext } from "./context.ts";
import { prefixed, runExport, validateExportOptions, type ExportFlags } from "./export.ts";
import type { Session } from "./global.ts";
import { helpMessage, startExecServer } from "./exec-server.ts";
import { recordHandOut } from "./hand-out.ts";
import { profileOrPick } from "./pick-profile.ts";
import { type CredentialFlags, resolveCredentials } from "./temp-credentials.ts";

export interface ExecOptions extends CredentialFlags {
  command?: string;
  args: string[];
  json: boolean;
  ecsServer: boolean;
  ec2Server: boolean;
  lazy: boolean;
}

interface ExecFlags extends ExportFlags {
  json?: boolean;
  server?: boolean;
  ecsServer?: boolean;
  ec2Server?: boolean;
  lazy?: boolean;
}

export function registerExec(program: Command, ctx: CliContext): void {
  program
    .command("exec")
    .description("Execute a command with AWS credentials.")
    .argument("[profile]", "Name of the profile (on a terminal, chosen from a list when left out)")
    .argument("[cmd]", "Command to execute, defaults to $SHELL")
    .argument("[args...]", "Command arguments")
    .option("-d, --duration <duration>", "Duration of the temporary or assume-role session. Defaults to 1h")
    .option("-n, --no-session", "Skip creating STS session with GetSessionToken")
    .option("--region <region>", "The AWS region")
    .option("-t, --mfa-token <token>", "The MFA token to use")
    .option("-j, --json", "Output credentials in JSON that can be used by credential_process (deprecated: use export --format=json)")
    .option("-s, --server", "Alias for --ecs-server")
    .option("--ec2-server", "Run a EC2 metadata server in the background for credentials")
    .option("--ecs-server", "Run a ECS credential server in the background for credentials (the SDK or app must support AWS_CONTAINER_CREDENTIALS_FULL_URI)")
    .option("--lazy", "When using --ecs-server, lazily fetch credentials")
    .option("--stdout", "Print the SSO link to the terminal without automatically opening the browser")
    .option("--use-device-code", "Sign in to SSO with the device code flow instead of the browser and a loopback redirect")
    .action((given: string | undefined, command: string | undefined, args: string[], flags: ExecFlags, cmd: Command) =>
      ctx.run("exec", async () => {
        // Flags are checked before a profile is picked.
        if (flags.json) {
          if (flags.ec2Server) throw new UserError("Can't use --ec2-server with --json");
          if (flags.ecsServer || flags.server) throw new UserError("Can't use --ecs-server with --json");
          const o = validateExportOptions(given ?? "", { ...flags, format: "json" });
          return runExport({ ...o, profile: await profileOrPick(ctx.session(cmd), given, "exec") }, ctx.session(cmd), "exec");
        }
        const o = validateExecOptions(given ?? "", command, args, flags);
        return runExec({ ...o, profile: await profileOrPick(ctx.session(cmd), given, "exec") }, ctx.session(cmd));
      }),
    );
}

export function validateExecOptions(profile: string, command: string | undefined, args: string[], f: ExecFlags): ExecOptions {
  const base = validateExportOptions(profile, { ...f, format: "env" });
  const ecsServer = Boolean(f.ecsServer || f.server);
  const ec2Server = Boolean(f.ec2Server);
  if (ec2Server && ecsServer) throw new UserError("Can't use --ec2-server with --ecs-server");
  if (ec2Server && base.noSession) throw new UserError("Can't use --ec2-server with --no-session");
  if (ecsServer && base.noSession) throw new UserError("Can't use --ecs-server with --no-session");
  if (f.lazy && !ecsServer) throw new UsageError("--lazy only applies to --ecs-server");
  return {
    ...base,
    ...(command !== undefined ? { command } : {}),
    args,
    json: false,
    ecsServer,
    ec2Server,
    lazy: Boolean(f.lazy),
    avoidTerminalPrompt: ecsServer || ec2Server,
  };
}

const FORWARDED: SignalName[] = ["SIGTERM", "SIGHUP", "SIGINT", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGWINCH"];

export async function runExec(o: ExecOptions, s: Session): Promise<number> {
  const { rt } = s;
  if (rt.env.AWS_VAULT) {
    throw new UserError("running in an existing aws-vault subshell; 'exit' from the subshell or unset AWS_VAULT to force");
  }
  // Find the program before any STS call or MFA prompt is spent on it.
  const command = o.command ?? (rt.env.SHELL || (rt.platform === "win32" ? "cmd.exe" : "/bin/sh"));
  if (!rt.spawn.which(command)) throw new UserError(`exec: "${command}": executable file not found in $PATH`);
  let resolved;
  try {
    resolved = await resolveCredentials(s, o);
  } catch (e) {
    throw prefixed("Error getting temporary credentials", e);
  }
  if (o.ecsServer || o.ec2Server) {
    const server = await startExecServer(o, s, resolved);
    try {
      if (o.command === undefined) helpMessage(rt, o, `Starting subshell ${command}, use \`exit\` to exit the subshell`);
      return await runChild(rt, command, o.args, server.env);
    } finally {
      await server.close();
    }
  }
  let credentials;
  try {
    credentials = await resolved.provider.retrieve();
  } catch (e) {
    await recordHandOut(rt, "exec", o.profile, resolved, { error: e });
    throw prefixed(`Failed to get credentials for ${o.profile}`, e);
  }
  await recordHandOut(rt, "exec", o.profile, resolved, { credentials });
  const mode: ChildCredentialMode = { kind: "env", credentials };
  const env = childEnvironment(rt.env, o.profile, resolved.config.region, mode);
  rt.log.debug(`Setting subprocess env: AWS_VAULT, AWS_REGION, AWS_DEFAULT_REGION, ${describeCredentialVars(mode)}`);

  if (o.command === undefined) {
    const hint = `Starting subshell ${command}, use \`exit\` to exit the subshell`;
    if (!rt.log.enabled && rt.stdout.isTTY && rt.env.AWS_VAULT_DISABLE_HELP_MESSAGE !== "1") rt.stderr.write(`${hint}\n`);
    else rt.log.debug(hint);
  }
  return runChild(rt, command, o.args, env);
}

/** Runs the child with our stdio, forwards signals, and returns its exit code (128+n when killed by signal n). */
export async function runChild(rt: Runtime, command: string, args: string[], env: Record<string, string>): Promise<number> {
  // A terminal delivers Ctrl-C and Ctrl-\ to the whole foreground group, child included: forwarding
  // those again would make tools like terraform think the user pressed twice.
  const keyboardSignals = new Set<SignalName>(rt.stdinIsTTY ? ["SIGINT", "SIGQUIT"] : []);
  // Handlers go in before the child starts: a signal in between would otherwise kill us and orphan it.
  let child: Child | undefined;
  const early: SignalName[] = [];
  const stops = FORWARDED.map((sig) =>
    rt.onSignal(sig, () => {
      if (keyboardSignals.has(sig)) return;
      if (child) child.kill(sig);
      else early.push(sig);
    }),
  );
  try {
    try {
      child = await rt.spawn.start(command, args, { env, stdio: "inherit" });
    } catch (e) {
      throw new UserError(`exec: "${command}": ${(e as Error).message}`, { cause: e });
    }
    for (const sig of early) child.kill(sig);
    const { code, signal } = await child.exited;
    if (code !== null) return code;
    const n = signal ? (constants.signals as Record<string, number>)[signal] : undefined;
    return 128 + (n ?? 1);
  } finally {
    for (const stop of stops) stop();
  }
}
