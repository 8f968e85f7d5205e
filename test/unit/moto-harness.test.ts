import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bootstrapUser, startMoto, type Moto, type MotoUser } from "../support/moto.ts";

const run = promisify(execFile);

interface Creds {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

describe("moto harness (authenticated moto_server behind a counting proxy)", () => {
  let moto: Moto;
  let user: MotoUser;
  let home: string;

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), "moto-harness-"));
    moto = await startMoto({ authAfter: 3 });
    user = await bootstrapUser(moto);
  });
  afterAll(async () => {
    await moto?.stop();
    rmSync(home, { recursive: true, force: true });
  });

  async function aws(creds: Creds, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("AWS_")) env[k] = v;
    Object.assign(env, {
      HOME: home,
      AWS_CONFIG_FILE: join(home, "config"),
      AWS_SHARED_CREDENTIALS_FILE: join(home, "credentials"),
      AWS_EC2_METADATA_DISABLED: "true",
      AWS_ENDPOINT_URL: moto.endpoint,
      AWS_DEFAULT_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: creds.accessKeyId,
      AWS_SECRET_ACCESS_KEY: creds.secretAccessKey,
      ...(creds.sessionToken ? { AWS_SESSION_TOKEN: creds.sessionToken } : {}),
    });
    try {
      const { stdout, stderr } = await run("aws", [...args, "--output", "json"], { env });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code?: number; stdout?: string; stderr?: string };
      return { code: e.code ?? -1, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
    }
  }

  it("bootstrapUser created a user with a key using exactly 3 IAM calls", () => {
    expect(user.arn).toBe("arn:aws:iam::123456789012:user/alice");
    expect(user.accessKeyId).toMatch(/^AKIA[A-Z0-9]{16}$/);
    expect(user.secretAccessKey).toHaveLength(40);
    expect(moto.calls().map((c) => [c.action, c.service, c.status])).toEqual([
      ["CreateUser", "iam", 200],
      ["CreateAccessKey", "iam", 200],
      ["PutUserPolicy", "iam", 200],
    ]);
    moto.resetCalls();
  });

  it("accepts correctly signed calls and rejects unknown keys / bad secrets", async () => {
    const ok = await aws(user, "sts", "get-caller-identity");
    expect(ok.stderr).toBe("");
    expect(JSON.parse(ok.stdout)).toMatchObject({ Arn: user.arn, Account: "123456789012" });

    const unknown = await aws({ accessKeyId: "AKIAUNKNOWN000000000", secretAccessKey: user.secretAccessKey }, "sts", "get-caller-identity");
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain("(InvalidClientTokenId)");

    const badSecret = await aws({ accessKeyId: user.accessKeyId, secretAccessKey: "x".repeat(40) }, "sts", "get-caller-identity");
    expect(badSecret.code).not.toBe(0);
    expect(badSecret.stderr).toContain("(SignatureDoesNotMatch)");

    expect(moto.calls().map((c) => [c.action, c.service, c.accessKeyId, c.status])).toEqual([
      ["GetCallerIdentity", "sts", user.accessKeyId, 200],
      ["GetCallerIdentity", "sts", "AKIAUNKNOWN000000000", 403],
      ["GetCallerIdentity", "sts", user.accessKeyId, 403],
    ]);
    expect(moto.calls("GetCallerIdentity")).toHaveLength(3);
    expect(moto.calls("AssumeRole")).toHaveLength(0);
    moto.resetCalls();
  });

  it("AssumeRole credentials are accepted afterwards; GetSessionToken ones are not", async () => {
    const ar = await aws(
      user,
      "sts",
      "assume-role",
      "--role-arn",
      "arn:aws:iam::123456789012:role/no-such-role",
      "--role-session-name",
      "harness",
    );
    expect(ar.stderr).toBe("");
    const role = JSON.parse(ar.stdout) as { Credentials: { AccessKeyId: string; SecretAccessKey: string; SessionToken: string } };
    expect(role.Credentials.AccessKeyId).toMatch(/^ASIA/);
    const who = await aws(
      {
        accessKeyId: role.Credentials.AccessKeyId,
        secretAccessKey: role.Credentials.SecretAccessKey,
        sessionToken: role.Credentials.SessionToken,
      },
      "sts",
      "get-caller-identity",
    );
    expect(who.stderr).toBe("");
    expect(JSON.parse(who.stdout)).toMatchObject({ Arn: "arn:aws:sts::123456789012:assumed-role/no-such-role/harness" });

    const gst = await aws(user, "sts", "get-session-token");
    expect(gst.stderr).toBe("");
    const session = JSON.parse(gst.stdout) as { Credentials: { AccessKeyId: string; SecretAccessKey: string; SessionToken: string } };
    expect(session.Credentials.AccessKeyId).toBe("AKIAIOSFODNN7EXAMPLE");
    const whoSession = await aws(
      {
        accessKeyId: session.Credentials.AccessKeyId,
        secretAccessKey: session.Credentials.SecretAccessKey,
        sessionToken: session.Credentials.SessionToken,
      },
      "sts",
      "get-caller-identity",
    );
    expect(whoSession.code).not.toBe(0);
    expect(whoSession.stderr).toContain("(InvalidClientTokenId)");

    expect(moto.calls().map((c) => [c.action, c.status])).toEqual([
      ["AssumeRole", 200],
      ["GetCallerIdentity", 200],
      ["GetSessionToken", 200],
      ["GetCallerIdentity", 403],
    ]);
  });

  it("stop() kills moto_server and closes the proxy", async () => {
    const other = await startMoto();
    const pidCheck = await fetch(`${other.motoEndpoint}/moto-api/`);
    expect(pidCheck.status).toBe(200);
    await other.stop();
    await expect(fetch(`${other.motoEndpoint}/moto-api/`)).rejects.toThrow();
    await expect(fetch(`${other.endpoint}/`)).rejects.toThrow();
  });
});
