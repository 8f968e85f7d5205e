// MFA end to end: every code source (--mfa-token, mfa_process, the terminal prompt on /dev/tty)
// against a fake STS that checks TOTP codes; chained MFA asks once; a wrong code fails clearly and
// stores nothing.
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ARTIFACTS } from "../support/cli.ts";
import type { FakeSts, MasterUser } from "../support/fake-sts.ts";
import { runInPty } from "../support/pty.ts";
import {
  awsEnv,
  keyringSnapshot,
  mfaCode,
  mfaProcessCommand,
  newUser,
  readmeConfig,
  SERIAL,
  sessionsByProfile,
  setupVault,
  useScenarioSts,
  stsCalls,
  wrongMfaCode,
} from "../support/vault-scenario.ts";

const PROMPT = `Enter MFA code for ${SERIAL} (profile `;
/** A command for exec in a pty that says whether it got a session, without printing credentials. */
const REPORT_SESSION = ["sh", "-c", 'echo "session token: ${AWS_SESSION_TOKEN:+set}"'];

let sts: FakeSts;
let user: MasterUser;
useScenarioSts((s, u) => {
  sts = s;
  user = u;
});

function promptCount(output: string): number {
  return output.split(PROMPT).length - 1;
}

describe.each(ARTIFACTS)("MFA code sources ($name)", (artifact) => {
  it("--mfa-token is sent with GetSessionToken and the session is cached", async () => {
    const v = await setupVault(artifact, sts, user, readmeConfig());
    const r = await v.run(["exec", "jonsmith", "--mfa-token", mfaCode(sts, user), "--", "env"]);
    expect(r.code, r.stderr).toBe(0);
    expect(stsCalls(sts)).toEqual(["GetSessionToken+MFA"]);
    const call = sts.calls("GetSessionToken")[0]!;
    expect(call.params.SerialNumber).toBe(SERIAL);
    expect(call.params.DurationSeconds).toBe("3600");
    const env = awsEnv(r.stdout);
    expect(env.AWS_SESSION_TOKEN).toBeTruthy();
    expect(sts.issued().map((c) => c.accessKeyId)).toContain(env.AWS_ACCESS_KEY_ID);
    expect(await sessionsByProfile(v)).toEqual({ jonsmith: [expect.stringMatching(/^sts\.GetSessionToken:(59m\d+s|1h0m0s)$/)] });
  });

  it("--mfa-token is reused for every MFA hop", async () => {
    const v = await setupVault(artifact, sts, user, readmeConfig());
    const code = mfaCode(sts, user);
    const r = await v.run(["exec", "bar-role2", "--no-session", "--mfa-token", code, "--", "true"]);
    expect(r.code, r.stderr).toBe(0);
    expect(stsCalls(sts)).toEqual(["AssumeRole Role1+MFA", "AssumeRole Role2+MFA"]);
    expect(sts.calls().map((c) => c.params.TokenCode === code)).toEqual([true, true]);
  });

  it("mfa_process supplies the code, run once", async () => {
    const v = await setupVault(artifact, sts, user);
    const mfa = mfaProcessCommand(v.sb, user);
    v.appendConfig(readmeConfig({ mfaProcess: mfa.command }));
    const r = await v.run(["export", "--format", "json", "jonsmith"]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).SessionToken).toBeTruthy();
    expect(mfa.count()).toBe(1);
    expect(stsCalls(sts)).toEqual(["GetSessionToken+MFA"]);
  });

  it("the terminal prompt reads the code from /dev/tty", async () => {
    const v = await setupVault(artifact, sts, user, readmeConfig());
    const r = await runInPty([...artifact.argv, "exec", "jonsmith", "--", ...REPORT_SESSION], v.env, [
      { expect: /Enter MFA code for \S+ \(profile [\w-]+\): $/, send: `${mfaCode(sts, user)}\r` },
    ]);
    expect(r.code, r.output).toBe(0);
    // The prompt names the device and the profile it is for.
    expect(r.output).toContain(`Enter MFA code for ${SERIAL} (profile jonsmith): `);
    expect(promptCount(r.output)).toBe(1);
    expect(r.output).toContain("session token: set");
    expect(stsCalls(sts)).toEqual(["GetSessionToken+MFA"]);
  });

  it("after the prompt, the command exec runs gets the terminal's input", async () => {
    const v = await setupVault(artifact, sts, user, readmeConfig());
    const child = ["sh", "-c", 'echo ready; read line; echo "child read: $line"'];
    const r = await runInPty(
      [...artifact.argv, "exec", "jonsmith", "--", ...child],
      v.env,
      [
        { expect: /Enter MFA code for \S+ \(profile [\w-]+\): $/, send: `${mfaCode(sts, user)}\r` },
        { expect: /ready/, send: "typed after the prompt\r" },
      ],
      { timeoutMs: 10_000 },
    );
    expect(r.code, r.output).toBe(0);
    expect(r.output).toContain("child read: typed after the prompt");
  });
});

