// Which credentials login hands to the federation endpoint (aws-vault canProviderBeUsedForLogin +
// FederationTokenProvider), with in-memory STS/IAM ports that record every call.
import { describe, expect, it } from "vitest";
import type { AwsClients, ClientOptions, IamApi, StsApi } from "../../src/aws/types.ts";
import { Secret } from "../../src/util/secret.ts";
import type { ProfileConfig } from "../../src/vault/config/profile.ts";
import type { Credentials } from "../../src/vault/credentials.ts";
import {
  ALLOW_ALL_IAM_POLICY,
  arnResource,
  canProviderBeUsedForLogin,
  consoleCredentials,
  type FederationDeps,
  staticProvider,
  userNameFromArn,
} from "../../src/vault/providers/federation-token.ts";
import type { CredentialsProvider, ProviderKind } from "../../src/vault/providers/provider.ts";
import { consoleSessionDuration } from "../../src/cli/login.ts";
import { fakeRuntime } from "../support/fake-runtime.ts";

const USER_KEYS: Credentials = { accessKeyId: "AKIAUSERUSERUSER0001", secretAccessKey: new Secret("user-secret") };
const FEDERATED: Credentials = {
  accessKeyId: "ASIAFEDERATEDFED0001",
  secretAccessKey: new Secret("fed-secret"),
  sessionToken: new Secret("fed-token"),
  expiration: new Date("2024-01-01T01:00:00Z"),
};
const ROLE: Credentials = {
  accessKeyId: "ASIAROLEROLEROLE0001",
  secretAccessKey: new Secret("role-secret"),
  sessionToken: new Secret("role-token"),
  expiration: new Date("2024-01-01T01:00:00Z"),
};

interface Call {
  service: "sts" | "iam";
  op: string;
  keyId?: string;
  endpoint?: string;
  params?: unknown;
}

function fakeAws(opts: { arn: string; getUser?: () => Promise<{ userName: string; arn: string }> }): { aws: AwsClients; calls: Call[] } {
  const calls: Call[] = [];
  const unexpected = () => Promise.reject(new Error("unexpected call"));
  const aws: AwsClients = {
    async sts(o: ClientOptions): Promise<StsApi> {
      const rec = (op: string, params?: unknown) =>
        calls.push({ service: "sts", op, keyId: o.credentials?.accessKeyId, endpoint: o.endpoint, ...(params ? { params } : {}) });
      return {
        getSessionToken: unexpected,
        assumeRole: unexpected,
        assumeRoleWithWebIdentity: unexpected,
        async getCallerIdentity() {
          rec("GetCallerIdentity");
          return { arn: opts.arn, account: "123456789012", userId: "AIDA" };
        },
        async getFederationToken(p) {
          rec("GetFederationToken", p);
          return FEDERATED;
        },
      };
    },
    async iam(o: ClientOptions): Promise<IamApi> {
      return {
        async getUser() {
          calls.push({ service: "iam", op: "GetUser", keyId: o.credentials?.accessKeyId, endpoint: o.endpoint });
          return opts.getUser ? opts.getUser() : { userName: userNameFromArn(opts.arn) ?? "", arn: opts.arn };
        },
        createAccessKey: unexpected,
        deleteAccessKey: unexpected,
        listAccessKeys: unexpected,
      };
    },
    sso: unexpected,
    ssoOidc: unexpected,
  };
  return { aws, calls };
}

function deps(aws: AwsClients): FederationDeps {
  return { rt: fakeRuntime(), aws, stsEndpoint: () => "http://sts.local" };
}

const CONFIG: ProfileConfig = { profileName: "alice", region: "eu-west-1", getFederationTokenDuration: 3_600_000 };

function providerOf(kind: ProviderKind, creds: Credentials, wrapped = false): CredentialsProvider {
  const inner: CredentialsProvider = { kind, retrieve: async () => creds };
  return wrapped ? { kind: inner.kind, inner, retrieve: inner.retrieve } : inner;
}

