// Adds a profile section to ~/.aws/config by appending text (never re-serialising the file), under
// a cross-process lock so concurrent `add` calls cannot duplicate or interleave sections; and sets
// single `key = value` lines in a profile (`signin`), editing only those lines, atomically.

import { appendFile, chmod, mkdir, readFile, rename, stat, writeFile } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import { dirname } from "node:path";
import { UsageError } from "../../errors.ts";
import { withFileLock, type FileLockOptions } from "../../runtime/lock.ts";
import { isPlainSectionName, parseIni } from "./ini.ts";
import { DEFAULT_PROFILE } from "./loader.ts";

function errorCode(e: unknown): string | undefined {
  if (typeof e === "object" && e !== null && "code" in e) {
    const code = (e as { code: unknown }).code;
    return typeof code === "string" ? code : undefined;
  }
  return undefined;
}

/**
 * The header line for a profile: `[default]` or `[profile NAME]`. A name that the AWS CLI would split
 * (spaces, quotes, backslashes) is written `[profile "NAME"]`, which it and this parser read back
 * as NAME.
 */
export function profileSectionHeader(name: string): string {
  if (name === DEFAULT_PROFILE) return "[default]";
  return isPlainSectionName(name) ? `[profile ${name}]` : `[profile "${name.replace(/["\\]/g, "\\$&")}"]`;
}

export function validateProfileName(name: string): void {
  const invalid =
    name === "" ||
    name !== name.trim() ||
    /[\u0000-\u001f\u007f]/.test(name);
  if (invalid) {
    throw new UsageError(`invalid profile name ${JSON.stringify(name)}`, {
      hints: ["profile names cannot be empty, start or end with spaces, or contain control characters"],
    });
  }
}

async function readIfExists(path: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (e) {
    if (errorCode(e) === "ENOENT") return "";
    throw e;
  }
}

/**
 * Appends `\n[profile NAME]\n` (`\n[default]\n` for "default") unless the section already exists.
 * Creates the directory (0700) and file (0600) when missing. Returns true if it appended.
 */
export async function appendProfileSection(path: string, name: string, lockOptions?: FileLockOptions): Promise<boolean> {
  validateProfileName(name);
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  return withFileLock(
    `${path}.lock`,
    async () => {
      const text = await readIfExists(path);
      const kind = name === DEFAULT_PROFILE ? "default" : "profile";
      const exists = parseIni(text, path).sections.some((s) => s.kind === kind && s.name === name);
      if (exists) return false;
      const separator = text === "" ? "" : text.endsWith("\n") ? "\n" : "\n\n";
      await appendFile(path, `${separator}${profileSectionHeader(name)}\n`, { mode: 0o600 });
      return true;
    },
    lockOptions,
  );
}

/**
 * Sets `key = value` lines in a profile's section, editing only those lines: an existing top-level
 * key is replaced in place, a new one goes after the section's last line, and a missing section is
 * appended. Keys in `ifMissing` are written only when the section does not set them. Every other
 * byte of the file is kept. The new file replaces the old one atomically (temp file + rename) under
 * the same lock as appendProfileSection; a new file is 0600, an existing one keeps its mode.
 */
export async function setProfileValues(
  path: string,
  name: string,
  values: ReadonlyArray<[string, string]>,
  opts: { ifMissing?: ReadonlyArray<string>; lockOptions?: FileLockOptions } = {},
): Promise<void> {
  validateProfileName(name);
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await withFileLock(
    `${path}.lock`,
    async () => {
      const text = await readIfExists(path);
      const kind = name === DEFAULT_PROFILE ? "default" : "profile";
      const section = parseIni(text, path).sections.find((s) => s.kind === kind && s.name === name);
      const eol = text.includes("\r\n") ? "\r\n" : "\n";
      let out: string;
      if (!section) {
        const body = values.map(([k, v]) => `${k} = ${v}`).join(eol);
        const separator = text === "" ? "" : text.endsWith("\n") ? eol : `${eol}${eol}`;
        out = `${text}${separator}${profileSectionHeader(name)}${eol}${body}${eol}`;
      } else {
        const lines = text.split(/\r?\n/);
        const start = section.line; // index of the first line after the header
        let end = start;
        while (end < lines.length && !/^\s*\[/.test(lines[end] ?? "")) end++;
        // The section's last non-blank line: new keys go right after it.
        let last = end;
        while (last > start && (lines[last - 1] ?? "").trim() === "") last--;
        const inserted: string[] = [];
        for (const [key, value] of values) {
          const re = new RegExp(`^${key.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\s*[=:]`, "i");
          const at = lines.slice(start, end).findIndex((l) => re.test(l));
          if (at >= 0) {
            if (!opts.ifMissing?.includes(key)) lines[start + at] = `${key} = ${value}`;
          } else {
            inserted.push(`${key} = ${value}`);
          }
        }
        lines.splice(last, 0, ...inserted);
        out = lines.join(eol);
      }
      const mode = await stat(path).then((s) => s.mode & 0o777, () => 0o600);
      const tmp = `${path}.${randomBytes(6).toString("hex")}.tmp`;
      await writeFile(tmp, out, { mode });
      await chmod(tmp, mode);
      await rename(tmp, path);
    },
    opts.lockOptions,
  );
}
