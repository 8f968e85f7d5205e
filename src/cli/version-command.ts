// `aws-vault version`: the version on stdout, with the runtime and the aws-vault release whose
// behaviour this one follows. (`--version` keeps aws-vault's form: the version alone, on stderr.)
import type { Command } from "commander";
import type { Runtime } from "../runtime/runtime.ts";
import { COMPATIBLE_AWS_VAULT, VERSION } from "../version.ts";
import type { CliContext } from "./context.ts";

export function registerVersion(program: Command, ctx: CliContext): void {
  program
    .command("version")
    .description("Show the version, the runtime and the compatible aws-vault version.")
    .action(() => ctx.run("version", async () => runVersion(ctx.rt)));
}

export function versionText(rt: Pick<Runtime, "engine">): string {
  return `${VERSION}\nruntime: ${rt.engine ?? "unknown"}\ncompatible with: aws-vault ${COMPATIBLE_AWS_VAULT}\n`;
}

export function runVersion(rt: Runtime): number {
  rt.stdout.write(versionText(rt));
  return 0;
}
