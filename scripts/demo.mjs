// The "main job" demo: a narrated transcript of the real CLI against a local AWS emulator.
// Everything lives in a throw-away temp dir; nothing talks to real AWS; secrets are never printed.
// Usage: node scripts/demo.mjs [--binary]   (needs `node scripts/build.mjs` first, and moto_server + aws on PATH)
import { spawn, spawnSync } from "node:child_process";
import { appendFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dirname, "..");
const binary = process.argv.includes("--binary");
const vault = binary ? [join(root, "dist/aws-vault")] : [process.execPath, join(root, "dist/aws-vault.mjs")];
if (!existsSync(vault.at(-1))) throw new Error(`${vault.at(-1)} is missing: run \`node scripts/build.mjs\` first`);

const tmp = mkdtempSync(join(tmpdir(), "aws-vault-demo-"));
const configFile = join(tmp, "aws-config");
const passphrase = "demo-passphrase";
const secrets = new Set([passphrase]); // exact values masked wherever they show up
let moto;

/** Masks known secrets, key ids, 40-char secret keys and long session tokens. */
function mask(text) {
  for (const s of secrets) text = text.replaceAll(s, "****");
  return text
    .replace(/(SECRET_ACCESS_KEY|SESSION_TOKEN|PASSPHRASE)=\S+/g, "$1=****")
    .replace(/(?<![A-Za-z0-9/+])[A-Za-z0-9/+=]{41,}(?![A-Za-z0-9/+=])/g, (t) => `****(token, ${t.length} chars)`)
    .replace(/(?<![A-Za-z0-9/+])[A-Za-z0-9/+=]{40}(?![A-Za-z0-9/+=])/g, "****(secret)")
    .replace(/\b(AKIA|ASIA)[A-Z0-9]{16}\b/g, "$1****************");
}
const say = (text) => console.log(`\n# ${text}`);

const env = { // a clean environment: nothing from the caller's AWS setup leaks in
  PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: tmp, LANG: "C.UTF-8",
  AWS_CONFIG_FILE: configFile, AWS_SHARED_CREDENTIALS_FILE: join(tmp, "no-credentials-file"),
  AWS_VAULT_BACKEND: "file", AWS_VAULT_FILE_DIR: join(tmp, "keys"), AWS_VAULT_FILE_PASSPHRASE: passphrase,
  AWS_EC2_METADATA_DISABLED: "true",
};

/** Runs a command, prints `$ shown` and its (masked) output; throws if it fails. */
function step(shown, argv, { extraEnv = {}, filter = (out) => out, expect } = {}) {
  console.log(mask(`$ ${shown}`));
  const r = spawnSync(argv[0], argv.slice(1), { env: { ...env, ...extraEnv }, encoding: "utf8", timeout: 60_000 });
  const out = filter(r.stdout ?? "") + (r.stderr ?? ""); // aws-vault writes --version and notices to stderr
  if (out.trim()) console.log(mask(out.trimEnd()));
  if (r.status !== 0 || r.error) throw new Error(`\`${shown}\` failed: ${r.error?.message ?? `exit ${r.status}`}`);
  if (expect && !expect.test(out)) throw new Error(`\`${shown}\`: output does not match ${expect}`);
}

async function startMoto() {
  const srv = createServer().listen(0, "127.0.0.1"); // pick a free loopback port
  await new Promise((ok) => srv.once("listening", ok));
  const { port } = srv.address();
  await new Promise((ok) => srv.close(ok));
  const child = spawn("moto_server", ["-H", "127.0.0.1", "-p", String(port)], {
    env: { ...process.env, INITIAL_NO_AUTH_ACTION_COUNT: "3" }, // SigV4 is verified after 3 calls
    stdio: "ignore",
  });
  let failed = false;
  child.once("error", () => (failed = true));
  const url = `http://127.0.0.1:${port}`;
  for (const deadline = Date.now() + 20_000; Date.now() < deadline && !failed && child.exitCode === null; ) {
    const ok = await fetch(`${url}/moto-api/`).then((r) => r.ok, () => false); // not an auth-counted call
    if (ok) return { child, url };
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill("SIGKILL");
  throw new Error("moto_server did not start (is it installed and on PATH?)");
}

/** CreateUser, CreateAccessKey, PutUserPolicy(allow *): exactly the 3 unauthenticated calls moto allows. */
async function bootstrapUser(url, userName) {
  const iam = async (params) => {
    const res = await fetch(url, {
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        authorization: "AWS4-HMAC-SHA256 Credential=x/20200101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0",
      },
      body: new URLSearchParams({ ...params, UserName: userName, Version: "2010-05-08" }),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`IAM ${params.Action}: HTTP ${res.status} ${text}`);
    return text;
  };
  await iam({ Action: "CreateUser" });
  const key = await iam({ Action: "CreateAccessKey" });
  const policy = { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }] };
  await iam({ Action: "PutUserPolicy", PolicyName: "allow-all", PolicyDocument: JSON.stringify(policy) });
  const tag = (t) => new RegExp(`<${t}>([^<]+)</${t}>`).exec(key)[1];
  return { accessKeyId: tag("AccessKeyId"), secretAccessKey: tag("SecretAccessKey") };
}

