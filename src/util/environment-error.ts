// File system failures caused by the machine, not by a bug: an unwritable or misplaced HOME, a
// read-only or full disk. They become user errors naming the path and the fix (exit 1), not
// "this is a bug" (exit 70).
import { UserError } from "../errors.ts";

interface SystemError {
  code?: unknown;
  path?: unknown;
  dest?: unknown;
  syscall?: unknown;
}

const FIXES: Record<string, { what: string; fix: (path: string) => string }> = {
  EACCES: { what: "permission denied", fix: (p) => `check the owner and permissions of ${p} and its parent folders` },
  EPERM: { what: "operation not permitted", fix: (p) => `check the owner, permissions and attributes of ${p} and its parent folders` },
  ENOTDIR: {
    what: "a part of the path is not a folder",
    fix: () => "check HOME, AWS_VAULT_FILE_DIR and AWS_CONFIG_FILE: a file stands where a folder is expected",
  },
  EISDIR: { what: "is a folder", fix: () => "check AWS_CONFIG_FILE and AWS_VAULT_FILE_DIR: a folder stands where a file is expected" },
  EROFS: {
    what: "read-only file system",
    fix: () => "make that file system writable, or point HOME, AWS_VAULT_FILE_DIR or AWS_CONFIG_FILE at a writable place",
  },
  ENOSPC: { what: "no space left on device", fix: () => "free some space on that disk" },
  EDQUOT: { what: "disk quota exceeded", fix: () => "free some space, or ask for a larger quota" },
};

/**
 * The user error for a file system failure of the environment (the error itself or one of its
 * causes, e.g. "could not create lock file" caused by EROFS), or undefined for anything else.
 */
export function environmentError(e: unknown): UserError | undefined {
  for (let cur = e, depth = 0; cur !== null && typeof cur === "object" && depth < 8; cur = (cur as { cause?: unknown }).cause, depth++) {
    const found = systemError(cur);
    if (found) return found;
  }
  return undefined;
}

function systemError(e: object): UserError | undefined {
  const err = e as SystemError;
  const code = typeof err.code === "string" ? err.code : undefined;
  const known = code ? FIXES[code] : undefined;
  const path = typeof err.path === "string" ? err.path : undefined;
  // A write through a file handle carries no path (a full disk while writing the lock file); the
  // wrapping error names the file, so the fix still applies. Other path-less errors (a socket's
  // EACCES) are not about files.
  if (!code || !known || (path === undefined && err.syscall !== "write")) return undefined;
  const dest = typeof err.dest === "string" ? ` -> ${err.dest}` : "";
  const where = [typeof err.syscall === "string" ? err.syscall : undefined, path === undefined ? undefined : `${path}${dest}`].filter((w) => w !== undefined).join(" ");
  return new UserError(`${where}: ${known.what} (${code})`, { hints: [known.fix(path ?? "that file")], cause: e });
}
