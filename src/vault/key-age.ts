// Key age: when each profile's long-term key was stored, created (from IAM when seen) and rotated.
//
// aws-vault's keyring items are left exactly as aws-vault writes them (the Go tool must keep
// reading every item), and no extra keyring item is added: aws-vault's `list` would show it as a
// credential. The record lives beside the keyring in ~/.awsvault/key-metadata.json (0600): profile
// names, times and a short hash of the access key id (to notice a key replaced by another tool).
// No secret, no key id. Writes are atomic (temp + rename) under the shared file lock.
//
// Rotation reminders read this one small file on the credential hand-out path; only when a key is
// past AWS_VAULT_ROTATE_AFTER is a per-profile marker in ~/.awsvault/reminders/ consulted, so the
// reminder is shown at most once per 24 hours per profile (even with concurrent invocations).
// Synchronous file calls: small files, and node:fs/promises stays off the hand-out path.
import { readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { mkdirPrivateSync } from "../runtime/mkdir.ts";
import { join } from "node:path";
import { nodeCrypto, sha256 } from "../runtime/builtins.ts";
import { withFileLock } from "../runtime/lock.ts";
import type { Runtime } from "../runtime/runtime.ts";
import { parseFlagDuration } from "../util/duration.ts";

export const DEFAULT_ROTATE_AFTER_MS = 90 * 24 * 3600 * 1000;
const DAY_MS = 24 * 3600 * 1000;

export interface KeyRecord {
  /** First 16 hex characters of sha256(access key id). */
  keyHash: string;
  /** When this tool stored the key (add, import, rotate). */
  storedAt: string;
  /** The key's creation date: IAM's CreateDate when seen, else when rotate created it. */
  createdAt?: string;
  /** When `rotate` last replaced the key. */
  rotatedAt?: string;
}

export type KeyRecords = Record<string, KeyRecord>;

export function keyMetadataPath(homedir: string): string {
  return join(homedir, ".awsvault", "key-metadata.json");
}

export function keyHash(accessKeyId: string): string {
  return sha256(accessKeyId).toString("hex").slice(0, 16);
}

/**
 * The records (an empty map when the file is missing or unreadable: it is advisory only); with
 * `only`, just those profiles' records. One synchronous read: this runs on every hand-out, where a
 * promise-based read cost Bun more than the rest of the reminder check.
 */
export async function readKeyRecords(homedir: string, only?: readonly string[]): Promise<KeyRecords> {
  let text: string;
  try {
    text = readFileSync(keyMetadataPath(homedir), "utf8");
  } catch {
    return Object.create(null) as KeyRecords;
  }
  return parseRecords(text, only);
}

function parseRecords(text: string, only?: readonly string[]): KeyRecords {
  const out = Object.create(null) as KeyRecords;
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return out;
  }
  const profiles = (doc as { profiles?: unknown } | null)?.profiles;
  if (!profiles || typeof profiles !== "object") return out;
  for (const [name, v] of Object.entries(profiles as Record<string, unknown>)) {
    if (only && !only.includes(name)) continue;
    const r = v as Partial<KeyRecord> | null;
    if (!r || typeof r.keyHash !== "string" || typeof r.storedAt !== "string" || Number.isNaN(Date.parse(r.storedAt))) continue;
    if (name === "__proto__") continue;
    out[name] = {
      keyHash: r.keyHash,
      storedAt: r.storedAt,
      ...(typeof r.createdAt === "string" && !Number.isNaN(Date.parse(r.createdAt)) ? { createdAt: r.createdAt } : {}),
      ...(typeof r.rotatedAt === "string" && !Number.isNaN(Date.parse(r.rotatedAt)) ? { rotatedAt: r.rotatedAt } : {}),
    };
  }
  return out;
}

