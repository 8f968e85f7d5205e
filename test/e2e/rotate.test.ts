// rotate end to end on moto_server checking signatures: after a rotation the IAM user has exactly
// one access key, the stored one; the old key is rejected; exec still works. Injected failures
// (an STS that refuses the new key, an IAM that refuses to delete the old one) roll back.
import { appendFileSync, readFileSync, writeFileSync } from "node:fs";
import http from "node:http";
import { join } from "node:path";
import {
  CreateAccessKeyCommand,
  CreateRoleCommand,
  CreateUserCommand,
  IAMClient,
  ListAccessKeysCommand,
  PutRolePolicyCommand,
  PutUserPolicyCommand,
} from "@aws-sdk/client-iam";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ARTIFACTS, type Artifact, run, sandbox, type Sandbox } from "../support/cli.ts";
import { bootstrapUser, type Moto, type MotoUser, startMoto } from "../support/moto.ts";
import { freePort } from "../support/ports.ts";

const ACCOUNT = "123456789012";
const ALLOW_ALL = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }] });
const TRUST_ALL = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { AWS: "*" }, Action: "sts:AssumeRole" }] });

let moto: Moto;
let admin: MotoUser;
let iam: IAMClient;
let users = 0;

interface Key {
  accessKeyId: string;
  secretAccessKey: string;
}

beforeAll(async () => {
  moto = await startMoto({ authAfter: 3 });
  admin = await bootstrapUser(moto, "admin");
  iam = new IAMClient({ endpoint: moto.motoEndpoint, region: "us-east-1", credentials: admin });
  for (const role of ["rot-admin", "rot-deep"]) {
    await iam.send(new CreateRoleCommand({ RoleName: role, AssumeRolePolicyDocument: TRUST_ALL }));
    await iam.send(new PutRolePolicyCommand({ RoleName: role, PolicyName: "all", PolicyDocument: ALLOW_ALL }));
  }
});
afterAll(async () => moto?.stop());

/** A fresh IAM user with one key and an allow-all policy. */
async function newUser(): Promise<{ name: string; key: Key }> {
  const name = `rot-user-${++users}`;
  await iam.send(new CreateUserCommand({ UserName: name }));
  await iam.send(new PutUserPolicyCommand({ UserName: name, PolicyName: "all", PolicyDocument: ALLOW_ALL }));
  const out = await iam.send(new CreateAccessKeyCommand({ UserName: name }));
  return { name, key: { accessKeyId: out.AccessKey!.AccessKeyId!, secretAccessKey: out.AccessKey!.SecretAccessKey! } };
}

async function keysOf(userName: string): Promise<string[]> {
  const out = await iam.send(new ListAccessKeysCommand({ UserName: userName }));
  return (out.AccessKeyMetadata ?? []).map((k) => k.AccessKeyId as string).sort();
}

async function callerArn(key: Key): Promise<string> {
  const sts = new STSClient({ endpoint: moto.motoEndpoint, region: "us-east-1", credentials: key, maxAttempts: 1 });
  return (await sts.send(new GetCallerIdentityCommand({}))).Arn as string;
}

function mask(id: string): string {
  return `****************${id.slice(-4)}`;
}

interface Setup {
  sb: Sandbox;
  name: string;
  old: Key;
  mfaCount(): number;
  run(args: string[], env?: Record<string, string | undefined>): ReturnType<typeof run>;
}

async function setup(artifact: Artifact): Promise<Setup> {
  const { name, key } = await newUser();
  const sb = sandbox({ AWS_ENDPOINT_URL: moto.endpoint });
  const add = await run(artifact, ["add", "--env", "rot"], {
    env: { ...sb.env, AWS_ACCESS_KEY_ID: key.accessKeyId, AWS_SECRET_ACCESS_KEY: key.secretAccessKey },
  });
  expect(add.code, add.stderr).toBe(0);
  const counter = join(sb.home, "mfa-count");
  writeFileSync(counter, "");
  appendFileSync(
    sb.configPath,
    `region = us-east-1\n\n` +
      `[profile rot-admin]\nsource_profile = rot\nrole_arn = arn:aws:iam::${ACCOUNT}:role/rot-admin\n` +
      `mfa_serial = arn:aws:iam::${ACCOUNT}:mfa/${name}\nmfa_process = echo x >> ${counter}; echo 123456\n\n` +
      `[profile rot-deep]\nsource_profile = rot-admin\nrole_arn = arn:aws:iam::${ACCOUNT}:role/rot-deep\n`,
  );
  return {
    sb,
    name,
    old: key,
    mfaCount: () => readFileSync(counter, "utf8").split("\n").filter(Boolean).length,
    run: (args, env = {}) => run(artifact, args, { env: { ...sb.env, ...env } }),
  };
}

