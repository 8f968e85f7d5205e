// `rotate [-n] profile` (aws-vault §10) and `rotate --all --older-than 90d [--dry-run]`: the
// orchestration of one rotation lives in vault/rotate.ts; the batch picks profiles by key age.
import type { Command } from "commander";
import { sdkClients } from "../aws/clients.ts";
import { legacyStsEndpoint } from "../aws/endpoints.ts";
import { UsageError } from "../errors.ts";
import { parseFlagDuration } from "../util/duration.ts";
import { redact } from "../util/redact.ts";
import { audit } from "../vault/audit-log.ts";
import { ConfigLoader, serviceEndpoint } from "../vault/config/loader.ts";
import { CredentialStore } from "../vault/credential-store.ts";
import { DEFAULT_ROTATE_AFTER_MS, formatAge, storedKeyAges } from "../vault/key-age.ts";
import { rotateAccessKey } from "../vault/rotate.ts";
import type { CliContext } from "./context.ts";
import type { Session } from "./global.ts";
import { resolveCredentials } from "./temp-credentials.ts";

export interface RotateCommandOptions {
  profile: string;
  noSession: boolean;
}

export interface RotateAllOptions {
  olderThanMs: number;
  dryRun: boolean;
  noSession: boolean;
}

interface RotateFlags {
  session?: boolean;
  all?: boolean;
  olderThan?: string;
  dryRun?: boolean;
}

export function registerRotate(program: Command, ctx: CliContext): void {
  program
    .command("rotate")
    .description("Rotate credentials.")
    .argument("[profile]", "Name of the profile")
    .option("-n, --no-session", "Use master credentials, no session or role used")
    .option("--all", "Rotate every stored key older than --older-than, one after another")
    .option("--older-than <age>", "With --all: rotate keys older than this, e.g. 90d (default 90d)")
    .option("--dry-run", "With --all: show which keys would be rotated, change nothing")
    .action((profile: string | undefined, flags: RotateFlags, cmd: Command) =>
      ctx.run("rotate", () => {
        if (flags.all) return runRotateAll(validateRotateAllOptions(profile, flags), ctx.session(cmd));
        return runRotate(validateRotateOptions(profile, flags), ctx.session(cmd));
      }),
    );
}

export function validateRotateOptions(profile: string | undefined, f: RotateFlags): RotateCommandOptions {
  if (f.olderThan !== undefined || f.dryRun) throw new UsageError("--older-than and --dry-run apply only to rotate --all");
  if (profile === undefined) throw new UsageError("required argument 'profile' not provided");
  return { profile, noSession: f.session === false };
}

export function validateRotateAllOptions(profile: string | undefined, f: RotateFlags): RotateAllOptions {
  if (profile !== undefined) throw new UsageError("rotate --all takes no profile (it picks every stored key past --older-than)");
  let olderThanMs = DEFAULT_ROTATE_AFTER_MS;
  if (f.olderThan !== undefined) {
    try {
      olderThanMs = parseFlagDuration(f.olderThan);
    } catch {
      throw new UsageError(`--older-than: ${JSON.stringify(f.olderThan)} is not a duration (e.g. 90d)`);
    }
  }
  return { olderThanMs, dryRun: Boolean(f.dryRun), noSession: f.session === false };
}

async function rotateOne(s: Session, profile: string, noSession: boolean, print: (line: string) => void) {
  const { rt } = s;
  const file = await s.configFile();
  const config = new ConfigLoader({ file, baseConfig: {}, env: rt.env, activeProfile: profile, log: (m) => rt.log.debug(m) })
    .getProfileConfig(profile);
  try {
    const result = await rotateAccessKey(
      {
        rt,
        keyring: await s.keyring(profile),
        aws: sdkClients(),
        stsEndpoint: (hop) => serviceEndpoint(file, hop, "sts", rt.env) ?? legacyStsEndpoint(hop.region, hop.stsRegionalEndpoints),
        iamEndpoint: (hop) => serviceEndpoint(file, hop, "iam", rt.env),
        print,
      },
      {
        config,
        noSession,
        // A fresh session (never cached): GetSessionToken with MFA, or the profile's role.
        sessionProvider: async () => (await resolveCredentials(s, { profile, noSession: false }, { disableCache: true })).provider,
      },
    );
    await audit(rt, { command: "rotate", profile: result.profile, source: "IAM", accessKeyId: result.accessKeyId, result: "ok" });
    return result;
  } catch (e) {
    await audit(rt, { command: "rotate", profile, source: "IAM", result: "error", detail: e instanceof Error ? e.message : String(e) });
    throw e;
  }
}

export async function runRotate(o: RotateCommandOptions, s: Session): Promise<number> {
  await rotateOne(s, o.profile, o.noSession, (line) => s.rt.stdout.write(`${line}\n`));
  return 0;
}

export async function runRotateAll(o: RotateAllOptions, s: Session): Promise<number> {
  const { rt } = s;
  const keyring = await s.keyring();
  const ages = await storedKeyAges(rt, new CredentialStore(keyring));
  const summary = { rotated: 0, skipped: 0, failed: 0 };
  const print = (line: string) => rt.stdout.write(`${line}\n`);
  for (const { profile, ageMs, basis } of ages) {
    if (ageMs === undefined) {
      summary.skipped++;
      print(`skipped ${profile}: its key age is unknown (aws-vault doctor --online ${profile} learns it from IAM)`);
      continue;
    }
    const age = `${formatAge(ageMs)} old${basis === "created" ? "" : " (by when it was stored)"}`;
    if (ageMs <= o.olderThanMs) {
      summary.skipped++;
      print(`skipped ${profile}: key is ${age}`);
      continue;
    }
    if (o.dryRun) {
      summary.rotated++;
      print(`would rotate ${profile}: key is ${age}`);
      continue;
    }
    print(`rotating ${profile}: key is ${age}`);
    try {
      await rotateOne(s, profile, o.noSession, (line) => print(`  ${line}`));
      summary.rotated++;
    } catch (e) {
      summary.failed++;
      const hints = e instanceof Error && "hints" in e ? (e.hints as string[]) : [];
      print(redact(`failed ${profile}: ${e instanceof Error ? e.message : String(e)}`));
      for (const h of hints) print(redact(`  hint: ${h}`));
    }
  }
  print(`${o.dryRun ? "dry run: would rotate" : "rotated"} ${summary.rotated}, skipped ${summary.skipped}, failed ${summary.failed}`);
  return summary.failed > 0 ? 1 : 0;
}