describe("canProviderBeUsedForLogin", () => {
  it.each([
    ["assume-role", true],
    ["sso", true],
    ["web-identity", true],
    ["master", false],
    ["session-token", false],
    ["credential-process", false],
    ["static", false],
  ] as Array<[ProviderKind, boolean]>)("%s → %s (also behind the session cache)", (kind, ok) => {
    expect(canProviderBeUsedForLogin(providerOf(kind, ROLE))).toBe(ok);
    expect(canProviderBeUsedForLogin(providerOf(kind, ROLE, true))).toBe(ok);
  });
});

describe("consoleCredentials", () => {
  it("uses a role session as it is, without any AWS call", async () => {
    const { aws, calls } = fakeAws({ arn: "unused" });
    const out = await consoleCredentials(deps(aws), CONFIG, providerOf("assume-role", ROLE, true));
    expect(out).toEqual({ credentials: ROLE, source: "role-session" });
    expect(calls).toEqual([]);
  });

  it("trades long-lived keys for a federation token named after the IAM user", async () => {
    const { aws, calls } = fakeAws({ arn: "arn:aws:iam::123456789012:user/team/alice" });
    let retrieved = 0;
    const master: CredentialsProvider = { kind: "master", retrieve: async () => (retrieved++, USER_KEYS) };
    const out = await consoleCredentials(deps(aws), CONFIG, master, { iamEndpoint: "http://iam.local" });
    expect(out).toEqual({ credentials: FEDERATED, source: "federation-token" });
    expect(retrieved).toBe(1);
    expect(calls).toEqual([
      { service: "sts", op: "GetCallerIdentity", keyId: USER_KEYS.accessKeyId, endpoint: "http://sts.local" },
      { service: "iam", op: "GetUser", keyId: USER_KEYS.accessKeyId, endpoint: "http://iam.local" },
      {
        service: "sts",
        op: "GetFederationToken",
        keyId: USER_KEYS.accessKeyId,
        endpoint: "http://sts.local",
        params: { name: "alice", durationSeconds: 3600, policy: ALLOW_ALL_IAM_POLICY },
      },
    ]);
  });

  it("sends --duration as DurationSeconds and truncates the name to 32 characters", async () => {
    const long = "a-very-long-iam-user-name-that-exceeds-32";
    const { aws, calls } = fakeAws({ arn: `arn:aws:iam::123456789012:user/${long}` });
    await consoleCredentials(deps(aws), CONFIG, staticProvider(USER_KEYS), { durationMs: 7_200_000 });
    expect(calls.at(-1)?.params).toEqual({ name: long.slice(0, 32), durationSeconds: 7200, policy: ALLOW_ALL_IAM_POLICY });
  });

  it("keeps credentials whose caller is an assumed role (e.g. from credential_process)", async () => {
    const { aws, calls } = fakeAws({ arn: "arn:aws:sts::123456789012:assumed-role/Admin/session" });
    const out = await consoleCredentials(deps(aws), CONFIG, providerOf("credential-process", ROLE));
    expect(out).toEqual({ credentials: ROLE, source: "role-session" });
    expect(calls.map((c) => c.op)).toEqual(["GetCallerIdentity"]);
  });

  it("takes the user name from GetUser's AccessDenied message, then from the caller ARN", async () => {
    const denied = Object.assign(
      new Error("User: arn:aws:iam::123456789012:user/ops/bob is not authorized to perform: iam:GetUser on resource: user bob"),
      { name: "AccessDenied" },
    );
    const a = fakeAws({ arn: "arn:aws:iam::123456789012:user/ops/bob", getUser: () => Promise.reject(denied) });
    await consoleCredentials(deps(a.aws), CONFIG, staticProvider(USER_KEYS));
    expect((a.calls.at(-1)?.params as { name: string }).name).toBe("bob");

    const b = fakeAws({ arn: "arn:aws:iam::123456789012:user/carol", getUser: () => Promise.reject(new Error("boom")) });
    await consoleCredentials(deps(b.aws), CONFIG, staticProvider(USER_KEYS));
    expect((b.calls.at(-1)?.params as { name: string }).name).toBe("carol");
  });

  it("fails with aws-vault's message on an unparsable ARN", async () => {
    const { aws } = fakeAws({ arn: "not-an-arn" });
    await expect(consoleCredentials(deps(aws), CONFIG, staticProvider(USER_KEYS))).rejects.toThrow("unable to parse ARN: not-an-arn");
  });

  it("GetFederationToken failures name the profile and the call", async () => {
    const { aws } = fakeAws({ arn: "arn:aws:iam::123456789012:root" });
    // The root user has no IAM user name: GetUser is the failing call.
    const failing: AwsClients = {
      ...aws,
      iam: async () => ({
        getUser: () => Promise.reject(Object.assign(new Error("Must specify userName"), { name: "ValidationError" })),
        createAccessKey: () => Promise.reject(new Error("x")),
        deleteAccessKey: () => Promise.reject(new Error("x")),
        listAccessKeys: () => Promise.reject(new Error("x")),
      }),
    };
    await expect(consoleCredentials(deps(failing), CONFIG, staticProvider(USER_KEYS))).rejects.toThrow(
      "profile alice: GetUser failed: ValidationError: Must specify userName",
    );
  });
});

