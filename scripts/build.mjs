// Builds the two artifacts:
//   dist/aws-vault.mjs  Node bundle (ESM, code-split so the AWS SDK loads only when a call needs it)
//   dist/aws-vault      standalone executable compiled by Bun: ESM with code splitting and bytecode
//                       (scripts/bun-flags.mjs; the bench builds its empty "floor" program with the same flags)
// Usage: node scripts/build.mjs [--node-only] [--outdir DIR]   (default DIR: dist)
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { BUN_COMPILE_FLAGS } from "./bun-flags.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const outdirArg = process.argv.indexOf("--outdir");
const dist = outdirArg === -1 ? join(root, "dist") : resolve(process.argv[outdirArg + 1] ?? "dist");
const nodeOnly = process.argv.includes("--node-only");
const external = ["@napi-rs/keyring"];


// Build into a staging folder and swap it in, so a failed build never leaves a half-updated dist.
const staging = `${dist}.staging-${process.pid}`;
rmSync(staging, { recursive: true, force: true });
await build({
  entryPoints: { "aws-vault": join(root, "src/bin/aws-vault.ts") },
  outdir: staging,
  outExtension: { ".js": ".mjs" },
  chunkNames: "chunks/[name]-[hash]",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  minify: true,
  legalComments: "none",
  // Linked maps without sources: --debug stack traces name src/*.ts (runtime/source-map.ts).
  sourcemap: "linked",
  sourcesContent: false,
  external,
  banner: {
    js: 'import { createRequire as __awsVaultRequire } from "node:module"; const require = __awsVaultRequire(import.meta.url);',
  },
  logLevel: "warning",
});
{
  const entry = join(staging, "aws-vault.mjs");
  writeFileSync(entry, `#!/usr/bin/env node\n${readFileSync(entry, "utf8")}`);
  chmodSync(entry, 0o755);
  // The shebang line shifts the generated code down by one line: so must the map.
  const map = JSON.parse(readFileSync(`${entry}.map`, "utf8"));
  map.mappings = `;${map.mappings}`;
  writeFileSync(`${entry}.map`, JSON.stringify(map));
  mkdirSync(dist, { recursive: true });
  rmSync(join(dist, "chunks"), { recursive: true, force: true });
  renameSync(join(staging, "chunks"), join(dist, "chunks"));
  renameSync(entry, join(dist, "aws-vault.mjs"));
  renameSync(`${entry}.map`, join(dist, "aws-vault.mjs.map"));
  rmSync(staging, { recursive: true, force: true });
  // The man page the npm package installs (package.json "man"), from the program's own definition.
  const man = execFileSync(process.execPath, [join(dist, "aws-vault.mjs"), "--help-man"], { encoding: "utf8", env: { PATH: process.env.PATH ?? "" } });
  writeFileSync(join(dist, "aws-vault.1"), man);
}

if (!nodeOnly) {
  const bun = join(root, "node_modules", ".bin", "bun");
  if (!existsSync(bun)) throw new Error("bun is missing: run npm ci");
  execFileSync(
    bun,
    [
      "build",
      ...BUN_COMPILE_FLAGS,
      ...external.flatMap((e) => ["--external", e]),
      join(root, "src/bin/aws-vault.ts"),
      "--outfile",
      join(dist, "aws-vault.staging"),
    ],
    { stdio: ["ignore", "ignore", "inherit"], cwd: root },
  );
  renameSync(join(dist, "aws-vault.staging"), join(dist, "aws-vault"));
  // The map is embedded in the executable (Bun maps its own stack traces); drop the loose copy.
  rmSync(join(dist, "aws-vault.staging.map"), { force: true });
}
