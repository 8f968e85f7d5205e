import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import { renderError } from "../../src/cli/render.ts";
import { UserError } from "../../src/errors.ts";
import { maskKeyId, redact } from "../../src/util/redact.ts";
import { Secret } from "../../src/util/secret.ts";
import { fakeRuntime } from "../support/fake-runtime.ts";

const SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCY3XAMPLEKEY";
// Shaped like an STS session token: long base64 with padding.
const SESSION_TOKEN =
  "FwoGZXIvYXdzEBYaDHhBTEXAMPLE7u2lH8dFzyKGAR8h3jKl0qIm9k3EXAMPLEt0k3n/uN5+BUvE6Wjpq7Rk2ZQ1y3Xo8yT4cE0mP9sL2aB7nQ4vW1xZ6kJ3dF5gH8iR0tU2yV4wX6zA8bC1eD3fG5hJ7kL9mN0pQ2rS4tU6vW8xY0zA2bC4dE6fG8hJ0kL2mN4pQ6rS8tU0vW2xY4zA6bC8dE0==";

describe("redact", () => {
  it("masks key ids, secret keys and token-bearing fragments", () => {
    expect(SECRET_KEY).toHaveLength(40);
    const out = redact(
      `key AKIAIOSFODNN7EXAMPLE secret ${SECRET_KEY} url https://x/federation?Action=login&SigninToken=abc.def&x=1 Authorization: AWS4-HMAC-SHA256`,
    );
    expect(out).toBe(
      "key ****************MPLE secret [redacted] url https://x/federation?Action=login&SigninToken=[redacted]&x=1 Authorization: [redacted]",
    );
  });

  it("masks every key id prefix and keeps the last four characters", () => {
    for (const id of ["AKIAIOSFODNN7EXAMPLE", "ASIAIOSFODNN7EXAMPLE", "AROAIOSFODNN7EXAMPLE", "AIDAIOSFODNN7EXAMPLE"]) {
      expect(redact(`id ${id}.`)).toBe("id ****************MPLE.");
    }
    expect(redact("AKIAIOSFODNN7EXAMPLE")).toBe("****************MPLE");
    // 12 or more characters after the prefix; words that merely start like one are left alone.
    expect(redact("AKIA12345678901")).toBe("AKIA12345678901");
    expect(redact("AKIA123456789012")).toBe("****************9012");
    expect(redact("XAKIAIOSFODNN7EXAMPLE")).toBe("XAKIAIOSFODNN7EXAMPLE");
  });

  it("masks a secret key after = (env and ini assignments) and after :", () => {
    expect(redact(`AWS_SECRET_ACCESS_KEY=${SECRET_KEY}`)).toBe("AWS_SECRET_ACCESS_KEY=[redacted]");
    expect(redact(`export AWS_SECRET_ACCESS_KEY=${SECRET_KEY}\n`)).toBe("export AWS_SECRET_ACCESS_KEY=[redacted]\n");
    expect(redact(`aws_secret_access_key = ${SECRET_KEY}`)).toBe("aws_secret_access_key = [redacted]");
    expect(redact(`x=${SECRET_KEY}`)).toBe("x=[redacted]");
    expect(redact(`"${SECRET_KEY}"`)).toBe('"[redacted]"');
  });

  it("masks named secrets whatever their shape", () => {
    expect(redact("AWS_SECRET_ACCESS_KEY=short")).toBe("AWS_SECRET_ACCESS_KEY=[redacted]");
    expect(redact("AWS_SESSION_TOKEN=abc def")).toBe("AWS_SESSION_TOKEN=[redacted] def");
    expect(redact("aws_session_token: 'abc'")).toBe("aws_session_token: '[redacted]'");
    expect(redact("AWS_SECURITY_TOKEN=abc;x")).toBe("AWS_SECURITY_TOKEN=[redacted];x");
    expect(redact('{"SecretAccessKey": "abc", "SessionToken":"def", "AccessKeyId": "id"}')).toBe(
      '{"SecretAccessKey": "[redacted]", "SessionToken":"[redacted]", "AccessKeyId": "id"}',
    );
    expect(redact('{"Token" : "abc"}')).toBe('{"Token" : "[redacted]"}');
    expect(redact("secretAccessKey: \"abc\"")).toBe('secretAccessKey: "[redacted]"');
    // Without the aws_ prefix, and a header without a space after the colon.
    expect(redact("session_token=abc secret_access_key: def")).toBe("session_token=[redacted] secret_access_key: [redacted]");
    expect(redact("Authorization:AWS4-HMAC-SHA256 x")).toBe("Authorization:[redacted] x");
  });

  it("masks session tokens", () => {
    expect(SESSION_TOKEN.length).toBeGreaterThan(100);
    expect(redact(`token ${SESSION_TOKEN} end`)).toBe("token [redacted] end");
    expect(redact(`AWS_SESSION_TOKEN=${SESSION_TOKEN}`)).toBe("AWS_SESSION_TOKEN=[redacted]");
    expect(redact(`X-Amz-Security-Token=${encodeURIComponent(SESSION_TOKEN)}&a=b`)).toBe("X-Amz-Security-Token=[redacted]&a=b");
    // No padding, exactly 100 characters.
    const hundred = SESSION_TOKEN.slice(0, 100);
    expect(redact(`(${hundred})`)).toBe("([redacted])");
  });

  it("leaves ordinary text alone", () => {
    const path = "/home/someone/projects/infrastructure/terraform/modules";
    expect(redact(`cannot read ${path}`)).toBe(`cannot read ${path}`);
    // Long runs without upper case, lower case or digits are not secrets.
    for (const s of ["a".repeat(120), "A".repeat(120), "1".repeat(120), "aB".repeat(60), "a1".repeat(60), "A1".repeat(60)]) {
      expect(redact(`x ${s} y`)).toBe(`x ${s} y`);
    }
    // Exactly 40 characters with upper, lower and digits is a key; 39 is not.
    expect(redact(`${"aB1".repeat(13)}a`)).toBe("[redacted]");
    expect(redact("aB1".repeat(13))).toBe("aB1".repeat(13));
    // 41 and 39 characters are not a secret key (and far from a token).
    expect(redact(`${SECRET_KEY}A`)).toBe(`${SECRET_KEY}A`);
    expect(redact(SECRET_KEY.slice(1))).toBe(SECRET_KEY.slice(1));
    // A 40-character run inside a longer base64 run, or followed by =, is not masked as a key.
    expect(redact(`${SECRET_KEY}=`)).toBe(`${SECRET_KEY}=`);
    expect(redact(`+${SECRET_KEY}`)).toBe(`+${SECRET_KEY}`);
    expect(redact("Authorization header missing")).toBe("Authorization header missing");
  });

  it("masks every occurrence", () => {
    expect(redact(`${SECRET_KEY} ${SECRET_KEY} AKIAIOSFODNN7EXAMPLE AKIAIOSFODNN7EXAMPLF`)).toBe(
      "[redacted] [redacted] ****************MPLE ****************MPLF",
    );
    expect(redact("SigninToken=a&SigninToken=b")).toBe("SigninToken=[redacted]&SigninToken=[redacted]");
    expect(redact("signintoken=a x-amz-security-token=b")).toBe("signintoken=[redacted] x-amz-security-token=[redacted]");
  });

  it("masks short ids without failing", () => {
    expect(maskKeyId("AB")).toBe("****************");
    expect(maskKeyId("ABCD")).toBe("****************ABCD");
    expect(maskKeyId("AKIAXYZW1234")).toBe("****************1234");
  });
});

