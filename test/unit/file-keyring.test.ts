import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { KeyNotFoundError, KeyringError, WrongPassphraseError } from "../../src/errors.ts";
import { decodeFileName, encodeFileName, encodeItem } from "../../src/keyring/file-format.ts";
import { FileKeyring } from "../../src/keyring/file.ts";
import { Secret } from "../../src/util/secret.ts";
import { CredentialStore } from "../../src/vault/credential-store.ts";

// AWS_VAULT_TEST_VECTORS: set by vitest.mutation.config.ts, whose Stryker sandbox is not beside shared/.
const VECTORS = join(
  process.env.AWS_VAULT_TEST_VECTORS ?? join(import.meta.dirname, "../../../shared/vectors"),
  "file-keyring-aws-vault-v7.2.0/keys",
);
const PASSPHRASE = "correct horse battery staple";

const EXPECTED: Array<[file: string, profile: string, id: string, secret: string]> = [
  ["demo", "demo", "AKIAVECTOR0000000001", "vectorSecret/1+abcdefghijklmnopqrstuvwxyz0123"],
  ["prod%2Fadmin", "prod/admin", "AKIAVECTOR0000000002", "vectorSecret/2+abcdefghijklmnopqrstuvwxyz0123"],
  ["100%25-sure", "100%-sure", "AKIAVECTOR0000000003", "vectorSecret/3+abcdefghijklmnopqrstuvwxyz0123"],
  ["with space", "with space", "AKIAVECTOR0000000004", "vectorSecret/4+abcdefghijklmnopqrstuvwxyz0123"],
  ["ünïcode", "ünïcode", "AKIAVECTOR0000000005", "vectorSecret/5+abcdefghijklmnopqrstuvwxyz0123"],
  ["default", "default", "AKIAVECTOR0000000006", "vectorSecret/6+abcdefghijklmnopqrstuvwxyz0123"],
];

function copyVectors(): string {
  const dir = join(mkdtempSync(join(tmpdir(), "awsv-vec-")), "keys");
  cpSync(VECTORS, dir, { recursive: true });
  chmodSync(dir, 0o700);
  for (const f of readdirSync(dir)) chmodSync(join(dir, f), 0o600);
  return dir;
}

function keyring(dir: string, passphrase = PASSPHRASE, prompt?: () => Promise<Secret>): FileKeyring {
  return new FileKeyring({
    dir,
    passphrase: {
      ...(prompt ? {} : { fromEnv: new Secret(passphrase) }),
      prompt: prompt ?? (async () => new Secret(passphrase)),
    },
    now: () => new Date("2026-11-22T10:00:00Z"),
    random: (n) => new Uint8Array(randomBytes(n)),
  });
}

function snapshotDir(dir: string): Record<string, string> {
  return Object.fromEntries(readdirSync(dir).map((f) => [f, readFileSync(join(dir, f), "utf8")]));
}

describe("file keyring: aws-vault v7.2.0 vectors", () => {
  it("lists every item with its decoded name", async () => {
    const kr = keyring(copyVectors());
    expect((await kr.keys()).sort()).toEqual(EXPECTED.map(([, p]) => p).sort());
  });

  it.each(EXPECTED)("decrypts %s to the README values", async (_file, profile, id, secret) => {
    const kr = keyring(copyVectors());
    const item = await kr.get(profile);
    expect(item.key).toBe(profile);
    expect(item.label).toBe(`aws-vault (${profile})`);
    expect(item.keychainNotTrustApplication).toBe(true);
    const creds = await new CredentialStore(kr).get(profile);
    expect(creds.accessKeyId).toBe(id);
    expect(creds.secretAccessKey.reveal()).toBe(secret);
    expect(JSON.parse(new TextDecoder().decode(item.data))).toEqual({
      AccessKeyID: id,
      SecretAccessKey: secret,
      SessionToken: "",
      Source: "",
      CanExpire: false,
      Expires: "0001-01-01T00:00:00Z",
    });
  });

  it("file names encode only % and /", () => {
    for (const [file, profile] of EXPECTED) {
      expect(encodeFileName(profile)).toBe(file);
      expect(decodeFileName(file)).toBe(profile);
    }
    expect(encodeFileName("oidc:https://x.awsapps.com/start")).toBe("oidc:https:%2F%2Fx.awsapps.com%2Fstart");
    expect(decodeFileName("100%zz")).toBe("100%zz");
  });

  it("a wrong passphrase is reported as such and changes nothing", async () => {
    const dir = copyVectors();
    const before = snapshotDir(dir);
    const kr = keyring(dir, "not the passphrase");
    await expect(kr.get("demo")).rejects.toBeInstanceOf(WrongPassphraseError);
    await expect(kr.get("demo")).rejects.toThrow(/wrong passphrase for the file keyring/);
    await expect(new CredentialStore(kr).set("new", { accessKeyId: "AKIANEW", secretAccessKey: new Secret("x") })).rejects.toBeInstanceOf(
      WrongPassphraseError,
    );
    expect(snapshotDir(dir)).toEqual(before);
  });
});

