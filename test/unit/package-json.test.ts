// package.json rules the build and the install depend on.
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "../..");
const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
  allowScripts?: Record<string, boolean>;
  man?: string[];
  files?: string[];
};
const lock = JSON.parse(readFileSync(join(ROOT, "package-lock.json"), "utf8")) as {
  packages: Record<string, { hasInstallScript?: boolean }>;
};

describe("package.json", () => {
  it("approves (allowScripts) every dependency with an install script, so npm ci runs them without warnings", () => {
    const withScripts = Object.entries(lock.packages)
      .filter(([path, p]) => path !== "" && p.hasInstallScript)
      .map(([path]) => path.slice(path.lastIndexOf("node_modules/") + "node_modules/".length));
    expect(withScripts.length).toBeGreaterThan(0);
    for (const name of withScripts) expect(pkg.allowScripts?.[name], name).toBe(true);
  });

  it("ships and installs the man page", () => {
    expect(pkg.man).toEqual(["./dist/aws-vault.1"]);
    expect(pkg.files).toContain("dist/aws-vault.1");
  });
});
