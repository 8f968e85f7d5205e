// Credential servers end to end, against both artifacts: `exec --ecs-server` with the real AWS CLI
// and moto checking signatures, the ECS token/Host checks, `exec --ec2-server` with the AWS CLI over
// IMDSv2 and IMDSv1, exit codes and port release, the terminal-only prompt machine, and a load test
// (10,000 requests from 50 keep-alive clients, one STS call). The root proxy is never started here
// (AWS_VAULT_EC2_PROXY=off): it would need root and the 169.254.169.254 alias; unit tests cover it.
import { type ChildProcess, execFile } from "node:child_process";
import { appendFileSync, readFileSync } from "node:fs";
import http from "node:http";
import { connect } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ARTIFACTS, run, sandbox, start, type Artifact, type Sandbox } from "../support/cli.ts";
import type { FakeSts, MasterUser } from "../support/fake-sts.ts";
import { bootstrapUser, type Moto, type MotoUser, startMoto } from "../support/moto.ts";
import { runInPty } from "../support/pty.ts";
import { mfaCode, newUser, readmeConfig, setupVault, startScenarioSts, stsCalls } from "../support/vault-scenario.ts";

const execFileP = promisify(execFile);
const ROLE_ARN = "arn:aws:iam::123456789012:role/admin";
const OTHER_ROLE_ARN = "arn:aws:iam::123456789012:role/other";
const ASSUMED_ADMIN = /^arn:aws:sts::123456789012:assumed-role\/admin\/\d+$/;

let moto: Moto;
let user: MotoUser;

beforeAll(async () => {
  moto = await startMoto({ authAfter: 3 });
  user = await bootstrapUser(moto);
  // moto checks the role's own permissions when its session calls STS (/role-arn/ chains from it),
  // so the admin role must exist there. Signed with alice's key, like any later call.
  const env = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: "/nonexistent",
    AWS_ACCESS_KEY_ID: user.accessKeyId,
    AWS_SECRET_ACCESS_KEY: user.secretAccessKey,
    AWS_ENDPOINT_URL: moto.endpoint,
    AWS_DEFAULT_REGION: "us-east-1",
    AWS_EC2_METADATA_DISABLED: "true",
  };
  const doc = (statement: object) => JSON.stringify({ Version: "2012-10-17", Statement: [statement] });
  await execFileP("aws", ["iam", "create-role", "--role-name", "admin", "--assume-role-policy-document",
    doc({ Effect: "Allow", Principal: { AWS: "*" }, Action: "sts:AssumeRole" })], { env });
  await execFileP("aws", ["iam", "put-role-policy", "--role-name", "admin", "--policy-name", "allow-all", "--policy-document",
    doc({ Effect: "Allow", Action: "*", Resource: "*" })], { env });
});
afterAll(async () => moto?.stop());

async function setup(artifact: Artifact): Promise<Sandbox> {
  const sb = sandbox({ AWS_ENDPOINT_URL: moto.endpoint, AWS_VAULT_EC2_PROXY: "off" });
  const add = await run(artifact, ["add", "--env", "alice"], {
    env: { ...sb.env, AWS_ACCESS_KEY_ID: user.accessKeyId, AWS_SECRET_ACCESS_KEY: user.secretAccessKey },
  });
  expect(add.code, add.stderr).toBe(0);
  appendFileSync(sb.configPath, `region = us-east-1\n\n[profile admin]\nsource_profile = alice\nrole_arn = ${ROLE_ARN}\n`);
  return sb;
}

interface Running {
  child: ChildProcess;
  /** The first line the child printed. */
  line: string;
  stderr(): string;
  exited: Promise<number | null>;
}

