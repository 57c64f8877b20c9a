/**
 * The composing example Worker: every pattern of the catalog, bound in the root wrangler.jsonc
 * and mounted under /<pattern>/. `GET /` lists them; `GET /<pattern>/` shows one with its
 * routes, demos and README (JSON for API clients, a page for browsers).
 */
import { AdaptiveController, adaptiveControllerRoutes } from "@do-patterns/adaptive-controller";
import { AggregatorCounter, aggregatorCounterRoutes } from "@do-patterns/aggregator-counter";
import { BudgetGovernor, budgetGovernorRoutes } from "@do-patterns/budget-governor";
import { Checkpoint, checkpointRoutes } from "@do-patterns/checkpoint";
import { FeatureFlags, FeatureFlagsProvider, featureFlagsRoutes } from "@do-patterns/feature-flags";
import { LeaderElection, leaderElectionRoutes } from "@do-patterns/leader-election";
import { RateLimiter, rateLimit, rateLimiterRoutes } from "@do-patterns/rate-limiter";
import { Session, sessionRoutes } from "@do-patterns/session";
import { StorageSidecar, storageSidecarRoutes } from "@do-patterns/storage-sidecar";
import { cacheCoordinatorRoutes } from "@do-patterns/cache-coordinator";
import { EventReactor, eventReactorRoutes, type Command } from "@do-patterns/event-reactor";
import { routeAgentRequest } from "agents";
import { OpenFeature } from "@openfeature/server-sdk";
import { env } from "cloudflare:workers";
import { Hono } from "hono";
import type { Context, Env as HonoEnv } from "hono";
// README files are bundled as text by the `rules` entry in the root wrangler.jsonc.
import adaptiveControllerReadme from "../../../packages/adaptive-controller/README.md";
import aggregatorCounterReadme from "../../../packages/aggregator-counter/README.md";
import budgetGovernorReadme from "../../../packages/budget-governor/README.md";
import cacheCoordinatorReadme from "../../../packages/cache-coordinator/README.md";
import checkpointReadme from "../../../packages/checkpoint/README.md";
import featureFlagsReadme from "../../../packages/feature-flags/README.md";
import leaderElectionReadme from "../../../packages/leader-election/README.md";
import rateLimiterReadme from "../../../packages/rate-limiter/README.md";
import sessionReadme from "../../../packages/session/README.md";
import eventReactorReadme from "../../../packages/event-reactor/README.md";
import storageSidecarReadme from "../../../packages/storage-sidecar/README.md";
import { ControllerDataPlane, ControllerKnobs } from "./data-plane/controller";
import { adaptiveControllerLive } from "./live/adaptive-controller";
import { GovernorDataPlane, GovernorKnobStore } from "./data-plane/governor";
import { budgetGovernorLive } from "./live/budget-governor";
import { eventReactorLive } from "./live/event-reactor";
// The Queue consumer of the event reactor demo, which records the commands it receives.
import { receiveCommands, receivedRoutes } from "../../../packages/event-reactor/test/consumer";
import { renderReadme } from "./markdown";
// The login demo lives with the session package, whose cookie tests drive it too.
import { sessionDemo } from "../../../packages/session/test/demo";
// The worker-loop demo lives with the checkpoint package, whose tests drive it too.
import { checkpointDemo } from "../../../packages/checkpoint/test/demo";
// The fencing demo (a guarded log per group) lives with the leader election package, whose
// tests drive it too.
import { FencedLog, fencingDemo } from "../../../packages/leader-election/test/demo";
// The cache coordinator's demo (four real stores, one of them flaky) and the coordinator
// subclass that purges them live with the package, whose tests drive them too.
import {
  DemoCacheCoordinator as CacheCoordinator,
  cacheCoordinatorDemo,
} from "../../../packages/cache-coordinator/test/demo";
// The storage sidecar's demo Workflow and the routes that start and show it live with the
// package, whose Workflow tests drive them too.
import { sidecarDemo } from "../../../packages/storage-sidecar/test/demo";
import { renderIndexPage, renderPatternPage, type Demo, type PatternEntry } from "./pages";

