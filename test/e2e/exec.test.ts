// Issue 3 acceptance against moto_server with SigV4 checking and the real AWS CLI as consumer.
import { execFile } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, appendFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ARTIFACTS, DIST, run, sandbox, start, type Artifact, type Sandbox, awsEnv } from "../support/cli.ts";
import { bootstrapUser, type Moto, type MotoUser, startMoto } from "../support/moto.ts";

const execFileP = promisify(execFile);
const ROLE_ARN = "arn:aws:iam::123456789012:role/admin";

let moto: Moto;
let user: MotoUser;

beforeAll(async () => {
  moto = await startMoto({ authAfter: 3 });
  user = await bootstrapUser(moto);
});
afterAll(async () => moto?.stop());

async function setup(artifact: Artifact, extraConfig = ""): Promise<Sandbox> {
  const sb = sandbox({ AWS_ENDPOINT_URL: moto.endpoint });
  const add = await run(artifact, ["add", "--env", "alice"], {
    env: { ...sb.env, AWS_ACCESS_KEY_ID: user.accessKeyId, AWS_SECRET_ACCESS_KEY: user.secretAccessKey },
  });
  expect(add.code, add.stderr).toBe(0);
  appendFileSync(sb.configPath, `region = us-east-1\n\n[profile admin]\nsource_profile = alice\nrole_arn = ${ROLE_ARN}\n${extraConfig}`);
  return sb;
}


