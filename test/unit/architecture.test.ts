// The layering rules of docs/architecture.md, checked on the source text.
import { readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const SRC = resolve(import.meta.dirname, "../../src");

function sourceFiles(dir = SRC): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

const files = sourceFiles().map((path) => {
  const text = readFileSync(path, "utf8");
  const rel = relative(SRC, path);
  const imports = [...text.matchAll(/^\s*(?:import|export)\b[^;]*?from\s+"([^"]+)"|import\("([^"]+)"\)/gm)].map((m) => m[1] ?? m[2] ?? "");
  const layer = rel.includes("/") ? rel.split("/")[0] : rel.replace(/\.ts$/, "");
  const targets = imports.filter((i) => i.startsWith(".")).map((i) => relative(SRC, resolve(join(SRC, rel, ".."), i)));
  return { rel, text, imports, layer, targets };
});

/** Layers each layer may import (besides itself, errors.ts and util/). */
const ALLOWED: Record<string, string[]> = {
  bin: ["main", "runtime"],
  main: ["cli", "runtime", "version"],
  cli: ["vault", "keyring", "aws", "prompt", "server", "agent", "runtime", "version"],
  server: ["runtime", "vault"],
  vault: ["keyring", "aws", "prompt", "runtime"],
  // keyring/agent.ts is the agent's client: it speaks agent/protocol.ts through agent/client.ts.
  keyring: ["runtime", "agent"],
  agent: ["keyring", "runtime"],
  aws: ["vault", "runtime"],
  prompt: ["runtime"],
  runtime: [],
  util: ["runtime"],
  errors: [],
  version: [],
};

describe("architecture", () => {
  it("imports flow one way: cli -> vault -> (keyring | aws | prompt) -> runtime", () => {
    const bad: string[] = [];
    for (const f of files) {
      for (const t of f.targets) {
        const to = t.includes("/") ? t.split("/")[0] : t.replace(/\.ts$/, "");
        if (to === f.layer || to === "errors" || to === "util" || t.endsWith("package.json")) continue;
        if (!(ALLOWED[f.layer ?? ""] ?? []).includes(to as string)) bad.push(`${f.rel} imports ${t}`);
      }
    }
    expect(bad).toEqual([]);
  });

  it("server and aws use vault only for types", () => {
    const bad = files
      .filter((f) => f.layer === "aws")
      .flatMap((f) => [...f.text.matchAll(/^import (?!type )[^;]*from "(\.\.\/vault\/[^"]+)"/gm)].map((m) => `${f.rel}: ${m[1]}`));
    expect(bad).toEqual([]);
  });

  it("only src/aws/*-sdk.ts imports the AWS SDK", () => {
    const bad = files.filter((f) => f.imports.some((i) => i.startsWith("@aws-sdk/")) && !/^aws\/[\w-]+-sdk\.ts$/.test(f.rel));
    expect(bad.map((f) => f.rel)).toEqual([]);
  });

  it("only src/runtime and src/bin touch process", () => {
    const bad = files
      .filter((f) => !["runtime", "bin"].includes(f.layer ?? ""))
      .filter((f) => /(?<![\w.])process\.(env|exit|argv|stdin|stdout|stderr|kill|pid|getuid|on|cwd|platform)\b/.test(f.text.replace(/\/\/.*$/gm, "")));
    expect(bad.map((f) => f.rel)).toEqual([]);
  });
});
