// The npm package as a user gets it: `npm pack`, then `npm install -g` of the tarball into a
// temporary prefix (offline: the bundle needs nothing from the registry), then the installed
// `aws-vault` and `man aws-vault`. Also: the man page in dist/ is the one the program prints.
import { execFile } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { ARTIFACTS, DIST, run, sandbox } from "../support/cli.ts";

const execFileP = promisify(execFile);
const ROOT = resolve(import.meta.dirname, "../..");

describe.each(ARTIFACTS)("version and man page ($name)", (artifact) => {
  it("version: stdout, with the runtime and the compatible aws-vault; --version unchanged (stderr only)", async () => {
    const env = sandbox().env;
    const v = await run(artifact, ["version"], { env });
    expect(v.code, v.stderr).toBe(0);
    const runtime = artifact.name === "bun" ? /^runtime: bun \d+\.\d+\.\d+ linux\/x64$/m : /^runtime: node v\d+\.\d+\.\d+ linux\/x64$/m;
    expect(v.stdout).toMatch(/^v\d+\.\d+\.\d+\n/);
    expect(v.stdout).toMatch(runtime);
    expect(v.stdout).toMatch(/^compatible with: aws-vault v7\.\d+\.\d+$/m);
    expect(v.stderr).toBe("");
    const flag = await run(artifact, ["--version"], { env });
    expect(flag).toMatchObject({ code: 0, stdout: "" });
    expect(flag.stderr).toBe(v.stdout.split("\n")[0] + "\n");
  });

  it("--help-man prints the roff page that the build put in dist/", async () => {
    const r = await run(artifact, ["--help-man"], { env: sandbox().env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(readFileSync(join(DIST, "aws-vault.1"), "utf8"));
    expect(r.stdout).toMatch(/^\.TH AWS\\-VAULT 1 /);
    for (const c of ["add", "remove", "list", "rotate", "exec", "export", "clear", "login", "completion", "version"]) {
      expect(r.stdout).toMatch(new RegExp(`^\\.SS "${c.replace(/-/g, "\\\\-")}[ "]`, "m"));
    }
    expect(r.stdout).toContain("AWS_VAULT_FILE_PASSPHRASE");
  });
});

describe("npm package", () => {
  it("npm pack, npm install -g into a prefix: a working aws-vault and its man page", async () => {
    const work = mkdtempSync(join(tmpdir(), "awsv-pack-"));
    // The package's files, from the build under test (dist/ or AWS_VAULT_DIST).
    const pkgDir = join(work, "src");
    mkdirSync(join(pkgDir, "dist"), { recursive: true });
    for (const f of ["package.json", "README.md", "LICENSE"]) if (existsSync(join(ROOT, f))) cpSync(join(ROOT, f), join(pkgDir, f));
    for (const f of ["aws-vault.mjs", "aws-vault.mjs.map", "chunks", "aws-vault.1"]) {
      if (existsSync(join(DIST, f))) cpSync(join(DIST, f), join(pkgDir, "dist", f), { recursive: true });
    }

    const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: work, npm_config_cache: process.env.npm_config_cache ?? join(process.env.HOME ?? "/root", ".npm") };
    const packed = await execFileP("npm", ["pack", "--json", "--pack-destination", work], { cwd: pkgDir, env });
    const [info] = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
    const files = info!.files.map((f) => f.path).sort();
    expect(files).toContain("dist/aws-vault.1");
    expect(files).toContain("dist/aws-vault.mjs");
    expect(files.filter((f) => f.startsWith("src/") || f.startsWith("test/"))).toEqual([]);

    const prefix = join(work, "prefix");
    const install = await execFileP(
      "npm",
      ["install", "-g", "--offline", "--no-audit", "--no-fund", "--prefix", prefix, join(work, info!.filename)],
      { cwd: work, env },
    );
    expect(install.stderr).not.toMatch(/install-scripts|allowScripts/);
    const bin = join(prefix, "bin", "aws-vault");
    const manFile = join(prefix, "share", "man", "man1", "aws-vault.1");
    expect(existsSync(manFile)).toBe(true);

    // The installed command works with nothing of the repository on its path.
    const sb = sandbox();
    const version = await execFileP(bin, ["version"], { env: { ...sb.env, PATH: `${join(prefix, "bin")}:/usr/bin:/bin` } });
    expect(version.stdout).toMatch(/^v\d+\.\d+\.\d+\nruntime: node v\d+/);
    const list = await execFileP(bin, ["list", "--profiles"], { env: { ...sb.env, PATH: `${join(prefix, "bin")}:/usr/bin:/bin` } });
    expect(list.stdout).toBe("");

    // `man aws-vault` finds it under the prefix (when man is installed here).
    if (existsSync("/usr/bin/man")) {
      const man = await execFileP("man", ["-P", "cat", "aws-vault"], { env: { ...env, MANPATH: join(prefix, "share", "man"), MANWIDTH: "100" } });
      expect(man.stdout).toContain("AWS-VAULT(1)");
      expect(man.stdout).toMatch(/exec \[<flags>\] \[<profile>\] \[<cmd>\] \[<args\.\.\.>\]/);
    }
    expect(readdirSync(join(prefix, "lib", "node_modules"))).toEqual(["aws-vault-ts"]);
  }, 120_000);
});