describe.each(ARTIFACTS)("exec and export against moto ($name)", (artifact) => {
  it("exec role -- aws sts get-caller-identity prints the assumed-role ARN", async () => {
    const sb = await setup(artifact);
    const r = await run(artifact, ["exec", "admin", "--", "aws", "sts", "get-caller-identity", "--output", "json"], { env: sb.env });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).Arn).toMatch(/^arn:aws:sts::123456789012:assumed-role\/admin\/\d+$/);
  });

  it("works as credential_process for the AWS CLI (export --format json and the seed's exec -j)", async () => {
    const sb = await setup(artifact);
    const self = artifact.argv.map((a) => `'${a}'`).join(" ");
    appendFileSync(
      sb.configPath,
      `\n[profile via-export]\nregion = us-east-1\ncredential_process = ${self} export --format json admin\n` +
        `\n[profile via-exec-j]\nregion = us-east-1\ncredential_process = ${self} exec -j admin\n`,
    );
    for (const profile of ["via-export", "via-exec-j"]) {
      const { stdout } = await execFileP("aws", ["sts", "get-caller-identity", "--profile", profile, "--output", "json"], {
        env: sb.env,
      });
      expect(JSON.parse(stdout).Arn).toMatch(/^arn:aws:sts::123456789012:assumed-role\/admin\//);
    }
    const json = await run(artifact, ["export", "--format", "json", "admin"], { env: sb.env });
    const doc = JSON.parse(json.stdout);
    expect(Object.keys(doc)).toEqual(["Version", "AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration"]);
    expect(doc.Version).toBe(1);
    expect(doc.Expiration).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  it("a plain IAM-user profile hands the child session credentials", async () => {
    const sb = await setup(artifact);
    const r = await run(artifact, ["exec", "alice", "--", "env"], { env: { ...sb.env, AWS_PROFILE: "x", AWS_CONTAINER_CREDENTIALS_FULL_URI: "http://x" } });
    expect(r.code, r.stderr).toBe(0);
    const env = awsEnv(r.stdout);
    expect(env.AWS_SESSION_TOKEN).toBeTruthy();
    expect(env.AWS_ACCESS_KEY_ID).toBeTruthy();
    expect(env.AWS_ACCESS_KEY_ID).not.toBe(user.accessKeyId);
    expect(env.AWS_CREDENTIAL_EXPIRATION).toMatch(/Z$/);
    expect(env).toMatchObject({ AWS_VAULT: "alice", AWS_REGION: "us-east-1", AWS_DEFAULT_REGION: "us-east-1" });
    expect(env.AWS_PROFILE).toBeUndefined();
    expect(env.AWS_CONTAINER_CREDENTIALS_FULL_URI).toBeUndefined();
    // --no-session hands over the master keys without a token or expiry
    const ns = awsEnv((await run(artifact, ["exec", "--no-session", "alice", "--", "env"], { env: sb.env })).stdout);
    expect(ns.AWS_ACCESS_KEY_ID).toBe(user.accessKeyId);
    expect(ns.AWS_SESSION_TOKEN).toBeUndefined();
    expect(ns.AWS_CREDENTIAL_EXPIRATION).toBeUndefined();
  });

  it("a second exec inside the window makes no STS call; list shows the session and clear removes it", async () => {
    const sb = await setup(artifact);
    moto.resetCalls();
    expect((await run(artifact, ["exec", "alice", "--", "true"], { env: sb.env })).code).toBe(0);
    expect(moto.calls("GetSessionToken")).toHaveLength(1);
    expect((await run(artifact, ["exec", "alice", "--", "true"], { env: sb.env })).code).toBe(0);
    expect(moto.calls("GetSessionToken")).toHaveLength(1);
    const list = await run(artifact, ["list"], { env: sb.env });
    expect(list.stdout).toMatch(/^alice {20}alice {20}sts\.GetSessionToken:(59m\d+s|1h0m0s) {2}$/m);
    expect((await run(artifact, ["list", "--sessions"], { env: sb.env })).stdout).toMatch(/^sts\.GetSessionToken:\d+m\d+s\n$/);
    expect((await run(artifact, ["clear", "alice"], { env: sb.env })).stdout).toBe("Cleared 1 sessions.\n");
    expect((await run(artifact, ["clear"], { env: sb.env })).stdout).toBe("Cleared 0 sessions.\n");
    expect(readdirSync(sb.keysDir)).toEqual(["alice"]);
  });

  it("exec returns the child's exit code and forwards SIGTERM", async () => {
    const sb = await setup(artifact);
    expect((await run(artifact, ["exec", "alice", "--", "sh", "-c", "exit 7"], { env: sb.env })).code).toBe(7);
    const marker = join(sb.home, "got-term");
    const child = start(
      artifact,
      ["exec", "--no-session", "alice", "--", "sh", "-c", `trap 'echo term > ${marker}; exit 143' TERM; echo ready; while :; do sleep 0.05; done`],
      { env: sb.env },
    );
    await new Promise<void>((res) => child.stdout?.on("data", (d: Buffer) => d.toString().includes("ready") && res()));
    child.kill("SIGTERM");
    const code = await new Promise<number | null>((res) => child.on("close", (c) => res(c)));
    expect(readFileSync(marker, "utf8")).toBe("term\n");
    expect(code).toBe(143);
  });

  it("errors exit at once with a clear message and leave the keyring unchanged", async () => {
    const sb = await setup(artifact, "\n[profile empty]\nregion = us-east-1\n\n[profile loop-a]\nsource_profile = loop-b\nrole_arn = arn:aws:iam::1:role/a\n\n[profile loop-b]\nsource_profile = loop-a\nrole_arn = arn:aws:iam::1:role/b\n");
    const before = readdirSync(sb.keysDir).map((f) => readFileSync(join(sb.keysDir, f), "utf8"));
    const cases: Array<[string[], Record<string, string>, RegExp]> = [
      [["exec", "nope", "--", "true"], {}, /^aws-vault: error: exec: .*profile 'nope' not found/],
      [["exec", "empty", "--", "true"], {}, /^aws-vault: error: exec: .*profile empty: credentials missing/],
      [["exec", "loop-a", "--", "true"], {}, /Loop detected in config file for profile 'loop-a'/],
      [["exec", "--duration", "forever", "alice", "--", "true"], {}, /invalid duration "forever"/],
      [["exec", "--duration", "10m", "alice", "--", "true"], {}, /invalid duration "10m": AWS sessions last from 15m to 36h/],
      [["exec", "alice", "--", "true"], { AWS_VAULT: "alice" }, /running in an existing aws-vault subshell/],
      [["export", "alice"], { AWS_VAULT: "alice" }, /^aws-vault: error: export: in an existing aws-vault subshell/],
      [["exec", "alice", "--", "true"], { AWS_VAULT_FILE_PASSPHRASE: "wrong" }, /wrong passphrase for the file keyring/],
      [["exec", "alice", "--", "definitely-not-a-command"], {}, /exec: "definitely-not-a-command": executable file not found in \$PATH/],
      [["exec", "--ec2-server", "--ecs-server", "alice", "--", "true"], {}, /Can't use --ec2-server with --ecs-server/],
    ];
    for (const [args, env, pattern] of cases) {
      const r = await run(artifact, args, { env: { ...sb.env, ...env }, timeoutMs: 10_000 });
      expect(r.code, args.join(" ")).not.toBe(0);
      expect(r.stderr, args.join(" ")).toMatch(pattern);
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
      expect(r.stdout).toBe("");
    }
    expect(readdirSync(sb.keysDir).map((f) => readFileSync(join(sb.keysDir, f), "utf8"))).toEqual(before);
  });

  it("an STS rejection names the profile and the call, with a hint", async () => {
    const sb = await setup(artifact);
    const bad = await run(artifact, ["add", "--env", "stranger"], {
      env: { ...sb.env, AWS_ACCESS_KEY_ID: "AKIAUNKNOWNKEY000000", AWS_SECRET_ACCESS_KEY: "unknownSecretKey/0000000000000000000000000" },
    });
    expect(bad.code).toBe(0);
    const r = await run(artifact, ["exec", "stranger", "--", "true"], { env: sb.env });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^aws-vault: error: exec: Failed to get credentials for stranger: profile stranger: GetSessionToken failed: InvalidClientTokenId/);
    expect(r.stderr).toMatch(/^aws-vault: hint: /m);
    expect(r.stderr).not.toContain("unknownSecretKey");
  });

  it("uses AWS_ENDPOINT_URL_STS over AWS_ENDPOINT_URL and reports a missing region clearly", async () => {
    const sb = await setup(artifact);
    const viaStsVar = await run(artifact, ["exec", "admin", "--", "true"], {
      env: { ...sb.env, AWS_ENDPOINT_URL: "http://127.0.0.1:9", AWS_ENDPOINT_URL_STS: moto.endpoint },
    });
    expect(viaStsVar.code, viaStsVar.stderr).toBe(0);
    writeFileSync(sb.configPath, readFileSync(sb.configPath, "utf8").replace("region = us-east-1\n", ""));
    const noRegion = await run(artifact, ["exec", "admin", "--", "true"], { env: { ...sb.env, AWS_DEFAULT_REGION: undefined } });
    expect(noRegion.code).toBe(1);
    expect(noRegion.stderr).toMatch(/no AWS region is configured/);
  });
});

describe("lazy loading", () => {
  it("a cached export --format json never loads the AWS SDK (Node bundle without its SDK chunk)", async () => {
    const node = ARTIFACTS.find((a) => a.name === "node") as Artifact;
    const sb = await setup(node);
    expect((await run(node, ["export", "--format", "json", "alice"], { env: sb.env })).code).toBe(0);
    const dist = mkdtempSync(join(tmpdir(), "awsv-dist-"));
    cpSync(join(DIST, "aws-vault.mjs"), join(dist, "aws-vault.mjs"));
    cpSync(join(DIST, "chunks"), join(dist, "chunks"), { recursive: true });
    for (const f of readdirSync(join(dist, "chunks"))) if (/sts-sdk|client-sts/.test(f)) rmSync(join(dist, "chunks", f));
    const stripped: Artifact = { name: "node", argv: [process.execPath, join(dist, "aws-vault.mjs")] };
    const cached = await run(stripped, ["export", "--format", "json", "alice"], { env: sb.env });
    expect(cached.code, cached.stderr).toBe(0);
    expect(JSON.parse(cached.stdout).SessionToken).toBeTruthy();
    // ...and the same bundle does need the SDK once the cache is empty.
    await run(node, ["clear"], { env: sb.env });
    expect((await run(stripped, ["export", "--format", "json", "alice"], { env: sb.env })).code).not.toBe(0);
  });
});
