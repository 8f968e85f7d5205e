// The provider selection of reference §4.2, end to end: the README "Roles and MFA" matrix (which
// STS calls happen, with or without MFA, and what gets cached), the role-chaining duration cap,
// and the --debug decision lines, which must never contain a secret.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ARTIFACTS } from "../support/cli.ts";
import type { FakeSts, MasterUser } from "../support/fake-sts.ts";
import {
  awsEnv,
  mfaCode,
  mfaProcessCommand,
  readmeConfig,
  ROLES,
  sessionsByProfile,
  sessionTypes,
  setupVault,
  useScenarioSts,
  stsCalls,
  type Vault,
} from "../support/vault-scenario.ts";

let sts: FakeSts;
let user: MasterUser;
useScenarioSts((s, u) => {
  sts = s;
  user = u;
});

/** A vault with the README profiles, each MFA profile using an mfa_process that counts its runs. */
async function readmeVault(artifact: (typeof ARTIFACTS)[number]): Promise<Vault & { mfaCodes(): number }> {
  const v = await setupVault(artifact, sts, user);
  const mfa = mfaProcessCommand(v.sb, user);
  v.appendConfig(readmeConfig({ mfaProcess: mfa.command }));
  sts.resetCalls();
  return { ...v, mfaCodes: mfa.count };
}

interface MatrixRow {
  args: string[];
  /** What the child gets: the long-term keys, or temporary credentials. */
  credentials: "long-term" | "temporary";
  /** STS calls of the first run (empty cache), as `Action [Role][+MFA]`. */
  calls: string[];
  /** MFA codes requested on the first run. */
  mfaCodes: number;
  /** Sessions cached afterwards, by profile. */
  cached: Record<string, string[]>;
  /** STS calls of a second identical run (no MFA code is asked again in any row). */
  callsAgain: string[];
}

// README.md "Roles and MFA"; see the reference §4.2 table.
const MATRIX: MatrixRow[] = [
  {
    args: ["jonsmith", "--no-session"],
    credentials: "long-term",
    calls: [],
    mfaCodes: 0,
    cached: {},
    callsAgain: [],
  },
  {
    args: ["jonsmith"],
    credentials: "temporary",
    calls: ["GetSessionToken+MFA"],
    mfaCodes: 1,
    cached: { jonsmith: ["sts.GetSessionToken"] },
    callsAgain: [],
  },
  {
    args: ["foo-readonly"],
    credentials: "temporary",
    calls: ["AssumeRole ReadOnly"],
    mfaCodes: 0,
    cached: {},
    callsAgain: ["AssumeRole ReadOnly"],
  },
  {
    args: ["foo-admin"],
    credentials: "temporary",
    calls: ["GetSessionToken+MFA", "AssumeRole Administrator"],
    mfaCodes: 1,
    cached: { jonsmith: ["sts.GetSessionToken"] },
    callsAgain: ["AssumeRole Administrator"],
  },
  {
    args: ["foo-admin", "--duration=2h"],
    credentials: "temporary",
    calls: ["AssumeRole Administrator+MFA"],
    mfaCodes: 1,
    cached: { "foo-admin": ["sts.AssumeRole"] },
    callsAgain: [],
  },
  {
    args: ["bar-role2"],
    credentials: "temporary",
    calls: ["GetSessionToken+MFA", "AssumeRole Role1", "AssumeRole Role2"],
    mfaCodes: 1,
    cached: { jonsmith: ["sts.GetSessionToken"] },
    callsAgain: ["AssumeRole Role1", "AssumeRole Role2"],
  },
  {
    args: ["bar-role2", "--no-session"],
    credentials: "temporary",
    calls: ["AssumeRole Role1+MFA", "AssumeRole Role2+MFA"],
    mfaCodes: 2,
    cached: { "bar-role1": ["sts.AssumeRole"], "bar-role2": ["sts.AssumeRole"] },
    callsAgain: [],
  },
];

function labelTypes(cached: Record<string, string[]>): Record<string, string[]> {
  return Object.fromEntries(Object.entries(cached).map(([p, labels]) => [p, labels.map((l) => l.replace(/:[^:]*$/, ""))]));
}

