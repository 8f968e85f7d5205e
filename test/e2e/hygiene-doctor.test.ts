// Issue 12: `aws-vault doctor` end to end on both artifacts: every problem found with the right line,
// a clean setup gives exit 0 with no warnings, and --online against moto.
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeFileName } from "../../src/keyring/file-format.ts";
import type { Finding } from "../../src/vault/doctor.ts";
import { formatSessionKey } from "../../src/vault/session-key.ts";
import { ARTIFACTS, type Artifact, run, sandbox, type Sandbox } from "../support/cli.ts";
import { bootstrapUser, type Moto, type MotoUser, startMoto } from "../support/moto.ts";

let moto: Moto;
let user: MotoUser;

beforeAll(async () => {
  moto = await startMoto({ authAfter: 3 });
  user = await bootstrapUser(moto, "doc");
});
afterAll(async () => moto?.stop());

async function add(artifact: Artifact, sb: Sandbox, profile: string): Promise<void> {
  const r = await run(artifact, ["add", "--env", "--no-add-config", profile], {
    env: { ...sb.env, AWS_ACCESS_KEY_ID: user.accessKeyId, AWS_SECRET_ACCESS_KEY: user.secretAccessKey },
  });
  expect(r.code, r.stderr).toBe(0);
}

async function doctor(artifact: Artifact, sb: Sandbox, args: string[] = [], env: Record<string, string | undefined> = {}) {
  const r = await run(artifact, ["doctor", "--format", "json", ...args], { env: { ...sb.env, AWS_VAULT_FILE_PASSPHRASE: undefined, ...env } });
  return { code: r.code, stderr: r.stderr, doc: JSON.parse(r.stdout) as { version: number; errors: number; warnings: number; findings: Finding[] } };
}

// Line numbers matter: each problem sits on a known line.
const BAD_CONFIG = [
  "[profile alice]", //                                   1
  "regoin = us-east-1", //                                2 unknown key, did you mean region
  "mfa_serial = arn:aws:iam::123456789012:mfa/alice", //  3
  "", //                                                  4
  "[profile dev]", //                                     5
  "source_profile = alice", //                            6
  "role_arn = arn:aws:iam::123456789012:role/dev", //     7
  "duration_seconds = 99999", //                          8 out of range
  "region = eu-west-1", //                                9
  "region = eu-west-2", //                               10 duplicate key
  "", //                                                 11
  "[profile loop1]", //                                  12
  "source_profile = loop2", //                           13 loop
  "role_arn = arn:aws:iam::123456789012:role/x", //      14
  "", //                                                 15
  "[profile loop2]", //                                  16
  "source_profile = loop1", //                           17 loop
  "role_arn = arn:aws:iam::12345:role/x", //             18 malformed role_arn
  "", //                                                 19
  "[profile nokeys]", //                                 20 needs stored keys
  "region = us-east-1", //                               21
  "", //                                                 22
  "[profile orphan]", //                                 23
  "source_profile = ghost", //                           24 missing target
  "role_arn = arn:aws:iam::123456789012:role/x", //      25
  "mfa_serial = not a serial", //                        26 malformed mfa_serial
  "include_profile = nowhere", //                        27 missing include target
  "", //                                                 28
  "[profile sso]", //                                    29
  "sso_start_url = http://example.com/start", //         30 malformed sso_start_url
  "sso_region = moon", //                                31 malformed sso_region
  "sso_account_id = 12", //                              32 malformed sso_account_id
  "sso_role_name = r", //                                33
  "", //                                                 34
  "[profile dev]", //                                    35 duplicate section
  "output = json", //                                    36
  "", //                                                 37
  "[profile plain]", //                                  38 GetSessionToken without MFA
  "region = us-east-1", //                               39
  "", //                                                 40
  "[profile inc1]", //                                   41
  "include_profile = inc2", //                           42 include_profile loop
  "", //                                                 43
  "[profile inc2]", //                                   44
  "include_profile = inc1", //                           45 include_profile loop
  "", //                                                 46
].join("\n");

