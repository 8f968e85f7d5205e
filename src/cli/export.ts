import type { Command } from "commander";
import { UsageError, UserError } from "../errors.ts";
import { parseSessionDuration } from "../util/duration.ts";
import { EXPORT_FORMATS, type ExportFormat, formatExport } from "../vault/export-format.ts";
import type { CliContext } from "./context.ts";
import type { Session } from "./global.ts";
import { recordHandOut } from "./hand-out.ts";
import { withHint } from "./hints.ts";
import { profileOrPick } from "./pick-profile.ts";
import { type CredentialFlags, resolveCredentials } from "./temp-credentials.ts";

export interface ExportOptions extends CredentialFlags {
  format: ExportFormat;
}

export interface ExportFlags {
  duration?: string;
  session?: boolean;
  region?: string;
  mfaToken?: string;
  format?: string;
  stdout?: boolean;
  useDeviceCode?: boolean;
}

export function registerExport(program: Command, ctx: CliContext): void {
  program
    .command("export")
    .description("Export AWS credentials.")
    .argument("[profile]", "Name of the profile (on a terminal, chosen from a list when left out)")
    .option("-d, --duration <duration>", "Duration of the temporary or assume-role session. Defaults to 1h")
    .option("-n, --no-session", "Skip creating STS session with GetSessionToken")
    .option("--region <region>", "The AWS region")
    .option("-t, --mfa-token <token>", "The MFA token to use")
    // createOption, not `new Option`: a type-only commander import keeps commander out of the fast path
    // (fast-path.ts imports this file).
    .addOption(
      withHint(
        program.createOption("--format <format>", `Format to output credentials. Valid values: ${EXPORT_FORMATS.join(", ")}`).default("env"),
        EXPORT_FORMATS,
      ),
    )
    .option("--stdout", "Print the SSO link to the terminal without automatically opening the browser")
    .option("--use-device-code", "Sign in to SSO with the device code flow instead of the browser and a loopback redirect")
    .action((given: string | undefined, flags: ExportFlags, cmd: Command) =>
      ctx.run("export", async () => {
        const o = validateExportOptions(given ?? "", flags);
        return runExport({ ...o, profile: await profileOrPick(ctx.session(cmd), given, "export") }, ctx.session(cmd));
      }),
    );
}

export function validateExportOptions(profile: string, f: ExportFlags): ExportOptions {
  const format = f.format ?? "env";
  if (!(EXPORT_FORMATS as readonly string[]).includes(format)) {
    throw new UsageError(`enum value must be one of ${EXPORT_FORMATS.join(",")}, got '${format}'`);
  }
  return {
    profile,
    format: format as ExportFormat,
    noSession: f.session === false,
    ...(f.duration !== undefined ? { durationMs: parseSessionDuration(f.duration) } : {}),
    ...(f.region ? { region: f.region } : {}),
    ...(f.mfaToken ? { mfaToken: f.mfaToken } : {}),
    ssoUseStdout: Boolean(f.stdout),
    ...(f.useDeviceCode ? { ssoUseDeviceCode: true } : {}),
  };
}

export async function runExport(o: ExportOptions, s: Session, command = "export"): Promise<number> {
  const { rt } = s;
  if (rt.env.AWS_VAULT) {
    throw new UserError("in an existing aws-vault subshell; 'exit' from the subshell or unset AWS_VAULT to force");
  }
  const resolved = await resolveCredentials(s, { ...o, profileConfigOnly: true });
  let creds;
  try {
    creds = await resolved.provider.retrieve();
  } catch (e) {
    await recordHandOut(rt, command, o.profile, resolved, { error: e });
    throw prefixed(`Failed to get credentials for ${o.profile}`, e);
  }
  rt.stdout.write(formatExport(o.format, creds, o.profile, resolved.config.region));
  await recordHandOut(rt, command, o.profile, resolved, { credentials: creds });
  return 0;
}

/** Wraps an error's message with aws-vault's context prefix, keeping its type, hints and exit code. */
export function prefixed(prefix: string, e: unknown): unknown {
  if (e instanceof Error && "hints" in e) {
    e.message = `${prefix}: ${e.message}`;
  }
  return e;
}
