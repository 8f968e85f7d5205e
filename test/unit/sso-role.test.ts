// The SSO role provider and its place in the provider walk, with in-process fakes of the SSO and
// OIDC ports; plus `list` labels and `clear` for OIDC tokens (aws-vault's `Has` bug fixed).
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { AwsClients, ClientOptions, OidcToken, SsoApi, SsoOidcApi, StsApi } from "../../src/aws/types.ts";
import { runClear } from "../../src/cli/clear.ts";
import type { Session } from "../../src/cli/global.ts";
import { runList } from "../../src/cli/list.ts";
import { CredentialsError, UserError } from "../../src/errors.ts";
import { MemoryKeyring } from "../../src/keyring/memory.ts";
import { Secret } from "../../src/util/secret.ts";
import { ConfigFile, ConfigLoader } from "../../src/vault/config/loader.ts";
import type { ProfileConfig } from "../../src/vault/config/profile.ts";
import type { Credentials } from "../../src/vault/credentials.ts";
import { OidcTokenStore } from "../../src/vault/oidc-store.ts";
import type { VaultDeps } from "../../src/vault/providers/provider.ts";
import { ssoRoleProvider } from "../../src/vault/providers/sso-role.ts";
import { ProviderResolver } from "../../src/vault/resolve.ts";
import { SessionStore } from "../../src/vault/session-store.ts";
import { fakeRuntime, type FakeRuntime } from "../support/fake-runtime.ts";

const NOW = new Date("2024-01-01T00:00:00Z");
const START_URL = "https://corp.awsapps.com/start";

/** In-process SSO + OIDC ports: tokens `tok-1`, `tok-2`, …; role credentials `ASIA…<n>`. */
class FakeIdentityCenter implements AwsClients {
  readonly clientOpts: Array<{ service: string; opts: ClientOptions }> = [];
  readonly roleCalls: Array<{ token: string; accountId: string; roleName: string }> = [];
  readonly stsCalls: Array<{ call: string; roleArn: string; sourceKeyId?: string }> = [];
  flows = 0;
  /** Refresh tokens CreateToken (refresh_token) accepts; each use returns `refreshed-<n>`. */
  readonly refreshable = new Set<string>();
  refreshes = 0;
  /** Tokens the portal rejects with 401. */
  readonly revoked = new Set<string>();
  #n = 0;

  constructor(private readonly rt: FakeRuntime) {}

  async sso(opts: ClientOptions): Promise<SsoApi> {
    this.clientOpts.push({ service: "sso", opts });
    return {
      getRoleCredentials: async ({ accessToken, accountId, roleName }) => {
        const token = accessToken.reveal();
        this.roleCalls.push({ token, accountId, roleName });
        if (this.revoked.has(token)) {
          throw Object.assign(new Error("Session token not found or invalid"), { name: "UnauthorizedException", $metadata: { httpStatusCode: 401 } });
        }
        const n = ++this.#n;
        return {
          accessKeyId: `ASIASSO${String(n).padStart(13, "0")}`,
          secretAccessKey: new Secret(`secret-${n}`),
          sessionToken: new Secret(`session-${n}`),
          expiration: new Date(this.rt.now().getTime() + 3600_000),
        };
      },
      listAccounts: () => Promise.reject(new Error("unexpected ListAccounts")),
      listAccountRoles: () => Promise.reject(new Error("unexpected ListAccountRoles")),
    };
  }

