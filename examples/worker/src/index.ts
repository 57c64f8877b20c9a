/**
 * The composing example Worker: every pattern of the catalog, bound in the root wrangler.jsonc
 * and mounted under /<pattern>/. `GET /` lists them; `GET /<pattern>/` shows one with its
 * routes, demos and README (JSON for API clients, a page for browsers).
 */
import { FeatureFlags, FeatureFlagsProvider, featureFlagsRoutes } from "@do-patterns/feature-flags";
import { RateLimiter, rateLimit, rateLimiterRoutes } from "@do-patterns/rate-limiter";
import { Session, sessionRoutes } from "@do-patterns/session";
import { OpenFeature } from "@openfeature/server-sdk";
import { env } from "cloudflare:workers";
import { Hono } from "hono";
import type { Context, Env as HonoEnv } from "hono";
// README files are bundled as text by the `rules` entry in the root wrangler.jsonc.
import featureFlagsReadme from "../../../packages/feature-flags/README.md";
import rateLimiterReadme from "../../../packages/rate-limiter/README.md";
import sessionReadme from "../../../packages/session/README.md";
import { renderReadme } from "./markdown";
// The login demo lives with the session package, whose cookie tests drive it too.
import { sessionDemo } from "../../../packages/session/test/demo";
import { renderIndexPage, renderPatternPage, type Demo, type PatternEntry } from "./pages";

// Wrangler finds Durable Object classes among the main module's exports.
export { FeatureFlags, RateLimiter, Session };

type AppEnv = { Bindings: Env & { ADMIN_TOKEN?: string } };

const app = new Hono<AppEnv>();
const mounted: PatternEntry[] = [];

interface Mount<E extends HonoEnv> {
  /** The package's folder name under packages/, which is also its path here. */
  name: string;
  summary: string;
  routes: Hono<E>;
  /** The package README's Markdown. */
  readme: string;
  demos?: Demo[];
}

/** Mounts one pattern's routes under /<name>/, with its page there, and lists it in the index. */
function mount<E extends HonoEnv>({ name, summary, routes, readme, demos = [] }: Mount<E>): void {
  const entry: PatternEntry = {
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
    demos,
  };
  mounted.push(entry);
  // Rendered on first view, not at startup, so a cold start does not pay for every README.
  let readmeHtml: string | undefined;
  const page = (c: Context<AppEnv>) => {
    if (!wantsHtml(c)) return c.json({ ...entry, markdown: readme });
    readmeHtml ??= renderReadme(readme, name, new Set(mounted.map((p) => p.name)));
    return c.html(renderPatternPage(entry, readmeHtml));
  };
  // Registered before the pattern's own routes, so its page is always at /<name>/.
  app.get(`/${name}`, page);
  app.get(`/${name}/`, page);
  app.route(`/${name}`, routes);
}

mount({
  name: "rate-limiter",
  summary: "Exact per-key rate limits: fixed window, sliding window, token bucket, GCRA",
  routes: rateLimiterRoutes({ binding: "RATE_LIMITER" }),
  readme: rateLimiterReadme,
  demos: [
    {
      route: "GET /demo/limited",
      summary: "a route guarded by the rateLimit() middleware: 5 per minute per client",
    },
  ],
});

mount({
  name: "session",
  summary:
    "Server-side sessions: idle and absolute timeouts, id rotation, log out everywhere, a __Host- cookie middleware",
  routes: sessionRoutes({ binding: "SESSIONS" }),
  readme: sessionReadme,
  demos: [
    {
      route: "POST /demo/session/cart",
      summary: 'add {"item"} to a cart; the first write starts a session and sets __Host-session',
    },
    {
      route: "POST /demo/session/login",
      summary: 'sign in {"user"}: a new id, the pre-login id dead at once, the cart kept',
    },
    { route: "GET /demo/session/whoami", summary: "the session the cookie names, or null" },
    { route: "POST /demo/session/logout", summary: "end this session and clear the cookie" },
    {
      route: "POST /demo/session/logout-everywhere",
      summary: "end every session of the signed-in user",
    },
  ],
});
app.route("/demo/session", sessionDemo({ binding: "SESSIONS" }));

mount({
  name: "feature-flags",
  summary:
    "Typed flags with targeting rules, stable percentage rollouts, an audit log and an OpenFeature provider",
  routes: featureFlagsRoutes({ binding: "FEATURE_FLAGS" }),
  readme: featureFlagsReadme,
  demos: [
    {
      route: "GET /demo/feature-flags?user=user-42&plan=beta",
      summary:
        "new-checkout in the demo flag set, evaluated in this Worker by the OpenFeature provider",
    },
  ],
});

// The provider evaluates in this isolate against a snapshot of the "demo" flag set, refreshed at
// most every 5 s (short, so the README's curl demo shows a change quickly). Registering it makes
// no call: the first evaluation fetches the snapshot.
OpenFeature.setProvider(
  "feature-flags-demo",
  new FeatureFlagsProvider({
    flagSet: () => env.FEATURE_FLAGS.getByName("demo"),
    maxAgeMs: 5_000,
  }),
);
const demoFlags = OpenFeature.getClient("feature-flags-demo");

app.get("/", (c) => {
  if (wantsHtml(c)) return c.html(renderIndexPage(mounted));
  return c.json({ patterns: mounted });
});

// Browsers ask for it on their own; the pages carry an inline icon instead.
app.get("/favicon.ico", (c) => {
  c.header("Cache-Control", "public, max-age=86400");
  return c.body(null, 204);
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

app.get("/demo/feature-flags", async (c) => {
  const user = c.req.query("user") ?? "anonymous";
  const plan = c.req.query("plan");
  const details = await demoFlags.getBooleanDetails("new-checkout", false, {
    targetingKey: user,
    ...(plan === undefined ? {} : { plan }),
  });
  return c.json({
    user,
    newCheckout: details.value,
    variant: details.variant ?? null,
    reason: details.reason,
    errorCode: details.errorCode ?? null,
    flagSetVersion: details.flagMetadata.flagSetVersion ?? null,
  });
});

app.notFound((c) =>
  errorJson(c, 404, "not_found", `no route for ${c.req.method} ${c.req.path}; GET / lists them`),
);
app.onError((error, c) => {
  console.error(error);
  return errorJson(c, 500, "internal_error", "something went wrong on our side; try again");
});

/** Browsers send `Accept: text/html,...`; curl and fetch() send `*\/*` and get JSON. */
function wantsHtml(c: Context): boolean {
  return (c.req.header("Accept") ?? "").includes("text/html");
}

function errorJson(c: Context, status: 404 | 500, code: string, message: string): Response {
  return c.json({ error: { code, message } }, status);
}

export default app;
