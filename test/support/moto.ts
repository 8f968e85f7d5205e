// moto_server behind a small counting reverse proxy (loopback only).
import { spawn, type ChildProcess } from "node:child_process";
import http from "node:http";
import { freePort } from "./ports.ts";
import { parseSigV4Credential } from "./fake-sts.ts";

export interface MotoCall {
  action: string;
  /** Service from the SigV4 credential scope, e.g. "sts", "iam". */
  service?: string;
  accessKeyId?: string;
  status: number;
  method: string;
  path: string;
}

export interface Moto {
  /** Proxy URL: pass this as AWS_ENDPOINT_URL. */
  endpoint: string;
  /** moto_server's own URL (not counted). */
  motoEndpoint: string;
  calls(action?: string): MotoCall[];
  resetCalls(): void;
  stop(): Promise<void>;
}

export interface MotoUser {
  accessKeyId: string;
  secretAccessKey: string;
  userName: string;
  arn: string;
}

const READY_TIMEOUT_MS = 20_000;
const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const child of live) child.kill("SIGKILL");
  });
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

async function killChild(child: ChildProcess): Promise<void> {
  if (exited(child)) return;
  const gone = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 3_000);
  await gone;
  clearTimeout(timer);
}

class PortInUse extends Error {}

/** Spawns moto_server (retrying on a port race) and fronts it with a counting proxy. */
export async function startMoto(opts: { authAfter?: number } = {}): Promise<Moto> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(opts);
    } catch (err) {
      if (!(err instanceof PortInUse) || attempt >= 3) throw err;
    }
  }
}

async function startOnce(opts: { authAfter?: number }): Promise<Moto> {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.INITIAL_NO_AUTH_ACTION_COUNT;
  if (opts.authAfter !== undefined) env.INITIAL_NO_AUTH_ACTION_COUNT = String(opts.authAfter);

  installExitHook();
  const child = spawn("moto_server", ["-H", "127.0.0.1", "-p", String(port)], {
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  live.add(child);
  child.once("exit", () => live.delete(child));

  // Always drain output (werkzeug logs every request); keep the tail for errors.
  let output = "";
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString("utf8")).slice(-8_000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  let spawnError: Error | undefined;
  child.once("error", (err) => (spawnError = err));

  const motoEndpoint = `http://127.0.0.1:${port}`;
  try {
    await waitReady(child, motoEndpoint, () => spawnError);
  } catch (err) {
    await killChild(child);
    const detail = `${(err as Error).message}\n--- moto_server output ---\n${output}`;
    if (/address already in use/i.test(output)) throw new PortInUse(detail);
    throw new Error(`moto_server failed to start on port ${port}: ${detail}`);
  }

  const calls: MotoCall[] = [];
  const proxy = await startProxy(port, calls);
  return {
    endpoint: proxy.endpoint,
    motoEndpoint,
    calls: (action) => calls.filter((c) => action === undefined || c.action === action),
    resetCalls: () => void calls.splice(0),
    stop: async () => {
      await proxy.close();
      await killChild(child);
    },
  };
}

// /moto-api/ is served without touching the auth counter (a GET / would count as an S3 call).
async function waitReady(
  child: ChildProcess,
  url: string,
  spawnError: () => Error | undefined,
): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const err = spawnError();
    if (err) throw err;
    if (exited(child)) throw new Error(`moto_server exited (code ${child.exitCode}, signal ${child.signalCode})`);
    try {
      const res = await fetch(`${url}/moto-api/`, { signal: AbortSignal.timeout(1_000) });
      await res.arrayBuffer();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`moto_server not answering after ${READY_TIMEOUT_MS} ms`);
}

/** The AWS action of a request: X-Amz-Target (JSON), Action= (query), or rpcv2 path. */
export function requestAction(
  method: string,
  url: string,
  headers: http.IncomingHttpHeaders,
  body: string,
): string {
  const target = headers["x-amz-target"];
  if (typeof target === "string" && target) return target.slice(target.lastIndexOf(".") + 1);
  const parsed = new URL(url, "http://localhost");
  const fromQuery = parsed.searchParams.get("Action");
  if (fromQuery) return fromQuery;
  if (String(headers["content-type"] ?? "").includes("x-www-form-urlencoded")) {
    const fromBody = new URLSearchParams(body).get("Action");
    if (fromBody) return fromBody;
  }
  const rpc = /\/service\/[^/]+\/operation\/([^/?]+)/.exec(parsed.pathname);
  if (rpc?.[1]) return rpc[1];
  return `${method} ${parsed.pathname}`;
}

async function startProxy(
  upstreamPort: number,
  calls: MotoCall[],
): Promise<{ endpoint: string; close(): Promise<void> }> {
  const agent = new http.Agent({ keepAlive: false });
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const method = req.method ?? "GET";
      const path = req.url ?? "/";
      const cred = parseSigV4Credential(req.headers.authorization);
      const call: MotoCall = {
        action: requestAction(method, path, req.headers, body.toString("utf8")),
        service: cred?.service,
        accessKeyId: cred?.accessKeyId,
        status: 0,
        method,
        path,
      };
      // Host is forwarded unchanged: it is part of the SigV4 signature.
      const upstream = http.request(
        { host: "127.0.0.1", port: upstreamPort, method, path, headers: req.headers, agent },
        (up) => {
          call.status = up.statusCode ?? 0;
          calls.push(call);
          res.writeHead(call.status, up.headers);
          up.pipe(res);
        },
      );
      upstream.on("error", (err) => {
        call.status = 502;
        calls.push(call);
        if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain" });
        res.end(`moto proxy: ${err.message}`);
      });
      upstream.end(body);
    });
  });
  const port = await freePort();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
        agent.destroy();
      }),
  };
}

function xmlText(xml: string, tag: string): string {
  const m = new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(xml);
  if (!m?.[1]) throw new Error(`no <${tag}> in moto response: ${xml.slice(0, 500)}`);
  return m[1];
}

async function iamQuery(moto: Moto, params: Record<string, string>): Promise<string> {
  const res = await fetch(`${moto.endpoint}/`, {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded; charset=utf-8",
      // Unsigned, but the credential scope tells moto which service to route to.
      authorization:
        "AWS4-HMAC-SHA256 Credential=bootstrap/20200101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0",
    },
    body: new URLSearchParams({ ...params, Version: "2010-05-08" }).toString(),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`IAM ${params.Action} failed: HTTP ${res.status} ${text}`);
  return text;
}

/**
 * Creates an IAM user with an access key and an allow-all inline policy using
 * exactly 3 unauthenticated calls (CreateUser, CreateAccessKey, PutUserPolicy).
 */
export async function bootstrapUser(moto: Moto, userName = "alice"): Promise<MotoUser> {
  const user = await iamQuery(moto, { Action: "CreateUser", UserName: userName });
  const key = await iamQuery(moto, { Action: "CreateAccessKey", UserName: userName });
  await iamQuery(moto, {
    Action: "PutUserPolicy",
    UserName: userName,
    PolicyName: "allow-all",
    PolicyDocument: JSON.stringify({
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }],
    }),
  });
  return {
    accessKeyId: xmlText(key, "AccessKeyId"),
    secretAccessKey: xmlText(key, "SecretAccessKey"),
    userName,
    arn: xmlText(user, "Arn"),
  };
}