/** Starts `aws-vault <args>` whose child prints one line (e.g. its endpoint) and then sleeps until killed. */
async function startServer(artifact: Artifact, sb: Sandbox, args: string[], printed: string): Promise<Running> {
  const child = start(artifact, [...args, "--", "sh", "-c", `echo "${printed}"; exec sleep 600`], { env: sb.env });
  let out = "";
  let err = "";
  child.stderr?.setEncoding("utf8").on("data", (d: string) => (err += d));
  const exited = new Promise<number | null>((res) => child.on("close", (c) => res(c)));
  const line = await new Promise<string>((resolve, reject) => {
    child.stdout?.setEncoding("utf8").on("data", (d: string) => {
      out += d;
      if (out.includes("\n")) resolve(out.slice(0, out.indexOf("\n")));
    });
    void exited.then((c) => reject(new Error(`aws-vault exited with ${c} before the child printed: ${err}`)));
  });
  return { child, line, stderr: () => err, exited };
}

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function request(url: string, opts: { method?: string; headers?: Record<string, string>; agent?: http.Agent } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: opts.method ?? "GET", headers: opts.headers, agent: opts.agent ?? false }, (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (d: string) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

function portRefuses(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: "127.0.0.1", port });
    s.once("connect", () => (s.destroy(), resolve(false)));
    s.once("error", (e: NodeJS.ErrnoException) => resolve(e.code === "ECONNREFUSED"));
  });
}

async function stop(r: Running): Promise<number | null> {
  r.child.kill("SIGTERM");
  return r.exited;
}

