// Issue 9 item 4: the file keyring's passphrase variables never reach a program we start. Each
// helper here is a script that writes its whole environment to a file. STS is the loopback fake.
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync, appendFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ARTIFACTS, type Artifact, run, sandbox, type Sandbox } from "../support/cli.ts";
import { type FederationFake, startFederationFake } from "../support/federation-fake.ts";
import { type FakeSts, startFakeSts } from "../support/fake-sts.ts";

const ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE";
const SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

let fed: FederationFake;
let sts: FakeSts;

beforeAll(async () => {
  fed = await startFederationFake({});
  sts = await startFakeSts({ users: [{ accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET, arn: "arn:aws:iam::123456789012:user/alice" }] });
});
afterAll(async () => {
  await fed?.stop();
  await sts?.stop();
});

interface Setup {
  sb: Sandbox;
  dump: string;
  dumps: string;
}

async function setup(artifact: Artifact): Promise<Setup> {
  const sb = sandbox({
    AWS_ENDPOINT_URL: sts.endpoint,
    AWS_ENDPOINT_URL_SIGNIN: fed.baseUrl,
    AWS_VAULT_FILE_PASSPHRASE_CMD: "echo test-passphrase",
    AWS_VAULT_FILE_PASSPHRASE_FUTURE: "also-secret",
    AWS_VAULT_EC2_PROXY: "off",
    HELPER_MARKER: "inherited",
  });
  const dumps = join(sb.home, "dumps");
  mkdirSync(dumps);
  // dump NAME [OUTPUT...]: writes the environment to dumps/NAME.env, then prints OUTPUT.
  const dump = join(sb.home, "dump");
  writeFileSync(dump, `#!/bin/sh\nenv > '${dumps}'/"$1".env\nshift\nif [ $# -gt 0 ]; then printf '%s\\n' "$*"; fi\n`);
  chmodSync(dump, 0o755);
  const add = await run(artifact, ["add", "--env", "alice"], {
    env: { ...sb.env, AWS_ACCESS_KEY_ID: ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY: SECRET },
  });
  expect(add.code, add.stderr).toBe(0);
  const cpJson = JSON.stringify({ Version: 1, AccessKeyId: ACCESS_KEY_ID, SecretAccessKey: SECRET });
  appendFileSync(
    sb.configPath,
    [
      "region = us-east-1",
      "[profile cp]",
      `credential_process = ${dump} credential_process '${cpJson}'`,
      "[profile mfa]",
      "source_profile = alice",
      "mfa_serial = arn:aws:iam::123456789012:mfa/alice",
      `mfa_process = ${dump} mfa_process 123456`,
      "[profile wi]",
      "role_arn = arn:aws:iam::123456789012:role/wi",
      `web_identity_token_process = ${dump} web_identity_token_process token`,
      "",
    ].join("\n"),
  );
  return { sb, dump, dumps };
}

/** The environment the helper saw; fails when the helper never ran. */
function seen(s: Setup, name: string): Record<string, string> {
  const file = join(s.dumps, `${name}.env`);
  expect(existsSync(file), `${name} did not run`).toBe(true);
  const env: Record<string, string> = {};
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const eq = line.indexOf("=");
    if (eq > 0) env[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return env;
}

function expectNoPassphrase(env: Record<string, string>): void {
  expect(env.HELPER_MARKER).toBe("inherited");
  expect(Object.keys(env).filter((k) => k.startsWith("AWS_VAULT_FILE_PASSPHRASE"))).toEqual([]);
  expect(Object.values(env).join("\n")).not.toContain("test-passphrase");
}

describe.each(ARTIFACTS)("no passphrase variable reaches a child ($name)", (artifact) => {
  it("exec (environment mode)", async () => {
    const s = await setup(artifact);
    const r = await run(artifact, ["exec", "--no-session", "alice", "--", s.dump, "exec"], { env: s.sb.env });
    expect(r.code, r.stderr).toBe(0);
    const env = seen(s, "exec");
    expectNoPassphrase(env);
    expect(env.AWS_ACCESS_KEY_ID).toBe(ACCESS_KEY_ID);
  });

  it("exec --ecs-server", async () => {
    const s = await setup(artifact);
    const r = await run(artifact, ["exec", "--ecs-server", "alice", "--", s.dump, "ecs"], { env: s.sb.env });
    expect(r.code, r.stderr).toBe(0);
    const env = seen(s, "ecs");
    expectNoPassphrase(env);
    expect(env.AWS_CONTAINER_CREDENTIALS_FULL_URI).toMatch(/^http:\/\/127\.0\.0\.1:\d+/);
  });

  it("exec --ec2-server", async () => {
    const s = await setup(artifact);
    const r = await run(artifact, ["exec", "--ec2-server", "alice", "--", s.dump, "ec2"], { env: s.sb.env });
    expect(r.code, r.stderr).toBe(0);
    const env = seen(s, "ec2");
    expectNoPassphrase(env);
    expect(env.AWS_EC2_METADATA_SERVICE_ENDPOINT).toMatch(/^http:\/\/127\.0\.0\.1:\d+/);
  });

  it("credential_process", async () => {
    const s = await setup(artifact);
    const r = await run(artifact, ["export", "--no-session", "--format", "json", "cp"], { env: s.sb.env });
    expect(r.code, r.stderr).toBe(0);
    expectNoPassphrase(seen(s, "credential_process"));
  });

  it("mfa_process", async () => {
    const s = await setup(artifact);
    // The fake refuses the code (alice has no MFA device); the helper has run by then.
    await run(artifact, ["export", "mfa"], { env: s.sb.env });
    expectNoPassphrase(seen(s, "mfa_process"));
  });

  it("web_identity_token_process", async () => {
    const s = await setup(artifact);
    await run(artifact, ["export", "wi"], { env: s.sb.env });
    expectNoPassphrase(seen(s, "web_identity_token_process"));
  });

  it("the browser (login)", async () => {
    const s = await setup(artifact);
    const browser = join(s.sb.home, "fake-browser");
    writeFileSync(browser, `#!/bin/sh\nenv > '${s.dumps}'/browser.env\n`);
    chmodSync(browser, 0o755);
    const r = await run(artifact, ["login", "alice"], { env: { ...s.sb.env, BROWSER: browser } });
    expect(r.code, r.stderr).toBe(0);
    expectNoPassphrase(seen(s, "browser"));
  });

  it("pass", async () => {
    const s = await setup(artifact);
    const store = join(s.sb.home, "password-store");
    mkdirSync(store);
    writeFileSync(join(store, ".gpg-id"), "nobody\n");
    writeFileSync(join(store, "alice.gpg"), "");
    const pass = join(s.sb.home, "fake-pass");
    writeFileSync(pass, `#!/bin/sh\nenv > '${s.dumps}'/pass.env\nexit 1\n`);
    chmodSync(pass, 0o755);
    await run(artifact, ["--backend", "pass", "--pass-cmd", pass, "--pass-dir", store, "export", "--no-session", "alice"], {
      env: s.sb.env,
    });
    expectNoPassphrase(seen(s, "pass"));
  });
});
