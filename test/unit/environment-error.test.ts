import { mkdtempSync, writeFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { renderError } from "../../src/cli/render.ts";
import { KeyringError, UserError } from "../../src/errors.ts";
import { environmentError } from "../../src/util/environment-error.ts";
import { fakeRuntime } from "../support/fake-runtime.ts";

/** A real errno error from the file system, as Node builds it. */
function fsError(code: string, syscall: string, path: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: ${syscall} '${path}'`), { code, syscall, path, errno: -1 });
}

describe("environmentError", () => {
  it.each([
    ["EACCES", "permission denied", "check the owner and permissions of /h/.awsvault and its parent folders"],
    ["EPERM", "operation not permitted", "check the owner, permissions and attributes of /h/.awsvault and its parent folders"],
    ["ENOTDIR", "a part of the path is not a folder", "check HOME, AWS_VAULT_FILE_DIR and AWS_CONFIG_FILE: a file stands where a folder is expected"],
    ["EISDIR", "is a folder", "check AWS_CONFIG_FILE and AWS_VAULT_FILE_DIR: a folder stands where a file is expected"],
    ["EROFS", "read-only file system", "make that file system writable, or point HOME, AWS_VAULT_FILE_DIR or AWS_CONFIG_FILE at a writable place"],
    ["ENOSPC", "no space left on device", "free some space on that disk"],
    ["EDQUOT", "disk quota exceeded", "free some space, or ask for a larger quota"],
  ])("%s", (code, what, hint) => {
    const e = environmentError(fsError(code, "mkdir", "/h/.awsvault"));
    expect(e).toBeInstanceOf(UserError);
    expect(e?.message).toBe(`mkdir /h/.awsvault: ${what} (${code})`);
    expect(e?.hints).toEqual([hint]);
    expect(e?.exitCode).toBe(1);
  });

  it("names both paths of a rename, and finds the errno in a cause", () => {
    const rename = Object.assign(fsError("ENOSPC", "rename", "/k/.tmp"), { dest: "/k/item" });
    expect(environmentError(new UserError("could not write", { cause: new Error("x", { cause: rename }) }))?.message).toBe(
      "rename /k/.tmp -> /k/item: no space left on device (ENOSPC)",
    );
  });

  it("a write through a file handle (no path) gets the fix; the wrapping error names the file", () => {
    const e = environmentError(Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC", syscall: "write", errno: -28 }));
    expect(e?.message).toBe("write: no space left on device (ENOSPC)");
    expect(e?.hints).toEqual(["free some space on that disk"]);
    expect(environmentError(Object.assign(new Error("x"), { code: "EACCES", syscall: "listen" }))).toBeUndefined();
  });

  it("leaves other errors alone", () => {
    expect(environmentError(fsError("ENOENT", "open", "/x"))).toBeUndefined();
    expect(environmentError(Object.assign(new Error("x"), { code: "EACCES" }))).toBeUndefined();
    expect(environmentError(new TypeError("x"))).toBeUndefined();
    expect(environmentError("EACCES")).toBeUndefined();
    expect(environmentError(null)).toBeUndefined();
  });

  it("a real ENOTDIR is rendered as a user error, exit 1", async () => {
    const dir = mkdtempSync(join(tmpdir(), "awsv-env-"));
    writeFileSync(join(dir, "file"), "");
    const err = await mkdir(join(dir, "file", "sub")).catch((e: unknown) => e);
    const rt = fakeRuntime({ debug: false });
    expect(renderError(rt, err)).toBe(1);
    expect(rt.stderr.text).toBe(
      `aws-vault: error: mkdir ${dir}/file/sub: a part of the path is not a folder (ENOTDIR)\n` +
        "aws-vault: hint: check HOME, AWS_VAULT_FILE_DIR and AWS_CONFIG_FILE: a file stands where a folder is expected\n",
    );
  });

  it("a user error without hints caused by one gets the fix; one with hints keeps its own", () => {
    const cause = fsError("EROFS", "open", "/k/x");
    const rt = fakeRuntime({ debug: false });
    expect(renderError(rt, new KeyringError("cannot write /k/x", { cause }))).toBe(1);
    expect(rt.stderr.text).toBe(
      "aws-vault: error: cannot write /k/x\n" +
        "aws-vault: hint: make that file system writable, or point HOME, AWS_VAULT_FILE_DIR or AWS_CONFIG_FILE at a writable place\n",
    );
    const own = fakeRuntime({ debug: false });
    renderError(own, new KeyringError("cannot write /k/x", { cause, hints: ["mine"] }));
    expect(own.stderr.text).toBe("aws-vault: error: cannot write /k/x\naws-vault: hint: mine\n");
  });
});
