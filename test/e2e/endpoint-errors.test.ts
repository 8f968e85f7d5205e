// Issue 9: an unreachable endpoint is one message with the right errno on both artifacts (Bun's
// node:net calls every failed connect ECONNREFUSED), and a response that is not from the AWS API
// (an HTML page) names the URL and the HTTP status instead of a JSON/XML parser error.
import { execFileSync } from "node:child_process";
import { createServer, type Server } from "node:http";
import { appendFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ARTIFACTS, type Artifact, run, sandbox } from "../support/cli.ts";

const HTML = "<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1></body></html>";
let server: Server;
let base = "";
let status = 200;

beforeAll(async () => {
  server = createServer((_req, res) => {
    res.writeHead(status, { "content-type": "text/html" });
    res.end(HTML);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

/** Whether `unshare -n` works here (a network namespace without even loopback: every connect is ENETUNREACH). */
function canUnshare(): boolean {
  try {
    execFileSync("unshare", ["-n", "true"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

async function setup(artifact: Artifact, endpoint: string) {
  const sb = sandbox({ AWS_ENDPOINT_URL: endpoint });
  const add = await run(artifact, ["add", "--env", "alice"], {
    env: { ...sb.env, AWS_ACCESS_KEY_ID: "AKIAIOSFODNN7EXAMPLE", AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" },
  });
  expect(add.code, add.stderr).toBe(0);
  return sb;
}

const HINT = "aws-vault: hint: check your network, proxy and AWS_ENDPOINT_URL settings\n";

describe.each(ARTIFACTS)("endpoint errors ($name)", (artifact) => {
  it("a refused connection", async () => {
    const sb = await setup(artifact, "http://127.0.0.1:1");
    const r = await run(artifact, ["export", "alice"], { env: sb.env });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      "aws-vault: error: export: Failed to get credentials for alice: profile alice: GetSessionToken failed: " +
        "cannot reach http://127.0.0.1:1/: connection refused (ECONNREFUSED)\n" +
        HINT,
    );
  });

  it.skipIf(!canUnshare())("an unreachable network is ENETUNREACH, not ECONNREFUSED", async () => {
    const sb = await setup(artifact, "http://127.0.0.1:1");
    const r = await run({ ...artifact, argv: ["unshare", "-n", ...artifact.argv] }, ["export", "alice"], { env: sb.env });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      "aws-vault: error: export: Failed to get credentials for alice: profile alice: GetSessionToken failed: " +
        "cannot reach http://127.0.0.1:1/: network is unreachable (ENETUNREACH)\n" +
        HINT,
    );
  });

  it.each([200, 502])("an HTML page with HTTP %i from the STS endpoint", async (code) => {
    status = code;
    const sb = await setup(artifact, base);
    const r = await run(artifact, ["export", "alice"], { env: sb.env });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `aws-vault: error: export: Failed to get credentials for alice: profile alice: GetSessionToken failed: ${base}/ answered HTTP ${code} with a response that is not from the AWS API\n` +
        "aws-vault: hint: check AWS_ENDPOINT_URL, endpoint_url and proxy settings: the URL may point at a web page or a proxy\n",
    );
  });

  it("an HTML page from the SSO endpoint (a JSON API)", async () => {
    status = 200;
    const sb = await setup(artifact, base);
    appendFileSync(
      sb.configPath,
      "\n[profile sso]\nsso_start_url = https://example.awsapps.com/start\nsso_region = us-east-1\nsso_account_id = 123456789012\nsso_role_name = Admin\n",
    );
    const r = await run(artifact, ["export", "--stdout", "sso"], { env: sb.env });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${base}/`);
    expect(r.stderr).toContain("answered HTTP 200 with a response that is not from the AWS API");
    expect(r.stderr).not.toMatch(/SyntaxError|JSON Parse error|Unexpected token/);
  });
});
