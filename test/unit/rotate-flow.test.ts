// rotate (aws-vault §10, bugs fixed) against an in-memory AWS account: IAM keys, STS sessions and
// roles with the checks that matter (key validity, MFA sessions for IAM, the two-key limit,
// propagation delay), and the real keyring/session-store code over a memory keyring.
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { AwsClients, ClientOptions, IamApi, StsApi } from "../../src/aws/types.ts";
import { CancelledError, UserError } from "../../src/errors.ts";
import type { Keyring, KeyringItem } from "../../src/keyring/keyring.ts";
import { MemoryKeyring } from "../../src/keyring/memory.ts";
import { Secret } from "../../src/util/secret.ts";
import { ConfigFile, ConfigLoader } from "../../src/vault/config/loader.ts";
import type { ProfileConfig } from "../../src/vault/config/profile.ts";
import { CredentialStore } from "../../src/vault/credential-store.ts";
import type { Credentials } from "../../src/vault/credentials.ts";
import { findMasterCredentialsName, profileChain } from "../../src/vault/master-name.ts";
import type { VaultDeps } from "../../src/vault/providers/provider.ts";
import { ProviderResolver } from "../../src/vault/resolve.ts";
import { rotateAccessKey, type RotateDeps } from "../../src/vault/rotate.ts";
import { SessionStore } from "../../src/vault/session-store.ts";
import { type FakeRuntime, fakeRuntime } from "../support/fake-runtime.ts";

const ACCOUNT = "123456789012";

interface Principal {
  kind: "key" | "session" | "role";
  user?: string;
  role?: string;
  mfa: boolean;
}

interface Call {
  service: "sts" | "iam";
  op: string;
  keyId: string;
  params?: Record<string, unknown>;
}

function awsError(name: string, message: string): Error {
  return Object.assign(new Error(message), { name });
}

/** One AWS account: users with access keys, STS sessions and roles. */
class FakeAccount {
  readonly keys = new Map<string, { user: string; secret: string }>();
  readonly sessions = new Map<string, { secret: string; token: string; principal: Principal }>();
  readonly calls: Call[] = [];
  /** GetCallerIdentity with a key created here fails InvalidClientTokenId this many times (IAM propagation). */
  propagationFailures = 0;
  readonly #pendingPropagation = new Map<string, number>();
  readonly #failures = new Map<string, (call: Call) => Error | undefined>();
  #n = 0;

  addUser(user: string): Credentials {
    const accessKeyId = this.#id("AKIA");
    const secret = randomBytes(20).toString("hex");
    this.keys.set(accessKeyId, { user, secret });
    return { accessKeyId, secretAccessKey: new Secret(secret) };
  }

  keysOf(user: string): string[] {
    return [...this.keys].filter(([, k]) => k.user === user).map(([id]) => id);
  }

  /** Makes `op` fail when `when(call)` returns an error. */
  fail(op: string, when: (call: Call) => Error | undefined): void {
    this.#failures.set(op, when);
  }

  ops(): string[] {
    return this.calls.map((c) => `${c.service}:${c.op}`);
  }

