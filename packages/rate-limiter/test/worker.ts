/**
 * The test Worker: the package's routes, a route guarded by the middleware, and a RateLimiter
 * whose clock the tests control.
 */
import { Hono, type Context } from "hono";
import { internalError, notFound } from "../src/http";
import {
  HEADER_FORMATS,
  RateLimiter as BaseRateLimiter,
  rateLimit,
  rateLimiterRoutes,
  type Policy,
} from "../src/index";

/** Tests set this to freeze time; null means the real clock. */
export const testClock: { now: number | null } = { now: null };

export class RateLimiter extends BaseRateLimiter {
  protected override now(): number {
    return testClock.now ?? Date.now();
  }
}

const app = new Hono<{ Bindings: Env }>();
app.route("/", rateLimiterRoutes());
app.use(
  "/limited",
  rateLimit({
    binding: "RATE_LIMITER",
    key: (c) => c.req.header("x-client-id") ?? "anonymous",
    policy: { name: "limited", algorithm: "fixed-window", limit: 2, windowSeconds: 60 },
  }),
);
app.get("/limited", (c) => c.text("ok"));

// The middleware's other options, each on its own route. `?status=` sets the handler's answer.
const answer = (c: Context) => c.text("answered", Number(c.req.query("status") ?? 200) as 200);
const PLANS = {
  free: { name: "plan-free", algorithm: "fixed-window", limit: 2, windowSeconds: 60 },
  pro: { name: "plan-pro", algorithm: "fixed-window", limit: 5, windowSeconds: 60 },
} as const satisfies Record<string, Policy>;
const clientKey = (c: Context) => c.req.header("x-client-id") ?? "anonymous";
const fixed: Policy = { name: "options", algorithm: "fixed-window", limit: 3, windowSeconds: 60 };

app.get(
  "/by-plan",
  rateLimit({
    binding: "RATE_LIMITER",
    key: clientKey,
    policy: (c) => (c.req.header("x-plan") === "pro" ? PLANS.pro : PLANS.free),
    cost: (c) => Number(c.req.header("x-cost") ?? 1),
  }),
  answer,
);
app.get(
  "/bad-plan",
  rateLimit({
    binding: "RATE_LIMITER",
    key: clientKey,
    policy: () => ({ ...PLANS.free, limit: 0 }),
  }),
  answer,
);
for (const refund of ["failed", "successful"] as const) {
  app.get(
    `/refund-${refund}`,
    rateLimit({ binding: "RATE_LIMITER", key: clientKey, policy: fixed, refund }),
    answer,
  );
}
app.get(
  "/refund-5xx",
  rateLimit({
    binding: "RATE_LIMITER",
    key: clientKey,
    policy: fixed,
    refund: (c) => c.res.status >= 500,
  }),
  answer,
);
app.get(
  "/refund-thrown",
  rateLimit({ binding: "RATE_LIMITER", key: clientKey, policy: fixed, refund: "failed" }),
  () => {
    throw new Error("simulated: the handler failed");
  },
);
for (const headers of HEADER_FORMATS) {
  app.get(
    `/headers-${headers}`,
    rateLimit({ binding: "RATE_LIMITER", key: clientKey, policy: fixed, headers }),
    answer,
  );
}

// An outage cannot be produced with a real object, so these routes swap in a namespace whose
// stubs always fail, to exercise the middleware's onLimiterError choices.
const unreachable = {
  getByName: () => ({ check: () => Promise.reject(new Error("simulated: limiter unreachable")) }),
};
for (const onLimiterError of ["allow", "deny"] as const) {
  app.get(
    `/limited-unreachable-${onLimiterError}`,
    async (c, next) => {
      c.env = { ...c.env, UNREACHABLE: unreachable } as Env;
      await next();
    },
    rateLimit({
      binding: "UNREACHABLE",
      key: () => "anyone",
      policy: { name: "limited", algorithm: "gcra", limit: 1, windowSeconds: 60 },
      onLimiterError,
    }),
    (c) => c.text("served without the limiter"),
  );
}
app.notFound(notFound);
app.onError(internalError);

export default app;