/** Read-modify-write under the lock, written atomically with mode 0600. */
export async function updateKeyRecords(homedir: string, change: (records: KeyRecords) => void): Promise<void> {
  const path = keyMetadataPath(homedir);
  mkdirPrivateSync(join(homedir, ".awsvault"));
  await withFileLock(`${path}.lock`, async () => {
    const records = await readKeyRecords(homedir);
    change(records);
    const tmp = `${path}.tmp-${nodeCrypto().randomBytes(6).toString("hex")}`;
    try {
      writeFileSync(tmp, `${JSON.stringify({ version: 1, profiles: records }, null, 2)}\n`, { mode: 0o600, flag: "wx" });
      renameSync(tmp, path);
    } catch (e) {
      rmSync(tmp, { force: true });
      throw e;
    }
  });
}

/** `add`, `import` and `rotate` call this after the key is stored. Never throws (advisory data). */
export async function recordKeyStored(
  rt: Runtime,
  profile: string,
  accessKeyId: string,
  opts: { rotated?: boolean; createdAt?: Date } = {},
): Promise<void> {
  const now = rt.now().toISOString();
  const hash = keyHash(accessKeyId);
  try {
    await updateKeyRecords(rt.homedir, (records) => {
      const prev = records[profile];
      // The same key stored again (import of an identical key) keeps its history.
      if (prev && prev.keyHash === hash && !opts.rotated) return;
      records[profile] = {
        keyHash: hash,
        storedAt: now,
        ...(opts.createdAt ? { createdAt: opts.createdAt.toISOString() } : {}),
        ...(opts.rotated ? { rotatedAt: now } : {}),
      };
    });
  } catch (e) {
    rt.log.debug(`could not record the key age of ${profile}: ${(e as Error).message}`);
  }
}

/** The real creation date, learned from IAM (ListAccessKeys), for the key stored now. */
export async function recordKeyCreated(rt: Runtime, profile: string, accessKeyId: string, createdAt: Date): Promise<void> {
  const hash = keyHash(accessKeyId);
  try {
    await updateKeyRecords(rt.homedir, (records) => {
      const prev = records[profile];
      if (prev && prev.keyHash === hash) records[profile] = { ...prev, createdAt: createdAt.toISOString() };
      else if (!prev) records[profile] = { keyHash: hash, storedAt: rt.now().toISOString(), createdAt: createdAt.toISOString() };
    });
  } catch (e) {
    rt.log.debug(`could not record the key age of ${profile}: ${(e as Error).message}`);
  }
}

export async function forgetKey(rt: Runtime, profile: string): Promise<void> {
  try {
    const records = await readKeyRecords(rt.homedir);
    if (!records[profile]) return;
    await updateKeyRecords(rt.homedir, (r) => void delete r[profile]);
  } catch (e) {
    rt.log.debug(`could not update the key records: ${(e as Error).message}`);
  }
}

/** When the key was created, as best known: IAM's date, else when it was stored. */
export function keyBirth(r: KeyRecord): Date {
  return new Date(r.createdAt ?? r.storedAt);
}

/** `AWS_VAULT_ROTATE_AFTER`: a duration such as 90d or 2160h; `off` disables. Undefined = off. */
export function rotateAfter(env: Readonly<Record<string, string | undefined>>): { ms?: number; invalid?: string } {
  const raw = (env.AWS_VAULT_ROTATE_AFTER ?? "").trim();
  if (raw === "") return { ms: DEFAULT_ROTATE_AFTER_MS };
  if (["off", "0", "false", "no", "never"].includes(raw.toLowerCase())) return {};
  try {
    const ms = parseFlagDuration(raw);
    return ms > 0 ? { ms } : {};
  } catch {
    return { ms: DEFAULT_ROTATE_AFTER_MS, invalid: raw };
  }
}

/** "100 days", "5 hours": ages for people. */
export function formatAge(ms: number): string {
  const days = Math.floor(ms / DAY_MS);
  if (days >= 1) return `${days} day${days === 1 ? "" : "s"}`;
  const hours = Math.floor(ms / 3_600_000);
  if (hours >= 1) return `${hours} hour${hours === 1 ? "" : "s"}`;
  return "less than an hour";
}

