// `import [PROFILE...] [--from FILE] [--scrub] [--dry-run] [--overwrite]` (issue 12): the work is in vault/import.ts.
import type { Command } from "commander";
import { join } from "node:path";
import { expandTilde } from "../keyring/open.ts";
import { CredentialStore } from "../vault/credential-store.ts";
import { importCredentials, type ImportOptions } from "../vault/import.ts";
import { UsageError } from "../errors.ts";
import { runImportLoginCache } from "./import-login-cache.ts";
import type { CliContext } from "./context.ts";
import type { Session } from "./global.ts";

interface ImportFlags {
  loginCache?: boolean;
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
    .option("--login-cache", "Import `aws login` sessions from ~/.aws/login/cache instead (env: AWS_LOGIN_CACHE_DIRECTORY)")
    .action((profiles: string[], flags: ImportFlags, cmd: Command) =>
      ctx.run("import", () =>
        flags.loginCache
          ? (validateLoginCacheFlags(profiles, flags), runImportLoginCache({ loginCache: true, scrub: Boolean(flags.scrub) }, ctx.session(cmd)))
          : runImport(profiles, flags, ctx.session(cmd)),
      ),
    );
}

/** --login-cache imports sessions, not keys: the credentials-file flags do not apply to it. */
export function validateLoginCacheFlags(profiles: string[], f: ImportFlags): void {
  const other = profiles.length ? "profile names" : f.from !== undefined ? "--from" : f.dryRun ? "--dry-run" : f.overwrite ? "--overwrite" : undefined;
  if (other) {
    throw new UsageError(`--login-cache can't be combined with ${other}`, {
      hints: ["`aws-vault import --login-cache [--scrub]` moves every `aws login` session; import keys from the credentials file separately"],
    });
  }
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
