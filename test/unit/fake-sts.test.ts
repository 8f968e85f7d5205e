import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import {
  AssumeRoleCommand,
  AssumeRoleWithWebIdentityCommand,
  GetCallerIdentityCommand,
  GetFederationTokenCommand,
  GetSessionTokenCommand,
  STSClient,
} from "@aws-sdk/client-sts";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  base32Decode,
  base32Encode,
  FakeSts,
  hotp,
  parseSigV4Credential,
  randomTotpSecret,
  startFakeSts,
  totp,
  type MasterUser,
} from "../support/fake-sts.ts";

const run = promisify(execFile);

describe("totp / hotp", () => {
  const rfcSecret = base32Encode(Buffer.from("12345678901234567890", "ascii"));

  it("base32 round-trips", () => {
    expect(rfcSecret).toBe("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
    expect(base32Decode(rfcSecret).toString("ascii")).toBe("12345678901234567890");
    expect(base32Decode("gezd gnbv gy3t qojq====").toString("ascii")).toBe("1234567890");
  });

  it("matches the RFC 4226 Appendix D HOTP values", () => {
    const expected = ["755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"];
    const key = Buffer.from("12345678901234567890", "ascii");
    expect(expected.map((_, i) => hotp(key, i))).toEqual(expected);
  });

  it.each([
    [59, "94287082"],
    [1111111109, "07081804"],
    [1111111111, "14050471"],
    [1234567890, "89005924"],
    [2000000000, "69279037"],
    [20000000000, "65353130"],
  ])("matches the RFC 6238 Appendix B SHA1 vector at T=%i", (seconds, code) => {
    expect(totp(rfcSecret, new Date(seconds * 1000), { digits: 8 })).toBe(code);
    expect(totp(rfcSecret, new Date(seconds * 1000))).toBe(code.slice(2));
  });
});

describe("parseSigV4Credential", () => {
  it("reads key, region and service from an Authorization header", () => {
    expect(
      parseSigV4Credential(
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/sts/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc",
      ),
    ).toEqual({ accessKeyId: "AKIDEXAMPLE", date: "20150830", region: "us-east-1", service: "sts" });
    expect(parseSigV4Credential(undefined)).toBeUndefined();
    expect(parseSigV4Credential("Bearer x")).toBeUndefined();
  });
});

const ACCOUNT = "111111111111";
const ROLE = `arn:aws:iam::${ACCOUNT}:role/admin`;
const MFA_ROLE = `arn:aws:iam::${ACCOUNT}:role/mfa-admin`;
const LONG_ROLE = `arn:aws:iam::${ACCOUNT}:role/long`;
const alice: MasterUser = {
  accessKeyId: "AKIAALICE00000000001",
  secretAccessKey: "aliceSecretKey0000000000000000000000000/",
  arn: `arn:aws:iam::${ACCOUNT}:user/alice`,
  mfa: { serial: `arn:aws:iam::${ACCOUNT}:mfa/alice`, totpSecretBase32: randomTotpSecret() },
};
const bob: MasterUser = {
  accessKeyId: "AKIABOB0000000000001",
  secretAccessKey: "bobSecretKey00000000000000000000000000+/",
  arn: `arn:aws:iam::${ACCOUNT}:user/bob`,
};

interface Creds {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

describe("FakeSts with the JS SDK", () => {
  let sts: FakeSts;
  beforeAll(async () => {
    sts = await startFakeSts({
      users: [alice, bob],
      roles: {
        [ROLE]: {},
        [MFA_ROLE]: { requireMfa: true },
        [LONG_ROLE]: { maxSessionDuration: 4 * 3600 },
      },
    });
  });
  afterAll(() => sts.stop());
  beforeEach(() => sts.resetCalls());

  const client = (credentials: Creds): STSClient =>
    new STSClient({ region: "us-east-1", endpoint: sts.endpoint, credentials, maxAttempts: 1 });
  const code = (): string => totp(alice.mfa!.totpSecretBase32, sts.now());

  it("GetSessionToken issues fresh ASIA credentials accepted by GetCallerIdentity", async () => {
    const a = await client(alice).send(new GetSessionTokenCommand({}));
    const b = await client(alice).send(new GetSessionTokenCommand({ DurationSeconds: 900 }));
    const c = a.Credentials!;
    expect(c.AccessKeyId).toMatch(/^ASIA[A-Z0-9]{16}$/);
    expect(c.SecretAccessKey).toHaveLength(40);
    expect(c.SessionToken!.length).toBeGreaterThan(400);
    expect(b.Credentials!.AccessKeyId).not.toBe(c.AccessKeyId);
    expect(c.Expiration).toBeInstanceOf(Date);
    expect(Math.abs(c.Expiration!.getTime() - Date.now() - 43_200_000)).toBeLessThan(5_000);
    expect(Math.abs(b.Credentials!.Expiration!.getTime() - Date.now() - 900_000)).toBeLessThan(5_000);

    const id = await client({ accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken! }).send(
      new GetCallerIdentityCommand({}),
    );
    expect(id).toMatchObject({ Arn: alice.arn, Account: ACCOUNT });
    expect(id.UserId).toMatch(/^AIDA/);
    expect(sts.calls().map((x) => [x.action, x.accessKeyId, x.status])).toEqual([
      ["GetSessionToken", alice.accessKeyId, 200],
      ["GetSessionToken", alice.accessKeyId, 200],
      ["GetCallerIdentity", c.AccessKeyId, 200],
    ]);
  });

  it("rejects unknown keys, missing session tokens and expired credentials", async () => {
    await expect(
      client({ accessKeyId: "AKIAUNKNOWN000000000", secretAccessKey: "x" }).send(new GetCallerIdentityCommand({})),
    ).rejects.toMatchObject({ name: "InvalidClientTokenId", $metadata: { httpStatusCode: 403 } });

    const { Credentials: c } = await client(bob).send(new GetSessionTokenCommand({ DurationSeconds: 900 }));
    await expect(
      client({ accessKeyId: c!.AccessKeyId!, secretAccessKey: c!.SecretAccessKey! }).send(new GetCallerIdentityCommand({})),
    ).rejects.toMatchObject({ name: "InvalidClientTokenId" });

    const session = { accessKeyId: c!.AccessKeyId!, secretAccessKey: c!.SecretAccessKey!, sessionToken: c!.SessionToken! };
    sts.advanceClock(901);
    try {
      await expect(client(session).send(new GetCallerIdentityCommand({}))).rejects.toMatchObject({
        name: "ExpiredToken",
        message: "The security token included in the request is expired",
      });
    } finally {
      sts.advanceClock(-901);
    }
    expect(sts.calls().map((x) => x.errorCode)).toEqual(["InvalidClientTokenId", undefined, "InvalidClientTokenId", "ExpiredToken"]);
  });

  it("verifies MFA codes for GetSessionToken", async () => {
    const serial = alice.mfa!.serial;
    const ok = await client(alice).send(new GetSessionTokenCommand({ SerialNumber: serial, TokenCode: code() }));
    expect(ok.Credentials?.AccessKeyId).toMatch(/^ASIA/);

    const wrong = String((Number(code()) + 500_000) % 1_000_000).padStart(6, "0");
    await expect(client(alice).send(new GetSessionTokenCommand({ SerialNumber: serial, TokenCode: wrong }))).rejects.toMatchObject({
      name: "AccessDenied",
      message: "MultiFactorAuthentication failed with invalid MFA one time pass code.",
      $metadata: { httpStatusCode: 403 },
    });
    await expect(
      client(alice).send(new GetSessionTokenCommand({ SerialNumber: `arn:aws:iam::${ACCOUNT}:mfa/nobody`, TokenCode: code() })),
    ).rejects.toMatchObject({ name: "AccessDenied" });
    // bob has no MFA device at all
    await expect(client(bob).send(new GetSessionTokenCommand({ SerialNumber: serial, TokenCode: code() }))).rejects.toMatchObject({
      name: "AccessDenied",
    });
    // the previous step's code is still accepted (clock skew window)
    const prev = totp(alice.mfa!.totpSecretBase32, new Date(sts.now().getTime() - 30_000));
    await expect(client(alice).send(new GetSessionTokenCommand({ SerialNumber: serial, TokenCode: prev }))).resolves.toBeDefined();
    expect(sts.calls().map((c) => c.mfaUsed)).toEqual([true, true, true, true, true]);
    expect(sts.issued().find((i) => i.accessKeyId === ok.Credentials!.AccessKeyId)?.mfaAuthenticated).toBe(true);
  });

  it("validates DurationSeconds", async () => {
    for (const DurationSeconds of [899, 129_601]) {
      await expect(client(alice).send(new GetSessionTokenCommand({ DurationSeconds }))).rejects.toMatchObject({
        name: "ValidationError",
        $metadata: { httpStatusCode: 400 },
      });
    }
    await expect(client(alice).send(new GetSessionTokenCommand({ DurationSeconds: 129_600 }))).resolves.toBeDefined();
    const assume = (c: Creds, arn: string, DurationSeconds?: number) =>
      client(c).send(new AssumeRoleCommand({ RoleArn: arn, RoleSessionName: "sess", DurationSeconds }));
    await expect(assume(alice, "arn:aws:iam::1:role/x")).rejects.toMatchObject({ name: "ValidationError" });
    await expect(assume(alice, ROLE, 3601)).rejects.toMatchObject({
      name: "ValidationError",
      message: "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
    });
    const long = await assume(alice, LONG_ROLE, 4 * 3600);
    const c = long.Credentials!;
    // role chaining is capped at one hour
    const chained = { accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken! };
    await expect(assume(chained, LONG_ROLE, 7200)).rejects.toMatchObject({
      name: "ValidationError",
      message: "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.",
    });
    await expect(assume(chained, ROLE, 3600)).resolves.toBeDefined();
  });

  it("AssumeRole: assumed-role ARN, MFA requirement, unlisted roles", async () => {
    const res = await client(alice).send(new AssumeRoleCommand({ RoleArn: ROLE, RoleSessionName: "alice-session" }));
    expect(res.AssumedRoleUser?.Arn).toBe(`arn:aws:sts::${ACCOUNT}:assumed-role/admin/alice-session`);
    expect(res.AssumedRoleUser?.AssumedRoleId).toMatch(/^AROA[A-Z2-7]{17}:alice-session$/);
    const c = res.Credentials!;
    const id = await client({ accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken! }).send(
      new GetCallerIdentityCommand({}),
    );
    expect(id.Arn).toBe(res.AssumedRoleUser?.Arn);

    await expect(
      client(alice).send(new AssumeRoleCommand({ RoleArn: MFA_ROLE, RoleSessionName: "sess" })),
    ).rejects.toMatchObject({ name: "AccessDenied", $metadata: { httpStatusCode: 403 } });
    await expect(
      client(alice).send(
        new AssumeRoleCommand({ RoleArn: MFA_ROLE, RoleSessionName: "sess", SerialNumber: alice.mfa!.serial, TokenCode: code() }),
      ),
    ).resolves.toBeDefined();
    // aws-vault style: MFA'd session credentials satisfy the role's MFA condition
    const mfaSession = (
      await client(alice).send(new GetSessionTokenCommand({ SerialNumber: alice.mfa!.serial, TokenCode: code() }))
    ).Credentials!;
    await expect(
      client({
        accessKeyId: mfaSession.AccessKeyId!,
        secretAccessKey: mfaSession.SecretAccessKey!,
        sessionToken: mfaSession.SessionToken!,
      }).send(new AssumeRoleCommand({ RoleArn: MFA_ROLE, RoleSessionName: "sess" })),
    ).resolves.toBeDefined();
    await expect(
      client(alice).send(new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${ACCOUNT}:role/other`, RoleSessionName: "sess" })),
    ).rejects.toMatchObject({ name: "AccessDenied" });
    expect(sts.calls("AssumeRole").map((x) => [x.status, x.mfaUsed])).toEqual([
      [200, false],
      [403, false],
      [200, true],
      [200, false],
      [403, false],
    ]);
  });

  it("GetFederationToken and AssumeRoleWithWebIdentity", async () => {
    const fed = await client(bob).send(new GetFederationTokenCommand({ Name: "carol" }));
    expect(fed.FederatedUser).toEqual({ Arn: `arn:aws:sts::${ACCOUNT}:federated-user/carol`, FederatedUserId: `${ACCOUNT}:carol` });

    const b64 = (o: object): string => Buffer.from(JSON.stringify(o)).toString("base64url");
    const jwt = `${b64({ alg: "none" })}.${b64({ sub: "user-1", iss: "https://idp.example.com", aud: "client-1" })}.sig`;
    const web = await new STSClient({ region: "us-east-1", endpoint: sts.endpoint, maxAttempts: 1 }).send(
      new AssumeRoleWithWebIdentityCommand({ RoleArn: ROLE, RoleSessionName: "web", WebIdentityToken: jwt }),
    );
    expect(web).toMatchObject({
      SubjectFromWebIdentityToken: "user-1",
      Provider: "idp.example.com",
      Audience: "client-1",
      AssumedRoleUser: { Arn: `arn:aws:sts::${ACCOUNT}:assumed-role/admin/web` },
    });
    expect(web.Credentials?.AccessKeyId).toMatch(/^ASIA/);
  });
});

describe("FakeSts with the AWS CLI", () => {
  let sts: FakeSts;
  let home: string;
  beforeAll(async () => {
    sts = await startFakeSts({ users: [alice], roles: { [ROLE]: {}, [MFA_ROLE]: { requireMfa: true } } });
    home = mkdtempSync(join(tmpdir(), "fake-sts-cli-"));
  });
  afterAll(async () => {
    await sts.stop();
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
      AWS_ENDPOINT_URL: sts.endpoint,
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

  interface CliCreds {
    Credentials: { AccessKeyId: string; SecretAccessKey: string; SessionToken: string; Expiration: string };
    AssumedRoleUser?: { Arn: string; AssumedRoleId: string };
  }
  const asCreds = (c: CliCreds): Creds => ({
    accessKeyId: c.Credentials.AccessKeyId,
    secretAccessKey: c.Credentials.SecretAccessKey,
    sessionToken: c.Credentials.SessionToken,
  });

  it("parses get-session-token (with MFA), assume-role and get-caller-identity", async () => {
    const code = totp(alice.mfa!.totpSecretBase32, sts.now());
    const gst = await aws(alice, "sts", "get-session-token", "--serial-number", alice.mfa!.serial, "--token-code", code);
    expect(gst.stderr).toBe("");
    const session = JSON.parse(gst.stdout) as CliCreds;
    expect(session.Credentials.AccessKeyId).toMatch(/^ASIA[A-Z0-9]{16}$/);
    expect(Date.parse(session.Credentials.Expiration)).toBeGreaterThan(Date.now() + 43_000_000);

    const ar = await aws(asCreds(session), "sts", "assume-role", "--role-arn", MFA_ROLE, "--role-session-name", "cli");
    expect(ar.code).toBe(0);
    const role = JSON.parse(ar.stdout) as CliCreds;
    expect(role.AssumedRoleUser?.Arn).toBe(`arn:aws:sts::${ACCOUNT}:assumed-role/mfa-admin/cli`);

    const who = await aws(asCreds(role), "sts", "get-caller-identity");
    expect(JSON.parse(who.stdout)).toMatchObject({ Arn: role.AssumedRoleUser?.Arn, Account: ACCOUNT });
    const whoUser = await aws(asCreds(session), "sts", "get-caller-identity");
    expect(JSON.parse(whoUser.stdout)).toMatchObject({ Arn: alice.arn });
  });

  it("surfaces InvalidClientTokenId and AccessDenied", async () => {
    const bad = await aws({ accessKeyId: "AKIANOPE000000000000", secretAccessKey: "x" }, "sts", "get-caller-identity");
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain("(InvalidClientTokenId)");

    const denied = await aws(alice, "sts", "assume-role", "--role-arn", MFA_ROLE, "--role-session-name", "cli");
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toContain("(AccessDenied)");

    const badMfa = await aws(alice, "sts", "get-session-token", "--serial-number", alice.mfa!.serial, "--token-code", "000000");
    // (a 1-in-~330k chance that 000000 is actually valid right now)
    expect(badMfa.stderr).toContain("MultiFactorAuthentication failed with invalid MFA one time pass code.");
  });
});
