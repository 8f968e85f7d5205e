// `aws-vault import --login-cache [--scrub]` (issue 15): moves the sessions `aws login` left in
// plaintext under ~/.aws/login/cache (or $AWS_LOGIN_CACHE_DIRECTORY) into the keyring. Each file
// is `<sha256hex(login_session)>.json` in the AWS CLI's shape. A file is imported only when it
// parses, carries every field, its DPoP key is a P-256 private key, and its name is the hash of a
// login_session we can name (a profile's, else the id token's subject); the keyring items are then
// read back and compared before --scrub deletes the file. A file that fails is reported by name and
// left untouched. This module is the whole import: the CLI only maps flags to it.
import { createHash } from "node:crypto";
import { readdir, readFile, rm } from "node:fs/promises";
import { basename, join } from "node:path";
import { parseDpopKey } from "../aws/dpop.ts";
import type { Keyring } from "../keyring/keyring.ts";
import type { ConfigFile } from "./config/loader.ts";
import { encodeLoginToken, LoginTokenStore, validateLoginToken } from "./login-store.ts";

export const ENV_LOGIN_CACHE_DIRECTORY = "AWS_LOGIN_CACHE_DIRECTORY";

export function loginCacheDirectory(env: Readonly<Record<string, string | undefined>>, homedir: string): string {
  return env[ENV_LOGIN_CACHE_DIRECTORY] || join(homedir, ".aws", "login", "cache");
}

export function loginCacheFileName(loginSession: string): string {
  return `${createHash("sha256").update(loginSession, "utf8").digest("hex")}.json`;
}

export interface LoginCacheImportOptions {
  dir: string;
  scrub: boolean;
  keyring: Keyring;
  /** The config file, to name sessions after the profiles that use them. */
  config?: ConfigFile;
}

export interface ImportedSession {
  file: string;
  loginSession: string;
  profiles: string[];
  scrubbed: boolean;
  /** The keyring already held a newer copy (refreshed since), which was kept. */
  keptNewer?: boolean;
}

export interface FailedFile {
  file: string;
  reason: string;
}

export interface LoginCacheImportResult {
  imported: ImportedSession[];
  failed: FailedFile[];
}

function errorCode(e: unknown): string | undefined {
  return typeof e === "object" && e !== null && "code" in e ? String((e as { code: unknown }).code) : undefined;
}

/** The profiles naming each login_session, by cache file name. */
function sessionsByFile(config: ConfigFile | undefined): Map<string, { session: string; profiles: string[] }> {
  const out = new Map<string, { session: string; profiles: string[] }>();
  for (const name of config?.profileNames() ?? []) {
    const session = config?.profileSection(name)?.["login_session"];
    if (!session) continue;
    const file = loginCacheFileName(session);
    const entry = out.get(file) ?? { session, profiles: [] };
    entry.profiles.push(name);
    out.set(file, entry);
  }
  return out;
}

/** The `sub` of the id token `aws login` keeps in the file (the session ARN), if readable. */
function idTokenSubject(v: Record<string, unknown>): string | undefined {
  if (typeof v.idToken !== "string") return undefined;
  const payload = v.idToken.split(".")[1];
  if (!payload) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as { sub?: unknown };
    return typeof claims.sub === "string" && claims.sub ? claims.sub : undefined;
  } catch {
    return undefined;
  }
}

function sameBytes(a: Uint8Array | undefined, b: Uint8Array): boolean {
  return a !== undefined && Buffer.from(a).equals(Buffer.from(b));
}

export async function importLoginCache(o: LoginCacheImportOptions): Promise<LoginCacheImportResult> {
  const result: LoginCacheImportResult = { imported: [], failed: [] };
  let names: string[];
  try {
    names = (await readdir(o.dir)).filter((n) => n.endsWith(".json")).sort();
  } catch (e) {
    if (errorCode(e) === "ENOENT") return result;
    throw e;
  }
  const known = sessionsByFile(o.config);
  const store = new LoginTokenStore(o.keyring);
  for (const name of names) {
    const file = join(o.dir, name);
    const fail = (reason: string) => result.failed.push({ file, reason });
    let raw: string;
    try {
      raw = await readFile(file, "utf8");
    } catch (e) {
      fail(`cannot be read (${errorCode(e) ?? "error"})`);
      continue;
    }
    let v: unknown;
    try {
      v = JSON.parse(raw);
    } catch {
      fail("is not JSON");
      continue;
    }
    const checked = validateLoginToken(v, true);
    if (typeof checked === "string") {
      fail(`is not a login session token: ${checked}`);
      continue;
    }
    const dpopKey = checked.dpopKey;
    try {
      if (!dpopKey) throw new Error("no DPoP key");
      parseDpopKey(dpopKey);
    } catch (e) {
      fail((e as Error).message);
      continue;
    }
    const entry = known.get(basename(name));
    const session = entry?.session ?? idTokenSubject(v as Record<string, unknown>);
    if (!session || loginCacheFileName(session) !== name) {
      fail("belongs to no login_session in the config (its name is the SHA-256 of the session ARN)");
      continue;
    }
    // A keyring copy refreshed since this file was written holds the live (rotated) refresh token:
    // the file's is already spent, so it must not replace it.
    const existing = await store.get(session).catch(() => undefined);
    if (existing && existing.credentials.expiration.getTime() >= checked.token.credentials.expiration.getTime()) {
      if (o.scrub) await rm(file);
      result.imported.push({ file, loginSession: session, profiles: entry?.profiles ?? [], scrubbed: o.scrub, keptNewer: true });
      continue;
    }
    await store.save(session, checked.token, dpopKey as NonNullable<typeof dpopKey>);
    // Verify: what the keyring gives back is what was read, before the plaintext goes.
    const back = await store.get(session).catch(() => undefined);
    const backKey = await store.getDpopKey(session);
    if (!back || !sameBytes(encodeLoginToken(back), encodeLoginToken(checked.token)) || backKey?.reveal() !== dpopKey?.reveal()) {
      fail("was stored, but the keyring did not give it back unchanged; the file is kept");
      continue;
    }
    let scrubbed = false;
    if (o.scrub) {
      await rm(file);
      scrubbed = true;
    }
    result.imported.push({ file, loginSession: session, profiles: entry?.profiles ?? [], scrubbed });
  }
  return result;
}