async function storedKey(s: Setup): Promise<Key> {
  const r = await s.run(["export", "--no-session", "--format", "json", "rot"]);
  expect(r.code, r.stderr).toBe(0);
  const doc = JSON.parse(r.stdout) as { AccessKeyId: string; SecretAccessKey: string };
  return { accessKeyId: doc.AccessKeyId, secretAccessKey: doc.SecretAccessKey };
}

async function expectRotated(s: Setup): Promise<Key> {
  const stored = await storedKey(s);
  expect(stored.accessKeyId).not.toBe(s.old.accessKeyId);
  expect(await keysOf(s.name)).toEqual([stored.accessKeyId]);
  expect(await callerArn(stored)).toBe(`arn:aws:iam::${ACCOUNT}:user/${s.name}`);
  await expect(callerArn(s.old)).rejects.toMatchObject({ name: "InvalidClientTokenId" });
  // exec still works: with the stored keys, and with a role assumed from them.
  const direct = await s.run(["exec", "--no-session", "rot", "--", "aws", "sts", "get-caller-identity", "--output", "json"]);
  expect(direct.code, direct.stderr).toBe(0);
  expect(JSON.parse(direct.stdout).Arn).toBe(`arn:aws:iam::${ACCOUNT}:user/${s.name}`);
  return stored;
}

async function expectUnchanged(s: Setup): Promise<void> {
  expect(await keysOf(s.name)).toEqual([s.old.accessKeyId]);
  expect((await storedKey(s)).accessKeyId).toBe(s.old.accessKeyId);
  const r = await s.run(["exec", "--no-session", "rot", "--", "aws", "sts", "get-caller-identity", "--output", "json"]);
  expect(r.code, r.stderr).toBe(0);
  expect(JSON.parse(r.stdout).Arn).toBe(`arn:aws:iam::${ACCOUNT}:user/${s.name}`);
}

/** A loopback server answering every request with an AWS Query-protocol error. */
async function refusingServer(code: string, message: string): Promise<{ url: string; hits: () => number; close(): Promise<void> }> {
  let hits = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      hits++;
      res.writeHead(403, { "content-type": "text/xml" });
      res.end(
        `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>${code}</Code>` +
          `<Message>${message}</Message></Error><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>`,
      );
    });
  });
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, "127.0.0.1", () => r()));
  return {
    url: `http://127.0.0.1:${port}`,
    hits: () => hits,
    close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
}

/** A proxy to moto that refuses DeleteAccessKey for one access key id (everything else passes, signatures intact). */
async function denyDeleteProxy(keyId: string): Promise<{ url: string; close(): Promise<void> }> {
  const upstream = new URL(moto.motoEndpoint);
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const params = new URLSearchParams(body.toString("utf8"));
      if (params.get("Action") === "DeleteAccessKey" && params.get("AccessKeyId") === keyId) {
        res.writeHead(403, { "content-type": "text/xml" });
        res.end(
          `<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type><Code>AccessDenied</Code>` +
            `<Message>Injected: explicit deny on iam:DeleteAccessKey</Message></Error><RequestId>0</RequestId></ErrorResponse>`,
        );
        return;
      }
      const up = http.request(
        { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
        (r) => {
          res.writeHead(r.statusCode ?? 502, r.headers);
          r.pipe(res);
        },
      );
      up.on("error", () => res.writeHead(502).end());
      up.end(body);
    });
  });
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, "127.0.0.1", () => r()));
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))) };
}

