// A real headless Chromium as the browser of e2e tests (Debian's `chromium`, installed by .ci/run).
// `script` is a wrapper to put in $BROWSER or AWS_VAULT_BROWSER: it starts Chromium headless in a
// process group of its own, with the flags a closed network needs (no background networking, no
// component updates, nothing resolves but 127.0.0.1), a fresh --user-data-dir unless the caller
// passes one, its output in a log file, and exits 0 at once (as a browser that handed the URL to a
// running instance does). Every Chromium started is recorded and `stopAll` ends each one: SIGINT
// first (Chromium then shuts down cleanly and writes its cookie store), then SIGKILL to the group.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const CHROMIUM = process.env.AWS_VAULT_TEST_CHROMIUM ?? "/usr/bin/chromium";

/** Fails with a clear message when Chromium is missing (CI installs it; a skipped test proves nothing). */
export function requireChromium(): void {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: these tests drive a real headless Chromium; install Debian's \`chromium\` (.ci/run does)`);
  }
}

export const CHROMIUM_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--no-default-browser-check",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-default-apps",
  "--password-store=basic",
  "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
];

export interface HeadlessChromium {
  /** The wrapper to use as $BROWSER / AWS_VAULT_BROWSER. */
  script: string;
  /** The argv each launch received (after the wrapper's own flags were added). */
  launches(): string[][];
  /** Pids of the Chromiums started so far. */
  pids(): number[];
  /** Ends every Chromium started (gracefully, then the whole process group). */
  stopAll(): Promise<void>;
  /** stopAll, then removes the temp folder. */
  dispose(): Promise<void>;
}

function sh(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie (exited, not yet reaped by whoever inherited it) counts as gone.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

async function waitGone(pid: number, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (!alive(pid)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return !alive(pid);
}

export function headlessChromium(): HeadlessChromium {
  const dir = mkdtempSync(join(tmpdir(), "awsv-chromium-"));
  const pidFile = join(dir, "pids");
  const argvFile = join(dir, "argv");
  const script = join(dir, "chromium-headless");
  const flags = CHROMIUM_FLAGS.map(sh).join(" ");
  writeFileSync(
    script,
    `#!/bin/sh
run=$(mktemp -d ${sh(join(dir, "run-XXXXXX"))})
udd=no
for a in "$@"; do case "$a" in --user-data-dir=*) udd=yes ;; esac; done
[ "$udd" = yes ] || set -- "--user-data-dir=$run/profile" "$@"
printf '%s\\n' "$*" >> ${sh(argvFile)}
setsid ${sh(CHROMIUM)} ${flags} "$@" > "$run/log" 2>&1 < /dev/null &
echo $! >> ${sh(pidFile)}
exit 0
`,
    { mode: 0o755 },
  );
  const pids = () => (existsSync(pidFile) ? readFileSync(pidFile, "utf8").split("\n").filter(Boolean).map(Number) : []);
  const stopped = new Set<number>();
  const stopAll = async () => {
    await Promise.all(
      pids()
        .filter((pid) => !stopped.has(pid))
        .map(async (pid) => {
          stopped.add(pid);
          try {
            process.kill(pid, "SIGINT");
          } catch {
            // gone already
          }
          await waitGone(pid, 15_000);
          try {
            process.kill(-pid, "SIGKILL");
          } catch {
            // the whole group is gone
          }
        }),
    );
  };
  return {
    script,
    launches: () => (existsSync(argvFile) ? readFileSync(argvFile, "utf8").split("\n").filter(Boolean).map((l) => l.split(" ")) : []),
    pids,
    stopAll,
    dispose: async () => {
      await stopAll();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Rows (host, name) of a Chromium cookie store, read with python3's sqlite3 (values are encrypted; names are not). */
export async function chromiumCookies(userDataDir: string): Promise<Array<{ host: string; name: string }>> {
  const { execFileSync } = await import("node:child_process");
  const out = execFileSync(
    "python3",
    [
      "-c",
      `import glob, json, sqlite3, sys
rows = []
for f in glob.glob(sys.argv[1] + "/**/Cookies", recursive=True):
    c = sqlite3.connect("file:" + f + "?mode=ro", uri=True)
    rows += [{"host": h, "name": n} for (h, n) in c.execute("select host_key, name from cookies")]
print(json.dumps(rows))`,
      userDataDir,
    ],
    { encoding: "utf8" },
  );
  return JSON.parse(out) as Array<{ host: string; name: string }>;
}
