import { describe, expect, it } from "vitest";
import { didYouMean, editDistance } from "../../src/vault/doctor.ts";

describe("doctor's did-you-mean", () => {
  it("suggests the nearest known key within a small distance, nothing for unrelated words", () => {
    expect(editDistance("regoin", "region")).toBe(2);
    expect(didYouMean("regoin", ["region", "role_arn", "mfa_serial"])).toBe("region");
    expect(didYouMean("mfa_serail", ["region", "role_arn", "mfa_serial"])).toBe("mfa_serial");
    expect(didYouMean("colour_scheme", ["region", "role_arn", "mfa_serial"])).toBeUndefined();
  });
});
