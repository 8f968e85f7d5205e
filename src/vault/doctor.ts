// `doctor`: findings about the config, plaintext keys, the keyring and (online) the keys in IAM.
// Each finding has a severity, a stable check id, where it is (file and line, or profile) and a fix
// (a command where one exists). The list is the documented `--format json` output (docs/hygiene.md).
import { readdir, readFile, stat } from "node:fs/promises";
import { hostname } from "node:os";
import { basename, join } from "node:path";
import { awsCallError } from "../aws/errors.ts";
import type { ClientOptions, DoctorApi } from "../aws/types.ts";
import { ConfigError } from "../errors.ts";
import type { Keyring } from "../keyring/keyring.ts";
import { isProcessAlive } from "../runtime/lock.ts";
import type { Runtime } from "../runtime/runtime.ts";
import { classifyHeader, parseIni, splitKeyValue } from "./config/ini.ts";
import { PROFILE_KEYS } from "./config/loader.ts";
import { KEY_ID, parseCredentialsFile, SECRET, TOKEN_KEYS } from "./credentials-file.ts";
import { importTempPrefix, rewriteTarget } from "./import.ts";
import { isCredentialKey } from "./session-key.ts";
import { SessionStore } from "./session-store.ts";
import type { Credentials } from "./credentials.ts";
import { formatAge, recordKeyCreated, rotateAfter } from "./key-age.ts";
import { userNameFromArn } from "./providers/federation-token.ts";
import { maskKeyId } from "../util/redact.ts";

export type Severity = "ok" | "warn" | "error";

export interface Finding {
  severity: Severity;
  /** Stable id, e.g. "config.unknown-key" (listed in docs/hygiene.md). */
  check: string;
  message: string;
  file?: string;
  line?: number;
  profile?: string;
  /** The fix, as a command where one exists. */
  fix?: string;
}

/** Keys the AWS CLI and SDKs read from a profile, beyond the ones aws-vault uses. */
const OTHER_PROFILE_KEYS = [
  "output", "cli_pager", "cli_timestamp_format", "cli_binary_format", "cli_auto_prompt", "cli_history", "cli_follow_urlparam",
  "ca_bundle", "max_attempts", "retry_mode", "parameter_validation", "tcp_keepalive", "s3", "api_versions",
  "use_dualstack_endpoint", "use_fips_endpoint", "defaults_mode", "ignore_configure_endpoint_urls",
  "sdk_ua_app_id", "account_id_endpoint_mode", "request_checksum_calculation", "response_checksum_validation",
  "sigv4a_signing_region_set", "request_min_compression_size_bytes", "disable_request_compression", "aws_account_id",
  "role_session_name", "ec2_metadata_service_endpoint", "ec2_metadata_service_endpoint_mode", "metadata_service_timeout",
  "metadata_service_num_attempts", "dynamodb", "sts", "credential_source", "auth_scheme_preference",
];
const PROFILE_KNOWN = new Set<string>([...PROFILE_KEYS, ...OTHER_PROFILE_KEYS]);
const SSO_SESSION_KNOWN = new Set(["sso_start_url", "sso_region", "sso_registration_scopes"]);
const MIN_DURATION_S = 900;
const MAX_DURATION_S = 43200;
const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/;
const MFA_ARN = /^arn:aws[a-z-]*:iam::\d{12}:(mfa|u2f)\/[\w+=,.@/-]+$/;
const HARDWARE_SERIAL = /^[A-Z0-9]{9,}$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;

