// The root proxy on 169.254.169.254:80 for `exec --ec2-server` (aws-vault server/ec2proxy*.go and
// ec2alias_*.go, §5.3), and the exec side that launches it.
//
// Unlike aws-vault, the credentials server is not on a fixed port (9099) that any local process
// could squat on or reach with a forged Host header: exec picks a random port and a random secret,
// hands both to the proxy on its stdin (never in argv, which `ps` shows), and the server accepts a
// request naming 169.254.169.254 only if it carries that secret, which only this proxy adds. The
// proxy exits, and removes the network alias, when exec closes its stdin, on SIGTERM/SIGINT/SIGHUP,
// or on `aws-vault proxy --stop`.
//
import { Agent, type IncomingHttpHeaders, request as httpRequest } from "node:http";
import { connect } from "node:net";
import { UserError } from "../errors.ts";
import { currentUserIsRoot, type ProxyInput, processStdin, spawnPiped } from "../runtime/proxy-process.ts";
import type { Runtime, SignalName, Spawner } from "../runtime/runtime.ts";
import { Secret } from "../util/secret.ts";
import { type Handler, isLocalPeer, listenHttp, type RequestLog, requestPath, sendText, printable } from "./middleware.ts";

export { currentUserIsRoot, processStdin, type ProxyInput };

export const METADATA_HOST = "169.254.169.254";
export const METADATA_PORT = 80;
/** Added by the proxy to every forwarded request; the EC2 server checks it in constant time. */
export const PROXY_SECRET_HEADER = "x-aws-vault-proxy-secret";
/** `POST /stop` must carry `X-Aws-Vault-Proxy: stop`: a custom header a web page cannot send cross-origin. */
export const PROXY_STOP_HEADER = "x-aws-vault-proxy";
/** Set to `off` to serve EC2 credentials on 127.0.0.1 only, without the root proxy. */
export const ENV_EC2_PROXY = "AWS_VAULT_EC2_PROXY";
const READY_LINE = "ready";
const HOP_BY_HOP = ["connection", "keep-alive", "proxy-connection", "te", "trailer", "upgrade", PROXY_SECRET_HEADER];

// ------------------------------------------------------------------ the proxy server (as root)

export interface MetadataProxyOptions {
  listenHost: string;
  listenPort: number;
  upstreamHost?: string;
  upstreamPort: number;
  secret: Secret;
  log: RequestLog;
}

export interface MetadataProxy {
  readonly port: number;
  /** Resolves when `POST /stop` was received. */
  readonly stopRequested: Promise<void>;
  close(): Promise<void>;
}

export async function startMetadataProxy(o: MetadataProxyOptions): Promise<MetadataProxy> {
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const upstreamHost = o.upstreamHost ?? "127.0.0.1";
  let requestStop: () => void = () => undefined;
  const stopRequested = new Promise<void>((r) => (requestStop = r));
  const log = o.log;

  const handler: Handler = (req, res) => {
    if (log) res.once("finish", () => log(`http: ${req.method ?? "?"} ${printable(requestPath(req))} ${res.statusCode}`));
    if (!isLocalPeer(req)) return sendText(res, 401, "Access denied from non-localhost address\n");
    if (requestPath(req) === "/stop") {
      if (req.method !== "POST" || req.headers[PROXY_STOP_HEADER] !== "stop") {
        return sendText(res, 403, "stopping the proxy needs POST with X-Aws-Vault-Proxy: stop\n");
      }
      sendText(res, 200, "stopping\n");
      requestStop();
      return;
    }
    const headers: IncomingHttpHeaders = { ...req.headers };
    for (const h of HOP_BY_HOP) delete headers[h];
    headers[PROXY_SECRET_HEADER] = o.secret.reveal();
    const up = httpRequest(
      { host: upstreamHost, port: o.upstreamPort, method: req.method, path: req.url, headers, agent },
      (upRes) => {
        const out = { ...upRes.headers };
        for (const h of HOP_BY_HOP) delete out[h];
        res.writeHead(upRes.statusCode ?? 502, out);
        upRes.pipe(res);
      },
    );
    up.on("error", () => {
      if (!res.headersSent) sendText(res, 502, "aws-vault credential server unreachable\n");
      else res.destroy();
    });
    req.pipe(up);
  };
  const server = await listenHttp(handler, o.listenHost, o.listenPort);
  return {
    port: server.port,
    stopRequested,
    async close() {
      await server.close();
      agent.destroy();
    },
  };
}