  async ssoOidc(opts: ClientOptions): Promise<SsoOidcApi> {
    this.clientOpts.push({ service: "ssoOidc", opts });
    return {
      registerClient: async () => ({ clientId: "client", clientSecret: new Secret("client-secret") }),
      startDeviceAuthorization: async () => ({
        deviceCode: new Secret("device"),
        userCode: "ABCD-EFGH",
        verificationUri: "https://device.sso.eu-west-1.amazonaws.com/",
        verificationUriComplete: "https://device.sso.eu-west-1.amazonaws.com/?user_code=ABCD-EFGH",
        expiresInSeconds: 600,
        intervalSeconds: 1,
      }),
      createToken: async (): Promise<OidcToken> => {
        this.flows++;
        return { accessToken: new Secret(`tok-${this.flows}`), expiresInSeconds: 8 * 3600, tokenType: "Bearer" };
      },
      // No browser in these tests (no $BROWSER, no opener on PATH): the device flow runs.
      authorizeUrl: () => Promise.reject(new Error("unexpected authorize URL")),
      createTokenWithCode: () => Promise.reject(new Error("unexpected CreateToken (authorization_code)")),
      refreshToken: async ({ client, refreshToken }) => {
        this.refreshes++;
        if (client.clientId !== "pkce-client" || !this.refreshable.has(refreshToken.reveal())) {
          throw Object.assign(new Error("Invalid refresh token"), { name: "InvalidGrantException" });
        }
        return { accessToken: new Secret(`refreshed-${this.refreshes}`), expiresInSeconds: 3600, tokenType: "Bearer" };
      },
    };
  }

  async sts(opts: ClientOptions): Promise<StsApi> {
    const fail = () => Promise.reject(new Error("unexpected STS call"));
    return {
      assumeRole: async (p) => {
        this.stsCalls.push({ call: "AssumeRole", roleArn: p.roleArn, ...(opts.credentials ? { sourceKeyId: opts.credentials.accessKeyId } : {}) });
        return { accessKeyId: "ASIAROLE000000000001", secretAccessKey: new Secret("r"), sessionToken: new Secret("t"), expiration: new Date(this.rt.now().getTime() + 3600_000) };
      },
      getSessionToken: fail,
      assumeRoleWithWebIdentity: fail,
      getCallerIdentity: fail,
      getFederationToken: fail,
    };
  }

  iam(): never {
    throw new Error("unexpected IAM client");
  }
}

function setup(configText = "") {
  const rt = fakeRuntime({ now: NOW });
  const keyring = new MemoryKeyring();
  const aws = new FakeIdentityCenter(rt);
  const opened: string[] = [];
  const deps: VaultDeps = {
    rt,
    keyring,
    aws,
    mfaToken: () => Promise.reject(new Error("no MFA expected")),
    stsEndpoint: () => undefined,
    ssoEndpoint: () => "http://portal.test",
    oidcEndpoint: () => "http://oidc.test",
    minTtlMs: 5 * 60 * 1000,
    lockDir: mkdtempSync(join(tmpdir(), "awsv-sso-locks-")),
  };
  const file = ConfigFile.fromText(configText, "/config");
  const profile = (name: string): ProfileConfig =>
    new ConfigLoader({ file, baseConfig: {}, env: {}, activeProfile: name }).getProfileConfig(name);
  return { rt, keyring, aws, deps, opened, file, profile };
}

const SSO_CONFIG = `[sso-session corp]
sso_start_url = ${START_URL}
sso_region = eu-west-1

[profile dev]
sso_session = corp
sso_account_id = 111111111111
sso_role_name = Admin

[profile readonly]
sso_session = corp
sso_account_id = 111111111111
sso_role_name = ReadOnly

[profile admin]
source_profile = dev
role_arn = arn:aws:iam::222222222222:role/Deploy

[profile legacy]
sso_start_url = https://legacy.awsapps.com/start
sso_region = us-east-1
sso_account_id = 333333333333
sso_role_name = Admin

[profile plain]
region = us-east-1
`;

