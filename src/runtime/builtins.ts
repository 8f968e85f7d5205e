// Node built-ins that hot paths use only sometimes, loaded on first use. Under Bun, importing
// node:crypto also loads the stream classes (Hash is a stream), which cost a cached `export` more
// than the rest of its module graph; the export path needs crypto only to refresh a session.
// (The file keyring takes its crypto from runtime/jwe-crypto.ts: node:crypto under Node, WebCrypto under Bun.)
// Measured under the compiled Bun binary: a built-in that a path does use is cheaper as a static
// import (its code is embedded precompiled) than through getBuiltinModule; so a module that needs
// one on every call (node:net for the agent client) is itself loaded with import() instead.
/** Whether this process runs under Bun (the compiled binary, or `bun` itself); asked at call time. */
export function isBun(): boolean {
  return typeof (globalThis as { Bun?: unknown }).Bun !== "undefined";
}

export function nodeCrypto(): typeof import("node:crypto") {
  return process.getBuiltinModule("node:crypto");
}

/** node:os, for fallbacks off the hot paths (no HOME; a lock's host name). */
export function nodeOs(): typeof import("node:os") {
  return process.getBuiltinModule("node:os");
}

interface BunHasher {
  update(data: string | Uint8Array): BunHasher;
  digest(): Uint8Array;
}
const bunHasher = (globalThis as { Bun?: { CryptoHasher?: new (alg: "sha256") => BunHasher } }).Bun?.CryptoHasher;

/** SHA-256, synchronously, without loading node:crypto under Bun (its native hasher). */
export function sha256(data: string | Uint8Array): Buffer {
  if (bunHasher) return Buffer.from(new bunHasher("sha256").update(data).digest());
  return nodeCrypto().createHash("sha256").update(data).digest();
}
