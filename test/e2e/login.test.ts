// login end to end: moto_server (SigV4 checking) issues the credentials, a federation fake written
// from the AWS docs checks the Session it receives against them and hands out sign-in tokens.
import { chmodSync, readFileSync, writeFileSync, appendFileSync } from "node:fs";
import { join } from "node:path";
import { CreateRoleCommand, IAMClient, PutRolePolicyCommand } from "@aws-sdk/client-iam";
import { GetCallerIdentityCommand, GetFederationTokenCommand, STSClient } from "@aws-sdk/client-sts";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ARTIFACTS, type Artifact, run, sandbox, type Sandbox } from "../support/cli.ts";
import { type FederationFake, type FederationSession, startFederationFake } from "../support/federation-fake.ts";
import { bootstrapUser, type Moto, type MotoUser, startMoto } from "../support/moto.ts";

const ACCOUNT = "123456789012";
const ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/console`;
const ALLOW_ALL = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }] });

let moto: Moto;
let user: MotoUser;
let fed: FederationFake;
/** What moto's GetFederationToken issues (moto answers with fixed example credentials). */
let motoFederated: FederationSession;
/** Sessions the fake accepted, with the identity moto reports for them. */
const verified = new Map<string, string>();

function creds(u: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }) {
  return { accessKeyId: u.accessKeyId, secretAccessKey: u.secretAccessKey, ...(u.sessionToken ? { sessionToken: u.sessionToken } : {}) };
}

beforeAll(async () => {
  moto = await startMoto({ authAfter: 3 });
  user = await bootstrapUser(moto);
  const iam = new IAMClient({ endpoint: moto.motoEndpoint, region: "us-east-1", credentials: creds(user) });
  await iam.send(
    new CreateRoleCommand({
      RoleName: "console",
      MaxSessionDuration: 43_200,
      AssumeRolePolicyDocument: JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Principal: { AWS: "*" }, Action: "sts:AssumeRole" }],
      }),
    }),
  );
  await iam.send(new PutRolePolicyCommand({ RoleName: "console", PolicyName: "all", PolicyDocument: ALLOW_ALL }));
  const sts = new STSClient({ endpoint: moto.motoEndpoint, region: "us-east-1", credentials: creds(user) });
  const fedOut = await sts.send(new GetFederationTokenCommand({ Name: "probe", Policy: ALLOW_ALL }));
  motoFederated = {
    sessionId: fedOut.Credentials?.AccessKeyId as string,
    sessionKey: fedOut.Credentials?.SecretAccessKey as string,
    sessionToken: fedOut.Credentials?.SessionToken as string,
  };
  // The fake accepts only sessions moto issued: role sessions moto can authenticate, or its federation token.
  fed = await startFederationFake({
    validate: async (session) => {
      if (JSON.stringify(session) === JSON.stringify(motoFederated)) {
        verified.set(session.sessionId, "federation-token");
        return undefined;
      }
      try {
        const who = new STSClient({
          endpoint: moto.motoEndpoint,
          region: "us-east-1",
          credentials: { accessKeyId: session.sessionId, secretAccessKey: session.sessionKey, sessionToken: session.sessionToken },
        });
        const id = await who.send(new GetCallerIdentityCommand({}));
        verified.set(session.sessionId, id.Arn ?? "");
        return undefined;
      } catch (e) {
        return `credentials not issued by the emulator: ${(e as Error).name}`;
      }
    },
  });
});
afterAll(async () => {
  await fed?.stop();
  await moto?.stop();
});
beforeEach(() => {
  fed.reset();
  moto.resetCalls();
});

async function setup(artifact: Artifact): Promise<Sandbox> {
  const sb = sandbox({ AWS_ENDPOINT_URL: moto.endpoint, AWS_ENDPOINT_URL_SIGNIN: fed.baseUrl });
  const add = await run(artifact, ["add", "--env", "alice"], {
    env: { ...sb.env, AWS_ACCESS_KEY_ID: user.accessKeyId, AWS_SECRET_ACCESS_KEY: user.secretAccessKey },
  });
  expect(add.code, add.stderr).toBe(0);
  appendFileSync(sb.configPath, `region = us-east-1\n\n[profile console]\nsource_profile = alice\nrole_arn = ${ROLE_ARN}\n`);
  return sb;
}

/** Go's url.QueryEscape, written independently of the implementation. */
function queryEscape(s: string): string {
  return [...Buffer.from(s, "utf8")]
    .map((b) => {
      const c = String.fromCharCode(b);
      if (/[A-Za-z0-9\-_.~]/.test(c)) return c;
      if (c === " ") return "+";
      return `%${b.toString(16).toUpperCase().padStart(2, "0")}`;
    })
    .join("");
}

function expectedUrl(destination: string, token: string): string {
  return `${fed.federationUrl}?Action=login&Issuer=aws-vault&Destination=${queryEscape(destination)}&SigninToken=${queryEscape(token)}`;
}

function lastTokenRequest() {
  const reqs = fed.requests("getSigninToken");
  expect(reqs).toHaveLength(1);
  const req = reqs[0]!;
  expect(req.status, req.error).toBe(200);
  return req;
}

describe.each(ARTIFACTS)("login ($name)", (artifact) => {
  it("--stdout for a role profile: the role session signs in, the URL carries Destination (--path) and the token", async () => {
    const sb = await setup(artifact);
    const r = await run(artifact, ["login", "--stdout", "--path", "s3/buckets", "--region", "eu-west-1", "console"], { env: sb.env });
    expect(r.code, r.stderr).toBe(0);
    const req = lastTokenRequest();
    expect(req.session?.sessionId).toMatch(/^ASIA/);
    expect(verified.get(req.session!.sessionId)).toMatch(new RegExp(`^arn:aws:sts::${ACCOUNT}:assumed-role/console/`));
    expect(req.sessionDuration).toBeUndefined();
    const destination = "https://eu-west-1.console.aws.amazon.com/s3/buckets?region=eu-west-1";
    expect(r.stdout).toBe(`${expectedUrl(destination, req.signinToken!)}\n`);
    const url = new URL(r.stdout.trim());
    expect(Object.fromEntries(url.searchParams)).toEqual({
      Action: "login",
      Issuer: "aws-vault",
      Destination: destination,
      SigninToken: req.signinToken,
    });
    // The fake's own login endpoint accepts it (once) and lands on the destination.
    const landing = await fetch(r.stdout.trim(), { redirect: "manual" });
    expect(landing.status).toBe(302);
    expect(landing.headers.get("location")).toBe(destination);
    expect(moto.calls().map((c) => c.action)).toEqual(["AssumeRole"]);
  });

  it("-d is the role's DurationSeconds and the console SessionDuration", async () => {
    const sb = await setup(artifact);
    const r = await run(artifact, ["login", "-s", "-d", "2h", "console"], { env: sb.env });
    expect(r.code, r.stderr).toBe(0);
    expect(lastTokenRequest().sessionDuration).toBe(7200);
    expect(new URL(r.stdout.trim()).searchParams.get("Destination")).toBe("https://us-east-1.console.aws.amazon.com/console/home?region=us-east-1");
  });

  it("a plain IAM user signs in through GetFederationToken named after the user, without SessionDuration", async () => {
    const sb = await setup(artifact);
    const r = await run(artifact, ["login", "--stdout", "-d", "2h", "alice"], { env: sb.env });
    expect(r.code, r.stderr).toBe(0);
    const req = lastTokenRequest();
    expect(req.session).toEqual(motoFederated);
    expect(req.sessionDuration).toBeUndefined();
    // The target never gets a GetSessionToken session (the console refuses those).
    expect(moto.calls().map((c) => `${c.action}:${c.accessKeyId}`)).toEqual([
      `GetCallerIdentity:${user.accessKeyId}`,
      `GetUser:${user.accessKeyId}`,
      `GetFederationToken:${user.accessKeyId}`,
    ]);
    expect(r.stdout.trim()).toBe(expectedUrl("https://us-east-1.console.aws.amazon.com/console/home?region=us-east-1", req.signinToken!));
  });

  it("without a profile, the environment's credentials are used", async () => {
    const sb = await setup(artifact);
    const env = { ...sb.env, AWS_ACCESS_KEY_ID: user.accessKeyId, AWS_SECRET_ACCESS_KEY: user.secretAccessKey };
    const r = await run(artifact, ["login", "--stdout"], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(lastTokenRequest().session).toEqual(motoFederated);
    const none = await run(artifact, ["login", "--stdout"], { env: sb.env });
    expect(none.code).toBe(1);
    expect(none.stderr).toBe("aws-vault: error: login: argument 'profile' not provided, nor any AWS env vars found. Try --help\n");
  });

  it("without --stdout, exactly that URL goes to $BROWSER and nothing is printed", async () => {
    const sb = await setup(artifact);
    const received = join(sb.home, "browser-argv");
    const browser = join(sb.home, "fake-browser");
    writeFileSync(browser, `#!/bin/sh\nprintf '%s\\n' "$#" "$@" > '${received}'\n`);
    chmodSync(browser, 0o755);
    const r = await run(artifact, ["login", "--region", "ap-southeast-2", "console"], { env: { ...sb.env, BROWSER: browser } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe("");
    const req = lastTokenRequest();
    const url = expectedUrl("https://ap-southeast-2.console.aws.amazon.com/console/home?region=ap-southeast-2", req.signinToken!);
    expect(readFileSync(received, "utf8")).toBe(`1\n${url}\n`);
  });

  it("a browser that fails is reported without the URL, even under --debug", async () => {
    const sb = await setup(artifact);
    const r = await run(artifact, ["--debug", "login", "console"], { env: { ...sb.env, BROWSER: "/bin/false", PATH: "/nonexistent" } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^aws-vault: error: login: could not open a browser \(\/bin\/false: exit status 1, xdg-open: not found\); re-run with --stdout$/m);
    const token = lastTokenRequest().signinToken!;
    for (const leak of [token, queryEscape(token), "SigninToken=", fed.federationUrl, "sessionKey"]) expect(r.stderr).not.toContain(leak);
  });

  it("a refused getSigninToken names the status and nothing secret", async () => {
    const sb = await setup(artifact);
    fed.failNext(400, "Invalid credentials parameter");
    const r = await run(artifact, ["login", "--stdout", "console"], { env: sb.env });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^aws-vault: error: login: Call to getSigninToken failed with 400 Bad Request$/m);
    const session = fed.requests("getSigninToken")[0]!.session!;
    expect(r.stderr).not.toContain(session.sessionKey);
    expect(r.stderr).not.toContain(session.sessionToken);
  });
});