/** `aws-vault proxy --stop`: best effort, like aws-vault's StopProxy. */
export async function requestProxyStop(host = METADATA_HOST, port = METADATA_PORT, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const req = httpRequest(
      { host, port, method: "POST", path: "/stop", headers: { [PROXY_STOP_HEADER]: "stop" }, timeout: timeoutMs },
      (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      },
    );
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(false));
    req.end();
  });
}

/** Whether something accepts TCP connections at host:port (aws-vault's IsProxyRunning, 10ms there). */
export function isListening(host: string, port: number, timeoutMs = 50): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    const done = (v: boolean) => {
      s.destroy();
      resolve(v);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once("connect", () => done(true));
    s.once("error", () => done(false));
  });
}

// ------------------------------------------------------------------ the network alias

export interface AliasCommand {
  cmd: string;
  args: string[];
}

export function aliasCommands(platform: NodeJS.Platform, address = METADATA_HOST): { add: AliasCommand; remove: AliasCommand } {
  if (platform === "linux") {
    return {
      add: { cmd: "ip", args: ["addr", "add", `${address}/24`, "dev", "lo", "label", "lo:0"] },
      remove: { cmd: "ip", args: ["addr", "del", `${address}/24`, "dev", "lo", "label", "lo:0"] },
    };
  }
  if (platform === "win32") {
    const iface = "Loopback Pseudo-Interface 1";
    return {
      add: { cmd: "netsh", args: ["interface", "ipv4", "add", "address", iface, address, "255.255.0.0"] },
      remove: { cmd: "netsh", args: ["interface", "ipv4", "delete", "address", iface, address, "255.255.0.0"] },
    };
  }
  return {
    add: { cmd: "ifconfig", args: ["lo0", "alias", address] },
    remove: { cmd: "ifconfig", args: ["lo0", "-alias", address] },
  };
}

const ALREADY_EXISTS = [/File exists/i, /The object already exists/i, /Das Objekt ist bereits vorhanden/i, /El objeto ya existe/i];
const NEEDS_ADMIN = [/Run as administrator/i, /Als Administrator ausf/i, /Ejecutar como administrador/i];

/** Adds the alias; returns its removal, a no-op when the address was already there (not ours to remove). */
export async function installAlias(
  spawn: Spawner,
  platform: NodeJS.Platform,
  env: Record<string, string>,
  address = METADATA_HOST,
): Promise<() => Promise<void>> {
  const { add, remove } = aliasCommands(platform, address);
  let r;
  try {
    r = await spawn.output(add.cmd, add.args, { env, stdio: "pipe-out", timeoutMs: 10_000 });
  } catch (e) {
    throw new UserError(`could not run ${add.cmd}: ${(e as Error).message}`, { cause: e });
  }
  const output = `${r.stdout}${r.stderr}`.trim();
  if (r.code !== 0) {
    if (ALREADY_EXISTS.some((re) => re.test(output))) return async () => undefined;
    if (NEEDS_ADMIN.some((re) => re.test(output))) {
      throw new UserError("Creation of network alias for server mode requires elevated permissions, run as administrator");
    }
    throw new UserError(`${printable(output, 300)}: ${add.cmd} exited with ${r.code ?? r.signal}`);
  }
  return async () => {
    await spawn.output(remove.cmd, remove.args, { env, stdio: "pipe-out", timeoutMs: 10_000 }).catch(() => undefined);
  };
}

// ------------------------------------------------------------------ `aws-vault proxy` (as root)

export interface ProxyConfig {
  port: number;
  secret: Secret;
}

