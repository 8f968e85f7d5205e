// Mutation testing (Stryker), run with `npm run mutation`. Not part of `npm test` or CI: it runs the
// unit tests once per mutant, which takes minutes. Only the unit tests are used (the e2e suites
// start the built artifacts, which Stryker's in-memory mutants never reach, and are far too slow).
//
// Narrow a run to one file while working on its tests:
//   npx stryker run --mutate src/keyring/file-format.ts
/** @type {import("@stryker-mutator/api/core").PartialStrykerOptions} */
export default {
  testRunner: "vitest",
  vitest: { configFile: "vitest.mutation.config.ts", related: true },
  mutate: [
    "src/keyring/file*.ts",
    "src/runtime/jwe-crypto.ts",
    "src/vault/cached-session.ts",
    "src/util/redact.ts",
    "src/vault/child-env.ts",
  ],
  coverageAnalysis: "perTest",
  // The machine is shared: two test processes at most.
  concurrency: 2,
  timeoutMS: 30_000,
  reporters: ["clear-text", "progress", "html", "json"],
  htmlReporter: { fileName: "reports/mutation/mutation.html" },
  jsonReporter: { fileName: "reports/mutation/mutation.json" },
  tempDirName: ".stryker-tmp",
  // Stryker rewrites the sandbox's tsconfig through the TypeScript 5 API, which TypeScript 7 (the
  // native compiler we use) does not have. Vitest never reads tsconfig paths here (relative
  // imports only), so point Stryker at a file that does not exist and it leaves tsconfig alone.
  tsconfigFile: "tsconfig.stryker-none.json",
  // Build outputs (the Bun binary is large) are not needed by the unit tests.
  ignorePatterns: ["dist", "dist.staging-*", "bench/results", ".tmp", "reports"],
  cleanTempDir: "always",
  thresholds: { high: 90, low: 80, break: null },
};
