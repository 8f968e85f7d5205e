import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { AwsClients, ClientOptions, StsApi } from "../../src/aws/types.ts";
import { CredentialsError, UserError } from "../../src/errors.ts";
import { MemoryKeyring } from "../../src/keyring/memory.ts";
import { Secret } from "../../src/util/secret.ts";
import type { ProfileConfig } from "../../src/vault/config/profile.ts";
import type { VaultDeps } from "../../src/vault/providers/provider.ts";
import { readWebIdentityToken, webIdentityProvider } from "../../src/vault/providers/web-identity.ts";
import { ProviderResolver } from "../../src/vault/resolve.ts";
import { FakeBinDir, fakeRuntime, type FakeRuntime, shQuote } from "../support/fake-runtime.ts";

const ROLE = "arn:aws:iam::444444444444:role/WebRole";
const NOW = new Date("2024-01-01T00:00:00Z");

interface WebCall {
  opts: ClientOptions;
  params: Parameters<StsApi["assumeRoleWithWebIdentity"]>[0];
}

let bin: FakeBinDir;
let dir: string;
beforeEach(() => {
  bin = new FakeBinDir();
  dir = mkdtempSync(join(tmpdir(), "awsv-wi-"));
});
afterEach(() => bin.cleanup());

function setup(fail?: Error) {
  const rt: FakeRuntime = fakeRuntime({ now: NOW, env: { PATH: bin.PATH, TOKEN_VALUE: "from-env" }, homedir: dir, cwd: dir });
  const calls: WebCall[] = [];
  const unexpected = () => Promise.reject(new Error("unexpected call"));
  const aws: AwsClients = {
    sts: async (opts) => ({
      assumeRoleWithWebIdentity: async (params) => {
        calls.push({ opts, params });
        if (fail) throw fail;
        return { accessKeyId: "ASIAWEB0000000000001", secretAccessKey: new Secret("s"), sessionToken: new Secret("t"), expiration: new Date(NOW.getTime() + 3600_000) };
      },
      getSessionToken: unexpected,
      assumeRole: unexpected,
      getCallerIdentity: unexpected,
      getFederationToken: unexpected,
    }),
    iam: unexpected,
    sso: unexpected,
    ssoOidc: unexpected,
  };
  const keyring = new MemoryKeyring();
  const deps: VaultDeps = {
    rt,
    keyring,
    aws,
    mfaToken: () => Promise.reject(new Error("no MFA")),
    stsEndpoint: () => "http://sts.test",
    minTtlMs: 5 * 60 * 1000,
    lockDir: join(dir, "locks"),
  };
  return { rt, deps, calls, keyring };
}

const profile = (c: Partial<ProfileConfig>): ProfileConfig => ({ profileName: "ci", roleArn: ROLE, region: "eu-west-1", ...c });

describe("readWebIdentityToken", () => {
  it("reads the file and trims the trailing newline (aws-vault sends it untrimmed)", async () => {
    const { deps } = setup();
    writeFileSync(join(dir, "token"), "eyJ.header.sig\r\n\n");
    expect((await readWebIdentityToken(deps, profile({ webIdentityTokenFile: join(dir, "token") }))).reveal()).toBe("eyJ.header.sig");
    // ~ and relative paths
    expect((await readWebIdentityToken(deps, profile({ webIdentityTokenFile: "~/token" }))).reveal()).toBe("eyJ.header.sig");
    expect((await readWebIdentityToken(deps, profile({ webIdentityTokenFile: "token" }))).reveal()).toBe("eyJ.header.sig");
  });

  it("runs the process through the shell with the runtime env; the file wins when both are set", async () => {
    const { deps, rt } = setup();
    expect((await readWebIdentityToken(deps, profile({ webIdentityTokenProcess: 'printf "%s\\n" "$TOKEN_VALUE"' }))).reveal()).toBe("from-env");
    expect(rt.spawnCalls[0]).toMatchObject({ kind: "shellOutput", opts: { stdio: "tty" } });
    writeFileSync(join(dir, "token"), "file-token");
    const marker = join(dir, "ran");
    const both = profile({ webIdentityTokenFile: join(dir, "token"), webIdentityTokenProcess: `touch ${shQuote(marker)}` });
    expect((await readWebIdentityToken(deps, both)).reveal()).toBe("file-token");
    expect(rt.spawnCalls).toHaveLength(1);
  });

  it.each([
    [{ webIdentityTokenFile: "/nonexistent/token" }, "profile ci: cannot read web_identity_token_file /nonexistent/token: ENOENT"],
    [{ webIdentityTokenProcess: "echo secret-token-text; exit 2" }, "profile ci: web_identity_token_process failed: exit status 2"],
    [{ webIdentityTokenProcess: "printf '\\n  \\n'" }, "profile ci: web_identity_token_process gave an empty token"],
  ])("fails clearly: %o", async (c, message) => {
    const { deps } = setup();
    const err = await readWebIdentityToken(deps, profile(c)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CredentialsError);
    expect((err as Error).message).toBe(message);
  });
});

