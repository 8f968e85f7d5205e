// The EC2 metadata server in-process: the aws-vault IMDS paths and formats, IMDSv2 tokens (TTL
// bounds, expiry, tampering), the Host allow-list with the proxy secret, and errors as 504.
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { UserError } from "../../src/errors.ts";
import {
  type Ec2Server,
  imdsCredentialsBody,
  ImdsTokens,
  parseTokenTtl,
  startEc2Endpoint,
  startEc2Server,
} from "../../src/server/ec2.ts";
import { listenHttp } from "../../src/server/middleware.ts";
import { isListening, type ProxyUnavailableError } from "../../src/server/proxy.ts";
import { Secret } from "../../src/util/secret.ts";
import type { Credentials } from "../../src/vault/credentials.ts";
import type { CredentialsProvider } from "../../src/vault/providers/provider.ts";
import { httpRequest } from "../support/http.ts";

const T0 = Date.parse("2024-01-01T00:00:00Z");
const random = (n: number) => new Uint8Array(randomBytes(n));
const CREDS: Credentials = {
  accessKeyId: "ASIAEXAMPLE",
  secretAccessKey: new Secret("sekrit"),
  sessionToken: new Secret("tok"),
  expiration: new Date(T0 + 3_600_000),
};
const PATH = "/latest/meta-data/iam/security-credentials/";

function req(server: Ec2Server, path: string, headers: Record<string, string> = {}, method = "GET") {
  return httpRequest(server.port, path, { headers, method });
}

async function withServer(
  provider: CredentialsProvider,
  body: (s: Ec2Server, ctx: { secret: Secret; advance(ms: number): void; log: string[] }) => Promise<void>,
  region: string | null = "eu-west-1",
) {
  let now = T0;
  const secret = new Secret("proxy-secret-0123456789abcdef0123456789");
  const log: string[] = [];
  const server = await startEc2Server({
    provider,
    region: region ?? undefined,
    now: () => new Date(now),
    windowMs: 300_000,
    random,
    proxySecret: secret,
    log: (l) => log.push(l),
  });
  try {
    await body(server, { secret, advance: (ms) => void (now += ms), log });
  } finally {
    await server.close();
  }
}

const fixed: CredentialsProvider = { kind: "assume-role", retrieve: async () => CREDS };

describe("IMDS formats", () => {
  it("local-credentials is Go's json.Encoder output with Code, Type and LastUpdated", () => {
    expect(imdsCredentialsBody({ credentials: CREDS, fetchedAt: new Date(T0 + 1500) }, new Date(T0 + 9_000))).toBe(
      '{"AccessKeyId":"ASIAEXAMPLE","Code":"Success","Expiration":"2024-01-01T01:00:00Z","LastUpdated":"2024-01-01T00:00:01Z","SecretAccessKey":"sekrit","Token":"tok","Type":"AWS-HMAC"}\n',
    );
  });

  it.each([
    ["1", 1],
    ["21600", 21600],
    [" 60 ", 60],
    ["0", undefined],
    ["21601", undefined],
    ["-5", undefined],
    ["1.5", undefined],
    ["1e3", undefined],
    ["", undefined],
    [undefined, undefined],
  ])("token TTL %j -> %j", (value, expected) => {
    expect(parseTokenTtl(value)).toBe(expected);
  });
});

describe("ImdsTokens", () => {
  it("are random, valid until their TTL, and cannot be forged or extended", () => {
    let now = T0;
    const tokens = new ImdsTokens(random, () => new Date(now));
    const a = tokens.issue(60);
    expect(a).toMatch(/^[A-Za-z0-9_-]{75}$/);
    expect(tokens.issue(60)).not.toBe(a);
    expect(tokens.valid(a)).toBe(true);
    now += 59_999;
    expect(tokens.valid(a)).toBe(true);
    now += 1;
    expect(tokens.valid(a)).toBe(false);
    // Flipping the expiry bytes breaks the MAC; another server's token is not ours.
    const raw = Buffer.from(tokens.issue(1), "base64url");
    raw.writeBigUInt64BE(BigInt(now + 1e9), 16);
    expect(tokens.valid(raw.toString("base64url"))).toBe(false);
    expect(new ImdsTokens(random, () => new Date(now)).valid(tokens.issue(60))).toBe(false);
    for (const junk of ["", "x", "A".repeat(75), `${a.slice(0, 74)}=`, `${a}A`]) expect(tokens.valid(junk)).toBe(false);
  });
});

