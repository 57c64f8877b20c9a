import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

export default defineConfig({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: "../../wrangler.jsonc" },
      // The cache coordinator demo's flaky store fails no purge here: its retries are tested in
      // the package, with a clock; here the demo's purges must finish without waiting.
      miniflare: { bindings: { ADMIN_TOKEN: "test-admin-token", CACHE_FLAKY_FAILURE_RATE: "0" } },
    }),
  ],
  test: {
    // The plugin serves every module to workerd one request at a time, and zod alone is ~90
    // modules (every locale included): unbundled, the first request that loads the Worker took
    // 2-5 s on a busy 2-core machine. Pre-bundled, each dependency below is one module.
    deps: {
      optimizer: {
        ssr: {
          enabled: true,
          include: [
            "hono",
            "hono/html",
            "marked",
            // The patterns' own dependencies, resolved from their packages.
            "@do-patterns/rate-limiter > hono/body-limit",
            "@do-patterns/rate-limiter > zod/mini",
            "@do-patterns/session > hono/cookie",
            "@do-patterns/leader-election > zod/mini",
            "@do-patterns/adaptive-controller > hono/body-limit",
            "@do-patterns/adaptive-controller > zod/mini",
            "hono/body-limit",
          ],
        },
      },
    },
    // workerd tests on a loaded CI machine: a cold start plus the first module loads can take
    // seconds, far from vitest's 5 s default only when the machine is idle.
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