function markerPath(homedir: string, profile: string): string {
  return join(homedir, ".awsvault", "reminders", Buffer.from(profile).toString("base64url"));
}

/**
 * The reminder line for the first profile of `chain` (target first) with a recorded key, when that
 * key is past AWS_VAULT_ROTATE_AFTER and no reminder was shown in the last 24 hours; undefined
 * otherwise. Cheap: one file read unless a key is old.
 */
export async function rotationReminder(rt: Runtime, chain: string[]): Promise<string | undefined> {
  const limit = rotateAfter(rt.env);
  if (limit.ms === undefined) return undefined;
  const records = await readKeyRecords(rt.homedir, chain);
  const profile = chain.find((n) => records[n] !== undefined);
  if (profile === undefined) return undefined;
  const record = records[profile] as KeyRecord;
  const now = rt.now();
  const age = now.getTime() - keyBirth(record).getTime();
  if (age <= limit.ms) return undefined;
  const marker = markerPath(rt.homedir, profile);
  const shownRecently = async () => {
    try {
      return now.getTime() - statSync(marker).mtimeMs < DAY_MS;
    } catch {
      return false;
    }
  };
  if (await shownRecently()) return undefined;
  try {
    mkdirPrivateSync(join(rt.homedir, ".awsvault", "reminders"));
    const claimed = await withFileLock(`${marker}.lock`, async () => {
      if (await shownRecently()) return false;
      writeFileSync(marker, "", { mode: 0o600 });
      utimesSync(marker, now, now);
      return true;
    });
    if (!claimed) return undefined;
  } catch (e) {
    rt.log.debug(`could not record the rotation reminder: ${(e as Error).message}`);
    return undefined;
  }
  const invalid = limit.invalid ? ` (AWS_VAULT_ROTATE_AFTER=${JSON.stringify(limit.invalid)} is not a duration such as 90d; using 90d)` : "";
  return (
    `aws-vault: reminder: the access key stored for profile '${profile}' is ${formatAge(age)} old; ` +
    `rotate it with \`aws-vault rotate ${profile}\` (AWS_VAULT_ROTATE_AFTER=off silences this)${invalid}`
  );
}

export interface StoredKeyAge {
  profile: string;
  /** Undefined when nothing tells how old the key is. */
  ageMs?: number;
  /** "created": IAM's creation date or rotate's; "stored": when it was stored here; "keyring": the item's modification time. */
  basis?: "created" | "stored" | "keyring";
  lastRotated?: Date;
}

/**
 * The age of every stored long-term key. With `verify`, each key is read to check that the record
 * still describes it (another tool, e.g. the Go aws-vault, may have replaced it); otherwise, and for
 * keys with no record, the keyring item's modification time is the fallback.
 */
export async function storedKeyAges(
  rt: Runtime,
  store: { names(): Promise<string[]>; get(p: string): Promise<{ accessKeyId: string }>; keyring: { getMetadata(k: string): Promise<{ modificationTime?: Date }> } },
  opts: { verify?: boolean } = { verify: true },
): Promise<StoredKeyAge[]> {
  const records = await readKeyRecords(rt.homedir);
  const now = rt.now().getTime();
  const out: StoredKeyAge[] = [];
  for (const profile of await store.names()) {
    let record = records[profile];
    if (record && opts.verify !== false) {
      const id = (await store.get(profile)).accessKeyId;
      if (keyHash(id) !== record.keyHash) record = undefined;
    }
    if (record) {
      out.push({
        profile,
        ageMs: now - keyBirth(record).getTime(),
        basis: record.createdAt ? "created" : "stored",
        ...(record.rotatedAt ? { lastRotated: new Date(record.rotatedAt) } : {}),
      });
      continue;
    }
    const modified = await store.keyring.getMetadata(profile).then((m) => m.modificationTime, () => undefined);
    out.push(modified ? { profile, ageMs: now - modified.getTime(), basis: "keyring" } : { profile });
  }
  return out;
}