describe.each(ARTIFACTS)("credential servers ($name)", (artifact) => {
  it("exec --ecs-server role -- aws sts get-caller-identity prints the assumed-role ARN", async () => {
    const sb = await setup(artifact);
    const r = await run(artifact, ["exec", "--ecs-server", "admin", "--", "aws", "sts", "get-caller-identity", "--output", "json"], {
      env: sb.env,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).Arn).toMatch(ASSUMED_ADMIN);
  });

  it("the ECS server checks the token (403), the Host (DNS rebinding) and the method; logs no headers", async () => {
    const sb = await setup(artifact);
    const srv = await startServer(
      artifact,
      sb,
      ["--debug", "exec", "--ecs-server", "admin"],
      "$AWS_CONTAINER_CREDENTIALS_FULL_URI $AWS_CONTAINER_AUTHORIZATION_TOKEN",
    );
    try {
      const [url, token] = srv.line.split(" ") as [string, string];
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(Buffer.from(token, "base64url").length).toBeGreaterThanOrEqual(32);

      const ok = await request(url, { headers: { Authorization: token } });
      expect(ok.status).toBe(200);
      expect(ok.headers["content-type"]).toBe("application/json");
      expect(ok.body.endsWith("}\n")).toBe(true);
      const creds = JSON.parse(ok.body);
      expect(Object.keys(creds)).toEqual(["AccessKeyId", "Expiration", "SecretAccessKey", "Token"]);
      expect(creds.Expiration).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);

      const wrong: Array<Record<string, string>> = [
        {},
        { Authorization: `${token.slice(0, -1)}${token.endsWith("A") ? "B" : "A"}` },
        { Authorization: `Bearer ${token}` },
      ];
      for (const headers of wrong) {
        const denied = await request(url, { headers });
        expect(denied.status).toBe(403);
        expect(denied.body).toBe('{"Message":"invalid Authorization token"}\n');
      }
      const rebound = await request(url, { headers: { Authorization: token, Host: "evil.example" } });
      expect(rebound.status).toBe(401);
      expect(rebound.headers["content-type"]).toMatch(/^text\/plain/);
      expect(rebound.body).toBe("Access denied for host 'evil.example'\n");
      expect((await request(url, { headers: { Authorization: token, Host: "127.0.0.1:1" } })).status).toBe(401);
      expect((await request(url.replace("127.0.0.1", "localhost"), { headers: { Authorization: token } })).status).toBe(200);
      expect((await request(url, { method: "POST", headers: { Authorization: token } })).status).toBe(405);

      // /role-arn/<arn>: AssumeRole from the profile's credentials, cached per ARN.
      const before = moto.calls("AssumeRole").length;
      const role = await request(`${url}/role-arn/${OTHER_ROLE_ARN}`, { headers: { Authorization: token } });
      expect(role.status, role.body).toBe(200);
      expect(JSON.parse(role.body).AccessKeyId).not.toBe(creds.AccessKeyId);
      expect((await request(`${url}/role-arn/${OTHER_ROLE_ARN}`, { headers: { Authorization: token } })).body).toBe(role.body);
      expect(moto.calls("AssumeRole").length - before).toBe(1);
      expect((await request(`${url}/role-arn/not-an-arn`, { headers: { Authorization: token } })).status).toBe(400);

      expect(await stop(srv)).toBe(143);
      const log = srv.stderr();
      expect(log).toMatch(/http: GET \/ 200\n/);
      expect(log).toMatch(/http: GET \/ 403\n/);
      expect(log).toMatch(/http: GET \/ 401\n/);
      expect(log).not.toContain(token);
      expect(log).not.toContain(creds.SecretAccessKey);
      expect(log).not.toMatch(/evil\.example|authorization:|host:/i);
      expect(await portRefuses(Number(new URL(url).port))).toBe(true);
    } finally {
      srv.child.kill("SIGKILL");
    }
  });

  it("when the child exits with code 3, exec exits 3 and the port is closed (ECS via -s, and EC2)", async () => {
    const sb = await setup(artifact);
    const portFile = join(sb.home, "endpoint");
    for (const [flag, variable] of [
      ["-s", "AWS_CONTAINER_CREDENTIALS_FULL_URI"],
      ["--ec2-server", "AWS_EC2_METADATA_SERVICE_ENDPOINT"],
    ] as const) {
      const r = await run(artifact, ["exec", flag, "admin", "--", "sh", "-c", `echo "$${variable}" > ${portFile}; exit 3`], { env: sb.env });
      expect(r.code, r.stderr).toBe(3);
      expect(r.stderr).toBe("");
      const port = Number(new URL(readFileSync(portFile, "utf8").trim()).port);
      expect(port).toBeGreaterThan(0);
      expect(await portRefuses(port)).toBe(true);
    }
  });

  it("on a terminal-only machine, --ecs-server works for a profile without MFA (aws-vault v7 refuses)", async () => {
    const sb = await setup(artifact);
    for (const driver of ["zenity", "kdialog", "ykman", "osascript"]) {
      expect((await execFileP("sh", ["-c", `command -v ${driver} || echo none`], { env: sb.env })).stdout.trim()).toBe("none");
    }
    for (const prompt of [["--prompt", "terminal"], []]) {
      const r = await run(artifact, [...prompt, "exec", "--ecs-server", "admin", "--", "aws", "sts", "get-caller-identity", "--output", "json"], {
        env: sb.env,
      });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).not.toContain("Can't use --prompt=terminal");
      expect(JSON.parse(r.stdout).Arn).toMatch(ASSUMED_ADMIN);
    }
  });

  it("the AWS CLI gets credentials from --ec2-server through the IMDSv2 token flow", async () => {
    const sb = await setup(artifact);
    const r = await run(
      artifact,
      ["--debug", "exec", "--ec2-server", "admin", "--", "aws", "sts", "get-caller-identity", "--output", "json"],
      { env: sb.env },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).Arn).toMatch(ASSUMED_ADMIN);
    expect(r.stderr).toMatch(/http: PUT \/latest\/api\/token 200\n/);
    expect(r.stderr).toMatch(/http: GET \/latest\/meta-data\/iam\/security-credentials\/local-credentials 200\n/);
    expect(r.stderr).toMatch(/EC2 metadata server listening on http:\/\/127\.0\.0\.1:\d+\//);
  });

  it("the AWS CLI gets credentials from --ec2-server over plain IMDSv1 (no token endpoint in between)", async () => {
    const sb = await setup(artifact);
    const endpointFile = join(sb.home, "endpoint");
    // Between the CLI and the server: an old-style IMDS that has no PUT /latest/api/token (404), so
    // botocore falls back to IMDSv1. It records whether any request carried a token.
    const seen: Array<{ method: string; path: string; token: boolean }> = [];
    const shim = http.createServer((req, res) => {
      seen.push({ method: req.method ?? "", path: req.url ?? "", token: req.headers["x-aws-ec2-metadata-token"] !== undefined });
      if (req.url === "/latest/api/token") {
        res.writeHead(404).end();
        return;
      }
      const upstream = new URL(readFileSync(endpointFile, "utf8").trim());
      const up = http.request(
        { host: "127.0.0.1", port: upstream.port, path: req.url, method: req.method, headers: { ...req.headers, host: upstream.host } },
        (r) => (res.writeHead(r.statusCode ?? 502, r.headers), r.pipe(res)),
      );
      up.on("error", () => res.writeHead(502).end());
      up.end();
    });
    await new Promise<void>((res) => shim.listen(0, "127.0.0.1", () => res()));
    const shimPort = (shim.address() as { port: number }).port;
    try {
      const r = await run(
        artifact,
        [
          "exec", "--ec2-server", "admin", "--", "sh", "-c",
          `echo "$AWS_EC2_METADATA_SERVICE_ENDPOINT" > ${endpointFile}; AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:${shimPort}/ exec aws sts get-caller-identity --output json`,
        ],
        { env: sb.env },
      );
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout).Arn).toMatch(ASSUMED_ADMIN);
      expect(seen.some((s) => s.method === "PUT")).toBe(true);
      const gets = seen.filter((s) => s.method === "GET");
      expect(gets.map((g) => g.path)).toContain("/latest/meta-data/iam/security-credentials/local-credentials");
      expect(gets.every((g) => !g.token)).toBe(true);
    } finally {
      shim.close();
    }
  });

  it("the EC2 server: IMDS paths, tokens checked when presented, Host and proxy-secret checks", async () => {
    const sb = await setup(artifact);
    const srv = await startServer(
      artifact,
      sb,
      ["exec", "--ec2-server", "admin"],
      "$AWS_EC2_METADATA_SERVICE_ENDPOINT ${AWS_EC2_METADATA_DISABLED:-unset} ${AWS_CONTAINER_CREDENTIALS_FULL_URI:-unset}",
    );
    try {
      const [base, disabled, container] = srv.line.split(" ") as [string, string, string];
      expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
      expect([disabled, container]).toEqual(["unset", "unset"]);
      const path = `${base}latest/meta-data/iam/security-credentials/`;
      expect((await request(path)).body).toBe("local-credentials");
      const v1 = await request(`${path}local-credentials`);
      expect(v1.status).toBe(200);
      const doc = JSON.parse(v1.body);
      expect(Object.keys(doc)).toEqual(["AccessKeyId", "Code", "Expiration", "LastUpdated", "SecretAccessKey", "Token", "Type"]);
      expect(doc).toMatchObject({ Code: "Success", Type: "AWS-HMAC" });

      const tokenReply = await request(`${base}latest/api/token`, { method: "PUT", headers: { "X-aws-ec2-metadata-token-ttl-seconds": "60" } });
      expect(tokenReply.status).toBe(200);
      expect(tokenReply.headers["x-aws-ec2-metadata-token-ttl-seconds"]).toBe("60");
      const token = tokenReply.body;
      expect((await request(`${path}local-credentials`, { headers: { "X-aws-ec2-metadata-token": token } })).body).toBe(v1.body);
      expect((await request(`${path}local-credentials`, { headers: { "X-aws-ec2-metadata-token": `${token}x` } })).status).toBe(401);
      for (const ttl of ["0", "21601", "abc"]) {
        expect((await request(`${base}latest/api/token`, { method: "PUT", headers: { "X-aws-ec2-metadata-token-ttl-seconds": ttl } })).status).toBe(400);
      }
      expect((await request(`${base}latest/api/token`, { method: "PUT" })).status).toBe(400);
      expect((await request(`${base}latest/api/token`)).status).toBe(405);

      expect((await request(`${base}latest/meta-data/instance-id/`)).body).toBe("aws-vault");
      expect((await request(`${base}latest/meta-data/instance-id`)).status).toBe(301);
      expect((await request(`${base}latest/meta-data/iam/info/`)).body).toBe('{"Code" : "Success"}');
      expect((await request(`${base}latest/dynamic/instance-identity/document`)).body).toBe('{"region": "us-east-1"}');
      expect((await request(`${base}nope`)).status).toBe(404);

      const evil = await request(`${path}local-credentials`, { headers: { Host: "evil.example" } });
      expect([evil.status, evil.body]).toEqual([401, "Access denied for host 'evil.example'\n"]);
      // Claiming to be the 169.254.169.254 proxy needs the proxy's secret.
      const forged: Array<Record<string, string>> = [{ Host: "169.254.169.254" }, { Host: "169.254.169.254:80", "X-Aws-Vault-Proxy-Secret": "guess" }];
      for (const headers of forged) {
        expect((await request(`${path}local-credentials`, { headers })).status).toBe(401);
      }
      expect(await stop(srv)).toBe(143);
      expect(await portRefuses(Number(new URL(base).port))).toBe(true);
    } finally {
      srv.child.kill("SIGKILL");
    }
  });

  it("10,000 requests from 50 keep-alive clients are all answered correctly with one STS call", async () => {
    const sb = await setup(artifact);
    // Warm alice's GetSessionToken cache, so the only STS call left is the role's AssumeRole.
    expect((await run(artifact, ["exec", "alice", "--", "true"], { env: sb.env })).code).toBe(0);
    moto.resetCalls();
    const srv = await startServer(
      artifact,
      sb,
      ["exec", "--ecs-server", "--lazy", "admin"],
      "$AWS_CONTAINER_CREDENTIALS_FULL_URI $AWS_CONTAINER_AUTHORIZATION_TOKEN",
    );
    const agent = new http.Agent({ keepAlive: true, maxSockets: 50 });
    try {
      const [url, token] = srv.line.split(" ") as [string, string];
      expect(moto.calls().filter((c) => c.service === "sts")).toHaveLength(0); // --lazy: nothing fetched yet
      const TOTAL = 10_000;
      const CLIENTS = 50;
      const bodies = new Map<string, number>();
      let bad = 0;
      let next = 0;
      const started = performance.now();
      await Promise.all(
        Array.from({ length: CLIENTS }, async () => {
          while (next < TOTAL) {
            next++;
            const r = await request(url, { headers: { Authorization: token }, agent });
            if (r.status !== 200) bad++;
            bodies.set(r.body, (bodies.get(r.body) ?? 0) + 1);
          }
        }),
      );
      const seconds = (performance.now() - started) / 1000;
      console.log(`[${artifact.name}] ${TOTAL} requests / ${CLIENTS} clients in ${seconds.toFixed(2)}s (${Math.round(TOTAL / seconds)} req/s)`);
      expect(bad).toBe(0);
      expect([...bodies.values()].reduce((a, b) => a + b, 0)).toBe(TOTAL);
      expect(bodies.size).toBe(1);
      const [body] = [...bodies.keys()] as [string];
      expect(JSON.parse(body).Token).toBeTruthy();
      const sts = moto.calls().filter((c) => c.service === "sts");
      expect(sts.map((c) => c.action)).toEqual(["AssumeRole"]);
      expect(await stop(srv)).toBe(143);
    } finally {
      agent.destroy();
      srv.child.kill("SIGKILL");
    }
  });

  it("a credentials failure at start aborts exec --ecs-server with a clear error; --lazy reports it per request", async () => {
    const sb = await setup(artifact);
    const bad = await run(artifact, ["add", "--env", "stranger"], {
      env: { ...sb.env, AWS_ACCESS_KEY_ID: "AKIAUNKNOWNKEY000000", AWS_SECRET_ACCESS_KEY: "unknownSecretKey/0000000000000000000000000" },
    });
    expect(bad.code).toBe(0);
    const eager = await run(artifact, ["exec", "--ecs-server", "stranger", "--", "true"], { env: sb.env });
    expect(eager.code).toBe(1);
    expect(eager.stderr).toMatch(/^aws-vault: error: exec: Retrieving creds: profile stranger: GetSessionToken failed/);
    expect(eager.stderr).not.toContain("unknownSecretKey");

    const srv = await startServer(artifact, sb, ["exec", "--ecs-server", "--lazy", "stranger"], "$AWS_CONTAINER_CREDENTIALS_FULL_URI $AWS_CONTAINER_AUTHORIZATION_TOKEN");
    try {
      const [url, token] = srv.line.split(" ") as [string, string];
      const r = await request(url, { headers: { Authorization: token } });
      expect(r.status).toBe(500);
      expect(JSON.parse(r.body).Message).toMatch(/^profile stranger: GetSessionToken failed/);
      expect(await stop(srv)).toBe(143);
      expect(srv.stderr()).toMatch(/^aws-vault: error: exec: profile stranger: GetSessionToken failed/m);
    } finally {
      srv.child.kill("SIGKILL");
    }
  });

  it("the hidden proxy command (alias server) refuses to run without exec's configuration", async () => {
    const sb = await setup(artifact);
    for (const name of ["proxy", "server"]) {
      const r = await run(artifact, [name], { env: sb.env, input: "" });
      expect(r.code).toBe(1);
      // As root it reads (and rejects) the empty configuration; otherwise it stops at the root check.
      expect(r.stderr).toMatch(/^aws-vault: error: proxy: (invalid configuration on stdin|the EC2 metadata proxy must run as root)/);
      expect(r.stderr).toMatch(/^aws-vault: hint: /m);
    }
    const help = await run(artifact, ["--help"], { env: sb.env });
    expect(help.stdout + help.stderr).not.toMatch(/\bproxy\b/);
  });

  it("validation: --lazy needs --ecs-server; servers refuse --no-session", async () => {
    const sb = await setup(artifact);
    const cases: Array<[string[], RegExp]> = [
      [["exec", "--lazy", "admin", "--", "true"], /--lazy only applies to --ecs-server/],
      [["exec", "--ecs-server", "--no-session", "admin", "--", "true"], /Can't use --ecs-server with --no-session/],
      [["exec", "--ec2-server", "--no-session", "admin", "--", "true"], /Can't use --ec2-server with --no-session/],
    ];
    for (const [args, pattern] of cases) {
      const r = await run(artifact, args, { env: sb.env });
      expect(r.code, args.join(" ")).not.toBe(0);
      expect(r.stderr).toMatch(pattern);
    }
  });
});

