// `aws-vault proxy` (hidden, alias `server`): the root proxy on 169.254.169.254:80 that
// `exec --ec2-server` starts (aws-vault cli/proxy.go, §5.3). `--stop` asks a running one to stop.
import type { Command } from "commander";
import type { Runtime } from "../runtime/runtime.ts";
import type { CliContext } from "./context.ts";

export interface ProxyOptions {
  stop: boolean;
}

interface ProxyFlags {
  stop?: boolean;
}

export function registerProxy(program: Command, ctx: CliContext): void {
  program
    .command("proxy", { hidden: true })
    .alias("server")
    .description("Start a proxy for the ec2 instance role server locally.")
    .option("--stop", "Stop the proxy.")
    .action((flags: ProxyFlags, cmd: Command) =>
      ctx.run("proxy", () => {
        const s = ctx.session(cmd);
        return runProxy(validateProxyOptions(flags), s.rt);
      }),
    );
}

export function validateProxyOptions(f: ProxyFlags): ProxyOptions {
  return { stop: Boolean(f.stop) };
}

export async function runProxy(o: ProxyOptions, rt: Runtime): Promise<number> {
  const proxy = await import("../server/proxy.ts");
  if (o.stop) {
    const stopped = await proxy.requestProxyStop();
    rt.log.debug(stopped ? "asked the EC2 metadata proxy to stop" : "no EC2 metadata proxy answered");
    return 0;
  }
  return proxy.serveMetadataProxy(rt, { input: proxy.processStdin, isRoot: proxy.currentUserIsRoot() });
}
