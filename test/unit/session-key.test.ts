import { describe, expect, it } from "vitest";
import {
  formatOidcKey,
  formatSessionKey,
  isCredentialKey,
  isLegacySessionKey,
  isSessionKey,
  parseOidcKey,
  parseSessionKey,
  sessionKeyPrefix,
} from "../../src/vault/session-key.ts";

describe("session keys", () => {
  it("formats the aws-vault v7 example byte for byte", () => {
    expect(
      formatSessionKey({
        type: "sts.GetSessionToken",
        profileName: "jonsmith",
        mfaSerial: "arn:aws:iam::111111111111:mfa/jonsmith",
        expiration: new Date(1700000000 * 1000),
      }),
    ).toBe("sts.GetSessionToken,am9uc21pdGg,YXJuOmF3czppYW06OjExMTExMTExMTExMTptZmEvam9uc21pdGg,1700000000");
  });

  it.each([
    ["sts.AssumeRole", "prod/admin", "", 1],
    ["sso.GetRoleCredentials", "ünïcode,with comma", "https://x.awsapps.com/start#/", 1800000000],
    ["credential_process", "a", "", 42],
  ] as const)("round-trips %s for %s", (type, profileName, mfaSerial, exp) => {
    const key = formatSessionKey({ type, profileName, mfaSerial, expiration: new Date(exp * 1000) });
    expect(key.startsWith(sessionKeyPrefix(type, profileName, mfaSerial))).toBe(true);
    expect(parseSessionKey(key)).toEqual({ type, profileName, mfaSerial, expiration: new Date(exp * 1000) });
    expect(isSessionKey(key)).toBe(true);
    expect(isCredentialKey(key)).toBe(false);
  });

  it("classifies aws-vault's TestIsSessionKey cases", () => {
    expect(isSessionKey("blah")).toBe(false);
    expect(isSessionKey("blah session (61633665646639303539)")).toBe(true);
    expect(isSessionKey("blah-iam session (61633665646639303539)")).toBe(true);
    expect(isSessionKey("session,c2Vzc2lvbg,,1572281751")).toBe(true);
    expect(isSessionKey("session,c2Vzc2lvbg,YXJuOmF3czppYW06OjEyMzQ1Njc4OTAxMjptZmEvam9uc21pdGg,1572281751")).toBe(true);
    expect(isLegacySessionKey("session:prod:arn:aws:iam::1:mfa/x:1572281751")).toBe(true);
    expect(parseSessionKey("session,c2Vzc2lvbg,,1572281751")).toBeUndefined();
  });

  it("treats profile names as credentials unless they are session or oidc keys", () => {
    for (const name of ["default", "prod/admin", "with space", "a,b"]) expect(isCredentialKey(name)).toBe(true);
    const oidc = formatOidcKey("https://x.awsapps.com/start");
    expect(isCredentialKey(oidc)).toBe(false);
    expect(parseOidcKey(oidc)).toBe("https://x.awsapps.com/start");
  });
});