describe.each(ARTIFACTS)("rotate on moto ($name)", (artifact) => {
  it("a plain IAM user: one key afterwards, the stored one; the old key is rejected; exec works", async () => {
    const s = await setup(artifact);
    moto.resetCalls();
    const r = await s.run(["rotate", "rot"]);
    expect(r.code, r.stderr).toBe(0);
    const stored = await expectRotated(s);
    expect(r.stdout).toBe(
      [
        "Rotating credentials stored for profile 'rot' using master credentials (takes 10-20 seconds)",
        "Creating a new access key",
        `Created new access key ${mask(stored.accessKeyId)}`,
        `Deleting old access key ${mask(s.old.accessKeyId)}`,
        `Deleted old access key ${mask(s.old.accessKeyId)}`,
        "Finished rotating access key",
        "",
      ].join("\n"),
    );
    expect(r.stderr).toBe("");
    // The old key created the new one; the new key proved itself and deleted the old one.
    const rotateCalls = moto.calls().filter((c) => ["CreateAccessKey", "GetCallerIdentity", "DeleteAccessKey"].includes(c.action));
    expect(rotateCalls.slice(0, 3).map((c) => `${c.action}:${c.accessKeyId === s.old.accessKeyId ? "old" : c.accessKeyId === stored.accessKeyId ? "new" : c.accessKeyId}:${c.status}`)).toEqual([
      "CreateAccessKey:old:200",
      "GetCallerIdentity:new:200",
      "DeleteAccessKey:new:200",
    ]);
  });

  it("a two-hop role chain with MFA: one code, the right master key, sessions of the chain removed", async () => {
    const s = await setup(artifact);
    // Cache an MFA role session for rot-admin first.
    const warm = await s.run(["exec", "rot-admin", "--", "true"]);
    expect(warm.code, warm.stderr).toBe(0);
    expect(s.mfaCount()).toBe(1);
    moto.resetCalls();
    const r = await s.run(["rotate", "rot-deep"]);
    expect(r.code, r.stderr).toBe(0);
    expect(s.mfaCount()).toBe(2); // exactly one more code for the whole rotation
    const stored = await expectRotated(s);
    expect(r.stdout.split("\n")).toEqual([
      "Rotating credentials stored for profile 'rot' using a session from profile 'rot-deep' (takes 10-20 seconds)",
      "Creating a new access key",
      `Created new access key ${mask(stored.accessKeyId)}`,
      "Deleted 1 sessions for rot-admin",
      `Deleting old access key ${mask(s.old.accessKeyId)}`,
      `Deleted old access key ${mask(s.old.accessKeyId)}`,
      "Finished rotating access key",
      "",
    ]);
    const actions = moto.calls().map((c) => c.action);
    expect(actions.filter((a) => a === "AssumeRole")).toHaveLength(2);
    expect(actions.filter((a) => a === "GetSessionToken")).toHaveLength(0);
    // A role from the new key works too.
    const viaRole = await s.run(["exec", "rot-deep", "--", "aws", "sts", "get-caller-identity", "--output", "json"]);
    expect(viaRole.code, viaRole.stderr).toBe(0);
    expect(JSON.parse(viaRole.stdout).Arn).toMatch(new RegExp(`^arn:aws:sts::${ACCOUNT}:assumed-role/rot-deep/`));
  });

  it("-n on a role profile rotates the source profile's key with the master credentials", async () => {
    const s = await setup(artifact);
    moto.resetCalls();
    const r = await s.run(["rotate", "-n", "rot-admin"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.split("\n")[0]).toBe("Rotating credentials stored for profile 'rot' using master credentials (takes 10-20 seconds)");
    expect(s.mfaCount()).toBe(0);
    expect(moto.calls("AssumeRole")).toHaveLength(0);
    await expectRotated(s);
  });

  it("a new key that fails verification is deleted; the old key stays stored and working", async () => {
    const s = await setup(artifact);
    const sts = await refusingServer("AccessDenied", "Injected: the new key is refused");
    try {
      const r = await s.run(["rotate", "rot"], { AWS_ENDPOINT_URL_STS: sts.url });
      expect(r.code).toBe(1);
      expect(sts.hits()).toBe(1); // refused outright: no propagation retries
      const created = r.stdout.match(/^Created new access key (\*{16}\w{4})$/m)?.[1];
      expect(created).toBeTruthy();
      expect(r.stderr).toBe(
        `aws-vault: error: rotate: Error verifying new access key ${created}: profile rot: GetCallerIdentity failed: AccessDenied: Injected: the new key is refused\n` +
          `aws-vault: hint: rolled back: the new access key ${created} was deleted; ${mask(s.old.accessKeyId)} is still stored and active\n`,
      );
      expect(r.stdout).not.toMatch(/Deleting old access key/);
    } finally {
      await sts.close();
    }
    await expectUnchanged(s);
  });

  it("an old key IAM refuses to delete: the old key is stored again and the new one deleted", async () => {
    const s = await setup(artifact);
    const proxy = await denyDeleteProxy(s.old.accessKeyId);
    try {
      const r = await s.run(["rotate", "rot"], { AWS_ENDPOINT_URL_IAM: proxy.url });
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/Deleting old access key/);
      expect(r.stderr).toMatch(
        new RegExp(`^aws-vault: error: rotate: Can't delete old access key \\*{16}${s.old.accessKeyId.slice(-4)}: profile rot: DeleteAccessKey failed: AccessDenied: Injected`),
      );
      expect(r.stderr).toMatch(/^aws-vault: hint: rolled back: the new access key \*{16}\w{4} was deleted/m);
    } finally {
      await proxy.close();
    }
    await expectUnchanged(s);
  });
});
