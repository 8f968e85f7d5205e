// The session cache end to end: reuse inside the window (no STS call), list and clear, duration
// coverage (--duration asks for more than the cached session was issued for), AWS_MIN_TTL, and
// concurrent invocations sharing one STS call and one MFA code through the cross-process lock.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { ARTIFACTS } from "../support/cli.ts";
import { damageItem } from "../support/damage.ts";
import type { FakeSts, MasterUser } from "../support/fake-sts.ts";
import { runInPty } from "../support/pty.ts";
import {
  awsEnv,
  mfaCode,
  mfaProcessCommand,
  readmeConfig,
  SERIAL,
  sessionsByProfile,
  setupVault,
  useScenarioSts,
  stsCalls,
  type Vault,
} from "../support/vault-scenario.ts";

const CONCURRENCY = 20;

let sts: FakeSts;
let user: MasterUser;
useScenarioSts((s, u) => {
  sts = s;
  user = u;
});

/** `exec jonsmith [flags] -- env`: the child's AWS_* variables. */
async function execEnv(v: Vault, flags: string[] = [], env: Record<string, string> = {}): Promise<Record<string, string>> {
  const r = await v.run(["exec", "jonsmith", ...flags, "--", "env"], { env });
  expect(r.code, r.stderr).toBe(0);
  return awsEnv(r.stdout);
}

function requestedDurations(): string[] {
  return sts.calls("GetSessionToken").map((c) => c.params.DurationSeconds ?? "");
}

describe.each(ARTIFACTS)("session cache ($name)", (artifact) => {
  // jonsmith is a plain IAM-user profile without MFA: exec uses a cached GetSessionToken session.
  let v: Vault;
  beforeEach(async () => {
    v = await setupVault(artifact, sts, user);
    sts.resetCalls();
  });

  it("reuses the session inside its window; list shows it; clear removes it", async () => {
    const first = await execEnv(v);
    expect(stsCalls(sts)).toEqual(["GetSessionToken"]);

    const second = await execEnv(v);
    expect(stsCalls(sts)).toEqual(["GetSessionToken"]);
    expect(second.AWS_ACCESS_KEY_ID).toBe(first.AWS_ACCESS_KEY_ID);
    expect(second.AWS_SESSION_TOKEN === first.AWS_SESSION_TOKEN, "same session token").toBe(true);

    expect(await sessionsByProfile(v)).toEqual({ jonsmith: [expect.stringMatching(/^sts\.GetSessionToken:59m\d+s$/)] });

    const clear = await v.run(["clear"]);
    expect(clear.code, clear.stderr).toBe(0);
    expect(clear.stdout).toBe("Cleared 1 sessions.\n");
    expect(await sessionsByProfile(v)).toEqual({});

    const third = await execEnv(v);
    expect(stsCalls(sts)).toEqual(["GetSessionToken", "GetSessionToken"]);
    expect(third.AWS_ACCESS_KEY_ID).not.toBe(first.AWS_ACCESS_KEY_ID);
  });

  it("--duration 8h replaces a cached 1h session; later runs reuse the 8h one", async () => {
    const oneHour = await execEnv(v);
    expect(requestedDurations()).toEqual(["3600"]);

    const eightHours = await execEnv(v, ["--duration", "8h"]);
    expect(requestedDurations()).toEqual(["3600", "28800"]);
    expect(eightHours.AWS_ACCESS_KEY_ID).not.toBe(oneHour.AWS_ACCESS_KEY_ID);
    expect(await sessionsByProfile(v)).toEqual({ jonsmith: [expect.stringMatching(/^sts\.GetSessionToken:7h59m\d+s$/)] });

    // A plain exec, the same --duration, or a shorter one are all covered by the 8h session.
    for (const flags of [[], ["--duration", "8h"], ["--duration", "2h"]]) {
      const again = await execEnv(v, flags);
      expect(again.AWS_ACCESS_KEY_ID, flags.join(" ")).toBe(eightHours.AWS_ACCESS_KEY_ID);
    }
    expect(requestedDurations()).toEqual(["3600", "28800"]);
  });

  it("--duration on a role: a cached role session must cover it, the MFA session it chains from need not", async () => {
    const mfa = mfaProcessCommand(v.sb, user);
    v.appendConfig(readmeConfig({ mfaProcess: mfa.command }));
    const exec = async (args: string[]) => {
      const r = await v.run(["exec", ...args, "--", "true"]);
      expect(r.code, r.stderr).toBe(0);
    };

    // A 1h MFA session from `exec jonsmith` serves foo-admin's chained AssumeRole of 30m.
    await exec(["jonsmith"]);
    await exec(["foo-admin", "--duration", "30m"]);
    expect(stsCalls(sts)).toEqual(["GetSessionToken+MFA", "AssumeRole Administrator"]);
    expect(sts.calls("AssumeRole").map((c) => c.params.DurationSeconds)).toEqual(["1800"]);
    expect(mfa.count()).toBe(1);

    // Above 1h the role is assumed with MFA from the long-term keys and cached as sts.AssumeRole.
    sts.resetCalls();
    await exec(["foo-admin", "--duration", "2h"]);
    await exec(["foo-admin", "--duration", "90m"]);
    await exec(["foo-admin", "--duration", "3h"]);
    await exec(["foo-admin", "--duration", "3h"]);
    expect(stsCalls(sts)).toEqual(["AssumeRole Administrator+MFA", "AssumeRole Administrator+MFA"]);
    expect(sts.calls("AssumeRole").map((c) => c.params.DurationSeconds)).toEqual(["7200", "10800"]);
    expect(mfa.count()).toBe(3);
  });

  it.each([
    ["its wrapped key", 1],
    ["its content", 3],
  ] as const)("a cached session damaged in %s is a miss: warned once under --debug, fetched again and replaced", async (_what, part) => {
    await execEnv(v);
    const sessionFiles = () => readdirSync(v.sb.keysDir).filter((f) => f.startsWith("sts.GetSessionToken,"));
    const [damaged] = sessionFiles();
    damageItem(join(v.sb.keysDir, damaged!), part);
    const damagedText = readFileSync(join(v.sb.keysDir, damaged!), "utf8");

    const r = await v.run(["--debug", "exec", "jonsmith", "--", "true"]);
    expect(r.code, r.stderr).toBe(0);
    expect(stsCalls(sts)).toEqual(["GetSessionToken", "GetSessionToken"]);
    const warnings = r.stderr.split("\n").filter((l) => l.includes("cached session for jonsmith is unreadable"));
    expect(warnings, r.stderr).toHaveLength(1);
    expect(warnings[0]).toContain('item "sts.GetSessionToken,');
    expect(warnings[0]).toContain("is damaged");
    expect(warnings[0]).toMatch(/: replacing it$/);
    expect(sessionFiles()).toHaveLength(1);
    expect(readFileSync(join(v.sb.keysDir, sessionFiles()[0]!), "utf8")).not.toBe(damagedText);
    const again = await v.run(["--debug", "exec", "jonsmith", "--", "true"]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).not.toContain("unreadable");
    expect(stsCalls(sts)).toHaveLength(2);
  });

  it("AWS_MIN_TTL larger than the time left forces a refresh; a smaller one does not", async () => {
    const first = await execEnv(v);
    const kept = await execEnv(v, [], { AWS_MIN_TTL: "30m" });
    expect(kept.AWS_ACCESS_KEY_ID).toBe(first.AWS_ACCESS_KEY_ID);
    expect(stsCalls(sts)).toEqual(["GetSessionToken"]);

    const refreshed = await execEnv(v, [], { AWS_MIN_TTL: "2h" });
    expect(refreshed.AWS_ACCESS_KEY_ID).not.toBe(first.AWS_ACCESS_KEY_ID);
    expect(stsCalls(sts)).toEqual(["GetSessionToken", "GetSessionToken"]);
    // The refreshed session replaced the old one rather than adding a second.
    expect((await sessionsByProfile(v)).jonsmith).toHaveLength(1);
  });
});

