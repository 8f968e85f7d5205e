// `import`: long-term keys from the shared credentials file into the vault, verified, with the
// profile sections added to ~/.aws/config, and (with --scrub) the key lines removed from the file.
//
// Order of work, so that an interruption at any point (kill -9 included) never loses a key:
//   1. parse and validate the whole file (errors name file and line; nothing is done on error);
//   2. per profile: store, read back, compare (a profile is either stored and verified, or untouched);
//   3. config sections: one atomic rewrite of ~/.aws/config under its lock;
//   4. scrub: under the credentials file's lock, re-read it and drop only the lines whose values are
//      the verified ones, then one atomic rewrite (temp file in the same folder, same mode, fsync,
//      rename). No plaintext backup is written: the verified vault copy is the backup.
import { randomBytes } from "node:crypto";
import { mkdir, open, readdir, readFile, realpath, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { UserError } from "../errors.ts";
import { isProcessAlive, withFileLock } from "../runtime/lock.ts";
import type { Runtime } from "../runtime/runtime.ts";
import { maskKeyId } from "../util/redact.ts";
import { Secret } from "../util/secret.ts";
import { audit } from "./audit-log.ts";
import { parseIni } from "./config/ini.ts";
import { PROFILE_KEYS } from "./config/loader.ts";
import { profileSectionHeader, validateProfileName } from "./config/writer.ts";
import type { CredentialStore } from "./credential-store.ts";
import { KEY_ID, parseCredentialsFile, SECRET, scrubbedText, TOKEN_KEYS, type CredSection } from "./credentials-file.ts";
import { recordKeyStored } from "./key-age.ts";
import { SessionStore } from "./session-store.ts";

export interface ImportOptions {
  /** Only these sections (all when empty). */
  profiles: string[];
  scrub: boolean;
  dryRun: boolean;
  overwrite: boolean;
}

export interface ImportDeps {
  rt: Runtime;
  store: CredentialStore;
  credentialsPath: string;
  configPath: string;
  print(line: string): void;
}

export interface ImportSummary {
  imported: number;
  skipped: number;
  scrubbed: number;
  failed: number;
}

/** Settings from the credentials file that belong in ~/.aws/config. */
const CONFIG_KEYS = new Set<string>([...PROFILE_KEYS, "output"]);
const TEMP_PREFIX = ".aws-vault-import-";

interface Candidate {
  name: string;
  /** Line of the section header. */
  line: number;
  accessKeyId: string;
  secret: Secret;
  settings: Array<[string, string]>;
}

function errorCode(e: unknown): string | undefined {
  return (e as { code?: string } | undefined)?.code;
}

async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (e) {
    if (errorCode(e) === "ENOENT") {
      throw new UserError(`${what} ${path} does not exist`, { hints: ["name another file with --from FILE or AWS_SHARED_CREDENTIALS_FILE"] });
    }
    throw new UserError(`cannot read ${path}: ${(e as Error).message}`, { cause: e });
  }
}

/** Checks every section first: a key id without a secret (or the reverse) stops the import. */
function candidates(sections: CredSection[], o: ImportOptions, path: string, print: (l: string) => void): { list: Candidate[]; skipped: number } {
  const wanted = new Set(o.profiles);
  for (const name of wanted) {
    if (!sections.some((s) => s.name === name)) {
      throw new UserError(`profile '${name}' is not in ${path}`, { hints: [`sections there: ${sections.map((s) => s.name).join(", ") || "none"}`] });
    }
  }
  const list: Candidate[] = [];
  let skipped = 0;
  for (const s of sections) {
    if (wanted.size > 0 && !wanted.has(s.name)) continue;
    const id = s.values.get(KEY_ID);
    const secret = s.values.get(SECRET);
    if (!id && !secret) {
      if (wanted.size > 0) print(`skipped ${s.name}: no aws_access_key_id in this section`);
      if (wanted.size > 0) skipped++;
      continue;
    }
    if (!id?.value || !secret?.value) {
      const line = (id ?? secret)?.line ?? s.line;
      throw new UserError(`${path}:${line}: profile '${s.name}' has ${id?.value ? "aws_access_key_id but no aws_secret_access_key" : "aws_secret_access_key but no aws_access_key_id"}`, {
        hints: ["complete or remove the section, then run aws-vault import again; nothing was imported"],
      });
    }
    if (TOKEN_KEYS.some((k) => s.values.get(k)?.value)) {
      print(`skipped ${s.name}: temporary keys (it has an aws_session_token); only long-term keys are imported`);
      skipped++;
      continue;
    }
    const settings: Array<[string, string]> = [];
    for (const [k, v] of s.values) if (CONFIG_KEYS.has(k) && v.value !== "") settings.push([k, v.value]);
    list.push({ name: s.name, line: s.line, accessKeyId: id.value, secret: new Secret(secret.value), settings });
  }
  return { list, skipped };
}

