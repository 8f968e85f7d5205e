// Process-level seams of the root metadata proxy (server/proxy.ts): its stdin, whether we are
// root, and a long-running child with piped stdio.
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { withoutSecretVars } from "./secret-env.ts";

/** A child with all three stdio streams piped (the proxy exec launches and keeps talking to). */
export function spawnPiped(cmd: string, args: string[], env: Record<string, string>): ChildProcessWithoutNullStreams {
  return spawn(cmd, args, { env: withoutSecretVars(env), stdio: ["pipe", "pipe", "pipe"], windowsHide: true });
}

/** The proxy's standard input: the configuration line, then end-of-file when exec goes away. */
export interface ProxyInput {
  firstLine(timeoutMs: number): Promise<string>;
  readonly ended: Promise<void>;
}

export function processStdin(): ProxyInput {
  const stdin = process.stdin;
  let buffered = "";
  const lineWaiters: Array<(line: string | undefined) => void> = [];
  let line: string | undefined;
  let eof = false;
  const ended = new Promise<void>((resolve) => {
    stdin.setEncoding("utf8");
    stdin.on("data", (d: string) => {
      if (line !== undefined) return;
      buffered += d;
      const nl = buffered.indexOf("\n");
      if (nl !== -1) {
        line = buffered.slice(0, nl);
        buffered = "";
        for (const w of lineWaiters.splice(0)) w(line);
      }
    });
    const finish = () => {
      eof = true;
      for (const w of lineWaiters.splice(0)) w(undefined);
      resolve();
    };
    stdin.once("end", finish);
    stdin.once("close", finish);
    stdin.once("error", finish);
  });
  return {
    ended,
    firstLine(timeoutMs) {
      if (line !== undefined) return Promise.resolve(line);
      if (eof) return Promise.resolve("");
      return new Promise((resolve) => {
        const timer = setTimeout(() => resolve(""), timeoutMs);
        lineWaiters.push((l) => {
          clearTimeout(timer);
          resolve(l ?? "");
        });
      });
    },
  };
}

export function currentUserIsRoot(): boolean {
  return typeof process.getuid === "function" && process.getuid() === 0;
}
