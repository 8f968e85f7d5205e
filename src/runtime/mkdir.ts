// `mkdir -p` with mode 0700 whose errors name the folder that could not be made. Node's synchronous
// recursive mkdir names the target in an EACCES/EROFS/ENOSPC error even when it failed on a parent
// (its asynchronous form and Bun's name the parent), so "check the owner and permissions of X"
// would point at a folder that does not exist yet.
import { mkdirSync, statSync } from "node:fs";
import { dirname } from "node:path";

const CREATE_ERRORS = new Set(["EACCES", "EPERM", "EROFS", "ENOSPC", "EDQUOT"]);

export function mkdirPrivateSync(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.path === dir && CREATE_ERRORS.has(err.code ?? "")) {
      const failed = topmostMissing(dir);
      if (failed !== dir) {
        err.message = err.message.replace(dir, failed);
        err.path = failed;
      }
    }
    throw err;
  }
}

/** The first folder on the way to `dir` that cannot be stat'ed (`dir` itself when its parent can). */
function topmostMissing(dir: string): string {
  let missing = dir;
  for (let d = dirname(dir); d !== dirname(d); d = dirname(d)) {
    try {
      statSync(d);
      return missing;
    } catch {
      missing = d;
    }
  }
  return missing;
}
