// The vitest configuration Stryker uses (stryker.config.mjs): the unit tests only. Stryker runs
// them in a copy of the project under .stryker-tmp/, so the shared test vectors (beside the
// project folder) are passed by absolute path.
import { join } from "node:path";
import { defineConfig } from "vitest/config";

const projectRoot = import.meta.dirname.split("/.stryker-tmp/")[0] ?? import.meta.dirname;

export default defineConfig({
  test: {
    include: ["test/unit/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    globalSetup: ["test/support/temp-root.ts"],
    env: { AWS_VAULT_TEST_VECTORS: join(projectRoot, "../shared/vectors") },
  },
});
