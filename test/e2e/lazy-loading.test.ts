// Shell integration costs nothing on other paths: in the Node bundle, the completion, help, man-page
// and picker code (and the prompt library) sit in chunks reached only through dynamic import().
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DIST } from "../support/cli.ts";

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
