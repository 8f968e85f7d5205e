// Bench fixtures that would take too long to make through the CLI (1,000 `aws-vault add` runs):
// big config files, and file-keyring items written with the product's own code (keyring/file.ts,
// bundled on the fly with esbuild), encrypted exactly as the CLI does (PBES2, 8192 iterations).
import { build } from "esbuild";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

const root = resolve(import.meta.dirname, "..");

/** FileKeyring, session-key and credential encoders from src/, as one throw-away ESM module. */
export async function loadKeyringCode() {
  const dir = mkdtempSync(join(tmpdir(), "aws-vault-bench-code-"));
  try {
    const outfile = join(dir, "keyring.mjs");
    await build({
      stdin: {
        contents: [
          'export { FileKeyring } from "./src/keyring/file.ts";',
          'export { formatSessionKey } from "./src/vault/session-key.ts";',
          'export { encodeMasterCredentials, encodeSessionCredentials } from "./src/vault/credentials.ts";',
          'export { Secret } from "./src/util/secret.ts";',
        ].join("\n"),
        resolveDir: root,
        loader: "ts",
      },
      outfile,
      bundle: true,
      format: "esm",
      platform: "node",
      logLevel: "warning",
    });
    return await import(pathToFileURL(outfile).href);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const pad = (n, w) => String(n).padStart(w, "0");
export const MFA_SERIAL = "arn:aws:iam::123456789012:mfa/bench";

/**
 * N profiles in groups of 10: the first of a group holds stored keys (a "base"), the other nine
 * assume roles from it with MFA; every third role also includes the previous profile, every
 * seventh uses an [sso-session] for its SSO settings, every eleventh names a [services] section.
 * Plus [default], sso-sessions and services sections spread through the file.
 */
export function bigConfig(n, { extra = "" } = {}) {
  const w = String(n).length;
  const name = (i) => `p-${pad(i, w)}`;
  const parts = ["[default]\nregion = us-east-1\noutput = json\n"];
  for (let i = 1; i <= n; i++) {
    if (i % 1000 === 1) {
      parts.push(`[sso-session corp-${i}]\nsso_start_url = https://corp-${i}.awsapps.com/start\nsso_region = eu-west-1\n`);
      parts.push(`[services svc-${i}]\ns3 =\n  endpoint_url = http://127.0.0.1:1\n`);
    }
    const base = i - ((i - 1) % 10);
    const lines = [`[profile ${name(i)}]`, "region = us-east-1"];
    if (i !== base) {
      lines.push(`source_profile = ${name(base)}`, `role_arn = arn:aws:iam::123456789012:role/r-${i}`, `mfa_serial = ${MFA_SERIAL}`);
      if (i % 3 === 0 && i - 1 !== base) lines.push(`include_profile = ${name(i - 1)}`);
      if (i % 7 === 0) lines.push(`sso_session = corp-${i - ((i - 1) % 1000)}`);
      if (i % 11 === 0) lines.push(`services = svc-${i - ((i - 1) % 1000)}`, "duration_seconds = 3600");
    }
    parts.push(`${lines.join("\n")}\n`);
    if (i === Math.floor(n / 2) && extra) parts.push(extra);
  }
  return { text: parts.join("\n"), name, isBase: (i) => i === i - ((i - 1) % 10) };
}

/**
 * Fills a file keyring directly: stored keys for every base profile of the config plus extra
 * names up to `stored`, and one cached session per profile (GetSessionToken for bases, AssumeRole
 * with MFA for roles), valid for 12 hours.
 */
export async function fillKeyring(code, { dir, passphrase, profiles, stored, fakeKeyId, fakeSecret }) {
  const kr = new code.FileKeyring({
    dir,
    passphrase: { fromEnv: new code.Secret(passphrase), prompt: () => Promise.reject(new Error("no prompt in the bench")) },
    now: () => new Date(),
    random: (n) => new Uint8Array(globalThis.crypto.getRandomValues(new Uint8Array(n))),
  });
  const item = (key, data) => ({ key, data, label: key, description: "", keychainNotTrustApplication: false, keychainNotSynchronizable: false });
  const expiration = new Date(Date.now() + 12 * 3600 * 1000);
  const bases = profiles.filter((p) => p.base).map((p) => p.name);
  const storedNames = [...bases];
  for (let i = 1; storedNames.length < stored; i++) storedNames.push(`stored-${pad(i, 5)}`);
  for (const name of storedNames) {
    await kr.set(item(name, code.encodeMasterCredentials({ accessKeyId: fakeKeyId(), secretAccessKey: new code.Secret(fakeSecret()) })));
  }
  for (const p of profiles) {
    const type = p.base ? "sts.GetSessionToken" : "sts.AssumeRole";
    const mfaSerial = p.base ? "" : MFA_SERIAL;
    const creds = {
      accessKeyId: fakeKeyId().replace(/^AKIA/, "ASIA"),
      secretAccessKey: new code.Secret(fakeSecret()),
      sessionToken: new code.Secret(`bench-session-${p.name}`),
      expiration,
    };
    await kr.set(item(code.formatSessionKey({ type, profileName: p.name, mfaSerial, expiration }), code.encodeSessionCredentials(creds)));
  }
  return { stored: storedNames.length, sessions: profiles.length };
}
