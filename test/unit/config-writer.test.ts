import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, UsageError } from "../../src/errors.ts";
import { ConfigFile } from "../../src/vault/config/loader.ts";
import { appendProfileSection, profileSectionHeader } from "../../src/vault/config/writer.ts";
import { bundleForNode } from "../support/bundle.ts";

let dir = "";
let counter = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "config-writer-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function configWith(text: string): Promise<string> {
  counter++;
  const path = join(dir, `config-${counter}`);
  await writeFile(path, text, { mode: 0o600 });
  return path;
}

const NESTED_WITH_HEADER = [
  "# This is my config",
  "; maintained by hand",
  "",
  "[default]",
  "region=us-west-2",
  "output = json",
  "s3 =",
  "    max_concurrent_requests = 10",
  "    max_queue_size   = 1000",
  "",
  "[profile   spaced]",
  "role_arn    =    arn:aws:iam::1:role/x   # comment kept",
  "",
].join("\n");

describe("appendProfileSection", () => {
  it("appends exactly \\n[profile llamas]\\n, preserving header, comments and nested values", async () => {
    const path = await configWith(NESTED_WITH_HEADER);
    expect(await appendProfileSection(path, "llamas")).toBe(true);
    expect(await readFile(path, "utf8")).toBe(`${NESTED_WITH_HEADER}\n[profile llamas]\n`);
    expect(ConfigFile.fromText(await readFile(path, "utf8"), path).profileNames()).toEqual(["default", "spaced", "llamas"]);
    expect(existsSync(`${path}.lock`)).toBe(false);
  });

  it("appends [default] for the default profile", async () => {
    const path = await configWith("[profile a]\n");
    await appendProfileSection(path, "default");
    expect(await readFile(path, "utf8")).toBe("[profile a]\n\n[default]\n");
    expect(profileSectionHeader("default")).toBe("[default]");
  });

  it("adds a newline first when the file does not end with one", async () => {
    const path = await configWith("[profile a]\nregion = r");
    await appendProfileSection(path, "b");
    expect(await readFile(path, "utf8")).toBe("[profile a]\nregion = r\n\n[profile b]\n");
  });

  it("preserves CRLF content byte for byte", async () => {
    const original = "[profile a]\r\nregion = r\r\n";
    const path = await configWith(original);
    await appendProfileSection(path, "b");
    expect(await readFile(path, "utf8")).toBe(`${original}\n[profile b]\n`);
  });

  it("skips the append when the section exists", async () => {
    const original = "[profile a]\nregion = r\n[default]\n";
    const path = await configWith(original);
    expect(await appendProfileSection(path, "a")).toBe(false);
    expect(await appendProfileSection(path, "default")).toBe(false);
    expect(await readFile(path, "utf8")).toBe(original);
  });

  it("treats [profile default] as not providing [default]", async () => {
    const path = await configWith("[profile default]\n");
    expect(await appendProfileSection(path, "default")).toBe(true);
    expect(await readFile(path, "utf8")).toBe("[profile default]\n\n[default]\n");
  });

  it("matches names case-sensitively", async () => {
    const path = await configWith("[profile Dev]\n");
    expect(await appendProfileSection(path, "dev")).toBe(true);
    expect(await readFile(path, "utf8")).toBe("[profile Dev]\n\n[profile dev]\n");
  });

  it("creates a missing directory (0700) and file (0600)", async () => {
    const configDir = join(dir, "home", ".aws");
    const path = join(configDir, "config");
    expect(await appendProfileSection(path, "fresh")).toBe(true);
    expect(await readFile(path, "utf8")).toBe("[profile fresh]\n");
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await stat(configDir)).mode & 0o777).toBe(0o700);
  });

  it("appends to an empty file without a leading blank line", async () => {
    const path = await configWith("");
    await appendProfileSection(path, "x");
    expect(await readFile(path, "utf8")).toBe("[profile x]\n");
  });

  it("keeps the mode of an existing file", async () => {
    const path = await configWith("[profile a]\n");
    await chmod(path, 0o644);
    await appendProfileSection(path, "b");
    expect((await stat(path)).mode & 0o777).toBe(0o644);
  });

  it("refuses to touch a malformed file", async () => {
    const original = "[profile a]\ngarbage\n";
    const path = await configWith(original);
    await expect(appendProfileSection(path, "b")).rejects.toBeInstanceOf(ConfigError);
    expect(await readFile(path, "utf8")).toBe(original);
    expect(existsSync(`${path}.lock`)).toBe(false);
  });

  it.each(["", " lead", "trail ", "new\nline", "cr\rhere", "tab\there"])(
    "rejects the profile name %j",
    async (name) => {
      const path = await configWith("");
      await expect(appendProfileSection(path, name)).rejects.toBeInstanceOf(UsageError);
      expect(await readFile(path, "utf8")).toBe("");
    },
  );

  const UNUSUAL = ["a]b", "with space", "ünïcode", "prod/admin", "x#y", "o'neil", 'say "hi"', "back\\slash", "__proto__", "constructor", "prototype"];

  it("round-trips unusual but valid names, and appends each only once", async () => {
    const path = await configWith("");
    for (const name of UNUSUAL) expect(await appendProfileSection(path, name)).toBe(true);
    for (const name of UNUSUAL) expect(await appendProfileSection(path, name)).toBe(false);
    expect(ConfigFile.fromText(await readFile(path, "utf8"), path).profileNames()).toEqual(UNUSUAL);
  });

  it.each([
    ["plain", "[profile plain]"],
    ["with space", '[profile "with space"]'],
    ["o'neil", `[profile "o'neil"]`],
    ['say "hi"', '[profile "say \\"hi\\""]'],
    ["back\\slash", '[profile "back\\\\slash"]'],
  ])("quotes %j only where the AWS CLI would split it", (name, header) => {
    expect(profileSectionHeader(name)).toBe(header);
  });

  it("appends once under concurrent calls in one process", async () => {
    const path = await configWith("[default]\nregion = r\n");
    const results = await Promise.all(Array.from({ length: 10 }, () => appendProfileSection(path, "same")));
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await readFile(path, "utf8")).toBe("[default]\nregion = r\n\n[profile same]\n");
  });
});

