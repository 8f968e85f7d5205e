// `import [PROFILE...] [--from FILE] [--scrub] [--dry-run] [--overwrite]` (issue 12): the work is in vault/import.ts.
import type { Command } from "commander";
import { join } from "node:path";
import { expandTilde } from "../keyring/open.ts";
import { CredentialStore } from "../vault/credential-store.ts";
import { importCredentials, type ImportOptions } from "../vault/import.ts";
import type { CliContext } from "./context.ts";
import type { Session } from "./global.ts";

interface ImportFlags {
  from?: string;
  scrub?: boolean;
  dryRun?: boolean;
  overwrite?: boolean;
}

export function registerImport(program: Command, ctx: CliContext): void {
  program
    .command("import")
    .description("Import long-term keys from the shared credentials file into the vault.")
    .argument("[profiles...]", "Sections to import (default: every section with long-term keys)")
    .option("--from <file>", "Credentials file to read (default: AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials)")
    .option("--scrub", "Remove the imported key lines from the file once the vault copy is verified")
    .option("--dry-run", "Show what would happen; change nothing")
    .option("--overwrite", "Replace keys already stored for a profile with different ones")
    .action((profiles: string[], flags: ImportFlags, cmd: Command) =>
      ctx.run("import", () => runImport(profiles, flags, ctx.session(cmd))),
    );
}

export async function runImport(profiles: string[], f: ImportFlags, s: Session): Promise<number> {
  const { rt } = s;
  const from = f.from ?? (rt.env.AWS_SHARED_CREDENTIALS_FILE || join(rt.homedir, ".aws", "credentials"));
  const o: ImportOptions = { profiles, scrub: Boolean(f.scrub), dryRun: Boolean(f.dryRun), overwrite: Boolean(f.overwrite) };
  const print = (line: string) => rt.stdout.write(`${line}\n`);
  const summary = await importCredentials(
    { rt, store: new CredentialStore(await s.keyring()), credentialsPath: expandTilde(from, rt.homedir), configPath: s.options.configPath, print },
    o,
  );
  print(
    `${o.dryRun ? "dry run: would import" : "imported"} ${summary.imported}, skipped ${summary.skipped}, ` +
      `${o.dryRun ? "would scrub" : "scrubbed"} ${summary.scrubbed}${summary.failed ? `, failed ${summary.failed}` : ""}`,
  );
  return summary.failed > 0 ? 1 : 0;
}