  #id(prefix: string): string {
    this.#n++;
    return `${prefix}${String(this.#n).padStart(16, "0")}`;
  }

  #auth(creds: Credentials | undefined): Principal {
    if (!creds) throw awsError("MissingAuthenticationToken", "no credentials");
    const key = this.keys.get(creds.accessKeyId);
    if (key) {
      if (key.secret !== creds.secretAccessKey.reveal()) throw awsError("SignatureDoesNotMatch", "signature");
      return { kind: "key", user: key.user, mfa: false };
    }
    const session = this.sessions.get(creds.accessKeyId);
    if (!session) throw awsError("InvalidClientTokenId", "The security token included in the request is invalid.");
    if (session.secret !== creds.secretAccessKey.reveal() || session.token !== creds.sessionToken?.reveal()) {
      throw awsError("SignatureDoesNotMatch", "signature");
    }
    return session.principal;
  }

  #record(service: "sts" | "iam", op: string, creds: Credentials | undefined, params?: Record<string, unknown>): Principal {
    const call: Call = { service, op, keyId: creds?.accessKeyId ?? "", ...(params ? { params } : {}) };
    this.calls.push(call);
    const injected = this.#failures.get(op)?.(call);
    if (injected) throw injected;
    return this.#auth(creds);
  }

  #issue(principal: Principal): Credentials {
    const accessKeyId = this.#id("ASIA");
    const secret = randomBytes(20).toString("hex");
    const token = randomBytes(30).toString("base64");
    this.sessions.set(accessKeyId, { secret, token, principal });
    return { accessKeyId, secretAccessKey: new Secret(secret), sessionToken: new Secret(token), expiration: new Date("2030-01-01T00:00:00Z") };
  }

  clients(): AwsClients {
    const reject = () => Promise.reject(new Error("unexpected call"));
    return {
      sts: async (o: ClientOptions): Promise<StsApi> => ({
        getSessionToken: async (p) => {
          const me = this.#record("sts", "GetSessionToken", o.credentials, { mfa: p.mfa?.tokenCode.reveal() });
          if (me.kind !== "key") throw awsError("AccessDenied", "GetSessionToken needs long-term keys");
          return this.#issue({ kind: "session", user: me.user, mfa: Boolean(p.mfa) });
        },
        assumeRole: async (p) => {
          const me = this.#record("sts", "AssumeRole", o.credentials, { roleArn: p.roleArn, mfa: p.mfa?.tokenCode.reveal() });
          return this.#issue({ kind: "role", role: p.roleArn.split("/").pop(), mfa: Boolean(p.mfa) || me.mfa });
        },
        assumeRoleWithWebIdentity: reject,
        getCallerIdentity: async () => {
          const me = this.#record("sts", "GetCallerIdentity", o.credentials);
          const id = o.credentials?.accessKeyId ?? "";
          const pending = this.#pendingPropagation.get(id) ?? 0;
          if (pending > 0) {
            this.#pendingPropagation.set(id, pending - 1);
            throw awsError("InvalidClientTokenId", "The security token included in the request is invalid.");
          }
          const arn = me.kind === "role" ? `arn:aws:sts::${ACCOUNT}:assumed-role/${me.role}/s` : `arn:aws:iam::${ACCOUNT}:user/${me.user}`;
          return { arn, account: ACCOUNT, userId: "AIDA" };
        },
        getFederationToken: reject,
      }),
      iam: async (o: ClientOptions): Promise<IamApi> => {
        const target = (me: Principal, userName: string | undefined): string => {
          if (me.kind === "session" && !me.mfa) throw awsError("AccessDenied", "IAM refuses GetSessionToken credentials without MFA");
          const user = userName ?? me.user;
          if (!user) throw awsError("ValidationError", "Must specify userName when calling with non-User credentials");
          return user;
        };
        return {
          getUser: reject,
          createAccessKey: async (p) => {
            const me = this.#record("iam", "CreateAccessKey", o.credentials, { userName: p.userName });
            const user = target(me, p.userName);
            if (this.keysOf(user).length >= 2) throw awsError("LimitExceeded", "Cannot exceed quota for AccessKeysPerUser: 2");
            const creds = this.addUser(user);
            this.#pendingPropagation.set(creds.accessKeyId, this.propagationFailures);
            return { accessKeyId: creds.accessKeyId, secretAccessKey: creds.secretAccessKey, userName: user };
          },
          deleteAccessKey: async (p) => {
            const me = this.#record("iam", "DeleteAccessKey", o.credentials, { accessKeyId: p.accessKeyId, userName: p.userName });
            const user = target(me, p.userName);
            const key = this.keys.get(p.accessKeyId);
            if (!key || key.user !== user) throw awsError("NoSuchEntity", `The Access Key with id ${p.accessKeyId} cannot be found.`);
            this.keys.delete(p.accessKeyId);
          },
          listAccessKeys: reject,
        };
      },
      sso: reject,
      ssoOidc: reject,
    };
  }
}

