// Promises the repository makes about itself: the license package.json names, and CI's early checks.
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "../..");

/** Runs a copy of .ci/run from <parent>/repo with a PATH that has `dirname` and nothing else. */
function runCi(parent: string) {
  mkdirSync(join(parent, "repo", ".ci"), { recursive: true });
  cpSync(join(ROOT, ".ci", "run"), join(parent, "repo", ".ci", "run"));
  const bin = join(parent, "bin");
  mkdirSync(bin);
  symlinkSync(spawnSync("/bin/sh", ["-c", "command -v dirname"], { encoding: "utf8" }).stdout.trim(), join(bin, "dirname"));
  // Had the script gone past the vectors check, it would stop at `need node` (node is not on this PATH).
  return spawnSync("/bin/bash", [join(parent, "repo", ".ci", "run")], { env: { PATH: bin }, encoding: "utf8" });
}

describe("license", () => {
  it("ships the MIT LICENSE that package.json promises", () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { license?: string };
    expect(pkg.license).toBe("MIT");
    const text = readFileSync(join(ROOT, "LICENSE"), "utf8");
    expect(text.split("\n")[0]).toBe("MIT License");
    expect(text).toContain("Permission is hereby granted, free of charge");
  });
});

describe(".ci/run", () => {
  it("stops first, with a message naming the path, when ../shared/vectors is missing", () => {
    const parent = mkdtempSync(join(tmpdir(), "awsv-ci-"));
    const r = runCi(parent);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`ci: ../shared/vectors is missing (looked in ${parent}/shared/vectors)`);
    expect(r.stderr).toContain("README.md");
    expect(r.stderr).not.toContain("missing node");
  });

  it("goes past the check when the vectors are there", () => {
    const parent = mkdtempSync(join(tmpdir(), "awsv-ci-"));
    mkdirSync(join(parent, "shared", "vectors", "file-keyring-aws-vault-v7.2.0", "keys"), { recursive: true });
    const r = runCi(parent);
    expect(r.status).toBe(1);
    expect(r.stderr).not.toContain("shared/vectors is missing");
    expect(r.stderr).toContain("ci: missing node");
  });
});
