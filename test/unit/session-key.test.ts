import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  formatOidcKey,
  formatSessionKey,
  isCredentialKey,
  isLegacySessionKey,
  isOldSessionKey,
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

  it("is a session key only when every field decodes as aws-vault's parser requires", () => {
    // Go's RawURLEncoding: "b" (one odd character), padding and "!" do not decode; CR/LF are skipped.
    for (const key of [
      "a,b,,1",
      "a,YQ==,,1",
      "a,YQ,b,1",
      "a,Y!,,1",
      "a,YQ,,9223372036854775808",
      "a,YQ,,99999999999999999999",
    ]) {
      expect(parseSessionKey(key), key).toBeUndefined();
      expect(isSessionKey(key), key).toBe(false);
      expect(isCredentialKey(key), key).toBe(true);
    }
    expect(parseSessionKey("a,YQ,,9223372036854775807")).toEqual({ type: "a", profileName: "a", mfaSerial: "", expiration: new Date(8.64e15) });
    expect(parseSessionKey("a,Y\nQ,,1")).toEqual({ type: "a", profileName: "a", mfaSerial: "", expiration: new Date(1000) });
    expect(parseSessionKey("a,YWI,YWJj,0001")).toEqual({ type: "a", profileName: "ab", mfaSerial: "abc", expiration: new Date(1000) });
  });

  it("clamps an expiry past what a Date holds to the latest Date", () => {
    expect(parseSessionKey("t,YQ,,8640000000000")?.expiration).toEqual(new Date(8.64e15));
    expect(parseSessionKey("t,YQ,,8640000000001")?.expiration).toEqual(new Date(8.64e15));
    expect(parseSessionKey("t,YQ,,8639999999999")?.expiration).toEqual(new Date(8639999999999000));
    expect(parseSessionKey("t,YQ,,9999999999999")?.expiration.getTime()).toBe(8.64e15);
  });

  it("treats profile names as credentials unless they are session or oidc keys", () => {
    for (const name of ["default", "prod/admin", "with space", "a,b"]) expect(isCredentialKey(name)).toBe(true);
    const oidc = formatOidcKey("https://x.awsapps.com/start");
    expect(isCredentialKey(oidc)).toBe(false);
    expect(parseOidcKey(oidc)).toBe("https://x.awsapps.com/start");
  });
});

describe("isOldSessionKey", () => {
  const now = Date.UTC(2026, 0, 1);
  const original = (key: string): boolean => {
    const s = parseSessionKey(key);
    return isLegacySessionKey(key) || (s !== undefined && s.expiration.getTime() <= now);
  };
  it("gives removeOldSessions' answer without decoding names", () => {
    const keys = [
      "alice", "a:b", "a,b", "x session (1)", "session,YQ,,99", "session:a::1",
      formatSessionKey({ type: "sts.GetSessionToken", profileName: "a", mfaSerial: "", expiration: new Date(now - 1000) }),
      formatSessionKey({ type: "sts.GetSessionToken", profileName: "a", mfaSerial: "m", expiration: new Date(now) }),
      formatSessionKey({ type: "sts.AssumeRole", profileName: "é/x", mfaSerial: "arn:aws:iam::1:mfa/u", expiration: new Date(now + 1000) }),
      "sts.GetSessionToken,a+b,,1", "t,YQ,bad!,1", "t,YQ,,99999999999999999999", "oidc:https://x",
    ];
    for (const key of keys) expect(isOldSessionKey(key, now), key).toBe(original(key));
    fc.assert(
      fc.property(fc.array(fc.constantFrom("a", ",", ":", " session (", ")", "1", "9", "YQ", "-", "_", "!", "session"), { maxLength: 12 }), (parts) => {
        const key = parts.join("");
        expect(isOldSessionKey(key, now)).toBe(original(key));
      }),
      { numRuns: 500 },
    );
  });
});