describe("file keyring: writing", () => {
  it("writes items an independent JWE implementation (python joserfc) decrypts to the Go item JSON", async () => {
    const dir = join(mkdtempSync(join(tmpdir(), "awsv-w-")), "keys");
    const kr = keyring(dir);
    await new CredentialStore(kr).set("prod/admin", {
      accessKeyId: "AKIAEXAMPLE000000001",
      secretAccessKey: new Secret("s3cr3t/with+chars<&>"),
    });
    const file = join(dir, "prod%2Fadmin");
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const token = readFileSync(file, "utf8");
    const header = JSON.parse(Buffer.from(token.split(".")[0] ?? "", "base64url").toString());
    expect(Object.keys(header)).toEqual(["alg", "created", "enc", "p2c", "p2s"]);
    expect(header).toMatchObject({ alg: "PBES2-HS256+A128KW", enc: "A256GCM", p2c: 8192 });
    expect(Buffer.from(header.p2s, "base64url")).toHaveLength(12);
    const py = `
import sys
from joserfc import jwe
from joserfc.jwe import JWERegistry
from joserfc.jwk import OctKey
reg = JWERegistry(algorithms=["PBES2-HS256+A128KW", "A256GCM"], strict_check_header=False)
r = jwe.decrypt_compact(open(sys.argv[1]).read(), OctKey.import_key(sys.argv[2].encode()), registry=reg)
sys.stdout.write(r.plaintext.decode())
`;
    const plaintext = execFileSync("python3", ["-c", py, file, PASSPHRASE], { encoding: "utf8" });
    const item = await kr.get("prod/admin");
    expect(plaintext).toBe(encodeItem(item));
    const parsed = JSON.parse(plaintext);
    expect(Object.keys(parsed)).toEqual(["Key", "Data", "Label", "Description", "KeychainNotTrustApplication", "KeychainNotSynchronizable"]);
    expect(JSON.parse(Buffer.from(parsed.Data, "base64").toString())).toEqual({
      AccessKeyID: "AKIAEXAMPLE000000001",
      SecretAccessKey: "s3cr3t/with+chars<&>",
      SessionToken: "",
      Source: "",
      CanExpire: false,
      Expires: "0001-01-01T00:00:00Z",
    });
    // Go escapes <, > and & in JSON strings.
    expect(Buffer.from(parsed.Data, "base64").toString()).toContain("\\u003c\\u0026\\u003e");
  });

  it("a new keyring asks for the passphrase with confirmation; an existing one without", async () => {
    const dir = join(mkdtempSync(join(tmpdir(), "awsv-p-")), "keys");
    const asked: boolean[] = [];
    const prompting = () =>
      new FileKeyring({
        dir,
        passphrase: {
          prompt: async (_m, { confirm }) => {
            asked.push(confirm);
            return new Secret("pw");
          },
        },
        now: () => new Date(),
        random: (n) => new Uint8Array(randomBytes(n)),
      });
    await new CredentialStore(prompting()).set("a", { accessKeyId: "AKIA1", secretAccessKey: new Secret("x") });
    await new CredentialStore(prompting()).set("b", { accessKeyId: "AKIA2", secretAccessKey: new Secret("y") });
    const kr = prompting();
    await kr.get("a");
    await kr.get("b");
    expect(asked).toEqual([true, false, false]);
  });

  it("a corrupt or foreign file is reported by name and the other items stay usable", async () => {
    const dir = copyVectors();
    writeFileSync(join(dir, "garbage"), "this is not a JWE", { mode: 0o600 });
    const damaged = readFileSync(join(dir, "demo"), "utf8").split(".");
    damaged[3] = Buffer.from("tampered ciphertext").toString("base64url");
    writeFileSync(join(dir, "demo"), damaged.join("."), { mode: 0o600 });
    const kr = keyring(dir);
    await expect(kr.get("garbage")).rejects.toThrow(new RegExp(`${join(dir, "garbage")}: not a valid aws-vault keyring item`));
    await expect(kr.get("demo")).rejects.toThrow(/^item "demo" in the file keyring is damaged: .*demo: the content fails its integrity check$/);
    await expect(kr.get("demo")).rejects.toBeInstanceOf(KeyringError);
    expect((await new CredentialStore(kr).get("default")).accessKeyId).toBe("AKIAVECTOR0000000006");
    await new CredentialStore(kr).set("fresh", { accessKeyId: "AKIAFRESH", secretAccessKey: new Secret("z") });
    expect((await new CredentialStore(kr).get("fresh")).accessKeyId).toBe("AKIAFRESH");
  });

  it("refuses a PBES2 iteration count above the cap without spending the time", async () => {
    const dir = copyVectors();
    const parts = readFileSync(join(dir, "demo"), "utf8").split(".");
    const header = JSON.parse(Buffer.from(parts[0] ?? "", "base64url").toString());
    header.p2c = 50_000_000;
    parts[0] = Buffer.from(JSON.stringify(header)).toString("base64url");
    writeFileSync(join(dir, "demo"), parts.join("."));
    await expect(keyring(dir).get("demo")).rejects.toThrow(/refusing PBES2 iteration count 50000000/);
  });

  it("missing items raise KeyNotFoundError for get and remove", async () => {
    const kr = keyring(copyVectors());
    await expect(kr.get("nope")).rejects.toBeInstanceOf(KeyNotFoundError);
    await expect(kr.remove("nope")).rejects.toBeInstanceOf(KeyNotFoundError);
    await kr.remove("demo");
    expect(await kr.keys()).not.toContain("demo");
  });
});