describe("error rendering runs redact()", () => {
  it("masks secrets in the message, hints and (under --debug) causes", () => {
    const rt = fakeRuntime({ debug: true });
    const cause = new Error(`upstream said AWS_SECRET_ACCESS_KEY=${SECRET_KEY} token ${SESSION_TOKEN}`);
    const code = renderError(rt, new UserError(`bad AWS_SECRET_ACCESS_KEY=${SECRET_KEY}`, { hints: [`use ${SESSION_TOKEN}`], cause }));
    expect(code).toBe(1);
    const out = rt.stderr.text;
    expect(out).toContain("aws-vault: error: bad AWS_SECRET_ACCESS_KEY=[redacted]\n");
    expect(out).toContain("aws-vault: hint: use [redacted]\n");
    expect(out).toContain("caused by: Error: upstream said AWS_SECRET_ACCESS_KEY=[redacted] token [redacted]");
    expect(out).not.toContain(SECRET_KEY);
    expect(out).not.toContain(SESSION_TOKEN.slice(0, 40));
  });

  it("masks secrets in an internal error", () => {
    const rt = fakeRuntime({ debug: false });
    expect(renderError(rt, new TypeError(`x ${SECRET_KEY}`))).toBe(70);
    expect(rt.stderr.text).toBe(
      "aws-vault: error: bug: x [redacted]\naws-vault: hint: this is a bug; please report it with the output of --debug\n",
    );
  });
});

describe("Secret", () => {
  it("prints as [redacted] everywhere except reveal()", () => {
    const s = new Secret("hunter2");
    expect(String(s)).toBe("[redacted]");
    expect(`${s}`).toBe("[redacted]");
    expect(JSON.stringify({ s })).toBe('{"s":"[redacted]"}');
    expect(inspect({ s })).toBe("{ s: [redacted] }");
    expect(s.reveal()).toBe("hunter2");
  });
});
