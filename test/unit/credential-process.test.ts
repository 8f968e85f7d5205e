import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { AwsClients } from "../../src/aws/types.ts";
import { CredentialsError } from "../../src/errors.ts";
import { MemoryKeyring } from "../../src/keyring/memory.ts";
import type { ProfileConfig } from "../../src/vault/config/profile.ts";
import { credentialProcessProvider, parseCredentialProcessOutput } from "../../src/vault/providers/credential-process.ts";
import type { VaultDeps } from "../../src/vault/providers/provider.ts";
import { ProviderResolver } from "../../src/vault/resolve.ts";
import { fakeRuntime, shQuote } from "../support/fake-runtime.ts";

const NOW = new Date("2024-01-01T00:00:00Z");
const P = "build";

describe("parseCredentialProcessOutput", () => {
  const full = { Version: 1, AccessKeyId: "ASIAPROC", SecretAccessKey: "sk", SessionToken: "st", Expiration: "2024-01-01T01:00:00Z" };

  it("maps temporary credentials", () => {
    const c = parseCredentialProcessOutput(JSON.stringify(full), P, NOW);
    expect(c.accessKeyId).toBe("ASIAPROC");
    expect(c.secretAccessKey.reveal()).toBe("sk");
    expect(c.sessionToken?.reveal()).toBe("st");
    expect(c.expiration?.toISOString()).toBe("2024-01-01T01:00:00.000Z");
  });

  it.each([
    ["long-lived keys (AWS CLI)", { Version: 1, AccessKeyId: "AKIA", SecretAccessKey: "sk" }, { token: false, expires: false }],
    ["no Version (aws-vault ignores it)", { AccessKeyId: "A", SecretAccessKey: "s", SessionToken: "t", Expiration: "2024-01-01T01:00:00Z" }, { token: true, expires: true }],
    ["a token without expiry", { Version: 1, AccessKeyId: "A", SecretAccessKey: "s", SessionToken: "t" }, { token: true, expires: false }],
    ["fractional seconds and an offset", { ...full, Expiration: "2024-01-01T02:00:00.123456+01:00" }, { token: true, expires: true }],
    ["null optional fields", { Version: 1, AccessKeyId: "A", SecretAccessKey: "s", SessionToken: null, Expiration: null }, { token: false, expires: false }],
  ])("accepts %s", (_name, output, want) => {
    const c = parseCredentialProcessOutput(JSON.stringify(output), P, NOW);
    expect(c.sessionToken !== undefined).toBe(want.token);
    expect(c.expiration !== undefined).toBe(want.expires);
  });

  it.each([
    ["SECRET not json", "is not valid JSON"],
    ['["SECRET"]', "is not a JSON object"],
    [JSON.stringify({ ...full, Version: 2 }), "has an unsupported Version (only 1 is supported)"],
    [JSON.stringify({ ...full, Version: "1" }), "has an unsupported Version (only 1 is supported)"],
    [JSON.stringify({ Version: 1, SecretAccessKey: "SECRET" }), "is missing AccessKeyId"],
    [JSON.stringify({ Version: 1 }), "is missing AccessKeyId and SecretAccessKey"],
    [JSON.stringify({ ...full, AccessKeyId: "" }), "is missing AccessKeyId"],
    [JSON.stringify({ ...full, SecretAccessKey: 42 }), "is missing SecretAccessKey"],
    [JSON.stringify({ ...full, SessionToken: 7 }), "has a SessionToken that is not a string"],
    [JSON.stringify({ ...full, Expiration: "tomorrow SECRET" }), "has an Expiration that is not an RFC 3339 timestamp"],
    [JSON.stringify({ ...full, Expiration: 1704070800 }), "has an Expiration that is not an RFC 3339 timestamp"],
    [JSON.stringify({ ...full, Expiration: "2024-01-01T01:00:00" }), "has an Expiration that is not an RFC 3339 timestamp"],
    [JSON.stringify({ ...full, Expiration: "2024-01-01T00:00:00Z" }), "has expired credentials (Expiration is in the past)"],
  ])("rejects %s", (output, rule) => {
    let err: unknown;
    try {
      parseCredentialProcessOutput(output, P, NOW);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CredentialsError);
    expect((err as CredentialsError).message).toBe(`profile build: credential_process output ${rule}`);
    expect((err as CredentialsError).tryNext).toBe(false);
    expect(JSON.stringify({ m: (err as Error).message, h: (err as CredentialsError).hints })).not.toContain("SECRET");
  });
});