describe.each(ARTIFACTS)("README roles and MFA matrix ($name)", (artifact) => {
  it.each(MATRIX.map((row) => ({ ...row, name: `exec ${row.args.join(" ")}` })))("$name", async (row) => {
    const v = await readmeVault(artifact);
    const r = await v.run(["exec", ...row.args, "--", "env"]);
    expect(r.code, r.stderr).toBe(0);
    expect(stsCalls(sts)).toEqual(row.calls);
    expect(v.mfaCodes()).toBe(row.mfaCodes);

    const env = awsEnv(r.stdout);
    if (row.credentials === "long-term") {
      expect(env.AWS_ACCESS_KEY_ID).toBe(user.accessKeyId);
      expect("AWS_SESSION_TOKEN" in env, "a session token").toBe(false);
    } else {
      expect(sts.issued().map((c) => c.accessKeyId)).toContain(env.AWS_ACCESS_KEY_ID);
      expect(env.AWS_SESSION_TOKEN).toBeTruthy();
    }

    expect(labelTypes(await sessionsByProfile(v))).toEqual(row.cached);
    expect(await sessionTypes(v)).toEqual(Object.values(row.cached).flat().sort());

    sts.resetCalls();
    const again = await v.run(["exec", ...row.args, "--", "env"]);
    expect(again.code, again.stderr).toBe(0);
    expect(stsCalls(sts)).toEqual(row.callsAgain);
    expect(v.mfaCodes()).toBe(row.mfaCodes);
  });

  it("roles are assumed from the right credentials", async () => {
    const v = await readmeVault(artifact);
    const signer = () => sts.calls().map((c) => (c.accessKeyId === user.accessKeyId ? "long-term" : "temporary"));

    // foo-readonly and foo-admin --duration=2h: directly from the long-term keys.
    expect((await v.run(["exec", "foo-readonly", "--", "true"])).code).toBe(0);
    expect((await v.run(["exec", "foo-admin", "--duration=2h", "--", "true"])).code).toBe(0);
    expect(signer()).toEqual(["long-term", "long-term"]);
    expect(sts.calls("AssumeRole").map((c) => c.params.DurationSeconds)).toEqual(["3600", "7200"]);

    // foo-admin: the 8h MFA session token signs the AssumeRole, which sends no MFA itself.
    sts.resetCalls();
    expect((await v.run(["exec", "foo-admin", "--", "true"])).code).toBe(0);
    expect(signer()).toEqual(["long-term", "temporary"]);
    expect(sts.calls("GetSessionToken")[0]!.params.DurationSeconds).toBe("28800");
    expect(sts.calls("AssumeRole")[0]!.params).not.toHaveProperty("SerialNumber");
  });

  it("a role hop after another role is capped at 1h (role chaining)", async () => {
    const v = await readmeVault(artifact);
    const r = await v.run(["--debug", "exec", "bar-role2", "--duration=2h", "--", "true"]);
    expect(r.code, r.stderr).toBe(0);
    // 2h on the role profile skips GetSessionToken, so MFA moves to the role hops.
    expect(r.stderr).toContain(
      "profile jonsmith: skipping GetSessionToken because duration 2h0m0s in profile 'bar-role1' is greater than the AWS maximum 1h0m0s for chaining MFA",
    );
    expect(r.stderr).toMatch(/profile bar-role2: capping AssumeRole duration from 2h0m0s to AWS maximum 1h0m0s/);
    expect(r.stderr).not.toMatch(/profile bar-role1: capping/);
    expect(stsCalls(sts)).toEqual(["AssumeRole Role1+MFA", "AssumeRole Role2+MFA"]);
    expect(sts.calls("AssumeRole").map((c) => c.params.DurationSeconds)).toEqual(["7200", "3600"]);
    expect(v.mfaCodes()).toBe(2);
  });

  it("duration_seconds above 1h on the second role of a chain is capped too", async () => {
    const v = await readmeVault(artifact);
    v.appendConfig(`\n[profile bar-role3]\nsource_profile = bar-role1\nrole_arn = arn:aws:iam::333333333333:role/Role2\nduration_seconds = 7200\n`);
    const r = await v.run(["--debug", "exec", "bar-role3", "--", "true"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/profile bar-role3: capping AssumeRole duration/);
    expect(stsCalls(sts)).toEqual(["GetSessionToken+MFA", "AssumeRole Role1", "AssumeRole Role2"]);
    expect(sts.calls("AssumeRole").map((c) => c.params.DurationSeconds)).toEqual(["3600", "3600"]);
  });

  it("a role assumed from web identity role credentials is capped too", async () => {
    const v = await readmeVault(artifact);
    const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
    const token = join(v.sb.home, "web-identity.jwt");
    const exp = Math.floor(sts.now().getTime() / 1000) + 3600;
    writeFileSync(token, `${b64({ alg: "none" })}.${b64({ sub: "ci", aud: "sts", iss: "https://idp.example", exp })}.`);
    v.appendConfig(
      `\n[profile ci]\nrole_arn = ${ROLES.readonly}\nweb_identity_token_file = ${token}\n` +
        `\n[profile ci-deploy]\nsource_profile = ci\nrole_arn = ${ROLES.role2}\nduration_seconds = 7200\n`,
    );
    const r = await v.run(["--debug", "exec", "ci-deploy", "--", "true"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/profile ci-deploy: capping AssumeRole duration from 2h0m0s to AWS maximum 1h0m0s/);
    expect(stsCalls(sts)).toEqual(["AssumeRoleWithWebIdentity ReadOnly", "AssumeRole Role2"]);
    expect(sts.calls("AssumeRole")[0]!.params.DurationSeconds).toBe("3600");
  });
});

describe.each(ARTIFACTS)("--debug decision lines ($name)", (artifact) => {
  /** Runs `--debug exec ARGS -- env` and checks stderr holds no secret of any credential involved. */
  async function debugExec(v: Vault, args: string[]): Promise<string> {
    const r = await v.run(["--debug", "exec", ...args, "--", "env"]);
    expect(r.code, r.stderr).toBe(0);
    const env = awsEnv(r.stdout);
    const secrets = [
      user.secretAccessKey,
      env.AWS_SECRET_ACCESS_KEY,
      env.AWS_SESSION_TOKEN,
      ...sts.issued().flatMap((c) => [c.secretAccessKey, c.sessionToken, c.accessKeyId]),
      user.accessKeyId,
    ].filter((s): s is string => Boolean(s));
    for (const secret of secrets) expect(r.stderr.includes(secret), "a secret in the --debug output").toBe(false);
    return r.stderr;
  }

  it("chained MFA: stored credentials, GetSessionToken, AssumeRole (chained MFA), then the cache", async () => {
    const v = await readmeVault(artifact);
    const first = await debugExec(v, ["foo-admin"]);
    expect(first).toContain("profile foo-admin: sourcing credentials from profile jonsmith");
    expect(first).toContain("profile jonsmith: using stored credentials");
    expect(first).toContain("profile jonsmith: using GetSessionToken (with MFA)");
    expect(first).toContain("profile foo-admin: using AssumeRole (chained MFA)");

    const second = await debugExec(v, ["foo-admin"]);
    expect(second).toMatch(/Re-using cached credentials \*+\w{4} from sts\.GetSessionToken, expires in 7h59m\d+s/);
  });

  it("skipping GetSessionToken: the reason is logged", async () => {
    const v = await readmeVault(artifact);
    expect(await debugExec(v, ["foo-readonly"])).toContain(
      "profile jonsmith: skipping GetSessionToken because profile 'foo-readonly' has no MFA serial defined",
    );
    expect(await debugExec(v, ["jonsmith", "--no-session"])).toContain(
      "profile jonsmith: skipping GetSessionToken because sessions are disabled",
    );
    const direct = await debugExec(v, ["foo-admin", "--duration=2h"]);
    expect(direct).toContain("profile foo-admin: using AssumeRole (with MFA)");
    expect(direct).toContain("greater than the AWS maximum 1h0m0s for chaining MFA");
  });

  it("a plain session: GetSessionToken with MFA from the --mfa-token flag", async () => {
    const v = await readmeVault(artifact);
    const out = await debugExec(v, ["jonsmith", "--mfa-token", mfaCode(sts, user)]);
    expect(out).toContain("profile jonsmith: using stored credentials");
    expect(out).toContain("profile jonsmith: using GetSessionToken (with MFA)");
    expect(v.mfaCodes()).toBe(0);
  });
});
