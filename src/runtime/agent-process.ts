// Process-level seams of the agent (src/agent/): who we are, starting the agent detached, and the
// agent's own process settings.

/** The real uid, or undefined where there is none (Windows). */
export function currentUid(): number | undefined {
  return typeof process.getuid === "function" ? process.getuid() : undefined;
}

/**
 * Starts argv detached (its own session, no stdio, not waited for) so it outlives the terminal
 * and the command that started it. `env` is the complete environment of the new process.
 */
export function startDetached(argv: string[], env: Record<string, string>): Promise<number | undefined> {
  const [cmd, ...args] = argv as [string, ...string[]];
  return new Promise((resolve, reject) => {
    // child_process is loaded only to start an agent.
    const child = process.getBuiltinModule("node:child_process").spawn(cmd, args, { detached: true, stdio: "ignore", env, cwd: "/" });
    child.once("error", reject);
    child.once("spawn", () => {
      child.unref();
      resolve(child.pid);
    });
  });
}

/** New files of the agent process (its socket) are private from the moment they exist. */
export function restrictUmask(): void {
  try {
    process.umask(0o077);
  } catch {
    // not supported here (Windows, workers): the socket is chmod-ed right after listen
  }
}
