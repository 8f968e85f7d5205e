// Issue 9 item 1: no output is lost when the process exits, whatever the size and wherever it goes.
// Both runtimes write pipes asynchronously; a process that exits before its writes reached the
// pipe lost everything past the pipe's buffer (Bun at 65,536 bytes, Node at ~137 KB).
import { spawn } from "node:child_process";
import { closeSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ARTIFACTS, sandbox, type Artifact, type Sandbox } from "../support/cli.ts";
import { runInPty } from "../support/pty.ts";

const PROFILES = 20_000;

/** A config whose `list` prints about 2.4 MB (and `list --profiles` about 1.4 MB). */
function bigConfig(): Sandbox {
  const sb = sandbox();
  const lines: string[] = [];
  for (let i = 0; i < PROFILES; i++) lines.push(`[profile p${String(i).padStart(5, "0")}-${"x".repeat(60)}]`, "region = us-east-1", "");
  writeFileSync(sb.configPath, lines.join("\n"));
  return sb;
}

function expectedProfiles(): string {
  let out = "";
  for (let i = 0; i < PROFILES; i++) out += `p${String(i).padStart(5, "0")}-${"x".repeat(60)}\n`;
  return out;
}

/**
 * Runs the artifact with stdout and stderr on pipes that nobody reads until the process has exited
 * or has had a moment to block on the full pipe, i.e. a slow consumer such as `| less`. A process
 * that exits with writes still queued loses them; one that waits for its writes is read in full.
 */
function runSlowReader(artifact: Artifact, args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: Buffer; stderr: Buffer }> {
  return new Promise((resolve, reject) => {
    const [cmd, ...pre] = artifact.argv as [string, ...string[]];
    const child = spawn(cmd, [...pre, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let code: number | null = null;
    child.stdout.pause();
    child.stderr.pause();
    let reading = false;
    const startReading = () => {
      if (reading) return;
      reading = true;
      child.stdout.on("data", (d: Buffer) => out.push(d)).resume();
      child.stderr.on("data", (d: Buffer) => err.push(d)).resume();
    };
    const timer = setTimeout(startReading, 500);
    child.on("exit", () => {
      clearTimeout(timer);
      startReading();
    });
    child.on("error", reject);
    child.on("close", (c) => {
      code = c;
      resolve({ code, stdout: Buffer.concat(out), stderr: Buffer.concat(err) });
    });
  });
}

describe.each(ARTIFACTS)("large output is complete ($name)", (artifact) => {
  const sb = bigConfig();
  const want = expectedProfiles();

  it("list --profiles (1.4 MB) through a slowly read pipe, five times", async () => {
    for (let i = 0; i < 5; i++) {
      const r = await runSlowReader(artifact, ["list", "--profiles"], sb.env);
      expect(r.code, r.stderr.toString()).toBe(0);
      expect(r.stdout.length).toBe(want.length);
      expect(r.stdout.toString()).toBe(want);
    }
  });

  it("list (2.4 MB table) through a slowly read pipe, three times", async () => {
    for (let i = 0; i < 3; i++) {
      const r = await runSlowReader(artifact, ["list"], sb.env);
      expect(r.code, r.stderr.toString()).toBe(0);
      const lines = r.stdout.toString().split("\n");
      expect(lines.length).toBe(PROFILES + 3); // header, rule, one line per profile, final newline
      expect(lines[PROFILES + 1]).toMatch(/^p19999-x+ +- +- *$/);
    }
  });

  it("--debug lines and an error, over 3 MB on stderr through a slowly read pipe, are complete", async () => {
    // A source_profile chain of 1,000 long profile names with no stored keys: one debug line per
    // profile, then the error naming the last one.
    const errSb = sandbox();
    const names = Array.from({ length: 1000 }, (_, i) => `p${String(i).padStart(4, "0")}${"y".repeat(1500)}`);
    writeFileSync(
      errSb.configPath,
      names.map((n, i) => `[profile ${n}]\n${i + 1 < names.length ? `source_profile = ${names[i + 1]}\n` : ""}`).join("\n"),
    );
    for (let i = 0; i < 2; i++) {
      const r = await runSlowReader(artifact, ["--debug", "export", names[0] as string], errSb.env);
      expect(r.code).toBe(1);
      const lines = r.stderr.toString().split("\n");
      expect(r.stderr.length).toBeGreaterThan(3_000_000);
      expect(lines.filter((l) => l.includes("Profile 'default' missing")).length).toBe(1000);
      expect(lines.at(-2)).toMatch(/^aws-vault: hint: store keys with `aws-vault add p0999y+`, or give the profile a source_profile/);
      expect(lines.at(-1)).toBe("");
    }
  });

  it("list --profiles redirected to a file", async () => {
    const file = join(sb.home, "out.txt");
    const fd = openSync(file, "w");
    const [cmd, ...pre] = artifact.argv as [string, ...string[]];
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(cmd, [...pre, "list", "--profiles"], { env: sb.env, stdio: ["ignore", fd, "inherit"] });
      child.on("error", reject);
      child.on("close", resolve);
    });
    closeSync(fd);
    expect(code).toBe(0);
    expect(readFileSync(file, "utf8")).toBe(want);
  });

  it("list --profiles on a terminal", async () => {
    const r = await runInPty([...artifact.argv, "list", "--profiles"], sb.env, [], { timeoutMs: 60_000 });
    expect(r.code).toBe(0);
    expect(r.output.replace(/\r\n/g, "\n")).toBe(want);
  });
});