describe.each(ARTIFACTS)("concurrent invocations ($name)", (artifact) => {
  async function exportConcurrently(v: Vault): Promise<string[]> {
    const results = await Promise.all(
      Array.from({ length: CONCURRENCY }, () => v.run(["export", "--format", "json", "jonsmith"], { timeoutMs: 60_000 })),
    );
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    return results.map((r) => r.stdout);
  }

  it(`${CONCURRENCY} exports with an empty cache make one GetSessionToken call and print the same credentials`, async () => {
    const v = await setupVault(artifact, sts, user);
    sts.resetCalls();
    const outputs = await exportConcurrently(v);
    expect(stsCalls(sts)).toEqual(["GetSessionToken"]);
    expect(new Set(outputs).size).toBe(1);
    const doc = JSON.parse(outputs[0]!) as { AccessKeyId: string };
    expect(sts.issued().map((c) => c.accessKeyId)).toContain(doc.AccessKeyId);
  });

  it("two exports started together at one terminal prompt once", async () => {
    const v = await setupVault(artifact, sts, user);
    v.appendConfig(`mfa_serial = ${SERIAL}\n`);
    sts.resetCalls();
    const self = artifact.argv.map((a) => `'${a}'`).join(" ");
    const script = `${self} export --format json jonsmith > one.json & ${self} export --format json jonsmith > two.json & wait`;
    const r = await runInPty(["sh", "-c", `cd '${v.sb.home}'; ${script}`], v.env, [
      { expect: /Enter MFA code for \S+ \(profile [\w-]+\): $/, send: `${mfaCode(sts, user)}\r` },
    ]);
    expect(r.code, r.output).toBe(0);
    expect(r.output.match(/Enter MFA code/g)).toHaveLength(1);
    expect(stsCalls(sts)).toEqual(["GetSessionToken+MFA"]);
    const [one, two] = ["one.json", "two.json"].map((f) => readFileSync(join(v.sb.home, f), "utf8"));
    expect(JSON.parse(one!).SessionToken).toBeTruthy();
    expect(two === one, "both processes print the same credentials").toBe(true);
  });

  it(`${CONCURRENCY} exports of an MFA profile run mfa_process once`, async () => {
    const v = await setupVault(artifact, sts, user);
    const mfa = mfaProcessCommand(v.sb, user);
    v.appendConfig(`mfa_serial = ${SERIAL}\nmfa_process = ${mfa.command}\n`);
    sts.resetCalls();
    const outputs = await exportConcurrently(v);
    expect(mfa.count()).toBe(1);
    expect(stsCalls(sts)).toEqual(["GetSessionToken+MFA"]);
    expect(new Set(outputs).size).toBe(1);
  });
});
