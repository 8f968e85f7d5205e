// Builds the two artifacts:
//   dist/aws-vault.mjs  Node bundle (ESM, code-split so the AWS SDK loads only when a call needs it)
//   dist/aws-vault      standalone executable compiled by Bun: ESM with code splitting and bytecode
//                       (scripts/bun-flags.mjs; the bench builds its empty "floor" program with the same flags)
// Usage: node scripts/build.mjs [--node-only] [--outdir DIR]   (default DIR: dist)
import { execFileSync } from "node:child_process";
import { builtinModules } from "node:module";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { BUN_COMPILE_FLAGS } from "./bun-flags.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const outdirArg = process.argv.indexOf("--outdir");
const dist = outdirArg === -1 ? join(root, "dist") : resolve(process.argv[outdirArg + 1] ?? "dist");
const nodeOnly = process.argv.includes("--node-only");
const external = ["@napi-rs/keyring"];

// Node built-ins through process.getBuiltinModule instead of ESM imports. Measured on a cached
// `export`: each `import … from "node:x"` costs Node an ESM module job and a facade that reads every
// export (node:fs's facade alone loads the stream classes, ~2 ms), while getBuiltinModule returns
// the already-loaded module. A virtual module per built-in exports only the names the bundle uses
// (the /* @__PURE__ */ reads of the others are dropped). The Bun binary keeps ESM imports: there,
// a statically imported built-in is embedded precompiled and loads faster than getBuiltinModule.
const BUILTIN = new RegExp(`^(node:)?(${builtinModules.map((m) => m.replace(/[/]/g, "\\/")).join("|")})$`);
const builtinsByGetter = {
  name: "builtins-by-getter",
  setup(b) {
    // One virtual module per importer, so it is inlined there (shared, it would become a chunk of its own).
    // Only `import` statements: a bundled CommonJS require() must keep getting module.exports itself.
    b.onResolve({ filter: BUILTIN }, (a) =>
      a.kind !== "import-statement"
        ? undefined
        : { path: a.path.startsWith("node:") ? a.path : `node:${a.path}`, namespace: "node-builtin", suffix: `?from=${relative(root, a.importer)}` },
    );
    b.onLoad({ filter: /.*/, namespace: "node-builtin" }, async (a) => {
      const names = Object.keys(await import(a.path)).filter((k) => k !== "default" && /^[A-Za-z_][\w]*$/.test(k));
      const exports = names.map((k) => `export const ${k} = /* @__PURE__ */ $get(${JSON.stringify(k)});`);
      return { contents: [`const $m = process.getBuiltinModule(${JSON.stringify(a.path)});`, "const $get = (k) => $m[k];", "export default $m;", ...exports].join("\n"), loader: "js" };
    });
  },
};

const NODE_OPTIONS = {
  entryPoints: { "aws-vault": join(root, "src/bin/aws-vault.ts") },
  outExtension: { ".js": ".mjs" },
  chunkNames: "chunks/[name]-[hash]",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  external,
  logLevel: "warning",
};

// The cached hand-out's modules in one chunk. esbuild puts a module in the chunk of the set of
// entries (import() targets included) that reach it, so the credential path's ~80 modules were
// spread over ~20 files, each one more ESM resolve/load/link for Node (measured: most of its
// module-loading time). Every module outside that set and outside the entry's own imports gets a
// side-effect import of a hub that imports the path's roots: every entry that reaches any of
// them then reaches all of them, and they share one chunk. The set imports nothing outside itself
// and the roots (import() targets) have no static importer, so every module still runs after its
// own imports. The import is put on the first line, so line numbers (source maps) stay.
const HOT_ROOTS = ["src/cli/fast-path.ts", "src/runtime/node.ts"].map((f) => join(root, f));
const HUB = "aws-vault:hot-path-hub";
async function hotPathChunk() {
  const { metafile } = await build({ ...NODE_OPTIONS, outdir: join(root, ".metafile-only"), write: false, metafile: true, absWorkingDir: root });
  const imports = (f) => metafile.inputs[f].imports.filter((i) => i.kind === "import-statement" && !i.external).map((i) => i.path);
  const closure = (roots) => {
    const seen = new Set();
    const visit = (f) => {
      if (seen.has(f)) return;
      seen.add(f);
      imports(f).forEach(visit);
    };
    roots.forEach(visit);
    return seen;
  };
  for (const [f, input] of Object.entries(metafile.inputs)) {
    const hit = input.imports.find((i) => i.kind === "import-statement" && HOT_ROOTS.includes(join(root, i.path)));
    if (hit) throw new Error(`${f} imports the hot path's root ${hit.path}: the hub would reorder it (scripts/build.mjs)`);
  }
  const keep = new Set([...closure(HOT_ROOTS.map((f) => relative(root, f))), ...closure([relative(root, NODE_OPTIONS.entryPoints["aws-vault"])])]);
  return {
    name: "hot-path-chunk",
    setup(b) {
      b.onResolve({ filter: new RegExp(`^${HUB}$`) }, () => ({ path: HUB, namespace: "hub" }));
      b.onLoad({ filter: /.*/, namespace: "hub" }, () => ({ contents: HOT_ROOTS.map((f) => `import ${JSON.stringify(f)};`).join("\n"), loader: "js", resolveDir: root }));
      b.onLoad({ filter: /[/\\]src[/\\].*\.ts$/ }, (a) => {
        // The roots too (import() targets; nothing imports them, so the cycle orders nothing).
        if (keep.has(relative(root, a.path)) && !HOT_ROOTS.includes(a.path)) return undefined;
        return { contents: `import ${JSON.stringify(HUB)};${readFileSync(a.path, "utf8")}`, loader: "ts" };
      });
    },
  };
}

// Build into a staging folder and swap it in, so a failed build never leaves a half-updated dist.
const staging = `${dist}.staging-${process.pid}`;
rmSync(staging, { recursive: true, force: true });
await build({
  ...NODE_OPTIONS,
  outdir: staging,
  minify: true,
  legalComments: "none",
  // Linked maps without sources: --debug stack traces name src/*.ts (runtime/source-map.ts).
  sourcemap: "linked",
  sourcesContent: false,
  plugins: [builtinsByGetter, await hotPathChunk()],
  // For the require() calls of bundled CommonJS packages (esbuild's __require); made on first use.
  banner: {
    js: 'let __awsVaultRequire; const require = function (id) { __awsVaultRequire ??= process.getBuiltinModule("node:module").createRequire(import.meta.url); return __awsVaultRequire(id); };',
  },
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
  // Bun writes a loose .map per chunk next to its --outfile: build in a folder of its own, keep only
  // the executable (the maps are embedded in it; Bun maps its own stack traces).
  const bunStaging = `${dist}.bun-staging-${process.pid}`;
  rmSync(bunStaging, { recursive: true, force: true });
  try {
    execFileSync(
      bun,
      ["build", ...BUN_COMPILE_FLAGS, ...external.flatMap((e) => ["--external", e]), join(root, "src/bin/aws-vault.ts"), "--outfile", join(bunStaging, "aws-vault")],
      { stdio: ["ignore", "ignore", "inherit"], cwd: root },
    );
    renameSync(join(bunStaging, "aws-vault"), join(dist, "aws-vault"));
  } finally {
    rmSync(bunStaging, { recursive: true, force: true });
  }
  // Loose maps that earlier builds left in dist/ (the Node bundle's own maps are *.mjs.map).
  for (const f of readdirSync(dist)) if (f.endsWith(".js.map") || f === "aws-vault.staging.map") rmSync(join(dist, f), { force: true });
}
