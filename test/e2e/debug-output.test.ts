// Issue 9 item 14: --debug says which keyring backend was chosen and why, and its stack traces
// point at the source files (source maps in both artifacts).
import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ARTIFACTS, run, sandbox } from "../support/cli.ts";

let server: Server;
let base = "";
beforeAll(async () => {
  server = createServer((_req, res) => {
    res.writeHead(200, { "content-type": "text/html" });
    res.end("<html><body>sign in</body></html>");
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe.each(ARTIFACTS)("--debug ($name)", (artifact) => {
  it("names the keyring backend, why it was chosen, and what else was considered", async () => {
    const sb = sandbox();
    const viaEnv = await run(artifact, ["--debug", "list"], { env: sb.env });
    expect(viaEnv.code, viaEnv.stderr).toBe(0);
    expect(viaEnv.stderr).toMatch(
      /^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d \[keyring\] using backend file: chosen with AWS_VAULT_BACKEND; available here, in order of preference: [a-z-, ]*file(; not available: [a-z-, ]+)?$/m,
    );
    const viaFlag = await run(artifact, ["--debug", "--backend", "file", "list"], { env: sb.env });
    expect(viaFlag.stderr).toMatch(/\[keyring\] using backend file: chosen with --backend;/);
    const byDefault = await run(artifact, ["--debug", "list"], { env: { ...sb.env, AWS_VAULT_BACKEND: undefined, PATH: "/nonexistent" } });
    expect(byDefault.stderr).toMatch(/\[keyring\] using backend (\S+): the first available one \(keyctl is never the default\); available here, in order of preference: .*\bfile/);
  });

  it("stack traces of causes point at src/*.ts", async () => {
    const sb = sandbox({ AWS_ENDPOINT_URL: base });
    const add = await run(artifact, ["add", "--env", "alice"], {
      env: { ...sb.env, AWS_ACCESS_KEY_ID: "AKIAIOSFODNN7EXAMPLE", AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" },
    });
    expect(add.code, add.stderr).toBe(0);
    const r = await run(artifact, ["--debug", "export", "alice"], { env: sb.env });
    expect(r.code).toBe(1);
    const trace = r.stderr.slice(r.stderr.indexOf("aws-vault: debug: caused by: NonAwsResponseError"));
    expect(trace).toMatch(/^aws-vault: debug: caused by: NonAwsResponseError: /);
    expect(trace.split("\n")[1]).toMatch(/^\s+at .*\bsrc\/aws\/endpoint-diagnostics\.ts:\d+:\d+\)?$/);
  });
});
