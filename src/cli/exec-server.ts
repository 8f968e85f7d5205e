// exec --ecs-server / --ec2-server: glue between the command and src/server.
import { errorMessage, isVaultError, UserError } from "../errors.ts";
import type { Runtime } from "../runtime/runtime.ts";
import { childEnvironment, type ChildCredentialMode, describeCredentialVars } from "../vault/child-env.ts";
import { roleArnProvider } from "../vault/role-arn-provider.ts";
import type { ExecOptions } from "./exec.ts";
import { prefixed } from "./export.ts";
import type { Session } from "./global.ts";
import { recordHandOut } from "./hand-out.ts";
import { CommandFailure, renderError } from "./render.ts";
import type { ResolvedCredentials } from "./temp-credentials.ts";

/** aws-vault's printHelpMessage: stderr when a subshell starts on a terminal, else the debug log. */
export function helpMessage(rt: Runtime, o: ExecOptions, text: string): void {
  if (o.command === undefined && !rt.log.enabled && rt.stdout.isTTY && rt.env.AWS_VAULT_DISABLE_HELP_MESSAGE !== "1") {
    rt.stderr.write(`${text}\n`);
  } else {
    rt.log.debug(text);
  }
}

export interface ExecServer {
  env: Record<string, string>;
  close(): Promise<void>;
}

/**
 * --ecs-server / --ec2-server: starts the server (and, for EC2, the root proxy) over the same
 * cached provider chain as plain exec; the returned env points the child at it.
 */
export async function startExecServer(o: ExecOptions, s: Session, r: ResolvedCredentials): Promise<ExecServer> {
  const { rt } = s;
  // Every fetch the server makes (it keeps credentials in memory between them) is one audit line.
  const provider = {
    kind: r.provider.kind,
    inner: r.provider,
    async retrieve() {
      try {
        const credentials = await r.provider.retrieve();
        await recordHandOut(rt, o.ecsServer ? "exec --ecs-server" : "exec --ec2-server", o.profile, r, { credentials });
        return credentials;
      } catch (e) {
        await recordHandOut(rt, o.ecsServer ? "exec --ecs-server" : "exec --ec2-server", o.profile, r, { error: e });
        throw e;
      }
    },
  };
  // The server holds credentials for as long as the child runs: no core file may hold them.
  const hardened = rt.hardenLongRunning?.();
  if (hardened) rt.log.debug(`core dumps: ${hardened.detail}`);
  const common = {
    provider,
    now: () => rt.now(),
    windowMs: r.deps.minTtlMs,
    random: (n: number) => rt.random(n),
    log: rt.log.enabled ? (line: string) => rt.log.debug(line) : undefined,
    debug: (m: string) => rt.log.debug(m),
    // A refresh that fails mid-run (e.g. MFA refused) is shown to the user, not only to the SDK.
    onRefreshError: (e: unknown) => void renderError(rt, new CommandFailure("exec", e)),
  };
  const startFailure = (e: unknown) =>
    isVaultError(e) ? e : new UserError(`Failed to start credential server: ${errorMessage(e)}`, { cause: e });

  if (o.ecsServer) {
    const { startEcsServer } = await import("../server/ecs.ts");
    let server;
    try {
      server = await startEcsServer({ ...common, lazy: o.lazy, roleProvider: (arn, source) => roleArnProvider(r.deps, r.config, arn, source) });
    } catch (e) {
      throw prefixed("Retrieving creds", startFailure(e));
    }
    helpMessage(rt, o, "Starting a local ECS credential server; your app's AWS sdk must support AWS_CONTAINER_CREDENTIALS_FULL_URI.");
    rt.log.debug(`ECS credential server listening on ${server.url}`);
    const mode: ChildCredentialMode = { kind: "ecs", url: server.url, token: server.token.reveal() };
    rt.log.debug(`Setting subprocess env: AWS_VAULT, AWS_REGION, AWS_DEFAULT_REGION, ${describeCredentialVars(mode)}`);
    const ecs = server;
    return { env: childEnvironment(rt.env, o.profile, r.config.region, mode), close: () => ecs.close() };
  }

  const [{ startEc2Endpoint }, proxy] = await Promise.all([import("../server/ec2.ts"), import("../server/proxy.ts")]);
  let server;
  try {
    server = await startEc2Endpoint({
      ...common,
      region: r.config.region,
      useProxy: (rt.env[proxy.ENV_EC2_PROXY] ?? "").toLowerCase() !== "off",
      proxy: {
        selfCommand: rt.selfCommand,
        isRoot: proxy.currentUserIsRoot(),
        platform: rt.platform,
        sudo: rt.spawn.which("sudo"),
        env: Object.fromEntries(["PATH", "HOME", "LANG", "SystemRoot"].flatMap((k) => (rt.env[k] ? [[k, rt.env[k] as string]] : []))),
        debug: rt.log.enabled,
        onStderr: (t) => rt.stderr.write(t),
      },
      help: (text) => helpMessage(rt, o, text),
      warn: (e) => rt.stderr.write(`aws-vault: warning: ${e.message}\n${e.hints.map((h) => `aws-vault: hint: ${h}\n`).join("")}`),
    });
  } catch (e) {
    throw startFailure(e);
  }
  const mode: ChildCredentialMode = { kind: "ec2", url: server.url };
  rt.log.debug(`Setting subprocess env: AWS_VAULT, AWS_REGION, AWS_DEFAULT_REGION, ${describeCredentialVars(mode)}`);
  const ec2 = server;
  return { env: childEnvironment(rt.env, o.profile, r.config.region, mode), close: () => ec2.close() };
}