/** The one line exec writes to the proxy's stdin: `{"port":N,"secret":"..."}`. */
export function parseProxyConfig(line: string): ProxyConfig {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    v = undefined;
  }
  const o = (v && typeof v === "object" ? v : {}) as Record<string, unknown>;
  const { port, secret } = o;
  if (typeof port !== "number" || !Number.isInteger(port) || port < 1 || port > 65535 || typeof secret !== "string" || secret.length < 32) {
    throw new UserError("invalid configuration on stdin", {
      hints: ["the proxy is started by `aws-vault exec --ec2-server`; it is not meant to be run by hand"],
    });
  }
  return { port, secret: new Secret(secret) };
}

export function formatProxyConfig(port: number, secret: Secret): string {
  return `${JSON.stringify({ port, secret: secret.reveal() })}\n`;
}

export interface ServeProxyOptions {
  /** Opened only after the checks, so a refused start never touches stdin. */
  input: () => ProxyInput;
  isRoot: boolean;
  listenHost?: string;
  listenPort?: number;
  /** False in tests with injected addresses: no network alias. */
  manageAlias?: boolean;
}

const STOP_SIGNALS: SignalName[] = ["SIGINT", "SIGTERM", "SIGHUP"];

/** `aws-vault proxy`: runs until stdin closes, a signal, or `proxy --stop`. */
export async function serveMetadataProxy(rt: Runtime, o: ServeProxyOptions): Promise<number> {
  const listenHost = o.listenHost ?? METADATA_HOST;
  const listenPort = o.listenPort ?? METADATA_PORT;
  if (rt.platform !== "win32" && !o.isRoot) {
    throw new UserError(`the EC2 metadata proxy must run as root to listen on ${listenHost}:${listenPort}`, {
      hints: [
        "`aws-vault exec --ec2-server` starts it with `sudo -n`: run `sudo -v` first, or run aws-vault as root",
        "without it, the child still gets credentials from AWS_EC2_METADATA_SERVICE_ENDPOINT (127.0.0.1)",
      ],
    });
  }
  if (rt.stdinIsTTY) {
    throw new UserError("aws-vault proxy is started by `aws-vault exec --ec2-server`; it reads its configuration from exec", {
      hints: ["run `aws-vault exec --ec2-server <profile>` instead"],
    });
  }
  const input = o.input();
  const config = parseProxyConfig(await input.firstLine(10_000));
  const env: Record<string, string> = { PATH: rt.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin" };
  const removeAlias = o.manageAlias === false ? async () => undefined : await installAlias(rt.spawn, rt.platform, env, listenHost);
  let proxy: MetadataProxy;
  try {
    proxy = await startMetadataProxy({
      listenHost,
      listenPort,
      upstreamPort: config.port,
      secret: config.secret,
      log: rt.log.enabled ? (l) => rt.log.debug(l) : undefined,
    });
  } catch (e) {
    await removeAlias();
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "EADDRINUSE") throw new UserError(`Another process is already bound to ${listenHost}:${listenPort}`, { cause: e });
    throw new UserError(`the EC2 metadata proxy could not listen on ${listenHost}:${listenPort}: ${code ?? (e as Error).message}`, { cause: e });
  }
  let onSignal: () => void = () => undefined;
  const signalled = new Promise<void>((r) => (onSignal = r));
  const stops = STOP_SIGNALS.map((s) => rt.onSignal(s, onSignal));
  try {
    rt.log.debug(`EC2 metadata proxy listening on ${listenHost}:${proxy.port}, forwarding to 127.0.0.1:${config.port}`);
    rt.stdout.write(`${READY_LINE}\n`);
    await Promise.race([input.ended, proxy.stopRequested, signalled]);
  } finally {
    for (const stop of stops) stop();
    await proxy.close();
    await removeAlias();
  }
  return 0;
}

// ------------------------------------------------------------------ exec's side

export interface LaunchProxyOptions {
  /** The argv that re-runs aws-vault (Runtime.selfCommand). */
  selfCommand: string[];
  upstreamPort: number;
  secret: Secret;
  isRoot: boolean;
  platform: NodeJS.Platform;
  /** Path of sudo, when installed. */
  sudo: string | undefined;
  env: Record<string, string>;
  debug: boolean;
  /** The proxy's own messages (its stderr). */
  onStderr: (text: string) => void;
  timeoutMs?: number;
}

