// The cached export's own work and nothing else, for the "lower bound" rows of bench/run.mjs: read the
// config, list the keyring folder, read the session item, derive its key (PBKDF2-SHA256 with the item's
// iteration count), unwrap the content key (AES-KW), decrypt (AES-GCM) and print JSON. No argument
// parsing, no profile resolution, no checks, no audit line. Run as `node bench/lower-bound.mjs` and
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
const subtle = globalThis.crypto.subtle;
const base = await subtle.importKey("raw", new TextEncoder().encode(env.AWS_VAULT_FILE_PASSPHRASE), "PBKDF2", false, ["deriveBits"]);
const bits = await subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt, iterations: header.p2c }, base, 128);
const kek = await subtle.importKey("raw", bits, "AES-KW", false, ["unwrapKey"]);
const cek = await subtle.unwrapKey("raw", bytes(wrapped), kek, "AES-KW", "AES-GCM", false, ["decrypt"]);
const sealed = new Uint8Array([...bytes(ciphertext), ...bytes(tag)]);
const plain = await subtle.decrypt({ name: "AES-GCM", iv: bytes(iv), additionalData: new TextEncoder().encode(h), tagLength: 128 }, cek, sealed);
const item = JSON.parse(new TextDecoder().decode(plain));
const c = JSON.parse(atob(item.Data ?? "") || "{}");
writeSync(1, `${JSON.stringify({ Version: 1, AccessKeyId: c.AccessKeyID ?? c.AccessKeyId ?? "", SecretAccessKey: "", SessionToken: "", Expiration: "" }, null, 2)}\n`);
