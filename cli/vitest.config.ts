import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    globalSetup: ["test/global-setup.ts"],
    // Generous: a busy 2-core machine runs wrangler for the end-to-end tests.
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // The end-to-end file runs a few wrangler bundles at once; the other files are quick.
    fileParallelism: false,
    maxConcurrency: 3,
  },
});
