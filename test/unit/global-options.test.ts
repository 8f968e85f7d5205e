import { describe, expect, it } from "vitest";
import { resolveGlobalOptions } from "../../src/cli/global.ts";
import { fakeRuntime } from "../support/fake-runtime.ts";
import { mkdtempSync, writeFileSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A PATH holding executables with these names. */
function pathWith(...names: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), "awsv-path-"));
  for (const n of names) {
    writeFileSync(join(dir, n), "#!/bin/sh\nexit 0\n");
    chmodSync(join(dir, n), 0o755);
  }
  return dir;
}

describe("global options", () => {
  it("flag beats environment beats default", () => {
    const rt = fakeRuntime({ env: { AWS_VAULT_BACKEND: "pass", AWS_VAULT_FILE_DIR: "~/vault", PATH: pathWith() }, homedir: "/home/u" });
    expect(resolveGlobalOptions({}, rt)).toMatchObject({ backend: "pass", fileDir: "/home/u/vault" });
    expect(resolveGlobalOptions({ backend: "file", fileDir: "/x" }, rt)).toMatchObject({ backend: "file", fileDir: "/x" });
  });

  it("never picks keyctl by itself: its keys are gone after a reboot", () => {
    const rt = fakeRuntime({ env: { PATH: pathWith("keyctl") }, platform: "linux" });
    expect(resolveGlobalOptions({}, rt).backend).toBe("file");
    const withPass = fakeRuntime({ env: { PATH: pathWith("keyctl", "pass") }, platform: "linux" });
    expect(resolveGlobalOptions({}, withPass).backend).toBe("pass");
    expect(resolveGlobalOptions({ backend: "keyctl" }, rt).backend).toBe("keyctl");
  });
});