describe("ssoRoleProvider", () => {
  it("runs the device flow once, caches the token in the keyring and reuses it", async () => {
    const { deps, aws, keyring, profile } = setup(SSO_CONFIG);
    const opened: string[] = [];
    const first = await ssoRoleProvider(deps, profile("dev"), { cacheToken: true, openBrowser: (u) => opened.push(u) }).retrieve();
    expect(first.accessKeyId).toBe("ASIASSO0000000000001");
    const second = await ssoRoleProvider(deps, profile("readonly"), { cacheToken: true, openBrowser: (u) => opened.push(u) }).retrieve();
    expect(second.accessKeyId).toBe("ASIASSO0000000000002");
    expect(aws.flows).toBe(1);
    expect(opened).toEqual(["https://device.sso.eu-west-1.amazonaws.com/?user_code=ABCD-EFGH"]);
    expect(aws.roleCalls).toEqual([
      { token: "tok-1", accountId: "111111111111", roleName: "Admin" },
      { token: "tok-1", accountId: "111111111111", roleName: "ReadOnly" },
    ]);
    expect(await keyring.keys()).toEqual([`oidc:${START_URL}`]);
    // Clients use sso_region and the configured endpoints.
    expect(aws.clientOpts).toContainEqual({ service: "ssoOidc", opts: { region: "eu-west-1", endpoint: "http://oidc.test" } });
    expect(aws.clientOpts).toContainEqual({ service: "sso", opts: { region: "eu-west-1", endpoint: "http://portal.test" } });
  });

  it("drops a cached token the portal rejects (401) and authorizes once more", async () => {
    const { deps, aws, keyring, profile, rt } = setup(SSO_CONFIG);
    const open = () => undefined;
    await ssoRoleProvider(deps, profile("dev"), { cacheToken: true, openBrowser: open }).retrieve();
    aws.revoked.add("tok-1");
    const creds = await ssoRoleProvider(deps, profile("dev"), { cacheToken: true, openBrowser: open }).retrieve();
    expect(creds.accessKeyId).toBe("ASIASSO0000000000002");
    expect(aws.roleCalls.map((c) => c.token)).toEqual(["tok-1", "tok-1", "tok-2"]);
    expect((await new OidcTokenStore(keyring, () => NOW).get(START_URL))?.accessToken.reveal()).toBe("tok-2");
    expect(rt.log.messages).toContain(`profile dev: the SSO portal rejected the cached OIDC token for ${START_URL}; authorizing again`);

    // A fresh token that is rejected is not retried.
    aws.revoked.add("tok-2");
    aws.revoked.add("tok-3");
    const err = await ssoRoleProvider(deps, profile("readonly"), { cacheToken: true, openBrowser: open }).retrieve().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toBe("profile readonly: SSO GetRoleCredentials failed: UnauthorizedException: Session token not found or invalid");
    expect(aws.flows).toBe(3);
  });

  it("without the cache (rotate), tokens are neither read nor stored", async () => {
    const { deps, aws, keyring, profile } = setup(SSO_CONFIG);
    const p = () => ssoRoleProvider(deps, profile("dev"), { cacheToken: false, openBrowser: () => undefined });
    await p().retrieve();
    await p().retrieve();
    expect(aws.flows).toBe(2);
    expect(await keyring.keys()).toEqual([]);
  });

  it("prints the link with --stdout (sso_use_stdout)", async () => {
    const { deps, profile, rt } = setup(SSO_CONFIG);
    const opened: string[] = [];
    await ssoRoleProvider(deps, { ...profile("dev"), ssoUseStdout: true }, { cacheToken: true, openBrowser: (u) => opened.push(u) }).retrieve();
    expect(opened).toEqual([]);
    expect(rt.stderr.text).toContain("Open the SSO authorization page in a browser (use Ctrl-C to abort)\n");
  });

  it("renews an expired token with its refresh token (no sign-in), and signs in when the refresh is refused", async () => {
    const { deps, aws, keyring, profile, rt } = setup(SSO_CONFIG);
    const tokens = new OidcTokenStore(keyring, () => rt.now());
    const registration = { clientId: "pkce-client", clientSecret: new Secret("pkce-secret"), clientSecretExpiresAt: new Date(NOW.getTime() + 90 * 86400_000) };
    await tokens.set(START_URL, { accessToken: new Secret("old"), expiresInSeconds: 60, tokenType: "Bearer", refreshToken: new Secret("rt-1") }, registration);
    aws.refreshable.add("rt-1");
    rt.advance(120_000);
    const open = () => undefined;
    await ssoRoleProvider(deps, profile("dev"), { cacheToken: true, openBrowser: open }).retrieve();
    expect(aws.roleCalls.map((c) => c.token)).toEqual(["refreshed-1"]);
    expect(aws.flows).toBe(0);
    // The renewed token keeps the refresh token and the registration for the next renewal.
    const stored = await tokens.getRenewable(START_URL);
    expect(stored?.refreshToken?.reveal()).toBe("rt-1");
    expect(stored?.registration?.clientId).toBe("pkce-client");
    expect(rt.log.messages.some((m) => m.startsWith("profile dev: renewed the SSO access token with its refresh token"))).toBe(true);

    // Expired again, and the service no longer accepts the refresh token: a sign-in (device flow here).
    aws.refreshable.clear();
    rt.advance(2 * 3600_000);
    await ssoRoleProvider(deps, profile("readonly"), { cacheToken: true, openBrowser: open }).retrieve();
    expect(aws.flows).toBe(1);
    expect(aws.roleCalls.map((c) => c.token)).toEqual(["refreshed-1", "tok-1"]);
    expect((await tokens.getRenewable(START_URL))?.refreshToken).toBeUndefined();
  });

  it("names the missing settings", () => {
    const { deps } = setup();
    const build = (c: Partial<ProfileConfig>) => () => ssoRoleProvider(deps, { profileName: "x", ...c }, { cacheToken: true });
    expect(build({ ssoStartUrl: START_URL })).toThrow(CredentialsError);
    expect(build({ ssoStartUrl: START_URL })).toThrow("profile x: SSO profile is missing sso_region, sso_account_id, sso_role_name");
    expect(build({ ssoStartUrl: START_URL, ssoRegion: "eu-west-1", ssoAccountId: "1", ssoSession: "corp" })).toThrow(
      "profile x: SSO profile is missing sso_role_name",
    );
  });
});

