// `doctor [PROFILE] [--online] [--format text|json]`: the checks live in vault/doctor.ts.
import { join } from "node:path";
import { type Command, Option } from "commander";
import { doctorClient } from "../aws/clients.ts";
import { UsageError } from "../errors.ts";
import { redact } from "../util/redact.ts";
import { ConfigFile, serviceEndpoint, ConfigLoader } from "../vault/config/loader.ts";
import { CredentialStore } from "../vault/credential-store.ts";
import { type Finding, offlineChecks, onlineChecks, type OnlineTarget } from "../vault/doctor.ts";
import type { CliContext } from "./context.ts";
import type { Session } from "./global.ts";

export interface DoctorOptions {
  profile?: string;
  online: boolean;
  format: "text" | "json";
  /** Why this backend: "--backend", "AWS_VAULT_BACKEND" or the default. */
  backendWhy: string;
}

export function registerDoctor(program: Command, ctx: CliContext): void {
  program
    .command("doctor")
    .description("Check the config, plaintext keys and the keyring; --online also asks AWS about each stored key.")
    .argument("[profile]", "Only this profile's findings")
    .option("--online", "Also call AWS: identity, clock skew, key age and last use, MFA devices")
    .addOption(new Option("--format <format>", "Output format: text or json").default("text"))
    .action((profile: string | undefined, flags: { online?: boolean; format: string }, cmd: Command) =>
      ctx.run("doctor", () => {
        if (flags.format !== "text" && flags.format !== "json") throw new UsageError(`enum value must be one of text,json, got '${flags.format}'`);
        const global = cmd.optsWithGlobals<{ backend?: string }>();
        const backendWhy = global.backend ? "chosen with --backend" : ctx.rt.env.AWS_VAULT_BACKEND ? "chosen with AWS_VAULT_BACKEND" : "the first available backend";
        return runDoctor({ ...(profile ? { profile } : {}), online: Boolean(flags.online), format: flags.format, backendWhy }, ctx.session(cmd));
      }),
    );
}

export function formatFinding(f: Finding): string {
  const where = f.file ? `${f.file}${f.line ? `:${f.line}` : ""}${f.profile ? ` (${f.profile})` : ""}` : f.profile ? `profile ${f.profile}` : "";
  return redact(`${f.severity.padEnd(5)} ${f.check}: ${where ? `${where}: ` : ""}${f.message}${f.fix ? `; fix: ${f.fix}` : ""}`);
}

export async function runDoctor(o: DoctorOptions, s: Session): Promise<number> {
  const { rt, options } = s;
  let keyringError: string | undefined;
  const keyring = await s.keyring().catch((e: unknown) => {
    keyringError = e instanceof Error ? e.message : String(e);
    return undefined;
  });
  const credentialsPath = rt.env.AWS_SHARED_CREDENTIALS_FILE || join(rt.homedir, ".aws", "credentials");
  const findings = await offlineChecks({
    rt,
    configPath: options.configPath,
    credentialsPath,
    ...(o.profile ? { profile: o.profile } : {}),
    backend: { name: options.backend, why: o.backendWhy, available: options.availableBackends, ...(options.backend === "file" ? { fileDir: options.fileDir } : {}) },
    ...(keyring ? { keyring } : {}),
    canDecrypt: options.backend === "file" && rt.env.AWS_VAULT_FILE_PASSPHRASE !== undefined,
  });
  if (keyringError) findings.push({ severity: "error", check: "keyring.open", message: `cannot open the ${options.backend} keyring: ${keyringError}` });
  if (o.online && keyring) findings.push(...(await onlineChecks(rt, await onlineTargets(s, o.profile), doctorClient)));
  const errors = findings.filter((f) => f.severity === "error").length;
  const warnings = findings.filter((f) => f.severity === "warn").length;
  if (o.format === "json") {
    rt.stdout.write(`${redact(JSON.stringify({ version: 1, errors, warnings, findings }, null, 2))}\n`);
  } else {
    for (const f of findings) rt.stdout.write(`${formatFinding(f)}\n`);
    rt.stdout.write(`${errors} error${errors === 1 ? "" : "s"}, ${warnings} warning${warnings === 1 ? "" : "s"}\n`);
  }
  return errors > 0 ? 1 : 0;
}

/** The stored keys to check online: every one, or the one PROFILE ultimately uses. */
async function onlineTargets(s: Session, profile: string | undefined): Promise<OnlineTarget[]> {
  const { rt } = s;
  const store = new CredentialStore(await s.keyring());
  let file: ConfigFile;
  try {
    file = await s.configFile();
  } catch {
    file = ConfigFile.empty(s.options.configPath);
  }
  const names = await store.names();
  const loader = (name: string) => new ConfigLoader({ file, baseConfig: {}, env: rt.env, activeProfile: name, log: (m) => rt.log.debug(m) });
  let wanted = names;
  if (profile) {
    const chain: string[] = [];
    try {
      for (let c: { profileName: string; sourceProfile?: unknown } | undefined = loader(profile).getProfileConfig(profile); c; c = c.sourceProfile as typeof c) {
        if (chain.includes(c.profileName)) break;
        chain.push(c.profileName);
      }
    } catch {
      chain.push(profile);
    }
    wanted = names.filter((n) => chain.includes(n)).slice(0, 1);
  }
  const targets: OnlineTarget[] = [];
  for (const name of wanted) {
    let config;
    try {
      config = loader(name).getProfileConfig(name);
    } catch {
      config = undefined;
    }
    const mfaSerials = new Set<string>();
    for (const p of file.profileNames()) {
      const v = file.profileSection(p);
      if (v?.mfa_serial && (p === name || v.source_profile === name)) mfaSerials.add(v.mfa_serial);
    }
    const sts = config ? serviceEndpoint(file, config, "sts", rt.env) : rt.env.AWS_ENDPOINT_URL;
    const iam = config ? serviceEndpoint(file, config, "iam", rt.env) : rt.env.AWS_ENDPOINT_URL;
    targets.push({
      profile: name,
      credentials: await store.get(name),
      ...(config?.region ? { region: config.region } : {}),
      mfaSerials: [...mfaSerials],
      ...(sts ? { stsEndpoint: sts } : {}),
      ...(iam ? { iamEndpoint: iam } : {}),
    });
  }
  return targets;
}
