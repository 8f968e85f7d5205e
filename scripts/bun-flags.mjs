// The `bun build` flags of dist/aws-vault, shared with the bench, which compiles its empty "floor"
// program with exactly these. Measured (bench/README.md): ESM with splitting keeps the entry chunk
// small, so a process loads and evaluates only the chunks its command imports; as one CommonJS
// file (Bun's --bytecode default), every process paid for the whole program, SDK included.
// --sourcemap (h9b) embeds the source map for stack traces; the floor carries one too.
export const BUN_COMPILE_FLAGS = ["--compile", "--format=esm", "--splitting", "--bytecode", "--minify", "--sourcemap"];