describe.each(ARTIFACTS)("chained MFA ($name)", (artifact) => {
  it("foo-admin asks once at the terminal: GetSessionToken with MFA, then AssumeRole without", async () => {
    const v = await setupVault(artifact, sts, user, readmeConfig());
    const r = await runInPty([...artifact.argv, "exec", "foo-admin", "--", "true"], v.env, [
      { expect: /Enter MFA code for \S+ \(profile [\w-]+\): $/, send: `${mfaCode(sts, user)}\r` },
    ]);
    expect(r.code, r.output).toBe(0);
    expect(promptCount(r.output)).toBe(1);
    expect(stsCalls(sts)).toEqual(["GetSessionToken+MFA", "AssumeRole Administrator"]);
    const assume = sts.calls("AssumeRole")[0]!;
    expect(assume.params.SerialNumber).toBeUndefined();
    expect(assume.params.TokenCode).toBeUndefined();
    // The chained GetSessionToken lasts 8h (aws-vault's default for a role's source session).
    expect(sts.calls("GetSessionToken")[0]!.params.DurationSeconds).toBe(String(8 * 3600));
  });

  it("without a session (--no-session) every MFA role hop prompts", async () => {
    const v = await setupVault(artifact, sts, user, readmeConfig());
    const answer = { expect: /Enter MFA code for \S+ \(profile [\w-]+\): $/, send: `${mfaCode(sts, user)}\r` };
    const r = await runInPty([...artifact.argv, "exec", "bar-role2", "--no-session", "--", "true"], v.env, [answer, answer]);
    expect(r.code, r.output).toBe(0);
    expect(promptCount(r.output)).toBe(2);
    expect(stsCalls(sts)).toEqual(["AssumeRole Role1+MFA", "AssumeRole Role2+MFA"]);
  });

  it("bar-role2 (two role hops) runs mfa_process once", async () => {
    const v = await setupVault(artifact, sts, user);
    const mfa = mfaProcessCommand(v.sb, user);
    v.appendConfig(readmeConfig({ mfaProcess: mfa.command }));
    const r = await v.run(["exec", "bar-role2", "--", "true"]);
    expect(r.code, r.stderr).toBe(0);
    expect(mfa.count()).toBe(1);
    expect(stsCalls(sts)).toEqual(["GetSessionToken+MFA", "AssumeRole Role1", "AssumeRole Role2"]);
  });
});

