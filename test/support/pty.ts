// Runs a command inside a pseudo-terminal, so that it has a controlling terminal (/dev/tty) and a
// TTY stdout, like a user's shell. python3's `pty` module does the terminal work: it forks the
// command onto a new pty and relays bytes between the pty and its own stdin/stdout; the
// expect/send logic lives here, so patterns are ordinary JS regexes.
import { execFileSync, spawn } from "node:child_process";

/** A dialogue step: when `expect` matches the output not yet consumed, type `send`. */
export interface PtyStep {
  expect: RegExp;
  /** The text to type, or a function of the match that gives it. */
  send: string | ((match: RegExpExecArray) => string);
}

export interface PtyResult {
  /** Exit code of the command (128+n when it was killed by signal n). */
  code: number;
  /** Everything written to the terminal (stdout and stderr interleaved, with CRLF line ends). */
  output: string;
  /** How many steps were answered. */
  answered: number;
}

export interface PtyOptions {
  timeoutMs?: number;
}

// argv[1]: JSON argv. Exits with the child's status. Uses only the standard library.
const RELAY = String.raw`
import errno, json, os, pty, select, sys
argv = json.loads(sys.argv[1])
pid, fd = pty.fork()
if pid == 0:
    try:
        os.execvp(argv[0], argv)
    except OSError as e:
        sys.stderr.write("exec %s: %s\n" % (argv[0], e))
        os._exit(127)
out = sys.stdout.buffer
stdin_open = True
while True:
    fds = [fd] + ([0] if stdin_open else [])
    ready, _, _ = select.select(fds, [], [])
    if 0 in ready:
        data = os.read(0, 4096)
        if data:
            os.write(fd, data)
        else:
            stdin_open = False
    if fd in ready:
        try:
            data = os.read(fd, 4096)
        except OSError as e:
            if e.errno != errno.EIO:
                raise
            data = b""
        if not data:
            break
        out.write(data)
        out.flush()
_, status = os.waitpid(pid, 0)
if os.WIFEXITED(status):
    sys.exit(os.WEXITSTATUS(status))
sys.exit(128 + os.WTERMSIG(status))
`;

let python: string | undefined;

/** The real python3 binary (not a pyenv shim, which needs the real HOME). */
function pythonExecutable(): string {
  python ??= execFileSync("python3", ["-c", "import sys; print(sys.executable)"], { encoding: "utf8" }).trim();
  return python;
}

/**
 * Runs argv in a pty with exactly `env`, answering each step in order. Resolves when the command
 * exits; steps never reached show up as `answered < steps.length`.
 */
export function runInPty(
  argv: string[],
  env: Record<string, string | undefined>,
  steps: PtyStep[] = [],
  opts: PtyOptions = {},
): Promise<PtyResult> {
  const cleanEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) cleanEnv[k] = v;
  return new Promise((resolve, reject) => {
    const child = spawn(pythonExecutable(), ["-c", RELAY, JSON.stringify(argv)], {
      env: cleanEnv,
      stdio: ["pipe", "pipe", "pipe"],
      detached: true,
    });
    let output = "";
    let consumed = 0;
    let answered = 0;
    let relayErrors = "";
    const advance = () => {
      while (answered < steps.length) {
        const step = steps[answered] as PtyStep;
        const rest = output.slice(consumed);
        const m = step.expect.exec(rest);
        if (!m) return;
        consumed += m.index + m[0].length;
        answered++;
        child.stdin.write(typeof step.send === "string" ? step.send : step.send(m));
      }
    };
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      output += d;
      advance();
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => (relayErrors += d));
    child.stdin.on("error", () => undefined);
    const timer = setTimeout(() => {
      try {
        process.kill(-(child.pid as number), "SIGKILL");
      } catch {
        // gone
      }
      reject(new Error(`${argv.join(" ")} timed out in the pty after ${answered} answered steps\noutput: ${output}`));
    }, opts.timeoutMs ?? 30_000);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      child.stdin.destroy();
      if (relayErrors) output += relayErrors;
      resolve({ code: code ?? 128 + (signal ? 9 : 0), output, answered });
    });
  });
}