const CONFIG = `
[profile alice]
region = us-east-1

[profile alice-mfa]
region = us-east-1
mfa_serial = arn:aws:iam::${ACCOUNT}:mfa/alice

[profile admin]
source_profile = alice
role_arn = arn:aws:iam::${ACCOUNT}:role/admin
region = us-east-1

[profile admin-mfa]
source_profile = alice
role_arn = arn:aws:iam::${ACCOUNT}:role/admin
mfa_serial = arn:aws:iam::${ACCOUNT}:mfa/alice
region = us-east-1

[profile deep]
source_profile = admin
role_arn = arn:aws:iam::${ACCOUNT}:role/deep
region = us-east-1
`;

interface World {
  account: FakeAccount;
  rt: FakeRuntime;
  keyring: Keyring;
  store: CredentialStore;
  old: Credentials;
  out: string[];
  mfaPrompts: string[];
  rotate(profile: string, opts?: { noSession?: boolean; verifyTimeoutMs?: number }): Promise<void>;
  stored(profile?: string): Promise<Credentials>;
}

async function world(opts: { stored?: string; keyring?: Keyring } = {}): Promise<World> {
  const account = new FakeAccount();
  const rt = fakeRuntime();
  const keyring = opts.keyring ?? new MemoryKeyring();
  const store = new CredentialStore(keyring);
  const storedAs = opts.stored ?? "alice";
  const old = account.addUser("alice");
  await store.set(storedAs, old);
  const out: string[] = [];
  const mfaPrompts: string[] = [];
  const aws = account.clients();
  const file = ConfigFile.fromText(CONFIG, "/home/test/.aws/config");
  const vaultDeps: VaultDeps = {
    rt,
    keyring,
    aws,
    mfaToken: async (serial) => {
      mfaPrompts.push(serial);
      return new Secret("123456");
    },
    stsEndpoint: () => undefined,
    minTtlMs: 300_000,
    lockDir: "/nonexistent",
  };
  const deps: RotateDeps = { rt, keyring, aws, stsEndpoint: () => undefined, iamEndpoint: () => undefined, print: (l) => out.push(l) };
  return {
    account,
    rt,
    keyring,
    store,
    old,
    out,
    mfaPrompts,
    stored: (profile = storedAs) => store.get(profile),
    rotate: async (profile, o = {}) => {
      const config = new ConfigLoader({ file, baseConfig: {}, env: {}, activeProfile: profile }).getProfileConfig(profile);
      await rotateAccessKey(deps, {
        config,
        noSession: Boolean(o.noSession),
        sessionProvider: () => new ProviderResolver(vaultDeps, { disableCache: true }).providerFor(config),
        ...(o.verifyTimeoutMs !== undefined ? { verifyTimeoutMs: o.verifyTimeoutMs } : {}),
      });
    },
  };
}

function mask(id: string): string {
  return `****************${id.slice(-4)}`;
}

async function addSession(w: World, profile: string): Promise<void> {
  await new SessionStore(w.keyring, () => w.rt.now()).set(
    { type: "sts.AssumeRole", profileName: profile },
    { accessKeyId: "ASIAOLDSESSION000001", secretAccessKey: new Secret("x"), sessionToken: new Secret("t"), expiration: new Date("2030-01-01T00:00:00Z") },
  );
}