// Wrangler finds Durable Object classes among the main module's exports.
export {
  AdaptiveController,
  AggregatorCounter,
  BudgetGovernor,
  CacheCoordinator,
  Checkpoint,
  ControllerKnobs,
  FeatureFlags,
  FencedLog,
  GovernorKnobStore,
  LeaderElection,
  RateLimiter,
  Session,
  StorageSidecar,
};
// The storage sidecar demo's Workflow, bound as SIDECAR_WORKFLOW.
export { EventReactor };
export { SidecarDemoWorkflow } from "../../../packages/storage-sidecar/test/workflow";
// The adaptive controller's simulated data plane, reached through the CONTROLLER_DATA_PLANE
// service binding to this Worker itself.
export { ControllerDataPlane };
// The budget governor's simulated data plane, reached through the GOVERNOR_DATA_PLANE service
// binding to this Worker itself.
export { GovernorDataPlane };

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
  /** Path of the pattern's live page, if it has one; linked from GET / and its page. */
  live?: string;
}

/** Mounts one pattern's routes under /<name>/, with its page there, and lists it in the index. */
function mount<E extends HonoEnv>({
  name,
  summary,
  routes,
  readme,
  demos = [],
  live,
}: Mount<E>): void {
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
    ...(live === undefined ? {} : { live }),
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
  name: "checkpoint",
  summary:
    "Checkpoint and resume for long processes: leased steps, retries with backoff, idempotent completion",
  routes: checkpointRoutes({ binding: "CHECKPOINTS" }),
  readme: checkpointReadme,
  demos: [
    {
      route: "POST /demo/checkpoint/start?steps=4",
      summary:
        "start a demo run of squaring steps; answers its runId (GET /demo/checkpoint/<runId> shows every step)",
    },
    {
      route: "POST /demo/checkpoint/<runId>/drive?failRate=0.5",
      summary:
        "a Worker loop claims and works through the steps; failRate, fatal=<step> and crash=<step> inject failures",
    },
  ],
});
app.route("/demo/checkpoint", checkpointDemo({ binding: "CHECKPOINTS" }));

mount({
  name: "leader-election",
  summary:
    "Leases with fencing tokens that only grow, expiry on read and by alarm, lock-delay, and a guard for the resources a leader writes to",
  routes: leaderElectionRoutes({ binding: "LEADER_ELECTION" }),
  readme: leaderElectionReadme,
  demos: [
    {
      route: "POST /demo/leader-election/write",
      summary:
        'append {"group", "token", "text"} to the group\'s guarded log: 409 for a token older than the highest it has seen',
    },
    {
      route: "GET /demo/leader-election/log/nightly-report",
      summary: "the guarded log: its highest token and its newest 20 entries",
    },
  ],
});
app.route("/demo/leader-election", fencingDemo({ binding: "FENCED_LOG" }));

mount({
  name: "cache-coordinator",
  summary:
    "Invalidation across KV, the Cache API and other stores: a durable purge outbox retried with backoff by alarm",
  routes: cacheCoordinatorRoutes({ binding: "CACHE_COORDINATOR" }),
  readme: cacheCoordinatorReadme,
  demos: [
    {
      route: "GET /demo/cache-coordinator/items/shoe-7?tags=product-7,catalog",
      summary:
        "serve an item cached in two KV namespaces, the Cache API and a flaky cache (X-Cache: MISS, HIT or STALE)",
    },
    {
      route: "GET /demo/cache-coordinator/where/shoe-7",
      summary: "which of the four stores hold the item now (after a purge: missing, or stale)",
    },
  ],
});
app.route("/demo/cache-coordinator", cacheCoordinatorDemo());

mount({
  name: "storage-sidecar",
  summary:
    "Bulk state beside a Workflow: O(1) appends, paginated reads, size caps, and an idle timeout that deletes it",
  routes: storageSidecarRoutes({ binding: "SIDECARS" }),
  readme: storageSidecarReadme,
  demos: [
    {
      route: "POST /demo/storage-sidecar/start",
      summary:
        'start a Workflow run {"pages"?, "itemsPerPage"?, "crashOnPage"?} that keeps its records in a sidecar',
    },
    {
      route: "GET /demo/storage-sidecar/status/:id",
      summary: "the run's status and output, and its sidecar's size (empty once the run is done)",
    },
  ],
});
app.route(
  "/demo/storage-sidecar",
  sidecarDemo({ workflow: "SIDECAR_WORKFLOW", sidecars: "SIDECARS" }),
);

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