/** Levenshtein distance, for "did you mean". */
export function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) (d[0] as number[])[j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const row = d[i] as number[];
      const prev = d[i - 1] as number[];
      row[j] = Math.min((prev[j] as number) + 1, (row[j - 1] as number) + 1, (prev[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
  }
  return (d[a.length] as number[])[b.length] as number;
}

export function didYouMean(word: string, known: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const dist = editDistance(word, k);
    if (dist < bestD) [best, bestD] = [k, dist];
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(word.length / 4)) ? best : undefined;
}

interface ScannedSection {
  header: string;
  /** kind and name as the config loader reads them: `[profile a]` and `[profile "a"]` are one section. */
  id: string;
  kind: "default" | "profile" | "sso-session" | "services" | "other";
  name: string;
  line: number;
  /** key → every line it is set on. */
  keys: Map<string, Array<{ line: number; value: string }>>;
}

/**
 * A light line scan of a config file that parsed: sections and keys with their lines. Headers and
 * `key = value` lines are read with the shared INI parser's rules (quoted names like `[profile "a b"]`,
 * quoted values, inline comments), so a section here is the section the config loader sees.
 */
function scanConfig(text: string): ScannedSection[] {
  const out: ScannedSection[] = [];
  let current: ScannedSection | undefined;
  let nested = false;
  const body = text.startsWith("\uFEFF") ? text.slice(1) : text;
  body.split(/\r\n|\n|\r/).forEach((raw, i) => {
    const line = i + 1;
    const t = raw.trim();
    if (t === "" || t[0] === "#" || t[0] === ";") return;
    if (nested && (raw[0] === " " || raw[0] === "\t")) return;
    nested = false;
    if (t[0] === "[") {
      const header = t.slice(1, t.lastIndexOf("]"));
      const classified = classifyHeader(header);
      const kind = classified?.kind ?? "other";
      const name = classified?.name ?? header.trim();
      current = { header: header.trim(), id: `${kind} ${name}`, kind, name, line, keys: new Map() };
      out.push(current);
      return;
    }
    const kv = splitKeyValue(t);
    if (kv === undefined || kv.key === "" || !current) return;
    const list = current.keys.get(kv.key) ?? [];
    list.push({ line, value: kv.value });
    current.keys.set(kv.key, list);
    if (kv.value === "") nested = true;
  });
  return out;
}

export interface DoctorInput {
  rt: Runtime;
  configPath: string;
  credentialsPath: string;
  /** Only this profile's findings (config and keys); global checks always run. */
  profile?: string;
  backend: { name: string; why: string; available: string[]; fileDir?: string };
  /** The keyring, when it can be opened without prompting. */
  keyring?: Keyring;
  /** Whether the file keyring's passphrase is at hand (items can be decrypted). */
  canDecrypt: boolean;
}

export async function offlineChecks(d: DoctorInput): Promise<Finding[]> {
  const findings: Finding[] = [];
  const stored = new Set<string>();
  if (d.keyring) {
    try {
      for (const k of await d.keyring.keys()) if (isCredentialKey(k)) stored.add(k);
    } catch (e) {
      findings.push({ severity: "error", check: "keyring.open", message: `cannot list the ${d.backend.name} keyring: ${(e as Error).message}` });
    }
  }
  findings.push(...(await configChecks(d, stored)));
  findings.push(...(await plaintextChecks(d)));
  findings.push(...(await keyringChecks(d)));
  return findings;
}

async function configChecks(d: DoctorInput, stored: Set<string>): Promise<Finding[]> {
  const file = d.configPath;
  const out: Finding[] = [];
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    if ((e as { code?: string }).code === "ENOENT") {
      return [{ severity: "warn", check: "config.missing", message: "no config file", file, fix: "aws-vault add PROFILE (creates it)" }];
    }
    return [{ severity: "error", check: "config.unreadable", message: `cannot read: ${(e as Error).message}`, file }];
  }
  try {
    parseIni(text, file);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    const line = Number(/line (\d+)/.exec(e.message)?.[1]);
    return [{ severity: "error", check: "config.parse", message: e.message.replace(/^Error parsing config file [^:]*: line \d+: /, ""), file, ...(line ? { line } : {}), fix: "fix or remove the line" }];
  }
  const sections = scanConfig(text);
  const profiles = new Map<string, ScannedSection>();
  const ssoSessions = new Map<string, ScannedSection>();
  const seen = new Map<string, ScannedSection>();
  const want = (name: string) => d.profile === undefined || d.profile === name;
  for (const s of sections) {
    const first = seen.get(s.id);
    if (first) {
      if (want(s.name)) out.push({ severity: "warn", check: "config.duplicate-section", message: `[${s.header}] appears again (first at line ${first.line}); the keys of both are merged`, file, line: s.line, profile: s.name, fix: `merge the two [${s.header}] sections` });
      for (const [k, v] of s.keys) first.keys.set(k, [...(first.keys.get(k) ?? []), ...v]);
      continue;
    }
    seen.set(s.id, s);
    if (s.kind === "profile" || s.kind === "default") profiles.set(s.name, s);
    if (s.kind === "sso-session") ssoSessions.set(s.name, s);
  }
  const valueOf = (s: ScannedSection, k: string) => s.keys.get(k)?.at(-1);
  for (const s of seen.values()) {
    if (s.kind === "services" || s.kind === "other" || !want(s.name)) continue;
    const known = s.kind === "sso-session" ? SSO_SESSION_KNOWN : PROFILE_KNOWN;
    const where = { file, profile: s.name };
    for (const [key, sets] of s.keys) {
      const last = sets.at(-1) as { line: number; value: string };
      if (sets.length > 1) out.push({ severity: "warn", check: "config.duplicate-key", message: `${key} is set ${sets.length} times in [${s.header}] (lines ${sets.map((x) => x.line).join(", ")}); the last one wins`, ...where, line: last.line, fix: "keep one" });
      if (key === KEY_ID || key === SECRET || TOKEN_KEYS.includes(key)) {
        out.push({ severity: "warn", check: "plaintext.config", message: `${key} in the config file: a plaintext key`, ...where, line: last.line, fix: `aws-vault add ${s.name}, then delete the line` });
        continue;
      }
      if (!known.has(key)) {
        const guess = didYouMean(key, known);
        out.push({ severity: "warn", check: "config.unknown-key", message: `unknown key "${key}"${guess ? `; did you mean "${guess}"?` : ""}`, ...where, line: last.line, ...(guess ? { fix: `rename ${key} to ${guess}` } : {}) });
      }
    }
    if (s.kind === "sso-session") {
      checkSso(s, out, file);
      continue;
    }
    const dur = valueOf(s, "duration_seconds");
    if (dur) {
      const n = Number(dur.value);
      if (!/^\d+$/.test(dur.value) || n < MIN_DURATION_S || n > MAX_DURATION_S) {
        out.push({ severity: "error", check: "config.duration", message: `duration_seconds = ${dur.value} is outside ${MIN_DURATION_S}..${MAX_DURATION_S}`, ...where, line: dur.line, fix: "use a number of seconds from 900 (15m) to 43200 (12h)" });
      }
    }
    const role = valueOf(s, "role_arn");
    if (role && !ROLE_ARN.test(role.value)) out.push({ severity: "error", check: "config.role-arn", message: `role_arn "${role.value}" is not a role ARN (arn:aws:iam::123456789012:role/NAME)`, ...where, line: role.line });
    const mfa = valueOf(s, "mfa_serial");
    if (mfa && !(MFA_ARN.test(mfa.value) || HARDWARE_SERIAL.test(mfa.value))) {
      out.push({ severity: "error", check: "config.mfa-serial", message: `mfa_serial "${mfa.value}" is neither an MFA device ARN (arn:aws:iam::123456789012:mfa/NAME) nor a hardware serial`, ...where, line: mfa.line });
    }
    checkSso(s, out, file);
    const ssoSession = valueOf(s, "sso_session");
    if (ssoSession && !ssoSessions.has(ssoSession.value)) {
      out.push({ severity: "error", check: "config.missing-target", message: `sso_session = ${ssoSession.value}, but there is no [sso-session ${ssoSession.value}]`, ...where, line: ssoSession.line });
    }
    for (const ref of ["source_profile", "include_profile"] as const) {
      const v = valueOf(s, ref);
      if (!v || v.value === s.name) continue;
      if (!profiles.has(v.value) && !(ref === "source_profile" && stored.has(v.value))) {
        out.push({ severity: "error", check: "config.missing-target", message: `${ref} = ${v.value}, but there is no such profile${ref === "source_profile" ? " and no stored keys for it" : ""}`, ...where, line: v.line, fix: ref === "source_profile" ? `aws-vault add ${v.value}` : `add a [profile ${v.value}] section` });
        continue;
      }
      // Walk the chain; a profile met twice is a loop.
      const path = [s.name];
      let cur = v.value;
      while (profiles.has(cur) && !path.includes(cur)) {
        path.push(cur);
        const next = valueOf(profiles.get(cur) as ScannedSection, ref)?.value;
        if (!next || next === cur) break;
        cur = next;
      }
      if (path.includes(cur) && cur !== path.at(-1)) {
        out.push({ severity: "error", check: "config.loop", message: `${ref} loop: ${[...path, cur].join(" -> ")}`, ...where, line: v.line, fix: `point ${ref} of one of them elsewhere` });
      }
    }
    // Which credentials does this profile need?
    const hasOther = ["sso_start_url", "sso_session", "credential_process", "web_identity_token_file", "web_identity_token_process", "login_session"].some((k) => valueOf(s, k)?.value);
    const source = valueOf(s, "source_profile")?.value;
    const needsOwnKeys = !hasOther && (!source || source === s.name);
    if (needsOwnKeys && !stored.has(s.name) && s.name !== "default" && d.keyring) {
      out.push({ severity: "error", check: "keys.missing", message: "needs stored keys, but none are stored for it", ...where, line: s.line, fix: `aws-vault add ${s.name}` });
    }
    if (needsOwnKeys && stored.has(s.name) && !role && !mfa) {
      out.push({
        severity: "warn",
        check: "keys.session-without-mfa",
        message:
          "exec and export get a GetSessionToken session without MFA for this profile; IAM and most of STS refuse such sessions with InvalidClientTokenId",
        ...where,
        line: s.line,
        fix: `add mfa_serial to [${s.header}], or use aws-vault exec --no-session ${s.name}`,
      });
    }
  }
  if (out.length === 0) out.push({ severity: "ok", check: "config.ok", message: `${seen.size} sections checked`, file });
  return out;
}

