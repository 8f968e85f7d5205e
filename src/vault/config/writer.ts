// Adds a profile section to ~/.aws/config by appending text (never re-serialising the file), under
// a cross-process lock so concurrent `add` calls cannot duplicate or interleave sections.

import { appendFile, mkdir, readFile } from "node:fs/promises";
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