describe("appendProfileSection across processes", () => {
  let bundle = "";

  beforeAll(async () => {
    bundle = await bundleForNode(resolve(import.meta.dirname, "../../src/vault/config/writer.ts"), join(dir, "writer-bundle.mjs"));
  });

  const script = `
    const [bundle, path, ...names] = process.argv.slice(1);
    const { appendProfileSection } = await import(bundle);
    for (const name of names) await appendProfileSection(path, name);
  `;

  function run(path: string, names: string[]): Promise<number> {
    return new Promise((resolvePromise, reject) => {
      const child = spawn(process.execPath, ["--input-type=module", "-e", script, bundle, path, ...names], {
        stdio: ["ignore", "ignore", "inherit"],
      });
      child.on("error", reject);
      child.on("exit", (code) => resolvePromise(code ?? -1));
    });
  }

  it("never duplicates or interleaves sections", async () => {
    const path = join(dir, "shared", "config");
    const names = ["alpha", "beta", "gamma", "delta"];
    const codes = await Promise.all(
      Array.from({ length: 6 }, (_, i) => run(path, [...names.slice(i % 4), ...names.slice(0, i % 4), `own${i}`])),
    );
    expect(codes).toEqual(Array(6).fill(0));
    const text = await readFile(path, "utf8");
    const headers = text.split("\n").filter((l) => l.startsWith("["));
    expect([...headers].sort()).toEqual(
      [...names, "own0", "own1", "own2", "own3", "own4", "own5"].map((n) => `[profile ${n}]`).sort(),
    );
    expect(text).toMatch(/^\[profile [a-z0-9]+\]\n(\n\[profile [a-z0-9]+\]\n)+$/);
  });
});