function checkSso(s: ScannedSection, out: Finding[], file: string): void {
  const v = (k: string) => s.keys.get(k)?.at(-1);
  const where = { file, profile: s.name };
  const url = v("sso_start_url");
  if (url) {
    let ok = false;
    try {
      ok = new URL(url.value).protocol === "https:";
    } catch {
      ok = false;
    }
    if (!ok) out.push({ severity: "error", check: "config.sso", message: `sso_start_url "${url.value}" is not an https URL`, ...where, line: url.line });
  }
  const region = v("sso_region");
  if (region && !REGION.test(region.value)) out.push({ severity: "error", check: "config.sso", message: `sso_region "${region.value}" is not a region (e.g. eu-west-1)`, ...where, line: region.line });
  const account = v("sso_account_id");
  if (account && !/^\d{12}$/.test(account.value)) out.push({ severity: "error", check: "config.sso", message: `sso_account_id "${account.value}" is not a 12-digit account id`, ...where, line: account.line });
}

async function plaintextChecks(d: DoctorInput): Promise<Finding[]> {
  const out: Finding[] = [];
  const file = d.credentialsPath;
  try {
    const creds = parseCredentialsFile(await readFile(file, "utf8"), file);
    for (const s of creds.sections) {
      if (d.profile !== undefined && s.name !== d.profile) continue;
      const id = s.values.get(KEY_ID);
      if (!id?.value || TOKEN_KEYS.some((k) => s.values.get(k)?.value)) continue;
      out.push({ severity: "warn", check: "plaintext.credentials-file", message: `long-term keys of [${s.name}] in plaintext`, file, line: id.line, profile: s.name, fix: `aws-vault import --scrub ${s.name}` });
    }
  } catch (e) {
    if ((e as { code?: string }).code !== "ENOENT") {
      out.push({ severity: "warn", check: "plaintext.credentials-file", message: `cannot check: ${(e as Error).message}`, file });
    }
  }
  const env = d.rt.env;
  if (env.AWS_ACCESS_KEY_ID || env.AWS_SECRET_ACCESS_KEY) {
    const temporary = Boolean(env.AWS_SESSION_TOKEN);
    out.push({
      severity: temporary ? "ok" : "warn",
      check: "plaintext.environment",
      message: temporary ? "temporary credentials in the environment (AWS_SESSION_TOKEN is set)" : "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY are set in the environment: long-term keys in plaintext",
      ...(temporary ? {} : { fix: "aws-vault add --env PROFILE, then unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY" }),
    });
  }
  if (env.AWS_VAULT_FILE_PASSPHRASE !== undefined) {
    out.push({ severity: "warn", check: "plaintext.passphrase", message: "AWS_VAULT_FILE_PASSPHRASE is set: the file keyring's passphrase sits in the environment of every program you start", fix: "aws-vault unlock, or AWS_VAULT_FILE_PASSPHRASE_CMD" });
  }
  if (out.length === 0) out.push({ severity: "ok", check: "plaintext.ok", message: "no plaintext long-term keys found" });
  return out;
}

