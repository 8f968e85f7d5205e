// Stack traces for --debug that point at src/*.ts. The Node bundle ships linked source maps
// (dist/**/*.mjs.map, without sources content); they are read only here, only when a stack is
// printed, so start-up never pays for them (Node's own --enable-source-maps parses every map at
// load). The Bun binary embeds its map and Bun maps its own stack traces.
import { readFileSync } from "node:fs";
import type { SourceMap } from "node:module";
import { dirname, relative, resolve } from "node:path";

const maps = new Map<string, SourceMap | null>();
// node:url too is loaded only when a stack is printed.
const fileURLToPath = (url: string): string => process.getBuiltinModule("node:url").fileURLToPath(url);

function mapFor(file: string): SourceMap | null {
  let m = maps.get(file);
  if (m === undefined) {
    try {
      // node:module is loaded only when a stack is printed.
      m = new (process.getBuiltinModule("node:module").SourceMap)(JSON.parse(readFileSync(`${file}.map`, "utf8")));
    } catch {
      m = null;
    }
    maps.set(file, m);
  }
  return m;
}

/** Rewrites `file:///…/x.mjs:L:C` (or a plain path) frames to the original `src/….ts:L:C` where a map exists. */
export function mapStackTrace(stack: string): string {
  return stack.replace(/((?:file:\/\/)?\/[^\s():]+\.m?js):(\d+):(\d+)/g, (whole, loc: string, line: string, col: string) => {
    const file = loc.startsWith("file://") ? fileURLToPath(loc) : loc;
    const map = mapFor(file);
    if (!map) return whole;
    const entry = map.findEntry(Number(line) - 1, Number(col) - 1) as {
      originalSource?: string;
      originalLine?: number;
      originalColumn?: number;
    };
    if (!entry?.originalSource || entry.originalLine === undefined || entry.originalColumn === undefined) return whole;
    const source = entry.originalSource.startsWith("file://") ? fileURLToPath(entry.originalSource) : resolve(dirname(file), entry.originalSource);
    // Relative to the package root (dist/.. or dist/chunks/..), e.g. src/aws/errors.ts.
    const root = resolve(dirname(file), file.includes("/chunks/") ? "../.." : "..");
    return `${relative(root, source)}:${entry.originalLine + 1}:${entry.originalColumn + 1}`;
  });
}
