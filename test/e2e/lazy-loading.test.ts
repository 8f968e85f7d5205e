// Shell integration costs nothing on other paths: in the Node bundle, the completion, help, man-page
// and picker code (and the prompt library) sit in chunks reached only through dynamic import().
// The credential_process path loads only what it uses (issue 11): a cached `export` must not load
// node:http (the OAuth loopback), node:net (the agent client), node:child_process (agent start-up)
// or, under Bun, the public node:crypto module (under Node, WebCrypto), and the Node bundle loads that path from a handful of files.
// Node: what the process itself loaded (process.moduleLoadList, and an ESM resolve hook for the
// bundle's files). Bun: the same sources through the same bundler and flags as dist/aws-vault,
// whose hot-path chunks must import none of those built-ins (a static import there is loaded at
// start-up).
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BUN_COMPILE_FLAGS } from "../../scripts/bun-flags.mjs";
import { ARTIFACTS, DIST, run, sandbox } from "../support/cli.ts";
import { type FakeSts, startFakeSts } from "../support/fake-sts.ts";

/** The entry and every chunk it loads with a static import, transitively. */
function staticallyLoaded(): Map<string, string> {
  const seen = new Map<string, string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    const text = readFileSync(join(DIST, file), "utf8");
    seen.set(file, text);
    const dir = file.includes("/") ? "chunks/" : "";
    for (const m of text.matchAll(/(?:^|[;}\n])\s*import\s*(?:[^"'();]*?from\s*)?["']\.\/([^"']+)["']/g)) visit(`${dir}${m[1]}`.replace("chunks/chunks/", "chunks/"));
  };
  visit("aws-vault.mjs");
  return seen;
}

describe("lazy loading (node bundle)", () => {
  it("no completion, help docs, man page or picker code is loaded at start-up", () => {
    const loaded = staticallyLoaded();
    expect(loaded.size).toBeGreaterThan(1);
    const markers = {
      completion: "_aws_vault_complete",
      "help docs": "Environment variables:",
      "man page": ".SH GLOBAL FLAGS",
      "prompt library": "ExitPromptError",
      picker: "cannot show the profile picker",
    };
    for (const [what, marker] of Object.entries(markers)) {
      const where = [...loaded].filter(([, text]) => text.includes(marker)).map(([f]) => f);
      expect(where, what).toEqual([]);
    }
    // ...and they are in the bundle, behind an import() (in the entry or a chunk it loads later).
    const all = ["aws-vault.mjs", ...readdirSync(join(DIST, "chunks")).map((f) => `chunks/${f}`)]
      .filter((f) => f.endsWith(".mjs"))
      .map((f) => readFileSync(join(DIST, f), "utf8"))
      .join("\n");
    expect(all).toMatch(/import\("\.\/(?:chunks\/)?picker-[^"]+"\)/);
    expect(all).toMatch(/import\("\.\/(?:chunks\/)?builtin-flags-[^"]+"\)/);
  });
});

const ROOT = resolve(import.meta.dirname, "../..");
const ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE";
const SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
/**
 * Built-ins (and their internal parts) a cached hand-out must not load; under Node, WebCrypto too
 * (the file keyring runs on node:crypto there: runtime/jwe-crypto.ts).
 */
const UNUSED = /^(?:http|https|net|child_process|_http_\w+|dgram|internal\/crypto\/webcrypto)$/;
/**
 * Under Bun, node:crypto too (its Hash is a stream; the file keyring runs on WebCrypto there), and
 * node:fs/promises (~0.8 ms to load; the hot path reads synchronously, a lock loads it on use).
 */
const UNUSED_BUN = /^(?:http|https|net|child_process|crypto|fs\/promises)$/;

let sts: FakeSts;
beforeAll(async () => {
  sts = await startFakeSts({ users: [{ accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET, arn: "arn:aws:iam::123456789012:user/alice" }] });
});
afterAll(async () => sts?.stop());

/**
 * Preloads that print the built-ins the process loaded (at exit), or every file the ESM loader
 * resolves (a resolve hook; registering it loads node:net itself, so the two are separate runs).
 */
function preloads(dir: string): { builtins: string; files: string } {
  const hooks = join(dir, "hooks.mjs");
  writeFileSync(hooks, 'export async function resolve(s, c, next) { const r = await next(s, c); process._rawDebug(`LOADED-URL ${r.url}`); return r; }\n');
  const files = join(dir, "files.mjs");
  writeFileSync(files, `import { register } from "node:module";\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`);
  const builtins = join(dir, "builtins.mjs");
  writeFileSync(
    builtins,
    'process.on("exit", () => process._rawDebug("LOADED-BUILTINS " + JSON.stringify(process.moduleLoadList.filter((m) => m.startsWith("NativeModule ")).map((m) => m.slice(13)))));\n',
  );
  return { builtins, files };
}

describe.runIf(ARTIFACTS.some((a) => a.name === "node"))("hot path loading (node bundle)", () => {
  it("a cached export loads none of the unused built-ins, from a few files; --version loads no runtime", async () => {
    const artifact = ARTIFACTS.find((a) => a.name === "node")!;
    const sb = sandbox({ AWS_ENDPOINT_URL: sts.endpoint });
    const add = await run(artifact, ["add", "--env", "alice"], { env: { ...sb.env, AWS_ACCESS_KEY_ID: ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY: SECRET } });
    expect(add.code, add.stderr).toBe(0);
    const first = await run(artifact, ["export", "--format", "json", "alice"], { env: sb.env });
    expect(first.code, first.stderr).toBe(0);
    sts.resetCalls();

    const pre = preloads(mkdtempSync(join(tmpdir(), "awsv-load-")));
    const traced = (preload: string, args: string[]) => {
      const r = spawnSync(process.execPath, ["--import", preload, join(DIST, "aws-vault.mjs"), ...args], { env: sb.env, encoding: "utf8" });
      expect(r.status, r.stderr).toBe(0);
      return r;
    };
    const cached = traced(pre.builtins, ["export", "--format", "json", "alice"]);
    expect(JSON.parse(cached.stdout).SessionToken).toBe(JSON.parse(first.stdout).SessionToken);
    const builtins: string[] = JSON.parse(/^LOADED-BUILTINS (.*)$/m.exec(cached.stderr)?.[1] ?? "[]");
    expect(builtins).toContain("fs");
    expect(builtins.filter((m) => UNUSED.test(m))).toEqual([]);
    const files = (args: string[]) => [...new Set([...traced(pre.files, args).stderr.matchAll(/^LOADED-URL (file:.*\/dist\/.*)$/gm)].map((m) => m[1] as string))];
    // The entry, its few small static imports, and one chunk with the whole path (scripts/build.mjs).
    const exportFiles = files(["export", "--format", "json", "alice"]);
    expect(exportFiles.length, exportFiles.join("\n")).toBeLessThanOrEqual(8);
    expect(sts.calls("GetSessionToken")).toHaveLength(0);
    // --version is answered before the runtime (runtime/node.ts) loads.
    const runtime = files(["--version"]).filter((u) => readFileSync(new URL(u), "utf8").includes("AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED"));
    expect(runtime).toEqual([]);
  });
});

describe.runIf(ARTIFACTS.some((a) => a.name === "bun"))("hot path loading (bun bundle)", () => {
  it("the chunks a cached export loads import none of the unused built-ins", () => {
    const out = mkdtempSync(join(tmpdir(), "awsv-bunbuild-"));
    const flags = BUN_COMPILE_FLAGS.filter((f) => !["--compile", "--bytecode", "--sourcemap"].includes(f));
    execFileSync(
      join(ROOT, "node_modules", ".bin", "bun"),
      ["build", ...flags, "--target=bun", "--external", "@napi-rs/keyring", "--outdir", out, `--metafile=${join(out, "meta.json")}`, join(ROOT, "src/bin/aws-vault.ts")],
      { stdio: ["ignore", "ignore", "inherit"], cwd: ROOT },
    );
    const outputs: Record<string, { entryPoint?: string; imports: { path: string; kind: string }[] }> = JSON.parse(readFileSync(join(out, "meta.json"), "utf8")).outputs;
    const key = (p: string): string => (p.startsWith("./") ? p : `./${p.replace(/^\/+/, "")}`);
    const loaded = new Set<string>();
    const visit = (f: string) => {
      if (loaded.has(key(f))) return;
      loaded.add(key(f));
      for (const i of outputs[key(f)]?.imports ?? []) if (i.kind === "import-statement") visit(i.path);
    };
    const entryOf = (src: string) => Object.keys(outputs).find((k) => outputs[k]?.entryPoint?.endsWith(src));
    // What a cached export loads: the entry, the runtime and the fast path, with their static imports.
    for (const src of ["src/bin/aws-vault.ts", "src/runtime/node.ts", "src/cli/fast-path.ts"]) {
      const entry = entryOf(src);
      if (src !== "src/runtime/node.ts") expect(entry, src).toBeDefined();
      if (entry) visit(entry);
    }
    expect(loaded.size).toBeGreaterThan(2);
    for (const f of loaded) {
      const text = readFileSync(join(out, f), "utf8");
      const builtins = [...text.matchAll(/(?:from|import)\s*"(?:node:)?([a-z_/]+)"/g)].map((m) => m[1]);
      expect(builtins.filter((b) => UNUSED_BUN.test(b as string)), f).toEqual([]);
    }
  });
});
