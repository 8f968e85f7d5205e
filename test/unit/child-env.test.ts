// The environment exec gives its child (vault/child-env.ts), for every mode.
import { describe, expect, it } from "vitest";
import { isSecretEnvVar, withoutSecretVars } from "../../src/runtime/secret-env.ts";
import { Secret } from "../../src/util/secret.ts";
import { childEnvironment, describeCredentialVars, type ChildCredentialMode } from "../../src/vault/child-env.ts";
import type { Credentials } from "../../src/vault/credentials.ts";

const creds: Credentials = {
  accessKeyId: "ASIAEXAMPLEKEYID0000",
  secretAccessKey: new Secret("secret-key"),
  sessionToken: new Secret("session-token"),
  expiration: new Date("2026-11-22T10:00:00Z"),
};

const INHERITED = {
  PATH: "/usr/bin",
  HOME: "/home/u",
  UNDEFINED_ONE: undefined,
  AWS_ACCESS_KEY_ID: "old-id",
  AWS_SECRET_ACCESS_KEY: "old-secret",
  AWS_SESSION_TOKEN: "old-token",
  AWS_SECURITY_TOKEN: "old-security-token",
  AWS_CREDENTIAL_FILE: "/x/creds",
  AWS_DEFAULT_PROFILE: "p1",
  AWS_PROFILE: "p2",
  AWS_SDK_LOAD_CONFIG: "1",
  AWS_CREDENTIAL_EXPIRATION: "2020-01-01T00:00:00Z",
  AWS_CONTAINER_CREDENTIALS_FULL_URI: "http://169.254.170.2/x",
  AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: "/v2/credentials",
  AWS_CONTAINER_AUTHORIZATION_TOKEN: "old-auth",
  AWS_EC2_METADATA_DISABLED: "true",
  AWS_VAULT_FILE_PASSPHRASE: "pass",
  AWS_VAULT_FILE_PASSPHRASE_CMD: "pass-cmd",
  aws_vault_file_passphrase: "lower-case (Windows names are case-insensitive)",
  AWS_VAULT_BACKEND: "file",
  AWS_REGION: "inherited-region",
};

const ALWAYS_REMOVED = [
  "AWS_SECRET_ACCESS_KEY",
  "AWS_SECURITY_TOKEN",
  "AWS_CREDENTIAL_FILE",
  "AWS_DEFAULT_PROFILE",
  "AWS_PROFILE",
  "AWS_SDK_LOAD_CONFIG",
  "AWS_CREDENTIAL_EXPIRATION",
];

const ecs: ChildCredentialMode = { kind: "ecs", url: "http://127.0.0.1:5000/creds", token: "tok" };
const ec2: ChildCredentialMode = { kind: "ec2", url: "http://127.0.0.1:5001" };