export interface LaunchedProxy {
  /** Closes the proxy's stdin, which makes it shut down and remove the alias; waits for it. */
  stop(): Promise<void>;
}

/** A proxy that could not be started: the message and hints are for the user; exec carries on without it. */
export class ProxyUnavailableError extends UserError {}

export function proxyArgv(o: Pick<LaunchProxyOptions, "selfCommand" | "isRoot" | "platform" | "sudo" | "debug">): string[] {
  const self = [...o.selfCommand, ...(o.debug ? ["--debug"] : []), "proxy"];
  if (o.isRoot || o.platform === "win32") return self;
  if (!o.sudo) {
    throw new ProxyUnavailableError("the EC2 metadata proxy needs root, and sudo is not installed", {
      hints: ["run aws-vault as root for the 169.254.169.254 endpoint; the child still gets AWS_EC2_METADATA_SERVICE_ENDPOINT"],
    });
  }
  // -n: never ask for a password (the child owns the terminal); fail instead.
  return [o.sudo, "-n", ...self];
}

export async function launchMetadataProxy(o: LaunchProxyOptions): Promise<LaunchedProxy> {
  const [cmd, ...args] = proxyArgv(o) as [string, ...string[]];
  const child = spawnPiped(cmd, args, o.env);
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => {
    child.once("exit", (code, signal) => resolve({ code, signal }));
    child.once("error", () => resolve({ code: null, signal: null }));
  });
  let stderr = "";
  let ready = false;
  child.stderr.setEncoding("utf8").on("data", (d: string) => {
    if (ready) o.onStderr(d);
    else stderr = (stderr + d).slice(-4_000);
  });
  child.stdin.on("error", () => undefined);
  child.stdin.write(formatProxyConfig(o.upstreamPort, o.secret));

  const readyLine = new Promise<boolean>((resolve) => {
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      out += d;
      if (out.split("\n").some((l) => l.trim() === READY_LINE)) resolve(true);
    });
    void exited.then(() => resolve(false));
  });
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), o.timeoutMs ?? 10_000)));
  const outcome = await Promise.race([readyLine, timedOut]);
  clearTimeout(timer);
  const stop = async () => {
    child.stdin.end();
    const gone = await Promise.race([exited.then(() => true), delay(3_000).then(() => false)]);
    if (!gone) {
      child.kill("SIGTERM");
      if (!(await Promise.race([exited.then(() => true), delay(2_000).then(() => false)]))) child.kill("SIGKILL");
    }
    child.stdout.destroy();
    child.stderr.destroy();
  };
  if (outcome === true) {
    ready = true;
    if (stderr) o.onStderr(stderr);
    return { stop };
  }
  await stop();
  const detail = lastLine(stderr.replace(/^aws-vault: (error|hint): /gm, ""));
  const viaSudo = cmd === o.sudo;
  const hints = [
    "the child still gets credentials from AWS_EC2_METADATA_SERVICE_ENDPOINT (127.0.0.1); tools that only know 169.254.169.254 will not find them",
  ];
  if (viaSudo) hints.unshift("run `sudo -v` before `aws-vault exec --ec2-server`, or allow `aws-vault proxy` in sudoers without a password");
  throw new ProxyUnavailableError(
    `the EC2 metadata proxy on ${METADATA_HOST}:${METADATA_PORT} did not start${outcome === "timeout" ? " in time" : ""}${detail ? `: ${detail}` : ""}`,
    { hints },
  );
}

function lastLine(text: string): string {
  const lines = text.split("\n").map((l) => l.trim()).filter(Boolean);
  return printable(lines[lines.length - 1] ?? "", 300);
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}

/** The random secret shared by exec's EC2 server and its proxy. */
export function randomProxySecret(random: (bytes: number) => Uint8Array): Secret {
  return new Secret(Buffer.from(random(32)).toString("base64url"));
}