async function modeFinding(path: string, want: number, check: string): Promise<Finding | undefined> {
  try {
    const mode = (await stat(path)).mode & 0o777;
    if ((mode & ~want) === 0) return undefined;
    return { severity: "warn", check, message: `mode ${mode.toString(8).padStart(4, "0")}, others can read it`, file: path, fix: `chmod ${want.toString(8)} ${path}` };
  } catch {
    return undefined;
  }
}

async function keyringChecks(d: DoctorInput): Promise<Finding[]> {
  const out: Finding[] = [];
  const now = d.rt.now().getTime();
  out.push({ severity: "ok", check: "keyring.backend", message: `backend ${d.backend.name} (${d.backend.why}); available: ${d.backend.available.join(", ")}` });
  const vaultDir = join(d.rt.homedir, ".awsvault");
  const dirs = [vaultDir, ...(d.backend.fileDir ? [d.backend.fileDir] : [])];
  for (const dir of dirs) {
    const f = await modeFinding(dir, 0o700, "keyring.mode");
    if (f) out.push(f);
  }
  for (const name of ["audit.log", "audit.log.1", "key-metadata.json"]) {
    const f = await modeFinding(join(vaultDir, name), 0o600, "keyring.mode");
    if (f) out.push(f);
  }
  if (d.backend.name === "file" && d.backend.fileDir) {
    const names = await readdir(d.backend.fileDir).catch(() => [] as string[]);
    for (const n of names) {
      const p = join(d.backend.fileDir, n);
      if (n.startsWith(".aws-vault-tmp-")) {
        out.push({ severity: "warn", check: "keyring.temp-file", message: "a temp file left by an interrupted write", file: p, fix: `rm ${p}` });
        continue;
      }
      const f = await modeFinding(p, 0o600, "keyring.mode");
      if (f) out.push(f);
    }
  }
  // Damaged items (only when they can be decrypted without a prompt).
  if (d.keyring && d.canDecrypt) {
    for (const key of await d.keyring.keys().catch(() => [] as string[])) {
      try {
        const item = await d.keyring.get(key);
        if (isCredentialKey(key)) JSON.parse(new TextDecoder().decode(item.data));
      } catch (e) {
        out.push({ severity: "error", check: "keyring.damaged", message: `item ${JSON.stringify(key)} cannot be read: ${(e as Error).message}`, profile: key, fix: `aws-vault remove ${key}, then aws-vault add ${key}` });
      }
    }
  }
  // Stale locks and leftover temp files.
  const lockFiles: string[] = [];
  for (const dir of [join(vaultDir, "locks"), vaultDir, ...(d.backend.fileDir ? [d.backend.fileDir] : []), join(vaultDir, "reminders")]) {
    for (const n of await readdir(dir).catch(() => [] as string[])) if (n.endsWith(".lock") || n === ".aws-vault-lock") lockFiles.push(join(dir, n));
  }
  for (const p of [d.configPath, d.credentialsPath]) lockFiles.push(`${p}.lock`);
  for (const p of lockFiles) {
    const st = await stat(p).catch(() => undefined);
    if (!st) continue;
    const [pid, host] = (await readFile(p, "utf8").catch(() => "")).split("\n");
    const dead = host === hostname() && /^\d+$/.test(pid ?? "") && !isProcessAlive(Number(pid));
    if (dead || now - st.mtimeMs > 30_000) out.push({ severity: "warn", check: "keyring.stale-lock", message: `stale lock${dead ? ` (process ${pid} is gone)` : ""}`, file: p, fix: `rm ${p}` });
  }
  for (const p of await Promise.all([d.credentialsPath, d.configPath].map(rewriteTarget))) {
    const dir = join(p, "..");
    for (const n of await readdir(dir).catch(() => [] as string[])) {
      if (n.startsWith(importTempPrefix(p))) out.push({ severity: "warn", check: "keyring.temp-file", message: `a temp file left by an interrupted import (it may hold plaintext keys from ${basename(p)})`, file: join(dir, n), fix: `rm ${join(dir, n)}` });
    }
  }
  if (d.keyring) {
    const sessions = await new SessionStore(d.keyring, () => d.rt.now()).list().catch(() => []);
    const expired = sessions.filter((s) => s.session.expiration.getTime() <= now);
    if (expired.length > 0) out.push({ severity: "warn", check: "keyring.expired-sessions", message: `${expired.length} expired session${expired.length === 1 ? "" : "s"} in the keyring`, fix: "aws-vault clear" });
  }
  return out;
}

