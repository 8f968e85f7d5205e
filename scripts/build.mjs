// Builds the two artifacts:
//   dist/aws-vault.mjs  Node bundle (ESM, code-split so the AWS SDK loads only when a call needs it)
//   dist/aws-vault      standalone executable compiled by Bun with --bytecode
// Usage: node scripts/build.mjs [--node-only] [--outdir DIR]   (default DIR: dist)
import { execFileSync } from "node:child_process";
import { rmSync, chmodSync, existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const outdirArg = process.argv.indexOf("--outdir");
const dist = outdirArg === -1 ? join(root, "dist") : resolve(process.argv[outdirArg + 1] ?? "dist");
const nodeOnly = process.argv.includes("--node-only");
const external = ["@napi-rs/keyring"];

rmSync(join(dist, "chunks"), { recursive: true, force: true });
await build({
  entryPoints: { "aws-vault": join(root, "src/bin/aws-vault.ts") },
  outdir: dist,
  outExtension: { ".js": ".mjs" },
  chunkNames: "chunks/[name]-[hash]",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  minify: true,
  legalComments: "none",
  external,
  banner: {
    js: 'import { createRequire as __awsVaultRequire } from "node:module"; const require = __awsVaultRequire(import.meta.url);',
  },
  logLevel: "warning",
});
// esbuild keeps a source shebang only on the entry; add ours.
{
  const { readFileSync, writeFileSync } = await import("node:fs");
  const entry = join(dist, "aws-vault.mjs");
  writeFileSync(entry, `#!/usr/bin/env node\n${readFileSync(entry, "utf8")}`);
  chmodSync(entry, 0o755);
}

if (!nodeOnly) {
  const bun = join(root, "node_modules", ".bin", "bun");
  if (!existsSync(bun)) throw new Error("bun is missing: run npm ci");
  execFileSync(
    bun,
    [
      "build",
      "--compile",
      "--bytecode",
      "--minify",
      ...external.flatMap((e) => ["--external", e]),
      join(root, "src/bin/aws-vault.ts"),
      "--outfile",
      join(dist, "aws-vault"),
    ],
    { stdio: ["ignore", "ignore", "inherit"], cwd: root },
  );
}