describe("resolution of SSO profiles", () => {
  it("caches the session as sso.GetRoleCredentials with the start URL in the MFA slot", async () => {
    const { deps, aws, keyring, profile, rt } = setup(SSO_CONFIG);
    const resolve = async () => new ProviderResolver(deps).providerFor(profile("dev"));
    const p = await resolve();
    expect(p.kind).toBe("sso");
    const creds = await p.retrieve();
    const b64 = (s: string) => Buffer.from(s).toString("base64url");
    const exp = Math.floor((creds.expiration as Date).getTime() / 1000);
    expect(await keyring.keys()).toEqual([`oidc:${START_URL}`, `sso.GetRoleCredentials,${b64("dev")},${b64(START_URL)},${exp}`]);
    expect(rt.log.messages).toContain("profile dev: using SSO role credentials");

    const again = await (await resolve()).retrieve();
    expect(again.accessKeyId).toBe(creds.accessKeyId);
    expect(aws.roleCalls).toHaveLength(1);
  });

  it("an SSO profile can be the source of a role", async () => {
    const { deps, aws, profile } = setup(SSO_CONFIG);
    const creds = await (await new ProviderResolver(deps).providerFor(profile("admin"))).retrieve();
    expect(creds.accessKeyId).toBe("ASIAROLE000000000001");
    expect(aws.stsCalls).toEqual([{ call: "AssumeRole", roleArn: "arn:aws:iam::222222222222:role/Deploy", sourceKeyId: "ASIASSO0000000000001" }]);
  });

  it("disableCache stores nothing", async () => {
    const { deps, keyring, profile } = setup(SSO_CONFIG);
    await (await new ProviderResolver(deps, { disableCache: true }).providerFor(profile("dev"))).retrieve();
    expect(await keyring.keys()).toEqual([]);
  });

  it("stored credentials and source_profile still come first", async () => {
    const { deps, profile } = setup(SSO_CONFIG);
    const c: ProfileConfig = { ...profile("admin"), ssoStartUrl: START_URL };
    const p = await new ProviderResolver(deps).providerFor(c);
    expect(p.kind).toBe("assume-role");
  });
});

// ---------------------------------------------------------------- list and clear

function fakeSession(rt: FakeRuntime, keyring: MemoryKeyring, file: ConfigFile): Session {
  return { rt, keyring: async () => keyring, configFile: async () => file } as unknown as Session;
}

async function seed(keyring: MemoryKeyring, rt: FakeRuntime, urls: string[], sessions: Array<[string, string]>): Promise<void> {
  const tokens = new OidcTokenStore(keyring, () => rt.now());
  for (const url of urls) await tokens.set(url, { accessToken: new Secret("t"), expiresInSeconds: 3600, tokenType: "Bearer" });
  const store = new SessionStore(keyring, () => rt.now());
  const creds: Credentials = { accessKeyId: "ASIAX", secretAccessKey: new Secret("s"), sessionToken: new Secret("t"), expiration: new Date(NOW.getTime() + 3600_000) };
  for (const [profileName, type] of sessions) await store.set({ type, profileName, mfaSerial: type.startsWith("sso") ? START_URL : "" }, creds);
}