describe.each(ARTIFACTS)("doctor ($name)", (artifact) => {
  it("finds every problem with the right line, and exits 1", async () => {
    const sb = sandbox();
    await add(artifact, sb, "alice");
    await add(artifact, sb, "plain");
    writeFileSync(sb.configPath, BAD_CONFIG);
    const credsPath = join(sb.home, ".aws", "credentials");
    writeFileSync(credsPath, `# old\n[legacy]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n`);
    // keyring problems: folder mode, a damaged item, a stale lock, leftover temp files, an expired session
    chmodSync(sb.keysDir, 0o755);
    // A damaged item: a real one whose ciphertext was altered (the JWE header still says it is an item).
    await add(artifact, sb, "broken");
    const brokenPath = join(sb.keysDir, encodeFileName("broken"));
    const parts = readFileSync(brokenPath, "utf8").split(".");
    parts[3] = `${parts[3]?.startsWith("A") ? "B" : "A"}${parts[3]?.slice(1)}`;
    writeFileSync(brokenPath, parts.join("."), { mode: 0o600 });
    const expired = formatSessionKey({ type: "sts.GetSessionToken", profileName: "alice", mfaSerial: "", expiration: new Date(Date.now() - 3600_000) });
    // (listed by name only: any item-shaped content will do)
    writeFileSync(join(sb.keysDir, encodeFileName(expired)), readFileSync(join(sb.keysDir, encodeFileName("alice")), "utf8"), { mode: 0o600 });
    mkdirSync(join(sb.home, ".awsvault", "locks"), { recursive: true, mode: 0o700 });
    writeFileSync(join(sb.home, ".awsvault", "locks", "abc.lock"), `999999\n${(await import("node:os")).hostname()}\ntoken\n`);
    writeFileSync(join(sb.home, ".aws", ".aws-vault-import-credentials-999999-aabbcc"), "leftover", { mode: 0o600 });

    const { code, doc } = await doctor(artifact, sb, [], {
      AWS_SHARED_CREDENTIALS_FILE: credsPath,
      AWS_ACCESS_KEY_ID: "AKIAIOSFODNN7EXAMPLE",
      AWS_SECRET_ACCESS_KEY: "x",
      AWS_VAULT_FILE_PASSPHRASE: "test-passphrase",
    });
    expect(code).toBe(1);
    expect(doc.version).toBe(1);
    const at = (check: string, line?: number) => doc.findings.filter((f) => f.check === check && (line === undefined || f.line === line));
    const one = (check: string, line: number | undefined, severity: string, text: RegExp) => {
      const hits = at(check, line);
      expect(hits.length, `${check} at line ${line}: ${JSON.stringify(doc.findings, null, 1)}`).toBeGreaterThanOrEqual(1);
      expect(hits[0]?.severity).toBe(severity);
      expect(hits.map((h) => `${h.message} ${h.fix ?? ""}`).join("\n")).toMatch(text);
    };
    one("config.unknown-key", 2, "warn", /"regoin"; did you mean "region"/);
    one("config.duration", 8, "error", /99999/);
    one("config.duplicate-key", 10, "warn", /region is set 2 times/);
    one("config.loop", 13, "error", /loop1 -> loop2 -> loop1/);
    one("config.loop", 17, "error", /loop2 -> loop1 -> loop2/);
    one("config.role-arn", 18, "error", /not a role ARN/);
    one("config.loop", 42, "error", /include_profile loop: inc1 -> inc2 -> inc1/);
    one("config.loop", 45, "error", /include_profile loop: inc2 -> inc1 -> inc2/);
    one("keys.missing", 20, "error", /aws-vault add nokeys/);
    one("config.missing-target", 24, "error", /source_profile = ghost/);
    one("config.mfa-serial", 26, "error", /not a serial/);
    one("config.missing-target", 27, "error", /include_profile = nowhere/);
    one("config.sso", 30, "error", /https/);
    one("config.sso", 31, "error", /moon/);
    one("config.sso", 32, "error", /12-digit/);
    one("config.duplicate-section", 35, "warn", /first at line 5/);
    one("keys.session-without-mfa", 38, "warn", /InvalidClientTokenId[\s\S]*--no-session plain/);
    one("plaintext.credentials-file", 3, "warn", /aws-vault import --scrub legacy/);
    one("plaintext.environment", undefined, "warn", /AWS_ACCESS_KEY_ID/);
    one("plaintext.passphrase", undefined, "warn", /aws-vault unlock, or AWS_VAULT_FILE_PASSPHRASE_CMD/);
    one("keyring.backend", undefined, "ok", /backend file \(chosen with AWS_VAULT_BACKEND\)/);
    one("keyring.mode", undefined, "warn", /chmod 700/);
    one("keyring.damaged", undefined, "error", /aws-vault remove broken/);
    one("keyring.stale-lock", undefined, "warn", /rm .*abc\.lock/);
    one("keyring.temp-file", undefined, "warn", /interrupted import/);
    one("keyring.expired-sessions", undefined, "warn", /aws-vault clear/);
    // A parse error names its line; the text format is one line per finding.
    writeFileSync(sb.configPath, "[profile a]\nregion = x\nthis line is broken\n");
    const parse = await doctor(artifact, sb);
    expect(parse.code).toBe(1);
    expect(parse.doc.findings.find((f) => f.check === "config.parse")).toMatchObject({ severity: "error", line: 3 });
    const text = await run(artifact, ["doctor"], { env: { ...sb.env, AWS_VAULT_FILE_PASSPHRASE: undefined } });
    expect(text.stdout).toMatch(new RegExp(`^error config\\.parse: ${sb.configPath}:3: `, "m"));
    // No secret reaches the output.
    expect(JSON.stringify(doc)).not.toContain("wJalrXUtnFEMI");
  });

  it("a clean setup: exit 0, no warnings", async () => {
    const sb = sandbox();
    await add(artifact, sb, "clean");
    writeFileSync(sb.configPath, "[profile clean]\nregion = us-east-1\nmfa_serial = arn:aws:iam::123456789012:mfa/clean\n\n[profile admin]\nsource_profile = clean\nrole_arn = arn:aws:iam::123456789012:role/admin\n");
    const { code, doc } = await doctor(artifact, sb);
    expect(doc.findings.filter((f) => f.severity !== "ok"), JSON.stringify(doc.findings)).toEqual([]);
    expect(code).toBe(0);
    expect(doc).toMatchObject({ errors: 0, warnings: 0 });
  });

  it("quoted section names and values are read as the config loader reads them: no false findings", async () => {
    const sb = sandbox();
    await add(artifact, sb, "a b");
    writeFileSync(sb.configPath, '[profile "a b"]\nregion = "us-east-1"\nmfa_serial = arn:aws:iam::123456789012:mfa/ab\n\n[profile  admin]\nsource_profile = "a b"\nrole_arn = arn:aws:iam::123456789012:role/admin\n');
    const { code, doc } = await doctor(artifact, sb);
    expect(doc.findings.filter((f) => f.severity !== "ok"), JSON.stringify(doc.findings)).toEqual([]);
    expect(code).toBe(0);
  });

  it("--online against moto: identity, clock, key age from IAM (recorded), last use, a missing MFA device", async () => {
    const sb = sandbox({ AWS_ENDPOINT_URL: moto.endpoint });
    await add(artifact, sb, "doc");
    writeFileSync(sb.configPath, "[profile doc]\nregion = us-east-1\nmfa_serial = arn:aws:iam::123456789012:mfa/doc\n");
    const { doc } = await doctor(artifact, sb, ["--online", "doc"], { AWS_VAULT_FILE_PASSPHRASE: "test-passphrase" });
    const f = (check: string) => doc.findings.find((x) => x.check === check);
    expect(f("online.identity")).toMatchObject({ severity: "ok", profile: "doc" });
    expect(f("online.identity")?.message).toContain(user.arn);
    expect(f("online.clock-skew")?.severity).toBe("ok");
    expect(f("online.key-age")).toMatchObject({ severity: "ok" });
    expect(f("online.key-age")?.message).toMatch(/was created less than an hour ago/);
    expect(f("online.last-used")?.severity).toBe("ok");
    expect(f("online.mfa")).toMatchObject({ severity: "error" });
    expect(f("online.mfa")?.message).toMatch(/is not an MFA device of doc/);
    const records = JSON.parse(readFileSync(join(sb.home, ".awsvault", "key-metadata.json"), "utf8"));
    expect(records.profiles.doc.createdAt).toMatch(/Z$/);
    expect(JSON.stringify(doc)).not.toContain(user.secretAccessKey);
  });
});