export interface OnlineTarget {
  /** The profile whose keys are stored. */
  profile: string;
  credentials: Credentials;
  region?: string;
  /** mfa_serial of this profile or of a profile that uses these keys. */
  mfaSerials: string[];
  stsEndpoint?: string;
  iamEndpoint?: string;
}

const SKEW_WARN_MS = 60_000;
const SKEW_ERROR_MS = 5 * 60_000;

/** `--online`: per stored key, its identity, clock skew, age and last use from IAM, and MFA devices. */
export async function onlineChecks(
  rt: Runtime,
  targets: OnlineTarget[],
  client: (sts: ClientOptions, iam: ClientOptions) => Promise<DoctorApi>,
): Promise<Finding[]> {
  const out: Finding[] = [];
  const limit = rotateAfter(rt.env).ms;
  for (const t of targets) {
    const profile = t.profile;
    const masked = maskKeyId(t.credentials.accessKeyId);
    const api = await client(
      { region: t.region ?? "us-east-1", ...(t.stsEndpoint ? { endpoint: t.stsEndpoint } : {}), credentials: t.credentials },
      { region: t.region ?? "us-east-1", ...(t.iamEndpoint ? { endpoint: t.iamEndpoint } : {}), credentials: t.credentials },
    );
    let arn: string;
    try {
      const id = await api.callerIdentity();
      arn = id.arn;
      out.push({ severity: "ok", check: "online.identity", message: `key ${masked} is ${arn}`, profile });
      if (id.serverDate) {
        const skew = rt.now().getTime() - id.serverDate.getTime();
        const abs = Math.abs(skew);
        const sev: Severity = abs > SKEW_ERROR_MS ? "error" : abs > SKEW_WARN_MS ? "warn" : "ok";
        out.push({
          severity: sev,
          check: "online.clock-skew",
          message: `clock ${skew >= 0 ? "ahead of" : "behind"} AWS by ${Math.round(abs / 1000)}s${sev === "ok" ? "" : "; signed requests fail beyond 5 minutes"}`,
          profile,
          ...(sev === "ok" ? {} : { fix: "sync the clock (e.g. sudo timedatectl set-ntp true)" }),
        });
      }
    } catch (e) {
      const err = awsCallError(profile, "GetCallerIdentity", e);
      out.push({ severity: "error", check: "online.identity", message: `key ${masked} is refused: ${err.message}`, profile, fix: `check the key in the IAM console, or store a working one with aws-vault add ${profile}` });
      continue;
    }
    const userName = userNameFromArn(arn);
    if (!userName) {
      out.push({ severity: "ok", check: "online.key-age", message: `not an IAM user (${arn}): no key age to check`, profile });
      continue;
    }
    try {
      const keys = await api.accessKeys(userName);
      const mine = keys.find((k) => k.accessKeyId === t.credentials.accessKeyId);
      if (mine?.createDate) {
        await recordKeyCreated(rt, profile, t.credentials.accessKeyId, mine.createDate);
        const age = rt.now().getTime() - mine.createDate.getTime();
        const old = limit !== undefined && age > limit;
        out.push({ severity: old ? "warn" : "ok", check: "online.key-age", message: `key ${masked} was created ${formatAge(age)} ago (${mine.createDate.toISOString().slice(0, 10)})`, profile, ...(old ? { fix: `aws-vault rotate ${profile}` } : {}) });
      }
      for (const k of keys) {
        if (k.accessKeyId === t.credentials.accessKeyId || k.status !== "Active") continue;
        out.push({ severity: "warn", check: "online.other-keys", message: `IAM user ${userName} has another active key ${maskKeyId(k.accessKeyId)} that is not this vault's`, profile, fix: "deactivate or delete it in the IAM console if nothing uses it" });
      }
      const used = await api.lastUsed(t.credentials.accessKeyId);
      out.push({ severity: "ok", check: "online.last-used", message: used.date ? `key ${masked} last used ${used.date.toISOString()}${used.service ? ` (${used.service})` : ""}` : `key ${masked} has no recorded use`, profile });
      for (const serial of t.mfaSerials) {
        if (!serial.startsWith("arn:")) continue;
        const devices = await api.mfaDevices(userName);
        out.push(
          devices.includes(serial)
            ? { severity: "ok", check: "online.mfa", message: `MFA device ${serial} is assigned to ${userName}`, profile }
            : { severity: "error", check: "online.mfa", message: `mfa_serial ${serial} is not an MFA device of ${userName} (devices: ${devices.join(", ") || "none"})`, profile, fix: "set mfa_serial to one of the user's devices" },
        );
      }
    } catch (e) {
      const err = awsCallError(profile, "IAM", e);
      out.push({ severity: "warn", check: "online.iam", message: `cannot read the key's details from IAM: ${err.message}`, profile });
    }
  }
  return out;
}
