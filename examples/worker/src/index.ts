/**
 * The composing example Worker: every pattern of the catalog, bound in the root wrangler.jsonc
 * and mounted under /<pattern>/. `GET /` lists them with their routes.
 */
import { RateLimiter, rateLimit, rateLimiterRoutes } from "@do-patterns/rate-limiter";
import { Hono } from "hono";
import type { Context, Env as HonoEnv } from "hono";
import { renderIndexPage, type IndexEntry } from "./index-page";

// Wrangler finds Durable Object classes among the main module's exports.
export { RateLimiter };

type AppEnv = { Bindings: Env & { ADMIN_TOKEN?: string } };

const app = new Hono<AppEnv>();
const mounted: IndexEntry[] = [];

/** Mounts one pattern's routes under /<name>/ and lists it in the index. */
function mount<E extends HonoEnv>(name: string, summary: string, routes: Hono<E>): void {
  app.route(`/${name}`, routes);
  mounted.push({
    name,
    summary,
    path: `/${name}/`,
    readme: `packages/${name}/README.md`,
    // Hono lists each handler of a route (middleware included), so dedupe.
    routes: [
      ...new Set(
        routes.routes
          .filter((route) => route.method !== "ALL")
          .map((route) => `${route.method} /${name}${route.path}`),
      ),
    ],
  });
}

mount(
  "rate-limiter",
  "Exact per-key rate limits: fixed window, sliding window, token bucket, GCRA",
  rateLimiterRoutes({ binding: "RATE_LIMITER" }),
);

const demos = [
  {
    route: "GET /demo/limited",
    summary: "a route guarded by the rateLimit() middleware: 5 per minute per client",
  },
];

app.get("/", (c) => {
  if ((c.req.header("Accept") ?? "").includes("text/html"))
    return c.html(renderIndexPage(mounted, demos));
  return c.json({ patterns: mounted, demos });
});

app.get(
  "/demo/limited",
  rateLimit<AppEnv>({
    binding: "RATE_LIMITER",
    key: (c) => `demo:${c.req.header("cf-connecting-ip") ?? "local"}`,
    policy: { name: "demo", algorithm: "gcra", limit: 5, windowSeconds: 60 },
  }),
  (c) => c.json({ message: "You are within the demo limit of 5 requests per minute." }),
);

app.notFound((c) =>
  errorJson(c, 404, "not_found", `no route for ${c.req.method} ${c.req.path}; GET / lists them`),
);
app.onError((error, c) => {
  console.error(error);
  return errorJson(c, 500, "internal_error", "something went wrong on our side; try again");
});

function errorJson(c: Context, status: 404 | 500, code: string, message: string): Response {
  return c.json({ error: { code, message } }, status);
}

export default app;
