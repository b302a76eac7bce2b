// A .mts config: vitest's config loader fails on a .ts config inside a CommonJS package.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["tests/**/*.test.ts"],
    // The default `forks` pool: Pulumi's mock runtime breaks under worker threads.
    pool: "forks",
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
