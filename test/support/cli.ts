// Runs the BUILT command as a user would. Every e2e suite runs against both artifacts.
import { spawn } from "node:child_process";
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dirname, "../..");
/** The build under test: `dist/`, or AWS_VAULT_DIST (a private `scripts/build.mjs --outdir` output). */
export const DIST = process.env.AWS_VAULT_DIST ? resolve(process.env.AWS_VAULT_DIST) : join(ROOT, "dist");

export interface Artifact {
  name: "node" | "bun";
  /** argv prefix that runs aws-vault */
  argv: string[];
}

/** Both artifacts; AWS_VAULT_ARTIFACTS=node (or bun) narrows it while iterating. CI always runs both. */
export const ARTIFACTS: Artifact[] = (
  [
    { name: "node", argv: [process.execPath, join(DIST, "aws-vault.mjs")] },
    { name: "bun", argv: [join(DIST, "aws-vault")] },
  ] satisfies Artifact[]
).filter((a) => !process.env.AWS_VAULT_ARTIFACTS || process.env.AWS_VAULT_ARTIFACTS.split(",").includes(a.name));

for (const a of ARTIFACTS) {
  const file = a.argv[a.argv.length - 1] as string;
  if (!existsSync(file)) throw new Error(`${file} is missing: run \`npm run build\` before the e2e tests`);
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: Record<string, string | undefined>;
  input?: string;
  timeoutMs?: number;
  cwd?: string;
}

/** A throw-away HOME with its own ~/.aws/config and file keyring folder. */
export interface Sandbox {
  home: string;
  configPath: string;
  keysDir: string;
  env: Record<string, string>;
}

export function sandbox(extraEnv: Record<string, string> = {}): Sandbox {
  const home = mkdtempSync(join(tmpdir(), "awsv-e2e-"));
  mkdirSync(join(home, ".aws"), { recursive: true, mode: 0o700 });
  const configPath = join(home, ".aws", "config");
  const keysDir = join(home, ".awsvault", "keys");
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: home,
    LANG: "C.UTF-8",
    AWS_CONFIG_FILE: configPath,
    AWS_SHARED_CREDENTIALS_FILE: join(home, ".aws", "credentials-unused"),
    AWS_VAULT_BACKEND: "file",
    AWS_VAULT_FILE_PASSPHRASE: "test-passphrase",
    AWS_DEFAULT_REGION: "us-east-1",
    AWS_EC2_METADATA_DISABLED: "true",
    ...extraEnv,
  };
  return { home, configPath, keysDir, env };
}

/** Copies the aws-vault v7.2.0 vector keyring into a fresh folder (the original is read-only). */
export function vectorKeyring(): string {
  const src = resolve(ROOT, "../shared/vectors/file-keyring-aws-vault-v7.2.0/keys");
  const dir = join(mkdtempSync(join(tmpdir(), "awsv-vec-")), "keys");
  cpSync(src, dir, { recursive: true });
  chmodSync(dir, 0o700);
  for (const f of readdirSync(dir)) chmodSync(join(dir, f), 0o600);
  return dir;
}

export function run(artifact: Artifact, args: string[], opts: RunOptions = {}): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const [cmd, ...pre] = artifact.argv as [string, ...string[]];
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(opts.env ?? {})) if (v !== undefined) env[k] = v;
    const child = spawn(cmd, [...pre, ...args], { env, cwd: opts.cwd, stdio: ["pipe", "pipe", "pipe"], detached: true });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    // A child may exit without reading all of its stdin (`--version`, an early usage error): the
    // write then fails with EPIPE, which is the child's business, not an error of the test run.
    // Without a listener that 'error' event is an uncaught exception, failing a run whose tests all pass.
    child.stdin.on("error", (e: NodeJS.ErrnoException) => {
      if (e.code !== "EPIPE") reject(e);
    });
    child.stdin.end(opts.input ?? "");
    const timer = setTimeout(() => {
      try {
        process.kill(-(child.pid as number), "SIGKILL");
      } catch {
        // gone
      }
      reject(new Error(`aws-vault ${args.join(" ")} timed out\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, opts.timeoutMs ?? 30_000);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, stdout, stderr });
    });
  });
}

/** Starts aws-vault and returns the live child (for signal tests). */
export function start(artifact: Artifact, args: string[], opts: RunOptions = {}) {
  const [cmd, ...pre] = artifact.argv as [string, ...string[]];
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(opts.env ?? {})) if (v !== undefined) env[k] = v;
  return spawn(cmd, [...pre, ...args], { env, cwd: opts.cwd, stdio: ["ignore", "pipe", "pipe"] });
}

/** The AWS_* variables in a child's `env` output (or `export --format env`). */
export function awsEnv(stdout: string): Record<string, string> {
  return Object.fromEntries(
    stdout
      .split(/\r?\n/)
      .filter((l) => l.startsWith("AWS_"))
      .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
  );
}
