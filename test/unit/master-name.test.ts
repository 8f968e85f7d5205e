import { describe, expect, it } from "vitest";
import { noStoredCredentialsHint } from "../../src/vault/master-name.ts";

describe("noStoredCredentialsHint", () => {
  it("reads as English for one, two and more profiles", () => {
    expect(noStoredCredentialsHint(["a"])).toBe("'a' has no stored credentials: store them with `aws-vault add a`; `aws-vault list` shows what is stored");
    expect(noStoredCredentialsHint(["a", "b"])).toMatch(/^neither 'a' nor 'b' has stored credentials: store them with `aws-vault add b`;/);
    expect(noStoredCredentialsHint(["a", "b", "c"])).toMatch(/^none of 'a', 'b' or 'c' has stored credentials: store them with `aws-vault add c`;/);
  });
});