async function main() {
  moto = await startMoto();
  env.AWS_ENDPOINT_URL = moto.url;
  const alice = await bootstrapUser(moto.url, "alice");
  secrets.add(alice.secretAccessKey);
  writeFileSync(
    configFile,
    "[profile alice]\nregion = us-east-1\n\n" +
      "[profile admin]\nsource_profile = alice\nrole_arn = arn:aws:iam::123456789012:role/admin\nregion = us-east-1\n",
  );
  const av = (args) => [...vault, ...args];
  const shownCli = binary ? "dist/aws-vault" : "node dist/aws-vault.mjs";

  say(`aws-vault = ${shownCli}; AWS_ENDPOINT_URL=${moto.url} (moto_server, SigV4 checked)\n` +
    `# sandbox: HOME=${tmp}, file keyring, AWS_VAULT_FILE_PASSPHRASE=****`);
  step("aws-vault --version", av(["--version"]), { expect: /^v\d/ });

  say("Store alice's long-lived IAM access key in the encrypted file keyring");
  const keyEnv = { AWS_ACCESS_KEY_ID: alice.accessKeyId, AWS_SECRET_ACCESS_KEY: alice.secretAccessKey };
  step(`AWS_ACCESS_KEY_ID=${alice.accessKeyId} AWS_SECRET_ACCESS_KEY=${alice.secretAccessKey} aws-vault add --env alice`,
    av(["add", "--env", "alice"]), { extraEnv: keyEnv });
  step("aws-vault list", av(["list"]), { expect: /alice\s+alice/ });

  say("Assume the admin role with alice's stored key, and run the AWS CLI with the temporary credentials");
  step("aws-vault exec admin -- aws sts get-caller-identity", av(["exec", "admin", "--", "aws", "sts", "get-caller-identity"]),
    { expect: /arn:aws:sts::123456789012:assumed-role\/admin\// });

  say("Export the role credentials as JSON (the credential_process format); secret values are masked");
  step("aws-vault export --format json admin | mask", av(["export", "--format", "json", "admin"]),
    { expect: /"AccessKeyId": *"ASIA/ });

  say("Use aws-vault as a credential_process for the AWS CLI");
  const cmd = vault.map((a) => (/\s/.test(a) ? `"${a}"` : a)).join(" ");
  const profile = `[profile via-process]\ncredential_process = ${cmd} export --format json admin\nregion = us-east-1\n`;
  appendFileSync(configFile, `\n${profile}`);
  console.log(`$ cat >> $AWS_CONFIG_FILE\n${profile.trimEnd()}`);
  step("aws sts get-caller-identity --profile via-process", ["aws", "sts", "get-caller-identity", "--profile", "via-process"],
    { expect: /assumed-role\/admin\// });

  say("A plain IAM-user profile gets a GetSessionToken session, which is cached in the keyring");
  const credVars = /^AWS_(VAULT|ACCESS_KEY_ID|SECRET_ACCESS_KEY|SESSION_TOKEN|CREDENTIAL_EXPIRATION|REGION|DEFAULT_REGION)=/;
  step("aws-vault exec alice -- env | grep ^AWS_ | mask", av(["exec", "alice", "--", "env"]), {
    filter: (out) => out.split("\n").filter((l) => credVars.test(l)).sort().join("\n"),
    expect: /^AWS_SESSION_TOKEN=/m,
  });
  step("aws-vault list", av(["list"]));
  step("aws-vault clear", av(["clear"]), { expect: /^Cleared \d+ sessions\./ });
  console.log("\n# demo finished: every step succeeded");
}

function cleanup() {
  moto?.child.kill("SIGKILL");
  rmSync(tmp, { recursive: true, force: true });
}
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => (cleanup(), process.exit(130)));
try {
  await main();
} catch (err) {
  console.error(`\ndemo FAILED: ${mask(String(err?.message ?? err))}`);
  process.exitCode = 1;
} finally {
  cleanup();
}