mount({
  name: "aggregator-counter",
  summary:
    "High-rate counters with group commit: every acknowledged increment durable, far below one write per increment",
  routes: aggregatorCounterRoutes({ binding: "COUNTERS" }),
  readme: aggregatorCounterReadme,
  demos: [
    {
      route: "POST /aggregator-counter/site/increment",
      summary: 'add {"key", "amount"?, "idempotencyKey"?} to a counter of the "site" set',
    },
    {
      route: "GET /aggregator-counter/site/list?prefix=views:",
      summary: "the site's counters, in key order",
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

mount({
  name: "adaptive-controller",
  summary:
    "A self-tuning batch loop driven by its own alarm: batch size follows success rate, a circuit breaker, a decision log",
  routes: adaptiveControllerRoutes({ binding: "ADAPTIVE_CONTROLLER" }),
  readme: adaptiveControllerReadme,
  live: "/adaptive-controller/live",
  demos: [
    {
      route: "GET /adaptive-controller/live",
      summary: "the demo loop, live: charts, breaker, decisions, and knobs for the data plane",
    },
    { route: "GET /adaptive-controller/demo/status", summary: "the demo loop's status and knobs" },
    { route: "POST /adaptive-controller/demo/start", summary: "start (or resume) the demo loop" },
    { route: "POST /adaptive-controller/demo/pause", summary: "pause the demo loop" },
    {
      route: "POST /adaptive-controller/demo/knobs",
      summary: 'set the data plane\'s {"failureRate": 0-1, "latencyMs": 0-10000}',
    },
    {
      route: "POST /adaptive-controller/demo/reset",
      summary: "forget the demo loop and its knobs",
    },
  ],
});
// The live page and the demo routes: the one "demo" loop, no admin token needed.
app.route("/adaptive-controller", adaptiveControllerLive());

mount({
  name: "budget-governor",
  summary:
    "Per-cycle spend budgets across weighted processors: reserve-then-commit that never overshoots, phase-ordered dispatch to a data plane",
  routes: budgetGovernorRoutes({ binding: "BUDGET_GOVERNOR" }),
  readme: budgetGovernorReadme,
  live: "/budget-governor/live",
  demos: [
    {
      route: "GET /budget-governor/live",
      summary: "the demo governor, live: allocation versus spend, open holds, data-plane knobs",
    },
    { route: "GET /budget-governor/demo/status", summary: "the demo governor's status (JSON)" },
    {
      route: "POST /budget-governor/live/run",
      summary: "run the demo cycle: phases in order on the simulated data plane",
    },
    { route: "POST /budget-governor/live/cycle", summary: "start a new demo cycle" },
    {
      route: "POST /budget-governor/live/reserve",
      summary: 'hold 10% of {"processorId"}\'s allocation for 30 s',
    },
    {
      route: "POST /budget-governor/live/knobs",
      summary: 'set the data plane\'s {"failureRate": 0-1, "latencyMs": 0-10000}',
    },
  ],
});
// The live page and its routes: the one "demo" governor, no admin token needed.
app.route("/budget-governor", budgetGovernorLive());

mount({
  name: "event-reactor",
  summary:
    "An Agents SDK agent per brand: events in, decisions with reasons, commands out through an outbox to a Queue, state pushed over WebSocket",
  routes: eventReactorRoutes({ binding: "EVENT_REACTOR" }),
  readme: eventReactorReadme,
  live: "/event-reactor/live",
  demos: [
    {
      route: "GET /event-reactor/live",
      summary:
        "a page subscribed to the acme reactor over WebSocket, with buttons that post events",
    },
    {
      route: "GET /demo/event-reactor/received/acme",
      summary: "the commands the Queue consumer received for acme, each recorded once",
    },
  ],
});
app.route("/event-reactor", eventReactorLive());
app.route("/demo/event-reactor", receivedRoutes());
// The Agents SDK's own WebSocket path (/agents/event-reactor/<brand>), for its client library.
app.all("/agents/*", async (c) => (await routeAgentRequest(c.req.raw, c.env)) ?? c.notFound());

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

export default {
  fetch: app.fetch,
  // The event reactor demo's commands arrive here from its Queue.
  queue: (batch, bindings) => receiveCommands(batch as MessageBatch<Command>, bindings),
} satisfies ExportedHandler<Env>;