describe("startEc2Server", () => {
  it("serves aws-vault's IMDS paths on 127.0.0.1 for IMDSv1 clients", async () => {
    await withServer(fixed, async (s) => {
      expect(s.url).toBe(`http://127.0.0.1:${s.port}/`);
      expect((await req(s, PATH)).body).toBe("local-credentials");
      expect((await req(s, `${PATH}anything`)).body).toBe("local-credentials");
      const doc = await req(s, `${PATH}local-credentials`);
      expect(doc.status).toBe(200);
      expect(doc.body).toBe(imdsCredentialsBody({ credentials: CREDS, fetchedAt: new Date(T0) }, new Date(T0)));
      const redirect = await req(s, PATH.slice(0, -1));
      expect([redirect.status, redirect.headers.location]).toEqual([301, PATH]);
      expect((await req(s, "/latest/meta-data/instance-id/")).body).toBe("aws-vault");
      expect((await req(s, "/latest/meta-data/instance-id")).status).toBe(301);
      expect((await req(s, "/latest/meta-data/iam/info/")).body).toBe('{"Code" : "Success"}');
      expect((await req(s, "/latest/dynamic/instance-identity/document")).body).toBe('{"region": "eu-west-1"}');
      expect((await req(s, "/latest/meta-data/ami-id")).status).toBe(404);
      expect((await req(s, `${PATH}local-credentials`, {}, "POST")).status).toBe(405);
    });
  });

  it("IMDSv2: PUT /latest/api/token within 1..21600s, tokens checked on reads, forwarded token requests refused", async () => {
    await withServer(fixed, async (s, ctx) => {
      const put = (headers: Record<string, string>) => req(s, "/latest/api/token", headers, "PUT");
      const t = await put({ "X-aws-ec2-metadata-token-ttl-seconds": "2" });
      expect(t.status).toBe(200);
      expect(t.headers["x-aws-ec2-metadata-token-ttl-seconds"]).toBe("2");
      expect((await req(s, `${PATH}local-credentials`, { "X-aws-ec2-metadata-token": t.body })).status).toBe(200);
      expect((await req(s, PATH, { "X-aws-ec2-metadata-token": "forged" })).status).toBe(401);
      ctx.advance(2_000);
      expect((await req(s, `${PATH}local-credentials`, { "X-aws-ec2-metadata-token": t.body })).status).toBe(401);
      expect((await put({})).status).toBe(400);
      expect((await put({ "X-aws-ec2-metadata-token-ttl-seconds": "21601" })).status).toBe(400);
      expect((await put({ "X-aws-ec2-metadata-token-ttl-seconds": "60", "X-Forwarded-For": "1.2.3.4" })).status).toBe(403);
      expect((await req(s, "/latest/api/token")).status).toBe(405);
      expect(ctx.log).toContain("http: PUT /latest/api/token 200");
      expect(ctx.log.join("\n")).not.toContain(t.body);
    });
  });

  it("accepts the 169.254.169.254 Host only with the proxy's secret; other hosts get 401", async () => {
    await withServer(fixed, async (s, ctx) => {
      const doc = `${PATH}local-credentials`;
      expect((await req(s, doc, { Host: `localhost:${s.port}` })).status).toBe(200);
      expect((await req(s, doc, { Host: "169.254.169.254", "X-Aws-Vault-Proxy-Secret": ctx.secret.reveal() })).status).toBe(200);
      expect((await req(s, doc, { Host: "169.254.169.254:80", "X-Aws-Vault-Proxy-Secret": ctx.secret.reveal() })).status).toBe(200);
      expect((await req(s, doc, { Host: "169.254.169.254" })).status).toBe(401);
      expect((await req(s, doc, { Host: "169.254.169.254", "X-Aws-Vault-Proxy-Secret": "wrong" })).status).toBe(401);
      expect((await req(s, doc, { Host: "rebind.attacker.test", "X-Aws-Vault-Proxy-Secret": ctx.secret.reveal() })).status).toBe(401);
      const evil = await req(s, doc, { Host: "evil.example" });
      expect(evil.body).toBe("Access denied for host 'evil.example'\n");
      expect(evil.headers["content-type"]).toBe("text/plain; charset=utf-8");
    });
  });

  it("pre-fetches at start but ignores a failure; a failing provider answers 504 with a safe message", async () => {
    let calls = 0;
    const failing: CredentialsProvider = {
      kind: "assume-role",
      retrieve: async () => {
        calls++;
        throw new UserError("profile dev: AssumeRole failed: ExpiredToken");
      },
    };
    await withServer(
      failing,
      async (s, ctx) => {
        expect(calls).toBe(1);
        ctx.advance(1_000);
        const r = await req(s, `${PATH}local-credentials`);
        expect([r.status, r.body]).toEqual([504, "profile dev: AssumeRole failed: ExpiredToken\n"]);
        expect(calls).toBe(2);
        expect((await req(s, "/latest/dynamic/instance-identity/document")).body).toBe('{"region": ""}');
      },
      null,
    );
  });
});