export async function importCredentials(deps: ImportDeps, o: ImportOptions): Promise<ImportSummary> {
  const { rt, store, print } = deps;
  const path = deps.credentialsPath;
  await removeLeftoverTemps(path, (m) => rt.log.debug(m), isProcessAlive);
  const file = parseCredentialsFile(await readText(path, "the credentials file"), path);
  const { list, skipped: skippedEarly } = candidates(file.sections, o, path, print);
  // A name the config or the keyring cannot take stops the import before anything is stored.
  for (const c of list) {
    try {
      validateProfileName(c.name);
      store.keyring.checkKey?.(c.name);
    } catch (e) {
      throw new UserError(`${path}:${c.line}: section [${c.name}] cannot be imported: ${(e as Error).message}`, {
        hints: ["rename the section (or import the others by name); nothing was imported"],
      });
    }
  }
  // A config file that cannot take the new sections stops the import before anything is stored.
  const configText = await readFile(deps.configPath, "utf8").catch((e: unknown) => {
    if (errorCode(e) === "ENOENT") return "";
    throw new UserError(`cannot read ${deps.configPath}: ${(e as Error).message}`, { cause: e });
  });
  parseIni(configText, deps.configPath);
  const summary: ImportSummary = { imported: 0, skipped: skippedEarly, scrubbed: 0, failed: 0 };
  const verified = new Map<string, { accessKeyId: string; secret: string }>();
  const stored = new Set(await store.names());

  for (const c of list) {
    const masked = maskKeyId(c.accessKeyId);
    let same = false;
    if (stored.has(c.name)) {
      const existing = await store.get(c.name);
      same = existing.accessKeyId === c.accessKeyId && existing.secretAccessKey.equals(c.secret);
      if (!same && !o.overwrite) {
        print(`skipped ${c.name}: different keys are already stored for it (--overwrite replaces them)`);
        summary.skipped++;
        continue;
      }
    }
    if (o.dryRun) {
      print(same ? `would keep ${c.name}: the same key ${masked} is already stored` : `would import ${c.name} (${masked})`);
      summary.imported++;
      verified.set(c.name, { accessKeyId: c.accessKeyId, secret: c.secret.reveal() });
      continue;
    }
    // What the vault held before, to put back if the new copy does not verify.
    const before = stored.has(c.name) && !same ? await store.keyring.get(c.name) : undefined;
    let written = false;
    try {
      if (!same) {
        written = true;
        await store.set(c.name, { accessKeyId: c.accessKeyId, secretAccessKey: c.secret });
        const back = await store.get(c.name).catch((e: unknown) => {
          throw new UserError(`the key cannot be read back from the vault: ${(e as Error).message}`);
        });
        if (back.accessKeyId !== c.accessKeyId || !back.secretAccessKey.equals(c.secret)) {
          throw new UserError("the key read back from the vault differs from the one stored");
        }
        written = false;
        await recordKeyStored(rt, c.name, c.accessKeyId);
        // Sessions made from the keys this replaced must not outlive them.
        if (stored.has(c.name)) await new SessionStore(store.keyring, () => rt.now()).removeForProfile(c.name);
      }
    } catch (e) {
      // Untouched, as it was: the unverified copy goes, the previous keys (if any) come back.
      if (written) await (before ? store.keyring.set(before) : store.keyring.remove(c.name)).catch((r: unknown) => rt.log.debug(`could not undo ${c.name}: ${(r as Error).message}`));
      summary.failed++;
      print(`failed ${c.name}: ${(e as Error).message}; the credentials file keeps its key`);
      await audit(rt, { command: "import", profile: c.name, source: "keyring", result: "error", detail: (e as Error).message });
      continue;
    }
    print(same ? `imported ${c.name}: the same key ${masked} was already stored` : `imported ${c.name} (${masked}), verified`);
    await audit(rt, { command: "import", profile: c.name, source: "keyring", accessKeyId: c.accessKeyId, result: "ok" });
    summary.imported++;
    verified.set(c.name, { accessKeyId: c.accessKeyId, secret: c.secret.reveal() });
  }

  const toConfig = list.filter((c) => verified.has(c.name));
  await addConfigSections(deps, toConfig, o.dryRun);

  if (o.scrub && verified.size > 0) {
    if (o.dryRun) {
      const { scrubbed } = scrubbedText(file, verified);
      for (const name of scrubbed) print(`would scrub ${name}: remove its key lines from ${path}`);
      summary.scrubbed = scrubbed.length;
    } else {
      summary.scrubbed = await scrub(rt.pid, path, verified, print);
    }
  }
  return summary;
}

