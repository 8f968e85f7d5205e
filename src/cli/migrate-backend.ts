// `aws-vault migrate-backend --from A --to B` (from the maintained ByteNess fork): moves long-term
// credentials between keyring backends. Every copy is read back and compared before anything is
// removed from the source; if any copy fails, the copies already made are undone (a destination
// item that was overwritten is restored) and the source is left as it was.
import type { Command } from "commander";
import { KeyNotFoundError, KeyringError, UsageError, UserError, WrongPassphraseError } from "../errors.ts";
import type { Keyring, KeyringItem } from "../keyring/keyring.ts";
import { isBackendName } from "../keyring/open.ts";
import { goQuote } from "../util/go-format.ts";
import { CredentialStore } from "../vault/credential-store.ts";
import type { CliContext } from "./context.ts";
import { Session } from "./global.ts";

export interface MigrateBackendOptions {
  from: string;
  to: string;
  /** Only these profiles (default: every stored credential). */
  profiles: string[];
  dryRun: boolean;
  /** Replace credentials that already exist in the destination (default: skip them). */
  overwrite: boolean;
  /** Copy only: leave the source's credentials in place. */
  keepSource: boolean;
}

export function registerMigrateBackend(program: Command, ctx: CliContext): void {
  program
    .command("migrate-backend")
    .description("Move stored credentials from one keyring backend to another.")
    .requiredOption("--from <backend>", "Backend to migrate from")
    .requiredOption("--to <backend>", "Backend to migrate to")
    .option("--profile <profile>", "Migrate only this profile (repeatable)", (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option("--dry-run", "Show what would be migrated without changing anything")
    .option("--overwrite", "Replace credentials that already exist in the destination")
    .option("--keep-source", "Copy only: leave the credentials in the source backend")
    .option("--delete-source", "Remove the credentials from the source once copied and verified (the default)")
    .action(
      (
        flags: { from: string; to: string; profile: string[]; dryRun?: boolean; overwrite?: boolean; keepSource?: boolean },
        cmd: Command,
      ) =>
        ctx.run("migrate-backend", () =>
          runMigrateBackend(
            {
              from: flags.from,
              to: flags.to,
              profiles: flags.profile,
              dryRun: Boolean(flags.dryRun),
              overwrite: Boolean(flags.overwrite),
              keepSource: Boolean(flags.keepSource),
            },
            ctx.session(cmd),
          ),
        ),
    );
}

export function validateMigrateBackendOptions(o: MigrateBackendOptions): void {
  for (const name of [o.from, o.to]) {
    if (!isBackendName(name)) {
      throw new UsageError(`enum value must be one of wincred,keychain,secret-service,kwallet,keyctl,pass,file, got '${name}'`);
    }
  }
  if (o.from === o.to) throw new UsageError("source and destination backends must differ");
}

export type Step = { profile: string; action: "copy" | "overwrite" | "skip" };

/** Pure planning: which profiles to copy, overwrite or skip. */
export function planMigration(source: string[], destination: string[], o: Pick<MigrateBackendOptions, "profiles" | "overwrite">): Step[] {
  for (const p of o.profiles) {
    if (!source.includes(p)) throw new UserError(`profile ${goQuote(p)} not found in source backend`);
  }
  const chosen = o.profiles.length > 0 ? [...new Set(o.profiles)] : source;
  return chosen.map((profile) => {
    if (!destination.includes(profile)) return { profile, action: "copy" };
    return { profile, action: o.overwrite ? "overwrite" : "skip" };
  });
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

interface Done {
  profile: string;
  /** What the destination held before we wrote (restored if the migration fails). */
  previous: KeyringItem | undefined;
}

/** Puts the destination back as it was: restores overwritten items, removes new ones. */
async function undo(dest: Keyring, done: Done[]): Promise<string[]> {
  const problems: string[] = [];
  for (const d of [...done].reverse()) {
    try {
      if (d.previous) await dest.set(d.previous);
      else await dest.remove(d.profile);
    } catch (e) {
      // A write that failed may have left nothing behind: nothing to undo then.
      if (!(e instanceof KeyNotFoundError)) problems.push(`${d.profile}: ${(e as Error).message}`);
    }
  }
  return problems;
}

export async function runMigrateBackend(o: MigrateBackendOptions, s: Session): Promise<number> {
  validateMigrateBackendOptions(o);
  const { rt } = s;
  const source = await new Session(rt, { ...s.options, backend: o.from }).keyring();
  const dest = await new Session(rt, { ...s.options, backend: o.to }).keyring();
  const plan = planMigration(await new CredentialStore(source).names(), await new CredentialStore(dest).names(), o);
  const moving = plan.filter((st) => st.action !== "skip");

  if (o.dryRun) {
    rt.stdout.write(`Would migrate ${moving.length} credential profile(s) from ${o.from} to ${o.to}:\n`);
    for (const st of plan) {
      const note = st.action === "skip" ? " (skipped, already exists in destination)" : st.action === "overwrite" ? " (overwrite)" : "";
      rt.stdout.write(`  - ${st.profile}${note}\n`);
    }
    rt.stdout.write("No changes made.\n");
    return 0;
  }

  const done: Done[] = [];
  const unreadable: KeyringError[] = [];
  for (const st of plan) {
    rt.stdout.write(`Migrating ${st.profile}... `);
    if (st.action === "skip") {
      rt.stdout.write("skipped, already exists in destination\n");
      continue;
    }
    // One item the source cannot read (damaged, say) is reported and left where it is; the others
    // still move. A wrong passphrase, or any other failure, stops the migration.
    let item: KeyringItem;
    try {
      item = await source.get(st.profile);
    } catch (e) {
      if (!(e instanceof KeyringError) || e instanceof WrongPassphraseError) {
        rt.stdout.write("failed\n");
        throw await abort(o, st.profile, dest, done, e);
      }
      rt.stdout.write(`unreadable, left in ${o.from}\n`);
      unreadable.push(e);
      continue;
    }
    try {
      const previous = st.action === "overwrite" ? await dest.get(st.profile).catch((e: unknown) => (e instanceof KeyNotFoundError ? undefined : Promise.reject(e))) : undefined;
      done.push({ profile: st.profile, previous });
      await dest.set({
        ...item,
        key: st.profile,
        label: item.label || `aws-vault (${st.profile})`,
        keychainNotTrustApplication: true,
      });
      const back = await dest.get(st.profile);
      if (!sameBytes(back.data, item.data)) throw new UserError(`verify destination profile ${goQuote(st.profile)}: credential mismatch`);
      rt.stdout.write(`${st.action === "overwrite" ? "overwritten" : "copied"}, verified\n`);
    } catch (e) {
      rt.stdout.write("failed\n");
      throw await abort(o, st.profile, dest, done, e);
    }
  }

  let removed = 0;
  if (!o.keepSource) {
    for (const d of done) {
      try {
        await source.remove(d.profile);
        removed++;
      } catch (e) {
        throw new UserError(`removing ${goQuote(d.profile)} from ${o.from} failed after it was copied: ${(e as Error).message}`, {
          hints: [`every profile is in ${o.to}, verified; ${removed} were removed from ${o.from}, the rest are still there too`],
          cause: e,
        });
      }
    }
  }
  const skipped = plan.length - done.length - unreadable.length;
  rt.stdout.write(
    `Migrated ${done.length} credential profile(s) from ${o.from} to ${o.to}` +
      `${o.keepSource ? " (source kept)" : `, removed ${removed} from ${o.from}`}` +
      `${skipped > 0 ? `; skipped ${skipped}` : ""}.\n`,
  );
  if (unreadable.length > 0) {
    throw new UserError(
      `${unreadable.length} credential profile(s) could not be read from ${o.from} and were not migrated: ${unreadable.map((e) => e.message).join("; ")}`,
      { hints: [`they are still in ${o.from}`, ...new Set(unreadable.flatMap((e) => e.hints))] },
    );
  }
  return 0;
}

/** Undoes the copies made so far and builds the error that stops the migration at `profile`. */
async function abort(o: MigrateBackendOptions, profile: string, dest: Keyring, done: Done[], e: unknown): Promise<UserError> {
  const problems = await undo(dest, done);
  const undone = done.filter((d) => d.profile !== profile).length;
  const hints = [`nothing was removed from ${o.from}`];
  if (problems.length > 0) hints.push(`could not undo in ${o.to}: ${problems.join("; ")}`);
  else if (undone > 0) hints.push(`the ${undone} profile(s) already copied to ${o.to} were taken out again`);
  return new UserError(`migrating ${goQuote(profile)} from ${o.from} to ${o.to} failed: ${(e as Error).message}`, { hints, cause: e });
}
