// Types for scripts/bun-flags.mjs (imported by a TypeScript test).
export declare const BUN_COMPILE_FLAGS: string[];
