// Shared set-up for the STS e2e suites (mfa, cache, provider matrix): a fake STS that checks TOTP
// codes, a sandboxed HOME whose file keyring holds jonsmith's long-term keys, and the aws-vault
// README "Roles and MFA" profiles.
import { appendFileSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, expect } from "vitest";
import { type Artifact, type CliResult, run, type RunOptions, type Sandbox, sandbox } from "./cli.ts";

export { awsEnv } from "./cli.ts";
import { type FakeSts, type MasterUser, randomTotpSecret, startFakeSts, totp } from "./fake-sts.ts";

export const ACCOUNT = "111111111111";
export const SERIAL = `arn:aws:iam::${ACCOUNT}:mfa/jonsmith`;
export const ROLES = {
  readonly: "arn:aws:iam::222222222222:role/ReadOnly",
  admin: "arn:aws:iam::222222222222:role/Administrator",
  role1: "arn:aws:iam::333333333333:role/Role1",
  role2: "arn:aws:iam::333333333333:role/Role2",
} as const;

function randomFrom(alphabet: string, n: number): string {
  let s = "";
  for (let i = 0; i < n; i++) s += alphabet[Math.floor(Math.random() * alphabet.length)];
  return s;
}

/** A fresh IAM user with random keys and a virtual MFA device. */
export function newUser(name = "jonsmith"): MasterUser {
  return {
    accessKeyId: `AKIA${randomFrom("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)}`,
    secretAccessKey: randomFrom("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 40),
    arn: `arn:aws:iam::${ACCOUNT}:user/${name}`,
    mfa: { serial: `arn:aws:iam::${ACCOUNT}:mfa/${name}`, totpSecretBase32: randomTotpSecret() },
  };
}

/**
 * The fake STS: Administrator and Role1 require MFA (directly or via an MFA session token) and may
 * last up to 8h/2h. Role2 is assumed from Role1's credentials, which the fake does not treat as MFA
 * sessions, so it requires none.
 */
export function startScenarioSts(user: MasterUser): Promise<FakeSts> {
  return startFakeSts({
    users: [user],
    roles: {
      [ROLES.readonly]: {},
      [ROLES.admin]: { requireMfa: true, maxSessionDuration: 8 * 3600 },
      [ROLES.role1]: { requireMfa: true, maxSessionDuration: 2 * 3600 },
      [ROLES.role2]: {},
    },
  });
}

/** The README "Roles and MFA" profiles; `add` has already written `[profile jonsmith]`. */
export function readmeConfig(opts: { mfaProcess?: string } = {}): string {
  const mfa = `mfa_serial = ${SERIAL}\n${opts.mfaProcess ? `mfa_process = ${opts.mfaProcess}\n` : ""}`;
  return [
    mfa,
    `[profile foo-readonly]\nsource_profile = jonsmith\nrole_arn = ${ROLES.readonly}\n`,
    `[profile foo-admin]\nsource_profile = jonsmith\nrole_arn = ${ROLES.admin}\n${mfa}`,
    `[profile bar-role1]\nsource_profile = jonsmith\nrole_arn = ${ROLES.role1}\n${mfa}`,
    `[profile bar-role2]\nsource_profile = bar-role1\nrole_arn = ${ROLES.role2}\n${mfa}`,
  ].join("\n");
}

export interface Vault {
  artifact: Artifact;
  sb: Sandbox;
  /** Runs aws-vault in the sandbox against the fake. */
  run(args: string[], opts?: RunOptions): Promise<CliResult>;
  /** The sandbox env (for runInPty and concurrent runs). */
  env: Record<string, string>;
  appendConfig(text: string): void;
}

/**
 * A sandbox pointed at the fake, with `user`'s keys stored as `jonsmith` and `config` appended to
 * the `[profile jonsmith]` section that `add` writes.
 */
export async function setupVault(
  artifact: Artifact,
  sts: FakeSts,
  user: MasterUser,
  config = "",
  extraEnv: Record<string, string> = {},
): Promise<Vault> {
  const sb = sandbox({ AWS_ENDPOINT_URL: sts.endpoint, ...extraEnv });
  const add = await run(artifact, ["add", "--env", "jonsmith"], {
    env: { ...sb.env, AWS_ACCESS_KEY_ID: user.accessKeyId, AWS_SECRET_ACCESS_KEY: user.secretAccessKey },
  });
  expect(add.code, add.stderr).toBe(0);
  expect(readFileSync(sb.configPath, "utf8")).toMatch(/\[profile jonsmith\]\s*$/);
  appendFileSync(sb.configPath, config);
  return {
    artifact,
    sb,
    env: sb.env,
    run: (args, opts = {}) => run(artifact, args, { ...opts, env: { ...sb.env, ...opts.env } }),
    appendConfig: (text) => appendFileSync(sb.configPath, text),
  };
}

/** The current code of the user's MFA device, by the fake's clock. */
export function mfaCode(sts: FakeSts, user: MasterUser): string {
  return totp(user.mfa!.totpSecretBase32, sts.now());
}

/** A well-formed code that the fake rejects (it accepts the previous, current and next step). */
export function wrongMfaCode(sts: FakeSts, user: MasterUser): string {
  const now = sts.now().getTime();
  const valid = new Set([-2, -1, 0, 1, 2].map((d) => totp(user.mfa!.totpSecretBase32, new Date(now + d * 30_000))));
  for (let n = 123456; ; n = (n + 7919) % 1_000_000) {
    const code = String(n).padStart(6, "0");
    if (!valid.has(code)) return code;
  }
}

/**
 * An `mfa_process` command that appends a line to `counterFile` and prints the current TOTP code
 * (computed by a small Node script from the secret, on the real clock like the fake's).
 */
export function mfaProcessCommand(sb: Sandbox, user: MasterUser): { command: string; count(): number } {
  const script = join(sb.home, "totp.mjs");
  const counter = join(sb.home, "mfa-count");
  const secretFile = join(sb.home, "totp-secret");
  writeFileSync(secretFile, user.mfa!.totpSecretBase32, { mode: 0o600 });
  writeFileSync(counter, "");
  writeFileSync(
    script,
    `import { createHmac } from "node:crypto";
import { appendFileSync, readFileSync } from "node:fs";
const [secretFile, counter] = process.argv.slice(2);
appendFileSync(counter, "code\\n");
const B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
let bits = 0, acc = 0; const key = [];
for (const ch of readFileSync(secretFile, "utf8").trim()) {
  acc = (acc << 5) | B32.indexOf(ch); bits += 5;
  if (bits >= 8) { bits -= 8; key.push((acc >> bits) & 0xff); }
}
const msg = Buffer.alloc(8);
msg.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 30000)));
const mac = createHmac("sha1", Buffer.from(key)).update(msg).digest();
const off = mac[mac.length - 1] & 15;
console.log(String((mac.readUInt32BE(off) & 0x7fffffff) % 1000000).padStart(6, "0"));
`,
  );
  return {
    command: `${process.execPath} ${script} ${secretFile} ${counter}`,
    count: () => readFileSync(counter, "utf8").split("\n").filter(Boolean).length,
  };
}

/** Every file in the keyring folder with its bytes (to prove that nothing was stored). */
export function keyringSnapshot(sb: Sandbox): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of readdirSync(sb.keysDir).sort()) out[f] = readFileSync(join(sb.keysDir, f)).toString("base64");
  return out;
}

