// The federation endpoint client: URL builders (pure) and the getSigninToken call against the fake.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  consoleSessionSeconds,
  goQueryEscape,
  loginTarget,
  loginUrl,
  requestSigninToken,
  sessionJson,
  signinTokenRequestUrl,
} from "../../src/aws/signin.ts";
import { AwsCallError, UserError } from "../../src/errors.ts";
import { Secret } from "../../src/util/secret.ts";
import type { Credentials } from "../../src/vault/credentials.ts";
import { type FederationFake, startFederationFake } from "../support/federation-fake.ts";
import { freePort } from "../support/ports.ts";

const CREDS: Credentials = {
  accessKeyId: "ASIAEXAMPLEEXAMPLE12",
  secretAccessKey: new Secret("wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY"),
  sessionToken: new Secret("FwoGZXIvYXdzE+token/with=chars"),
  expiration: new Date("2024-01-01T01:00:00Z"),
};

describe("loginTarget (aws-vault generateLoginURL, ByteNess hosts)", () => {
  it.each([
    ["no region", undefined, undefined, "https://us-east-1.signin.aws.amazon.com/federation", "https://console.aws.amazon.com/"],
    ["no region, --path", undefined, "s3", "https://us-east-1.signin.aws.amazon.com/federation", "https://console.aws.amazon.com/s3"],
    ["aws", "eu-west-1", undefined, "https://us-east-1.signin.aws.amazon.com/federation", "https://eu-west-1.console.aws.amazon.com/console/home?region=eu-west-1"],
    ["aws --path", "us-east-2", "ec2/home", "https://us-east-1.signin.aws.amazon.com/federation", "https://us-east-2.console.aws.amazon.com/ec2/home?region=us-east-2"],
    ["leading slash in --path", "us-east-2", "/s3", "https://us-east-1.signin.aws.amazon.com/federation", "https://us-east-2.console.aws.amazon.com/s3?region=us-east-2"],
    ["aws-cn", "cn-north-1", undefined, "https://cn-north-1.signin.amazonaws.cn/federation", "https://cn-north-1.console.amazonaws.cn/console/home?region=cn-north-1"],
    ["aws-cn --path", "cn-northwest-1", "s3", "https://cn-northwest-1.signin.amazonaws.cn/federation", "https://cn-northwest-1.console.amazonaws.cn/s3?region=cn-northwest-1"],
    ["aws-us-gov", "us-gov-west-1", undefined, "https://us-gov-west-1.signin.amazonaws-us-gov.com/federation", "https://us-gov-west-1.console.amazonaws-us-gov.com/console/home?region=us-gov-west-1"],
    ["aws-us-gov east", "us-gov-east-1", "s3", "https://us-gov-east-1.signin.amazonaws-us-gov.com/federation", "https://us-gov-east-1.console.amazonaws-us-gov.com/s3?region=us-gov-east-1"],
    ["aws-eusc", "eusc-de-east-1", undefined, "https://eusc-de-east-1.signin.amazonaws-eusc.eu/federation", "https://eusc-de-east-1.console.amazonaws-eusc.eu/console/home?region=eusc-de-east-1"],
  ])("%s", (_label, region, path, federationUrl, destination) => {
    expect(loginTarget(region, path)).toEqual({ federationUrl, destination });
  });

  it("a sign-in base URL replaces the federation host (with or without a trailing slash)", () => {
    expect(loginTarget("cn-north-1", undefined, "http://127.0.0.1:9/").federationUrl).toBe("http://127.0.0.1:9/federation");
    expect(loginTarget("eu-west-1", undefined, "https://signin.example").federationUrl).toBe("https://signin.example/federation");
    expect(loginTarget("cn-north-1", undefined, "http://x").destination).toBe("https://cn-north-1.console.amazonaws.cn/console/home?region=cn-north-1");
  });
});