describe("rotate: the happy paths", () => {
  it("a plain IAM user without MFA: master keys create, the new key deletes the old one", async () => {
    const w = await world();
    await w.rotate("alice");
    const [newId] = w.account.keysOf("alice");
    expect(w.account.keysOf("alice")).toHaveLength(1);
    expect(newId).not.toBe(w.old.accessKeyId);
    expect((await w.stored()).accessKeyId).toBe(newId);
    expect(w.out).toEqual([
      "Rotating credentials stored for profile 'alice' using master credentials (takes 10-20 seconds)",
      "Creating a new access key",
      `Created new access key ${mask(newId as string)}`,
      `Deleting old access key ${mask(w.old.accessKeyId)}`,
      `Deleted old access key ${mask(w.old.accessKeyId)}`,
      "Finished rotating access key",
    ]);
    // No GetSessionToken (IAM refuses sessions without MFA); the new key is proven, then deletes the old one.
    expect(w.account.calls.map((c) => `${c.op}:${c.keyId === w.old.accessKeyId ? "old" : c.keyId === newId ? "new" : c.keyId}`)).toEqual([
      "CreateAccessKey:old",
      "GetCallerIdentity:new",
      "DeleteAccessKey:new",
    ]);
    expect(w.account.calls.find((c) => c.op === "CreateAccessKey")?.params).toEqual({ userName: undefined });
  });

  it("with MFA: one code, one GetSessionToken session signs both IAM calls", async () => {
    const w = await world({ stored: "alice-mfa" });
    await w.rotate("alice-mfa");
    expect(w.mfaPrompts).toEqual([`arn:aws:iam::${ACCOUNT}:mfa/alice`]);
    const [newId] = w.account.keysOf("alice");
    expect(w.out[0]).toBe("Rotating credentials stored for profile 'alice-mfa' using a session from profile 'alice-mfa' (takes 10-20 seconds)");
    expect((await w.stored()).accessKeyId).toBe(newId);
    const session = w.account.calls.find((c) => c.op === "CreateAccessKey")?.keyId as string;
    expect(session).toMatch(/^ASIA/);
    expect(w.account.ops()).toEqual(["sts:GetSessionToken", "iam:CreateAccessKey", "sts:GetCallerIdentity", "iam:DeleteAccessKey"]);
    expect(w.account.calls.find((c) => c.op === "DeleteAccessKey")?.keyId).toBe(session);
  });

  it("a role with MFA: one code for AssumeRole; the user is named from the master key's identity", async () => {
    const w = await world();
    await addSession(w, "admin-mfa");
    await addSession(w, "alice");
    await w.rotate("admin-mfa");
    expect(w.mfaPrompts).toHaveLength(1);
    expect(w.account.ops()).toEqual([
      "sts:AssumeRole",
      "sts:GetCallerIdentity",
      "iam:CreateAccessKey",
      "sts:GetCallerIdentity",
      "iam:DeleteAccessKey",
    ]);
    expect(w.account.calls[1]?.keyId).toBe(w.old.accessKeyId);
    expect(w.account.calls[2]?.params).toEqual({ userName: "alice" });
    expect(w.account.calls[4]?.params).toEqual({ accessKeyId: w.old.accessKeyId, userName: "alice" });
    expect(w.out).toContain("Deleted 1 sessions for admin-mfa");
    expect(w.out).toContain("Deleted 1 sessions for alice");
    expect(w.out[0]).toBe("Rotating credentials stored for profile 'alice' using a session from profile 'admin-mfa' (takes 10-20 seconds)");
    expect(await new SessionStore(w.keyring, () => w.rt.now()).list()).toEqual([]);
  });

  it("a two-hop source_profile chain finds the master keys at the bottom", async () => {
    const w = await world();
    await w.rotate("deep");
    expect(w.out[0]).toBe("Rotating credentials stored for profile 'alice' using a session from profile 'deep' (takes 10-20 seconds)");
    expect(w.account.keysOf("alice")).toEqual([(await w.stored()).accessKeyId]);
    expect(w.account.calls.filter((c) => c.op === "AssumeRole").map((c) => c.params?.roleArn)).toEqual([
      `arn:aws:iam::${ACCOUNT}:role/admin`,
      `arn:aws:iam::${ACCOUNT}:role/deep`,
    ]);
  });

  it("-n on a role profile uses the master credentials of the source profile", async () => {
    const w = await world();
    await w.rotate("admin", { noSession: true });
    expect(w.out[0]).toBe("Rotating credentials stored for profile 'alice' using master credentials (takes 10-20 seconds)");
    expect(w.account.ops()).toEqual(["iam:CreateAccessKey", "sts:GetCallerIdentity", "iam:DeleteAccessKey"]);
    expect(w.account.keysOf("alice")).toEqual([(await w.stored()).accessKeyId]);
  });

  it("a DeleteAccessKey answered NoSuchEntity (a retried call that had succeeded) counts as deleted", async () => {
    const w = await world();
    let first = true;
    w.account.fail("DeleteAccessKey", (c) => {
      if (c.params?.accessKeyId !== w.old.accessKeyId || !first) return undefined;
      first = false;
      w.account.keys.delete(w.old.accessKeyId);
      return awsError("NoSuchEntity", "The Access Key cannot be found.");
    });
    await w.rotate("alice");
    expect(w.out.at(-1)).toBe("Finished rotating access key");
    expect(w.account.keysOf("alice")).toEqual([(await w.stored()).accessKeyId]);
  });

  it("retries verification while the new key propagates", async () => {
    const w = await world();
    w.account.propagationFailures = 3;
    const t0 = w.rt.now().getTime();
    await w.rotate("alice");
    expect(w.account.ops().filter((o) => o === "sts:GetCallerIdentity")).toHaveLength(4);
    expect(w.rt.now().getTime() - t0).toBe(500 + 1000 + 2000);
    expect(w.rt.log.messages.filter((m) => m === "Retrying after error: InvalidClientTokenId")).toHaveLength(3);
  });
});