/** Adds `[profile NAME]` (or `[default]`) with the carried-over settings; existing values win. */
async function addConfigSections(deps: ImportDeps, list: Candidate[], dryRun: boolean): Promise<void> {
  if (list.length === 0) return;
  const path = deps.configPath;
  const apply = async (): Promise<void> => {
    let text = "";
    try {
      text = await readFile(path, "utf8");
    } catch (e) {
      if (errorCode(e) !== "ENOENT") throw e;
    }
    const doc = parseIni(text, path);
    const lines = text === "" ? [] : text.split(/(?<=\n)/);
    const inserts = new Map<number, string[]>();
    const appended: string[] = [];
    for (const c of list) {
      const kind = c.name === "default" ? "default" : "profile";
      const section = doc.sections.find((s) => s.kind === kind && s.name === c.name);
      if (!section) {
        appended.push(`${profileSectionHeader(c.name)}\n${c.settings.map(([k, v]) => `${k} = ${v}\n`).join("")}`);
        deps.print(`${dryRun ? "would add" : "added"} ${profileSectionHeader(c.name)} to ${path}`);
        continue;
      }
      const missing = c.settings.filter(([k]) => section.values[k] === undefined);
      if (missing.length === 0) continue;
      inserts.set(section.line, missing.map(([k, v]) => `${k} = ${v}\n`));
      deps.print(`${dryRun ? "would add" : "added"} ${missing.map(([k]) => k).join(", ")} to ${profileSectionHeader(c.name)} in ${path}`);
    }
    if (dryRun || (inserts.size === 0 && appended.length === 0)) return;
    let out = lines
      .map((l, i) => {
        const extra = inserts.get(i + 1);
        if (!extra) return l;
        return (l.endsWith("\n") ? l : `${l}\n`) + extra.join("");
      })
      .join("");
    for (const block of appended) out += `${out === "" ? "" : out.endsWith("\n\n") ? "" : out.endsWith("\n") ? "\n" : "\n\n"}${block}`;
    const mode = await stat(path).then((st) => st.mode & 0o777, () => 0o600);
    await writeAtomic(path, out, mode, deps.rt.pid);
  };
  if (dryRun) return apply();
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await withFileLock(`${path}.lock`, apply);
}

async function scrub(pid: number, path: string, verified: Map<string, { accessKeyId: string; secret: string }>, print: (l: string) => void): Promise<number> {
  return withFileLock(`${path}.lock`, async () => {
    // Re-read under the lock: only lines still holding the verified values are removed.
    const file = parseCredentialsFile(await readText(path, "the credentials file"), path);
    const { text, scrubbed } = scrubbedText(file, verified);
    if (scrubbed.length === 0) return 0;
    let mode = 0o600;
    try {
      mode = (await stat(path)).mode & 0o777;
    } catch {
      // keep 0600
    }
    try {
      await writeAtomic(path, text, mode, pid);
    } catch (e) {
      throw new UserError(`cannot rewrite ${path}: ${(e as Error).message}`, {
        cause: e,
        hints: ["the keys are stored and verified in the vault; remove their lines from the file by hand, or fix the permissions and run aws-vault import --scrub again"],
      });
    }
    for (const name of scrubbed) print(`scrubbed ${name}: its key lines were removed from ${path}`);
    return scrubbed.length;
  });
}

/**
 * The file a path names, through symlinks (a dotfiles-managed ~/.aws/credentials or config): the
 * rewrite must replace that file, not the link, or the plaintext keys stay in the link's target.
 * The path itself when it does not resolve (not there yet, or a dangling link).
 */
export async function rewriteTarget(path: string): Promise<string> {
  return realpath(path).catch(() => path);
}

/** Temp file in the folder of the file `path` resolves to (same mode), fsync, rename over that file. */
async function writeAtomic(linkOrPath: string, text: string, mode: number, pid: number): Promise<void> {
  const path = await rewriteTarget(linkOrPath);
  const tmp = join(dirname(path), `${TEMP_PREFIX}${basename(path)}-${pid}-${randomBytes(6).toString("hex")}`);
  const handle = await open(tmp, "wx", mode);
  try {
    await handle.writeFile(text);
    await handle.chmod(mode);
    await handle.sync();
  } catch (e) {
    await handle.close();
    await rm(tmp, { force: true });
    throw e;
  } finally {
    await handle.close().catch(() => undefined);
  }
  try {
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}


/**
 * Temp files an interrupted import left (they may hold a plaintext copy of the rest of the file):
 * removed when their writer is gone. Returns the ones found still present.
 */
export async function removeLeftoverTemps(linkOrPath: string, log: (m: string) => void, isAlive?: (pid: number) => boolean): Promise<string[]> {
  const path = await rewriteTarget(linkOrPath);
  const dir = dirname(path);
  const prefix = `${TEMP_PREFIX}${basename(path)}-`;
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => n.startsWith(prefix));
  } catch {
    return [];
  }
  const left: string[] = [];
  for (const n of names) {
    const pid = Number(n.slice(prefix.length).split("-")[0]);
    if (isAlive?.(pid)) {
      left.push(join(dir, n));
      continue;
    }
    const st = await stat(join(dir, n)).catch(() => undefined);
    // Without a liveness check, only files older than a minute are someone else's leftovers.
    if (!isAlive && st && Date.now() - st.mtimeMs < 60_000) {
      left.push(join(dir, n));
      continue;
    }
    await rm(join(dir, n), { force: true });
    log(`removed ${join(dir, n)}, left by an interrupted import`);
  }
  return left;
}

export function importTempPrefix(path: string): string {
  return `${TEMP_PREFIX}${basename(path)}-`;
}
