// The layering rules of docs/architecture.md, checked with TypeScript's own parser and checker
// (test/support/architecture.ts), on src/ and on a fixture project that breaks every rule once, so
// that each rule is shown to fail.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, posix, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { analyzeProject, type SourceFacts } from "../support/architecture.ts";

const ROOT = resolve(import.meta.dirname, "../..");

/**
 * One row per layer: a folder under src/ (or a top-level file, without `.ts`). `imports` are the
 * layers it may load at run time; `types` the extra layers it may use for types only (`import type`).
 * Every layer may import itself. A folder that is not in this table fails the test: add a row.
 */
export const LAYERS: Record<string, { imports: string[]; types?: string[] }> = {
  bin: { imports: ["main", "runtime", "util", "errors"] },
  main: { imports: ["cli", "runtime", "util", "errors", "version"] },
  cli: { imports: ["vault", "keyring", "aws", "prompt", "server", "agent", "runtime", "util", "errors", "version"] },
  vault: { imports: ["keyring", "aws", "prompt", "runtime", "util", "errors"] },
  server: { imports: ["runtime", "util", "errors"], types: ["vault"] },
  agent: { imports: ["keyring", "runtime", "util", "errors"], types: ["vault"] },
  // keyring/agent.ts is the agent's client (the agent's socket behind the Keyring interface).
  keyring: { imports: ["runtime", "util", "errors", "agent"] },
  aws: { imports: ["runtime", "util", "errors"], types: ["vault"] },
  prompt: { imports: ["runtime", "util", "errors"] },
  runtime: { imports: ["util", "errors"] },
  util: { imports: ["errors"], types: ["runtime"] },
  errors: { imports: [] },
  version: { imports: [] },
};

