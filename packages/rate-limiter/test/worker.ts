/**
 * The test Worker: the package's routes, a route guarded by the middleware, and a RateLimiter
 * whose clock the tests control.
 */
import { Hono } from "hono";
import { internalError, notFound } from "../src/http";
import { RateLimiter as BaseRateLimiter, rateLimit, rateLimiterRoutes } from "../src/index";

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