describe("childEnvironment", () => {
  it("environment mode: exactly the inherited variables that are safe, plus the credentials", () => {
    expect(childEnvironment(INHERITED, "work", "eu-west-1", { kind: "env", credentials: creds })).toEqual({
      PATH: "/usr/bin",
      HOME: "/home/u",
      AWS_VAULT_BACKEND: "file",
      AWS_VAULT: "work",
      AWS_ACCESS_KEY_ID: "ASIAEXAMPLEKEYID0000",
      AWS_SECRET_ACCESS_KEY: "secret-key",
      AWS_SESSION_TOKEN: "session-token",
      AWS_CREDENTIAL_EXPIRATION: "2026-11-22T10:00:00Z",
      AWS_REGION: "eu-west-1",
      AWS_DEFAULT_REGION: "eu-west-1",
      AWS_EC2_METADATA_DISABLED: "true",
    });
  });

  it("environment mode without a session token or region drops the inherited ones", () => {
    const master: Credentials = { accessKeyId: "AKIAEXAMPLEKEYID0000", secretAccessKey: new Secret("s") };
    const env = childEnvironment(INHERITED, "p", undefined, { kind: "env", credentials: master });
    expect(env.AWS_SESSION_TOKEN).toBeUndefined();
    expect(env.AWS_CREDENTIAL_EXPIRATION).toBeUndefined();
    expect(env.AWS_REGION).toBe("inherited-region");
    expect(env.AWS_DEFAULT_REGION).toBeUndefined();
  });

  it("ECS mode: the server URL and token, no keys, the region when known", () => {
    expect(childEnvironment(INHERITED, "work", "eu-west-1", ecs)).toEqual({
      PATH: "/usr/bin",
      HOME: "/home/u",
      AWS_VAULT_BACKEND: "file",
      AWS_VAULT: "work",
      AWS_REGION: "eu-west-1",
      AWS_DEFAULT_REGION: "eu-west-1",
      AWS_CONTAINER_CREDENTIALS_FULL_URI: "http://127.0.0.1:5000/creds",
      AWS_CONTAINER_AUTHORIZATION_TOKEN: "tok",
      AWS_EC2_METADATA_DISABLED: "true",
    });
    const noRegion = childEnvironment(INHERITED, "work", undefined, ecs);
    expect(noRegion.AWS_REGION).toBe("inherited-region");
    expect(noRegion.AWS_DEFAULT_REGION).toBeUndefined();
  });

  it("EC2 mode: the metadata endpoint, no container variables, IMDS enabled", () => {
    expect(childEnvironment(INHERITED, "work", "eu-west-1", ec2)).toEqual({
      PATH: "/usr/bin",
      HOME: "/home/u",
      AWS_VAULT_BACKEND: "file",
      AWS_VAULT: "work",
      AWS_REGION: "eu-west-1",
      AWS_DEFAULT_REGION: "eu-west-1",
      AWS_EC2_METADATA_SERVICE_ENDPOINT: "http://127.0.0.1:5001",
    });
    expect(childEnvironment(INHERITED, "work", undefined, ec2).AWS_DEFAULT_REGION).toBeUndefined();
  });

  it.each([
    ["env", { kind: "env", credentials: creds } as ChildCredentialMode],
    ["ecs", ecs],
    ["ec2", ec2],
  ])("%s mode removes every shadowing variable and every passphrase variable", (_name, mode) => {
    const env = childEnvironment(INHERITED, "p", "r", mode);
    // Environment mode sets the key and expiration anew; the old values are gone (checked below).
    const replaced = mode.kind === "env" ? ["AWS_SECRET_ACCESS_KEY", "AWS_CREDENTIAL_EXPIRATION"] : [];
    for (const k of ALWAYS_REMOVED) if (!replaced.includes(k)) expect(env[k], k).toBeUndefined();
    for (const k of Object.keys(env)) expect(isSecretEnvVar(k), k).toBe(false);
    expect(Object.values(env)).not.toContain("pass");
    expect(Object.values(env)).not.toContain("old-secret");
    expect(Object.values(env)).not.toContain("old-token");
    expect(Object.values(env)).not.toContain("2020-01-01T00:00:00Z");
    expect("UNDEFINED_ONE" in env).toBe(false);
  });

  it("does not change the parent environment", () => {
    const parent = { ...INHERITED };
    childEnvironment(parent, "p", "r", ecs);
    expect(parent).toEqual(INHERITED);
  });
});

describe("describeCredentialVars (names only, for --debug)", () => {
  it("names the variables of each mode", () => {
    expect(describeCredentialVars({ kind: "env", credentials: creds })).toBe(
      "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_CREDENTIAL_EXPIRATION",
    );
    expect(describeCredentialVars(ecs)).toBe("AWS_CONTAINER_CREDENTIALS_FULL_URI, AWS_CONTAINER_AUTHORIZATION_TOKEN");
    expect(describeCredentialVars(ec2)).toBe("AWS_EC2_METADATA_SERVICE_ENDPOINT");
  });
});

describe("withoutSecretVars", () => {
  it("drops every AWS_VAULT_FILE_PASSPHRASE* name, in any case, and undefined values", () => {
    expect(
      withoutSecretVars({
        AWS_VAULT_FILE_PASSPHRASE: "a",
        AWS_VAULT_FILE_PASSPHRASE_CMD: "b",
        Aws_Vault_File_Passphrase: "c",
        AWS_VAULT_FILE_DIR: "/keys",
        X_AWS_VAULT_FILE_PASSPHRASE: "not ours",
        GONE: undefined,
      }),
    ).toEqual({ AWS_VAULT_FILE_DIR: "/keys", X_AWS_VAULT_FILE_PASSPHRASE: "not ours" });
  });
});
