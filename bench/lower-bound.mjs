// The cached export's own work and nothing else, for the "lower bound" rows of bench/run.mjs: read the
// config, list the keyring folder, read the session item, derive its key (PBKDF2-SHA256 with the item's
// iteration count), unwrap the content key (AES-KW), decrypt (AES-GCM) and print JSON, with the primitives
// aws-vault uses in that runtime (node:crypto under Node, WebCrypto under Bun: src/runtime/jwe-crypto.ts).
// No argument parsing, no profile resolution, no checks, no audit line. Run as `node bench/lower-bound.mjs` and
// compiled with dist/aws-vault's bun flags; its ratio to the floor is what no implementation of this
// file format can go below in that runtime.
import { readdirSync, readFileSync, writeSync } from "node:fs";

const env = process.env;
readFileSync(env.AWS_CONFIG_FILE, "utf8");
const dir = env.AWS_VAULT_FILE_DIR;
const name = readdirSync(dir).find((n) => n.startsWith("sts.GetSessionToken,"));
const [h, wrapped, iv, ciphertext, tag] = readFileSync(`${dir}/${name}`, "utf8").trim().split(".");
const bytes = (s) => Uint8Array.from(atob(s.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
const header = JSON.parse(new TextDecoder().decode(bytes(h)));
const alg = new TextEncoder().encode(header.alg);
const p2s = bytes(header.p2s);
const salt = new Uint8Array(alg.length + 1 + p2s.length);
salt.set(alg);
salt.set(p2s, alg.length + 1);
const pass = new TextEncoder().encode(env.AWS_VAULT_FILE_PASSPHRASE);
const aad = new TextEncoder().encode(h);
let plain;
if (typeof globalThis.Bun === "undefined") {
  // Node: node:crypto, cheaper to load there than WebCrypto (as src/runtime/jwe-crypto.ts does).
  const c = process.getBuiltinModule("node:crypto");
  const bits = await new Promise((ok, fail) => c.pbkdf2(pass, salt, header.p2c, 16, "sha256", (e, b) => (e ? fail(e) : ok(b))));
  const kw = c.createDecipheriv("id-aes128-wrap", bits, Buffer.alloc(8, 0xa6));
  const cek = Buffer.concat([kw.update(bytes(wrapped)), kw.final()]);
  const gcm = c.createDecipheriv("aes-256-gcm", cek, bytes(iv), { authTagLength: 16 });
  gcm.setAAD(aad);
  gcm.setAuthTag(bytes(tag));
  plain = Buffer.concat([gcm.update(bytes(ciphertext)), gcm.final()]);
} else {
  const subtle = globalThis.crypto.subtle;
  const base = await subtle.importKey("raw", pass, "PBKDF2", false, ["deriveBits"]);
  const bits = await subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt, iterations: header.p2c }, base, 128);
  const kek = await subtle.importKey("raw", bits, "AES-KW", false, ["unwrapKey"]);
  const cek = await subtle.unwrapKey("raw", bytes(wrapped), kek, "AES-KW", "AES-GCM", false, ["decrypt"]);
  const sealed = new Uint8Array([...bytes(ciphertext), ...bytes(tag)]);
  plain = await subtle.decrypt({ name: "AES-GCM", iv: bytes(iv), additionalData: aad, tagLength: 128 }, cek, sealed);
}
const item = JSON.parse(new TextDecoder().decode(plain));
const c = JSON.parse(atob(item.Data ?? "") || "{}");
writeSync(1, `${JSON.stringify({ Version: 1, AccessKeyId: c.AccessKeyID ?? c.AccessKeyId ?? "", SecretAccessKey: "", SessionToken: "", Expiration: "" }, null, 2)}\n`);
