// The tests Stryker runs against each mutant (stryker.config.mjs): the ones that run functions/ and
// local/runtime/ code in the test process itself. The bundle tests (tests/functions/**/*.test.ts
// that deploy the program) run esbuild bundles in child processes, which Stryker's mutant switch
// and per-test coverage do not reach, so they could only slow a mutation run down.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: [
      "tests/functions/lib/**/*.test.ts",
      "tests/functions/orders/outcome.test.ts",
      "tests/functions/orders/api.test.ts",
      "tests/functions/orders/handlers.test.ts",
      "tests/functions/transactions/schemas.test.ts",
      "tests/functions/transactions/handlers.test.ts",
      "tests/local/runtime/**/*.test.ts",
    ],
    // The cold-start measurement spawns bundles (30 s) and asserts no behaviour a mutant could change.
    exclude: ["tests/functions/lib/telemetry-coldstart.test.ts"],
    pool: "forks",
    isolate: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
