import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import { maskKeyId, redact } from "../../src/util/redact.ts";
import { Secret } from "../../src/util/secret.ts";

describe("redact", () => {
  it("masks key ids, secret keys and token-bearing fragments", () => {
    const secretKey = "wJalrXUtnFEMI/K7MDENG/bPxRfiCY3XAMPLEKEY";
    expect(secretKey).toHaveLength(40);
    const out = redact(
      `key AKIAIOSFODNN7EXAMPLE secret ${secretKey} url https://x/federation?Action=login&SigninToken=abc.def&x=1 Authorization: AWS4-HMAC-SHA256`,
    );
    expect(out).toContain("****************MPLE");
    expect(out).not.toContain(secretKey);
    expect(out).toContain("SigninToken=[redacted]&x=1");
    expect(out).toContain("Authorization: [redacted]");
  });

  it("leaves ordinary long paths alone", () => {
    const path = "/home/someone/projects/infrastructure/terraform/modules";
    expect(redact(`cannot read ${path}`)).toBe(`cannot read ${path}`);
  });

  it("masks short ids without failing", () => {
    expect(maskKeyId("AB")).toBe("****************");
    expect(maskKeyId("AKIAXYZW1234")).toBe("****************1234");
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