/** `aws-vault list` as profile -> session labels (`sts.GetSessionToken:59m58s`, ...). */
export async function sessionsByProfile(v: Vault): Promise<Record<string, string[]>> {
  const r = await v.run(["list"]);
  expect(r.code, r.stderr).toBe(0);
  const out: Record<string, string[]> = {};
  for (const line of r.stdout.split("\n").slice(2)) {
    const [profile, , sessions] = line.trim().split(/\s{2,}/);
    if (!profile || profile === "-" || !sessions || sessions === "-") continue;
    out[profile] = sessions.split(", ");
  }
  return out;
}

/** Session labels from `list --sessions`, without the time left: `sts.GetSessionToken`, ... */
export async function sessionTypes(v: Vault): Promise<string[]> {
  const r = await v.run(["list", "--sessions"]);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout
    .split("\n")
    .filter(Boolean)
    .map((l) => l.replace(/:[^:]*$/, ""))
    .sort();
}

/** The fake's calls as compact strings: `GetSessionToken+MFA`, `AssumeRole Role1`, `AssumeRole Role2 7200s`. */
export function stsCalls(sts: FakeSts): string[] {
  return sts
    .calls()
    .filter((c) => c.action !== "GetCallerIdentity")
    .map((c) => {
      let s = c.action;
      if (c.params.RoleArn) s += ` ${c.params.RoleArn.split("/").pop()}`;
      if (c.mfaUsed) s += "+MFA";
      if (c.status !== 200) s += ` -> ${c.errorCode}`;
      return s;
    });
}

/**
 * One STS fake (with a fresh master user) for a test file: started before the tests, stopped after,
 * its call log cleared before each test. `use` receives both once they exist.
 */
export function useScenarioSts(use: (sts: FakeSts, user: MasterUser) => void): void {
  let sts: FakeSts | undefined;
  beforeAll(async () => {
    const user = newUser();
    sts = await startScenarioSts(user);
    use(sts, user);
  });
  afterAll(() => sts?.stop());
  beforeEach(() => sts?.resetCalls());
}