describe("rotate: failures roll back", () => {
  async function expectRolledBack(w: World, error: unknown): Promise<void> {
    expect(error).toBeInstanceOf(UserError);
    expect(w.account.keysOf("alice")).toEqual([w.old.accessKeyId]);
    expect((await w.stored()).accessKeyId).toBe(w.old.accessKeyId);
    expect((error as UserError).hints.join("\n")).toContain(`${mask(w.old.accessKeyId)} is still stored and active`);
  }

  it("a new key that never works is deleted after the propagation window; the old key stays", async () => {
    const w = await world();
    w.account.propagationFailures = 1000;
    const err = await w.rotate("alice", { verifyTimeoutMs: 5_000 }).catch((e: unknown) => e);
    await expectRolledBack(w, err);
    expect((err as Error).message).toMatch(
      /^Error verifying new access key \*{16}\w{4}: profile alice: GetCallerIdentity failed: InvalidClientTokenId: The security token/,
    );
    expect(w.out.at(-1)).toMatch(/^Created new access key/);
  });

  it("a rejected verification fails fast (no retry) and rolls back", async () => {
    const w = await world();
    w.account.fail("GetCallerIdentity", () => awsError("AccessDenied", "denied"));
    const err = await w.rotate("alice").catch((e: unknown) => e);
    await expectRolledBack(w, err);
    expect(w.account.ops().filter((o) => o === "sts:GetCallerIdentity")).toHaveLength(1);
    // The rollback deletes the new key with the same credentials that created it.
    const deletes = w.account.calls.filter((c) => c.op === "DeleteAccessKey");
    expect(deletes.map((c) => c.keyId)).toEqual([w.old.accessKeyId]);
  });

  it("a keyring that cannot store the new key", async () => {
    const inner = new MemoryKeyring();
    let writes = 0;
    const flaky: Keyring = {
      backend: "memory",
      get: (k) => inner.get(k),
      getMetadata: (k) => inner.getMetadata(k),
      remove: (k) => inner.remove(k),
      keys: () => inner.keys(),
      set: async (item: KeyringItem) => {
        if (++writes > 1) throw new Error("read-only keyring");
        return inner.set(item);
      },
    };
    const w = await world({ keyring: flaky });
    const err = await w.rotate("alice").catch((e: unknown) => e);
    await expectRolledBack(w, err);
    expect((err as Error).message).toMatch(/^Error storing new access key \*{16}\w{4}: read-only keyring$/);
  });

  it("an old key that cannot be deleted: the old key is stored again and the new one deleted", async () => {
    const w = await world();
    w.account.fail("DeleteAccessKey", (c) => (c.params?.accessKeyId === w.old.accessKeyId ? awsError("AccessDenied", "no") : undefined));
    const err = await w.rotate("alice").catch((e: unknown) => e);
    await expectRolledBack(w, err);
    expect((err as Error).message).toBe(`Can't delete old access key ${mask(w.old.accessKeyId)}: profile alice: DeleteAccessKey failed: AccessDenied: no`);
    expect(w.out.at(-1)).toBe(`Deleting old access key ${mask(w.old.accessKeyId)}`);
  });

  it("a rollback that cannot delete the new key says so", async () => {
    const w = await world();
    w.account.fail("GetCallerIdentity", () => awsError("AccessDenied", "denied"));
    w.account.fail("DeleteAccessKey", () => awsError("AccessDenied", "no"));
    const err = (await w.rotate("alice").catch((e: unknown) => e)) as UserError;
    expect((await w.stored()).accessKeyId).toBe(w.old.accessKeyId);
    const newId = w.account.keysOf("alice").find((id) => id !== w.old.accessKeyId) as string;
    expect(err.hints).toContain(`the new access key ${mask(newId)} could not be deleted: delete it in the IAM console; ${mask(w.old.accessKeyId)} is still active`);
  });

  it("CreateAccessKey refused (two keys already): nothing changes", async () => {
    const w = await world();
    w.account.addUser("alice");
    const err = (await w.rotate("alice").catch((e: unknown) => e)) as UserError;
    expect(err.message).toBe("Error creating a new access key: profile alice: CreateAccessKey failed: LimitExceeded: Cannot exceed quota for AccessKeysPerUser: 2");
    expect(err.hints).toContain("an IAM user can have at most two access keys: delete the unused one first");
    expect(w.account.keysOf("alice")).toHaveLength(2);
    expect((await w.stored()).accessKeyId).toBe(w.old.accessKeyId);
    expect(w.out).toEqual([
      "Rotating credentials stored for profile 'alice' using master credentials (takes 10-20 seconds)",
      "Creating a new access key",
    ]);
  });

  it("a cancelled MFA prompt stops before anything is created, keeping its exit code", async () => {
    const w = await world({ stored: "alice-mfa" });
    const config = new ConfigLoader({ file: ConfigFile.fromText(CONFIG, "/c"), baseConfig: {}, env: {}, activeProfile: "alice-mfa" }).getProfileConfig(
      "alice-mfa",
    );
    const err = await rotateAccessKey(
      { rt: w.rt, keyring: w.keyring, aws: w.account.clients(), stsEndpoint: () => undefined, iamEndpoint: () => undefined, print: (l) => w.out.push(l) },
      {
        config,
        noSession: false,
        sessionProvider: async () => ({ kind: "session-token", retrieve: () => Promise.reject(new CancelledError()) }),
      },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CancelledError);
    expect((err as Error).message).toBe("Error getting temporary credentials: cancelled");
    expect(w.account.calls).toEqual([]);
  });

  it("no stored credentials anywhere in the chain", async () => {
    const w = await world({ stored: "someone-else" });
    const err = (await w.rotate("deep").catch((e: unknown) => e)) as UserError;
    expect(err.message).toBe("Error determining credential name for 'deep': No master credentials found");
    expect(w.out).toEqual([]);
  });
});

describe("findMasterCredentialsName / profileChain", () => {
  const a: ProfileConfig = { profileName: "a" };
  const b: ProfileConfig = { profileName: "b", sourceProfile: a };
  const c: ProfileConfig = { profileName: "c", sourceProfile: b };

  it("walks every hop", async () => {
    expect(profileChain(c).map((p) => p.profileName)).toEqual(["c", "b", "a"]);
    expect((await findMasterCredentialsName(c, async (n) => n === "a")).profileName).toBe("a");
    expect((await findMasterCredentialsName(c, async (n) => n === "b" || n === "a")).profileName).toBe("b");
    expect((await findMasterCredentialsName(c, async (n) => n === "c")).profileName).toBe("c");
  });

  it("names the profiles it looked at", async () => {
    const err = (await findMasterCredentialsName(c, async () => false).catch((e: unknown) => e)) as UserError;
    expect(err.message).toBe("No master credentials found");
    expect(err.hints[0]).toContain("none of 'c', 'b' or 'a' has stored credentials");
  });
});