describe("ARN helpers", () => {
  it("parses user names and resources", () => {
    expect(userNameFromArn("arn:aws:iam::1:user/a/b/carol")).toBe("carol");
    expect(userNameFromArn("arn:aws-cn:iam::1:user/dave")).toBe("dave");
    expect(userNameFromArn("arn:aws:iam::1:root")).toBeUndefined();
    expect(userNameFromArn("arn:aws:sts::1:assumed-role/R/s")).toBeUndefined();
    expect(arnResource("arn:aws:sts::1:assumed-role/R/s")).toBe("assumed-role/R/s");
  });
});

describe("consoleSessionDuration (login -d)", () => {
  const role: ProfileConfig = { profileName: "r", roleArn: "arn:aws:iam::1:role/r", sourceProfile: { profileName: "u" } };
  const chained: ProfileConfig = { profileName: "r2", roleArn: "arn:aws:iam::1:role/r2", sourceProfile: role };
  const viaSso: ProfileConfig = { profileName: "r3", roleArn: "arn:aws:iam::1:role/r3", sourceProfile: { profileName: "s", ssoStartUrl: "https://x" } };
  const opts = (durationMs?: number) => ({ noSession: false, stdout: true, ...(durationMs ? { durationMs } : {}) });

  it("is sent for a role session when --duration is given", () => {
    const logged: string[] = [];
    expect(consoleSessionDuration(opts(7_200_000), role, "role-session", (m) => logged.push(m))).toEqual({ sessionDurationSeconds: 7200 });
    expect(consoleSessionDuration(opts(), role, "role-session", (m) => logged.push(m))).toEqual({});
    expect(logged).toEqual([]);
  });

  it("is not sent for federation tokens or role-chained sessions", () => {
    const logged: string[] = [];
    expect(consoleSessionDuration(opts(7_200_000), { profileName: "u" }, "federation-token", (m) => logged.push(m))).toEqual({});
    expect(consoleSessionDuration(opts(3_600_000), chained, "role-session", (m) => logged.push(m))).toEqual({});
    expect(consoleSessionDuration(opts(3_600_000), viaSso, "role-session", (m) => logged.push(m))).toEqual({});
    expect(logged).toHaveLength(2);
  });

  it("refuses durations the console does not accept", () => {
    expect(() => consoleSessionDuration(opts(13 * 3_600_000), role, "role-session", () => undefined)).toThrow(/between 15m and 12h/);
  });
});