describe.each(ARTIFACTS)("MFA errors ($name)", (artifact) => {
  it("a wrong --mfa-token fails GetSessionToken with one clear line and stores nothing", async () => {
    const v = await setupVault(artifact, sts, user, readmeConfig());
    const before = keyringSnapshot(v.sb);
    const r = await v.run(["exec", "jonsmith", "--mfa-token", wrongMfaCode(sts, user), "--", ...REPORT_SESSION]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    const errors = r.stderr.split("\n").filter((l) => l.startsWith("aws-vault: error:"));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/jonsmith/);
    expect(errors[0]).toMatch(/GetSessionToken/);
    expect(errors[0]).toMatch(/MultiFactorAuthentication failed/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(keyringSnapshot(v.sb)).toEqual(before);
    expect(stsCalls(sts)).toEqual(["GetSessionToken+MFA -> AccessDenied"]);
  });

  it("a wrong code typed at the terminal fails AssumeRole (--no-session) and stores nothing", async () => {
    const v = await setupVault(artifact, sts, user, readmeConfig());
    const before = keyringSnapshot(v.sb);
    const r = await runInPty([...artifact.argv, "exec", "foo-admin", "--no-session", "--", ...REPORT_SESSION], v.env, [
      { expect: /Enter MFA code for \S+ \(profile [\w-]+\): $/, send: `${wrongMfaCode(sts, user)}\r` },
    ]);
    expect(r.code).toBe(1);
    const errors = r.output.split(/\r?\n/).filter((l) => l.startsWith("aws-vault: error:"));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/foo-admin/);
    expect(errors[0]).toMatch(/AssumeRole/);
    expect(r.output).not.toMatch(/\n\s+at /);
    expect(r.output).not.toContain("session token:");
    expect(keyringSnapshot(v.sb)).toEqual(before);
    expect(stsCalls(sts)).toEqual(["AssumeRole Administrator+MFA -> AccessDenied"]);
  });

  it("Ctrl-C at the prompt cancels, stores nothing and leaves no lock behind", async () => {
    const v = await setupVault(artifact, sts, user, readmeConfig());
    const before = keyringSnapshot(v.sb);
    const r = await runInPty([...artifact.argv, "exec", "jonsmith", "--", "true"], v.env, [
      { expect: /Enter MFA code for \S+ \(profile [\w-]+\): $/, send: "12" },
      { expect: /12$/, send: "\u0003" },
    ]);
    expect(r.code).toBe(130);
    expect(r.output).toMatch(/aws-vault: error: exec: .*cancelled/);
    expect(r.output).not.toMatch(/\n\s+at /);
    expect(keyringSnapshot(v.sb)).toEqual(before);
    expect(stsCalls(sts)).toEqual([]);

    const locks = join(v.sb.home, ".awsvault", "locks");
    expect(existsSync(locks) ? readdirSync(locks) : []).toEqual([]);
    const next = await v.run(["exec", "jonsmith", "--mfa-token", mfaCode(sts, user), "--", "true"]);
    expect(next.code, next.stderr).toBe(0);
  });

  it("without a terminal, asking for a code fails clearly and stores nothing", async () => {
    const v = await setupVault(artifact, sts, user, readmeConfig());
    const before = keyringSnapshot(v.sb);
    const r = await v.run(["exec", "jonsmith", "--", "true"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^aws-vault: error: exec: .*jonsmith: cannot ask for the MFA code: open \/dev\/tty/);
    expect(r.stderr).toMatch(/^aws-vault: hint: .*--mfa-token.*mfa_process/m);
    expect(keyringSnapshot(v.sb)).toEqual(before);
    expect(stsCalls(sts)).toEqual([]);
  });

  it("an unknown access key gives InvalidClientTokenId with a hint", async () => {
    const stranger = newUser("stranger");
    const v = await setupVault(artifact, sts, stranger);
    const r = await v.run(["export", "jonsmith"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    const lines = r.stderr.trim().split("\n");
    expect(lines[0]).toMatch(/^aws-vault: error: .*jonsmith.*GetSessionToken.*InvalidClientTokenId/);
    expect(lines.slice(1).join("\n")).toMatch(/^aws-vault: hint: .*aws-vault add/m);
    expect(r.stderr).not.toContain(stranger.secretAccessKey);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