describe("webIdentityProvider", () => {
  it("calls AssumeRoleWithWebIdentity unsigned with the role, session name and duration", async () => {
    const { deps, calls } = setup();
    writeFileSync(join(dir, "token"), "tok\n");
    const creds = await webIdentityProvider(deps, profile({ webIdentityTokenFile: join(dir, "token"), roleSessionName: "job-1" }), { durationMs: 7200_000 }).retrieve();
    expect(creds.accessKeyId).toBe("ASIAWEB0000000000001");
    expect(calls).toHaveLength(1);
    expect(calls[0]!.opts).toEqual({ region: "eu-west-1", endpoint: "http://sts.test" });
    expect(calls[0]!.params).toMatchObject({ roleArn: ROLE, roleSessionName: "job-1", durationSeconds: 7200 });
    expect(calls[0]!.params.webIdentityToken.reveal()).toBe("tok");
  });

  it("defaults the session name to the time in nanoseconds, like aws-vault", async () => {
    const { deps, calls } = setup();
    await webIdentityProvider(deps, profile({ webIdentityTokenProcess: "echo t" })).retrieve();
    expect(calls[0]!.params.roleSessionName).toMatch(new RegExp(`^${NOW.getTime()}\\d{6}$`));
    expect(calls[0]!.params.durationSeconds).toBe(3600);
  });

  it("needs role_arn", () => {
    const { deps } = setup();
    expect(() => webIdentityProvider(deps, profile({ roleArn: undefined, webIdentityTokenProcess: "echo t" }))).toThrow(
      "profile ci: web identity needs role_arn",
    );
  });

  it("names the profile and the call when STS refuses", async () => {
    const { deps } = setup(Object.assign(new Error("Token expired: current date/time must be before the expiration date/time."), { name: "ExpiredTokenException" }));
    const err = await webIdentityProvider(deps, profile({ webIdentityTokenProcess: "echo t" })).retrieve().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toBe(
      `profile ci: AssumeRoleWithWebIdentity ${ROLE} failed: ExpiredTokenException: Token expired: current date/time must be before the expiration date/time.`,
    );
  });
});

describe("resolution of web identity profiles", () => {
  it("caches as sts.AssumeRoleWithWebIdentity with an empty MFA slot; the token is read once per session", async () => {
    const { deps, calls, keyring, rt } = setup();
    const counter = join(dir, "count");
    const c = profile({ webIdentityTokenProcess: `echo x >> ${shQuote(counter)}; echo t`, mfaSerial: "arn:aws:iam::1:mfa/ignored" });
    for (let i = 0; i < 2; i++) await (await new ProviderResolver(deps).providerFor(c)).retrieve();
    expect(calls).toHaveLength(1);
    const keys = await keyring.keys();
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatch(new RegExp(`^sts\\.AssumeRoleWithWebIdentity,${Buffer.from("ci").toString("base64url")},,\\d+$`));
    expect(rt.log.messages).toContain("profile ci: using web identity");
  });
});
