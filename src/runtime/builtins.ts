// Node built-ins that hot paths use only sometimes, loaded on first use. Under Bun, importing
// node:crypto also loads the stream classes (Hash is a stream), which cost a cached `export` more
// than the rest of its module graph; the export path needs crypto only to refresh a session.
// (WebCrypto, globalThis.crypto, is native in both runtimes and needs no import.)
export function nodeCrypto(): typeof import("node:crypto") {
  return process.getBuiltinModule("node:crypto");
}