describe.each(ARTIFACTS)("MFA needed by a running server ($name)", (artifact) => {
  let sts: FakeSts;
  let mfaUser: MasterUser;
  beforeAll(async () => {
    mfaUser = newUser();
    sts = await startScenarioSts(mfaUser);
  });
  afterAll(() => sts?.stop());

  it("--lazy asks on /dev/tty at the first request; the child's own stdin is left alone", async () => {
    const v = await setupVault(artifact, sts, mfaUser, readmeConfig(), { AWS_VAULT_EC2_PROXY: "off" });
    sts.resetCalls();
    const copy = join(v.sb.home, "child-stdin");
    const self = [...artifact.argv].map((a) => `'${a}'`).join(" ");
    // exec's stdin is a pipe holding a decoy; the terminal (the pty) is where the code is typed.
    const script =
      `printf 'decoy-not-a-code\\n' | ${self} exec --ecs-server --lazy jonsmith -- ` +
      `sh -c 'cat > ${copy}; aws sts get-caller-identity --output json'`;
    const r = await runInPty(["sh", "-c", script], v.env, [
      { expect: /Enter MFA code for \S+ \(profile [\w-]+\): $/, send: `${mfaCode(sts, mfaUser)}\r` },
    ]);
    expect(r.code, r.output).toBe(0);
    expect(r.answered).toBe(1);
    expect(r.output).toContain(`"Arn": "${mfaUser.arn}"`);
    expect(readFileSync(copy, "utf8")).toBe("decoy-not-a-code\n");
    expect(stsCalls(sts)).toEqual(["GetSessionToken+MFA"]);
  });
});
