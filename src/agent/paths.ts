// Where the agent's socket lives, and the checks a client makes before trusting it.
import { lstatSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { KeyringError } from "../errors.ts";

export const ENV_AGENT_SOCK = "AWS_VAULT_AGENT_SOCK";
/** sun_path holds 108 bytes on Linux (104 on macOS), including the final NUL; Node enforces the smaller. */
const MAX_SOCKET_PATH_BYTES = 103;

/** AWS_VAULT_AGENT_SOCK, else $XDG_RUNTIME_DIR/aws-vault/agent.sock, else ~/.awsvault/agent/agent.sock. */
export function agentSocketPath(env: Readonly<Record<string, string | undefined>>, home: string): string {
  if (env[ENV_AGENT_SOCK]) return env[ENV_AGENT_SOCK];
  if (env.XDG_RUNTIME_DIR) return join(env.XDG_RUNTIME_DIR, "aws-vault", "agent.sock");
  return join(home, ".awsvault", "agent", "agent.sock");
}

function octal(mode: number): string {
  return (mode & 0o777).toString(8).padStart(4, "0");
}

function refuse(socketPath: string, why: string, fix: string): KeyringError {
  return new KeyringError(`refusing the aws-vault agent socket ${socketPath}: ${why}`, {
    hints: [fix, "or bypass the agent with --no-agent (AWS_VAULT_AGENT=off)"],
  });
}

/**
 * The socket's folder must be ours and private (no agent planted by someone else, nobody else can
 * connect). Returns false when the folder does not exist (no agent); throws, saying why, when it
 * cannot be trusted.
 */
export async function checkSocketFolder(socketPath: string, uid: number | undefined): Promise<boolean> {
  if (!socketPathFits(socketPath)) {
    const bytes = Buffer.byteLength(socketPath);
    throw new KeyringError(`the aws-vault agent socket path ${socketPath} is too long (${bytes} bytes; Unix sockets allow ${MAX_SOCKET_PATH_BYTES})`, {
      hints: [`set ${ENV_AGENT_SOCK} to a shorter path in a private folder`],
    });
  }
  const dir = dirname(socketPath);
  let st;
  try {
    st = lstatSync(dir); // sync: node:fs/promises stays off the agent path
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw new KeyringError(`cannot check the aws-vault agent folder ${dir}: ${(e as Error).message}`, { cause: e });
  }
  if (!st.isDirectory()) throw refuse(socketPath, `${dir} is not a directory`, `remove ${dir}`);
  if (uid !== undefined && st.uid !== uid) {
    throw refuse(socketPath, `its folder ${dir} is owned by uid ${st.uid}, not by you (uid ${uid})`, `remove ${dir}, or point ${ENV_AGENT_SOCK} to a folder of yours`);
  }
  if ((st.mode & 0o077) !== 0) {
    throw refuse(socketPath, `its folder ${dir} is group/world accessible (mode ${octal(st.mode)})`, `chmod 700 ${dir}`);
  }
  return true;
}

/** False when the path is too long for a Unix socket (no agent can listen there). */
export function socketPathFits(socketPath: string): boolean {
  return Buffer.byteLength(socketPath) <= MAX_SOCKET_PATH_BYTES;
}

/** Creates the socket folder (0700) if missing, then checks it. */
export async function ensureSocketFolder(socketPath: string, uid: number | undefined): Promise<void> {
  const dir = dirname(socketPath);
  try {
    // Not `recursive: true`: its retry loop never ends on some file systems (/proc). The folder's
    // parent (~/.awsvault, $XDG_RUNTIME_DIR) is created if missing, nothing higher.
    mkdirIfMissing(dir, (e) => {
      if (e.code !== "ENOENT") throw e;
      mkdirIfMissing(dirname(dir));
      mkdirIfMissing(dir);
    });
  } catch (e) {
    throw new KeyringError(`cannot create the aws-vault agent folder ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, {
      hints: [`set ${ENV_AGENT_SOCK} to a path in a private folder of yours`],
      cause: e,
    });
  }
  await checkSocketFolder(socketPath, uid);
}

/** mkdir (0700, not recursive); EEXIST is success; any other error goes to `otherwise` (default: thrown). */
function mkdirIfMissing(dir: string, otherwise: (e: NodeJS.ErrnoException) => void = (e) => {
  throw e;
}): void {
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") otherwise(e as NodeJS.ErrnoException);
  }
}