describe("encoding", () => {
  it("escapes like Go's url.QueryEscape", () => {
    expect(goQueryEscape("a b+c/d=e")).toBe("a+b%2Bc%2Fd%3De");
    expect(goQueryEscape("-_.~")).toBe("-_.~");
    expect(goQueryEscape("!'()*")).toBe("%21%27%28%29%2A");
    expect(goQueryEscape('{"k":"v"}')).toBe("%7B%22k%22%3A%22v%22%7D");
  });

  it("the Session JSON has exactly sessionId, sessionKey, sessionToken", () => {
    expect(sessionJson(CREDS)).toBe(
      '{"sessionId":"ASIAEXAMPLEEXAMPLE12","sessionKey":"wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY","sessionToken":"FwoGZXIvYXdzE+token/with=chars"}',
    );
  });

  it("getSigninToken: sorted parameters, SessionDuration only when asked", () => {
    const base = "https://signin.example/federation";
    const plain = signinTokenRequestUrl(base, CREDS);
    expect(plain).toBe(`${base}?Action=getSigninToken&Session=${goQueryEscape(sessionJson(CREDS))}`);
    const withDuration = new URL(signinTokenRequestUrl(base, CREDS, 7200));
    expect([...withDuration.searchParams.keys()]).toEqual(["Action", "Session", "SessionDuration"]);
    expect(withDuration.searchParams.get("SessionDuration")).toBe("7200");
    expect(JSON.parse(withDuration.searchParams.get("Session") as string)).toEqual({
      sessionId: CREDS.accessKeyId,
      sessionKey: CREDS.secretAccessKey.reveal(),
      sessionToken: CREDS.sessionToken?.reveal(),
    });
  });

  it("the login URL: Action, Issuer, escaped Destination and SigninToken", () => {
    const target = loginTarget("eu-west-1", "s3");
    const url = loginUrl(target, new Secret("to+k/en="));
    expect(url).toBe(
      "https://us-east-1.signin.aws.amazon.com/federation?Action=login&Issuer=aws-vault" +
        "&Destination=https%3A%2F%2Feu-west-1.console.aws.amazon.com%2Fs3%3Fregion%3Deu-west-1&SigninToken=to%2Bk%2Fen%3D",
    );
    const parsed = new URL(url);
    expect(parsed.searchParams.get("Destination")).toBe(target.destination);
    expect(parsed.searchParams.get("SigninToken")).toBe("to+k/en=");
  });

  it("console session durations are 15m..12h", () => {
    expect(consoleSessionSeconds(900_000)).toBe(900);
    expect(consoleSessionSeconds(43_200_000)).toBe(43_200);
    expect(() => consoleSessionSeconds(899_000)).toThrow(UserError);
    expect(() => consoleSessionSeconds(43_201_000)).toThrow(/between 15m and 12h, got 43201s/);
  });
});

describe("requestSigninToken against the federation fake", () => {
  let fed: FederationFake;
  beforeAll(async () => {
    fed = await startFederationFake();
  });
  afterAll(() => fed?.stop());
  beforeEach(() => fed.reset());

  it("returns the token and sends the Session the fake can read", async () => {
    const token = await requestSigninToken(fed.federationUrl, CREDS, { sessionDurationSeconds: 3600 });
    expect(token).toBeInstanceOf(Secret);
    expect(String(token)).toBe("[redacted]");
    expect(token.reveal()).toBe(fed.issuedTokens()[0]);
    const [req] = fed.requests("getSigninToken");
    expect(req?.session).toEqual({
      sessionId: CREDS.accessKeyId,
      sessionKey: CREDS.secretAccessKey.reveal(),
      sessionToken: CREDS.sessionToken?.reveal(),
    });
    expect(req?.sessionDuration).toBe(3600);
    expect(req?.query).toBe(signinTokenRequestUrl(fed.federationUrl, CREDS, 3600).split("?")[1]);
  });

  it("a refusal names the HTTP status, logs the body in debug, and never the credentials", async () => {
    fed.failNext(400, "Invalid credentials parameter");
    const logged: string[] = [];
    const err = await requestSigninToken(fed.federationUrl, CREDS, { log: (m) => logged.push(m) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AwsCallError);
    expect((err as Error).message).toBe("Call to getSigninToken failed with 400 Bad Request");
    expect(logged).toEqual(["Response body was Invalid credentials parameter"]);
    expect(JSON.stringify({ m: (err as Error).message, h: (err as AwsCallError).hints })).not.toMatch(/EXAMPLEKEY|token\/with|sessionKey/);
  });

  it("an answer without SigninToken is refused", async () => {
    fed.failNext(200, JSON.stringify({ Other: "x" }));
    await expect(requestSigninToken(fed.federationUrl, CREDS)).rejects.toThrow("Expected a response with SigninToken");
    fed.failNext(200, "<html>");
    await expect(requestSigninToken(fed.federationUrl, CREDS)).rejects.toThrow(/did not answer with JSON/);
  });

  it("an unreachable endpoint names the host only", async () => {
    const port = await freePort();
    const err = (await requestSigninToken(`http://127.0.0.1:${port}/federation`, CREDS).catch((e: unknown) => e)) as Error;
    expect(err.message).toBe(`Call to getSigninToken failed: cannot reach 127.0.0.1:${port} (ECONNREFUSED)`);
  });

  it("the login URL it leads to is accepted once by the fake", async () => {
    const token = await requestSigninToken(fed.federationUrl, CREDS);
    const target = { federationUrl: fed.federationUrl, destination: "https://eu-west-1.console.aws.amazon.com/console/home?region=eu-west-1" };
    const url = loginUrl(target, token);
    const first = await fetch(url, { redirect: "manual" });
    expect(first.status).toBe(302);
    expect(first.headers.get("location")).toBe(target.destination);
    expect((await fetch(url, { redirect: "manual" })).status).toBe(400);
  });
});
