import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

export default defineConfig({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: "./wrangler.jsonc" },
      miniflare: { bindings: { ADMIN_TOKEN: "test-admin-token" } },
    }),
  ],
  test: {
    // The plugin serves every module to workerd one request at a time, and zod alone is ~90
    // modules (every locale included), loaded again by every test file: pre-bundled, each
    // dependency below is one module. An import missing here still works, only unbundled.
    deps: {
      optimizer: {
        ssr: { enabled: true, include: ["hono", "hono/body-limit", "zod/mini", "fast-check"] },
      },
    },
    // workerd tests on a loaded CI machine: a cold start plus the first module loads can take
    // seconds, far from vitest's 5 s default only when the machine is idle.
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