describe("list: OIDC labels (ByteNess style)", () => {
  it("shows each profile's token as oidc:<sso-session> or oidc:<host>, and orphan tokens last", async () => {
    const { rt, keyring, file } = setup(SSO_CONFIG);
    await seed(keyring, rt, [START_URL, "https://legacy.awsapps.com/start", "https://orphan.example.com/start"], [["dev", "sso.GetRoleCredentials"]]);
    expect(await runList({ profiles: false, sessions: false, credentials: false }, fakeSession(rt, keyring, file))).toBe(0);
    const pad = (s: string, n: number) => s + " ".repeat(n - s.length);
    const row = (a: string, b: string, c: string) => `${pad(a, 25)}${pad(b, 25)}${pad(c, 42)}\n`;
    expect(rt.stdout.text).toBe(
      row("Profile", "Credentials", "Sessions") +
        row("=======", "===========", "========") +
        row("dev", "-", "oidc:corp, sso.GetRoleCredentials:1h0m0s") +
        row("readonly", "-", "oidc:corp") +
        row("admin", "-", "-") +
        row("legacy", "-", "oidc:legacy.awsapps.com") +
        row("plain", "-", "-") +
        row("-", "-", "oidc:orphan.example.com"),
    );
  });

  it("--sessions lists token labels first; no token is read", async () => {
    const { rt, keyring, file } = setup(SSO_CONFIG);
    await seed(keyring, rt, [START_URL], [["dev", "sso.GetRoleCredentials"]]);
    const get = keyring.get.bind(keyring);
    let reads = 0;
    keyring.get = async (k) => {
      reads++;
      return get(k);
    };
    await runList({ profiles: false, sessions: true, credentials: false }, fakeSession(rt, keyring, file));
    expect(rt.stdout.text).toBe("oidc:corp\nsso.GetRoleCredentials:1h0m0s\n");
    await runList({ profiles: false, sessions: false, credentials: false }, fakeSession(rt, keyring, file));
    expect(reads).toBe(0);
  });
});

describe("clear: OIDC tokens", () => {
  it("clear PROFILE removes its sessions and the token of its start URL (sso-session or inline)", async () => {
    const { rt, keyring, file } = setup(SSO_CONFIG);
    await seed(keyring, rt, [START_URL, "https://legacy.awsapps.com/start"], [["dev", "sso.GetRoleCredentials"], ["legacy", "sso.GetRoleCredentials"]]);
    await runClear("dev", fakeSession(rt, keyring, file));
    expect(rt.stdout.text).toBe("Cleared 2 sessions.\n");
    expect(await new OidcTokenStore(keyring, () => NOW).startUrls()).toEqual(["https://legacy.awsapps.com/start"]);

    rt.stdout.text = "";
    await runClear("plain", fakeSession(rt, keyring, file));
    expect(rt.stdout.text).toBe("Cleared 0 sessions.\n");

    rt.stdout.text = "";
    await runClear("legacy", fakeSession(rt, keyring, file));
    expect(rt.stdout.text).toBe("Cleared 2 sessions.\n");
    expect(await keyring.keys()).toEqual([]);
  });

  it("clear with no profile removes every session and token, never credentials", async () => {
    const { rt, keyring, file } = setup(SSO_CONFIG);
    await seed(keyring, rt, [START_URL, "https://orphan.example.com/start"], [["dev", "sso.GetRoleCredentials"]]);
    await keyring.set({ key: "jonsmith", data: new TextEncoder().encode("{}"), label: "", description: "", keychainNotTrustApplication: true, keychainNotSynchronizable: false });
    await runClear(undefined, fakeSession(rt, keyring, file));
    expect(rt.stdout.text).toBe("Cleared 3 sessions.\n");
    expect(await keyring.keys()).toEqual(["jonsmith"]);
  });
});