describe("startEc2Endpoint (exec --ec2-server)", () => {
  const work = mkdtempSync(join(tmpdir(), "aws-vault-ec2-endpoint-"));
  // Stands in for `aws-vault proxy`: ready after the config line (or failing), "stopped" on stdin EOF.
  const script = join(work, "proxy.mjs");
  writeFileSync(
    script,
    `import { appendFileSync } from "node:fs";
if (process.env.MODE === "fail") { process.stderr.write("sudo: a password is required\\n"); process.exit(1); }
process.stdin.on("data", () => process.stdout.write("ready\\n"));
process.stdin.on("end", () => { appendFileSync(process.env.OUT, "stopped\\n"); process.exit(0); });
`,
  );

  async function endpoint(mode: "ok" | "fail" | "off", metadataPort: number) {
    const out = join(work, `out-${Math.random().toString(36).slice(2)}`);
    writeFileSync(out, "");
    const help: string[] = [];
    const warnings: ProxyUnavailableError[] = [];
    const debug: string[] = [];
    const server = await startEc2Endpoint({
      provider: fixed,
      region: "us-east-1",
      now: () => new Date(),
      windowMs: 300_000,
      random,
      log: undefined,
      debug: (m) => debug.push(m),
      useProxy: mode !== "off",
      metadataAddress: { host: "127.0.0.1", port: metadataPort },
      proxy: {
        selfCommand: [process.execPath, script],
        isRoot: true,
        platform: "linux",
        sudo: undefined,
        env: { PATH: process.env.PATH ?? "", MODE: mode, OUT: out },
        debug: false,
        onStderr: () => undefined,
      },
      help: (t) => help.push(t),
      warn: (e) => warnings.push(e),
    });
    return { server, out, help, warnings, debug };
  }

  async function freeClosedPort(): Promise<number> {
    const s = await listenHttp((_q, r) => void r.end(), "127.0.0.1", 0);
    await s.close();
    return s.port;
  }

  it("with AWS_VAULT_EC2_PROXY=off: only the 127.0.0.1 server, no proxy and no warning", async () => {
    const e = await endpoint("off", await freeClosedPort());
    expect(e.help).toEqual([]);
    expect(e.debug).toContain(`EC2 metadata server listening on ${e.server.url}`);
    expect(e.debug.some((d) => d.startsWith("AWS_VAULT_EC2_PROXY=off"))).toBe(true);
    expect((await req(e.server, PATH)).body).toBe("local-credentials");
    await e.server.close();
    expect(await isListening("127.0.0.1", e.server.port)).toBe(false);
  });

  it("refuses when something already answers on the metadata address", async () => {
    const busy = await listenHttp((_q, r) => void r.end(), "127.0.0.1", 0);
    try {
      const err = (await endpoint("ok", busy.port).catch((x: unknown) => x)) as UserError;
      expect(err.message).toBe(`Another process is already bound to 127.0.0.1:${busy.port}`);
      expect(err.hints[0]).toMatch(/AWS_VAULT_EC2_PROXY=off/);
    } finally {
      await busy.close();
    }
  });

  it("starts the proxy, warns like aws-vault, and close() stops the proxy and the server", async () => {
    const port = await freeClosedPort();
    const e = await endpoint("ok", port);
    expect(e.help).toEqual([`Warning: Starting a local EC2 credential server on 127.0.0.1:${port}; AWS credentials will be accessible to any process while it is running`]);
    expect(e.warnings).toEqual([]);
    await e.server.close();
    expect(readFileSync(e.out, "utf8")).toBe("stopped\n");
    expect(await isListening("127.0.0.1", e.server.port)).toBe(false);
  });

  it("a proxy that cannot start is a warning; the 127.0.0.1 server keeps serving", async () => {
    const e = await endpoint("fail", await freeClosedPort());
    try {
      expect(e.warnings.map((w) => w.message)).toEqual(["the EC2 metadata proxy on 169.254.169.254:80 did not start: sudo: a password is required"]);
      expect((await req(e.server, `${PATH}local-credentials`)).status).toBe(200);
    } finally {
      await e.server.close();
    }
  });
});