function setup() {
  const dir = mkdtempSync(join(tmpdir(), "awsv-cp-"));
  const rt = fakeRuntime({ now: NOW, env: { PATH: "/usr/bin:/bin", FROM_ENV: "env-value" } });
  const keyring = new MemoryKeyring();
  const none = () => Promise.reject(new Error("no AWS call expected"));
  const deps: VaultDeps = {
    rt,
    keyring,
    aws: { sts: none, iam: none, sso: none, ssoOidc: none } as unknown as AwsClients,
    mfaToken: none,
    stsEndpoint: () => undefined,
    minTtlMs: 5 * 60 * 1000,
    lockDir: join(dir, "locks"),
  };
  /** A credential_process printing `output` and counting its runs. */
  const command = (output: unknown) => {
    const out = join(dir, "out.json");
    writeFileSync(out, JSON.stringify(output));
    writeFileSync(join(dir, "runs"), "");
    return {
      cmd: `echo run >> ${shQuote(join(dir, "runs"))}; cat ${shQuote(out)}`,
      runs: () => readFileSync(join(dir, "runs"), "utf8").split("\n").filter(Boolean).length,
    };
  };
  return { rt, keyring, deps, command };
}

const config = (cmd: string): ProfileConfig => ({ profileName: P, credentialProcess: cmd, mfaSerial: "arn:aws:iam::1:mfa/x" });

describe("credentialProcessProvider", () => {
  it("runs the command through the shell with the runtime env, stdin and stderr on the terminal", async () => {
    const { deps, rt } = setup();
    const creds = await credentialProcessProvider(
      deps,
      config(`printf '{"Version":1,"AccessKeyId":"%s","SecretAccessKey":"s"}' "$FROM_ENV"`),
    ).retrieve();
    expect(creds.accessKeyId).toBe("env-value");
    expect(rt.spawnCalls).toHaveLength(1);
    expect(rt.spawnCalls[0]).toMatchObject({ kind: "shellOutput", opts: { stdio: "tty" } });
  });

  it("reports a failing command by exit status, without its output", async () => {
    const { deps, rt } = setup();
    const err = await credentialProcessProvider(deps, config("echo SECRET-OUT; exit 5")).retrieve().catch((e: unknown) => e);
    expect((err as Error).message).toBe("profile build: credential_process failed: exit status 5");
    expect(rt.log.messages.join("\n")).not.toContain("SECRET-OUT");
  });
});

describe("resolution of credential_process profiles", () => {
  it("caches temporary credentials as credential_process with an empty MFA slot", async () => {
    const { deps, keyring, command, rt } = setup();
    const proc = command({ Version: 1, AccessKeyId: "ASIAPROC", SecretAccessKey: "s", SessionToken: "t", Expiration: "2024-01-01T01:00:00Z" });
    for (let i = 0; i < 3; i++) {
      const creds = await (await new ProviderResolver(deps).providerFor(config(proc.cmd))).retrieve();
      expect(creds.accessKeyId).toBe("ASIAPROC");
    }
    expect(proc.runs()).toBe(1);
    expect(await keyring.keys()).toEqual([`credential_process,${Buffer.from(P).toString("base64url")},,1704070800`]);
    expect(rt.log.messages).toContain("profile build: using credential process");
  });

  it("refreshes a cached session within AWS_MIN_TTL of expiry", async () => {
    const { deps, command, rt } = setup();
    const proc = command({ Version: 1, AccessKeyId: "ASIAPROC", SecretAccessKey: "s", SessionToken: "t", Expiration: "2024-01-01T00:10:00Z" });
    await (await new ProviderResolver(deps).providerFor(config(proc.cmd))).retrieve();
    rt.advance(6 * 60 * 1000);
    await (await new ProviderResolver(deps).providerFor(config(proc.cmd))).retrieve();
    expect(proc.runs()).toBe(2);
  });

  it("never stores long-lived keys; the process runs every time", async () => {
    const { deps, keyring, command } = setup();
    const proc = command({ Version: 1, AccessKeyId: "AKIALONGLIVED", SecretAccessKey: "s" });
    for (let i = 0; i < 2; i++) {
      const p = await new ProviderResolver(deps).providerFor(config(proc.cmd));
      expect(p.kind).toBe("credential-process");
      const creds = await p.retrieve();
      expect(creds.accessKeyId).toBe("AKIALONGLIVED");
      expect(creds.expiration).toBeUndefined();
    }
    expect(proc.runs()).toBe(2);
    expect(await keyring.keys()).toEqual([]);
  });

  it("concurrent retrieves of one provider share one run", async () => {
    const { deps, command } = setup();
    const proc = command({ Version: 1, AccessKeyId: "AKIALONGLIVED", SecretAccessKey: "s" });
    const p = await new ProviderResolver(deps).providerFor(config(proc.cmd));
    const all = await Promise.all([p.retrieve(), p.retrieve(), p.retrieve()]);
    expect(all.map((c) => c.accessKeyId)).toEqual(["AKIALONGLIVED", "AKIALONGLIVED", "AKIALONGLIVED"]);
    expect(proc.runs()).toBe(1);
  });

  it("disableCache stores nothing", async () => {
    const { deps, keyring, command } = setup();
    const proc = command({ Version: 1, AccessKeyId: "ASIAPROC", SecretAccessKey: "s", SessionToken: "t", Expiration: "2024-01-01T01:00:00Z" });
    await (await new ProviderResolver(deps, { disableCache: true }).providerFor(config(proc.cmd))).retrieve();
    expect(await keyring.keys()).toEqual([]);
  });
});