/** Packages and the files (src-relative path patterns) that may import them. Unlisted packages fail. */
export const PACKAGES: Array<{ pattern: RegExp; files: RegExp; why: string }> = [
  { pattern: /^@(aws-sdk|smithy)\//, files: /^aws\/[\w-]+-sdk\.ts$/, why: "only src/aws/*-sdk.ts imports the AWS SDK" },
  { pattern: /^commander$/, files: /^(cli\/|main\.ts$)/, why: "flags are parsed in cli/ and main.ts" },
  { pattern: /^jose$/, files: /^keyring\//, why: "the file keyring's JWE format" },
  { pattern: /^@napi-rs\/keyring$/, files: /^keyring\//, why: "the wincred backend" },
  { pattern: /^@inquirer\/search$/, files: /^prompt\/picker\.ts$/, why: "the profile picker (loaded lazily)" },
  {
    pattern: /^(node:)?(process|child_process|worker_threads|cluster)$/,
    files: /^(runtime\/|bin\/)/,
    why: "only src/runtime touches process (and starts processes)",
  },
  { pattern: /^node:/, files: /./, why: "other Node built-ins" },
  { pattern: /^\.\.\/package\.json$/, files: /^version\.ts$/, why: "the version number" },
];

/** Where the global `process` may be referenced (by any name: `process`, `globalThis.process`…). */
export const PROCESS_ALLOWED = /^(runtime\/|bin\/)/;

function layerOf(rel: string): string {
  return rel.includes("/") ? (rel.split("/")[0] as string) : rel.replace(/\.ts$/, "");
}

/** Every broken rule, one line each: `file:line: what`. */
export function violations(facts: SourceFacts[]): string[] {
  const bad: string[] = [];
  for (const f of facts) {
    const from = layerOf(f.rel);
    const rule = LAYERS[from];
    if (rule === undefined) {
      bad.push(`${f.rel}: layer "${from}" is not in the LAYERS table of test/unit/architecture.test.ts`);
      continue;
    }
    for (const e of f.edges) {
      if (e.specifier.startsWith(".") && !e.specifier.endsWith(".json")) {
        const target = posix.normalize(posix.join(posix.dirname(f.rel), e.specifier));
        if (target.startsWith("..")) {
          bad.push(`${f.rel}:${e.line}: imports ${e.specifier}, outside src/`);
          continue;
        }
        const to = layerOf(target);
        if (to === from) continue;
        const ok = rule.imports.includes(to) || (e.kind === "type" && (rule.types ?? []).includes(to));
        if (!ok) {
          const typesOnly = e.kind === "value" && (rule.types ?? []).includes(to) ? " (types only: use `import type`)" : "";
          bad.push(`${f.rel}:${e.line}: ${from} may not import ${to} (${e.specifier})${typesOnly}`);
        }
        continue;
      }
      const pkg = PACKAGES.find((p) => p.pattern.test(e.specifier));
      if (pkg === undefined) bad.push(`${f.rel}:${e.line}: imports ${e.specifier}, which is not in the PACKAGES table`);
      else if (!pkg.files.test(f.rel)) bad.push(`${f.rel}:${e.line}: imports ${e.specifier}: ${pkg.why}`);
    }
    if (!PROCESS_ALLOWED.test(f.rel)) {
      for (const p of f.processUses) bad.push(`${f.rel}:${p.line}: uses ${p.text}: only src/runtime touches process`);
    }
  }
  return bad;
}

describe("architecture of src/", () => {
  let facts: SourceFacts[] = [];
  beforeAll(() => {
    facts = analyzeProject(join(ROOT, "tsconfig.json"), join(ROOT, "src"));
  });

  it("sees every source file and their imports", () => {
    expect(facts.length).toBeGreaterThan(50);
    const loader = facts.find((f) => f.rel === "vault/config/loader.ts");
    expect(loader?.edges.map((e) => `${e.kind} ${e.specifier}`)).toContain("value ./ini.ts");
    expect(facts.find((f) => f.rel === "runtime/node.ts")?.processUses.length).toBeGreaterThan(0);
  });

  it("follows the rules: cli -> vault -> (keyring | aws | prompt) -> runtime, SDK in aws/*-sdk.ts, process in runtime/", () => {
    expect(violations(facts)).toEqual([]);
  });
});

describe("the checker catches each kind of violation", () => {
  // A small project laid out like src/, each file breaking one rule in one way the old
  // regular-expression test missed (or one way a rule can be broken at all).
  const FIXTURE: Record<string, string> = {
    "vault/model.ts": "export interface Model { x: number }\nexport const model = 1;\n",
    "vault/provider.ts": 'export const provider = "p";\n',
    "runtime/rt.ts": "export const env = process.env;\n",
    "util/ok.ts": 'import type { env } from "../runtime/rt.ts";\nexport type Env = typeof env;\nexport const ok = 1;\n',
    "server/single-quoted.ts": "import { model } from '../vault/model.ts';\nexport const a = model;\n",
    "server/side-effect.ts": 'import "../vault/provider.ts";\n',
    "server/type-only.ts": 'import type { Model } from "../vault/model.ts";\nexport type M = Model;\n',
    "server/inline-type.ts": 'import { type Model } from "../vault/model.ts";\nexport type M = Model;\n',
    "server/reexport.ts": 'export { provider } from "../vault/provider.ts";\n',
    "server/dynamic.ts": 'export const load = () => import("../vault/provider.ts");\n',
    "keyring/up.ts": 'import { provider } from "../vault/provider.ts";\nexport const k = provider;\n',
    "keyring/global-this.ts": "export const e = globalThis.process.env;\n",
    "keyring/element.ts": 'export const e = (globalThis as Record<string, unknown>)["process"];\n',
    "keyring/shadowed.ts": "export function f(process: { env: string }) {\n  return process.env;\n}\n",
    "keyring/node-process.ts": 'import { env } from "node:process";\nexport const e = env;\n',
    "prompt/spawns.ts": 'import { spawn } from "node:child_process";\nexport const s = spawn;\n',
    "prompt/sdk.ts": 'import type { STSClient } from "@aws-sdk/client-sts";\nexport type C = STSClient;\n',
    "prompt/unknown-package.ts": 'import "left-pad";\n',
    "newroom/x.ts": "export const x = 1;\n",
  };

  let dir = "";
  let found: string[] = [];
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "awsv-arch-"));
    for (const [rel, text] of Object.entries(FIXTURE)) {
      mkdirSync(dirname(join(dir, "src", rel)), { recursive: true });
      writeFileSync(join(dir, "src", rel), text);
    }
    writeFileSync(
      join(dir, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          target: "ES2022",
          module: "NodeNext",
          moduleResolution: "NodeNext",
          types: ["node"],
          typeRoots: [join(ROOT, "node_modules/@types")],
          allowImportingTsExtensions: true,
          verbatimModuleSyntax: true,
          noEmit: true,
          strict: true,
        },
        include: ["src"],
      }),
    );
    found = violations(analyzeProject(join(dir, "tsconfig.json"), join(dir, "src")));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each([
    ["a single-quoted value import", "server/single-quoted.ts:1: server may not import vault (../vault/model.ts) (types only: use `import type`)"],
    ["a side-effect import", "server/side-effect.ts:1: server may not import vault (../vault/provider.ts) (types only: use `import type`)"],
    ["`import { type X }`, which still loads the module", "server/inline-type.ts:1: server may not import vault (../vault/model.ts) (types only: use `import type`)"],
    ["a re-export", "server/reexport.ts:1: server may not import vault (../vault/provider.ts) (types only: use `import type`)"],
    ["a dynamic import()", "server/dynamic.ts:1: server may not import vault (../vault/provider.ts) (types only: use `import type`)"],
    ["an upward import", "keyring/up.ts:1: keyring may not import vault (../vault/provider.ts)"],
    ["globalThis.process", "keyring/global-this.ts:1: uses process: only src/runtime touches process"],
    ['globalThis["process"]', 'keyring/element.ts:1: uses ["process"]: only src/runtime touches process'],
    ["node:process", "keyring/node-process.ts:1: imports node:process: only src/runtime touches process (and starts processes)"],
    ["node:child_process", "prompt/spawns.ts:1: imports node:child_process: only src/runtime touches process (and starts processes)"],
    ["the AWS SDK outside aws/*-sdk.ts, even for types", "prompt/sdk.ts:1: imports @aws-sdk/client-sts: only src/aws/*-sdk.ts imports the AWS SDK"],
    ["a package nobody listed", "prompt/unknown-package.ts:1: imports left-pad, which is not in the PACKAGES table"],
    ["a folder nobody listed", 'newroom/x.ts: layer "newroom" is not in the LAYERS table of test/unit/architecture.test.ts'],
  ])("%s", (_label, line) => {
    expect(found).toContain(line);
  });

  it("accepts type-only imports where the table allows them, and a parameter named process", () => {
    expect(found.filter((l) => /^(server\/type-only|util\/ok|keyring\/shadowed|runtime\/rt|vault\/)/.test(l))).toEqual([]);
    expect(found).toHaveLength(13);
  });
});
