/**
 * The test Worker: the package's routes, a FeatureFlags whose clock the tests control, and the
 * README's setup of the OpenFeature provider at startup, with a route that evaluates through it.
 */
import { OpenFeature } from "@openfeature/server-sdk";
import { env } from "cloudflare:workers";
import { Hono } from "hono";
import { internalError, notFound } from "../src/http";
import {
  FeatureFlags as BaseFeatureFlags,
  FeatureFlagsProvider,
  featureFlagsRoutes,
} from "../src/index";

/** Tests set this to freeze time; null means the real clock. */
export const testClock: { now: number | null } = { now: null };

export class FeatureFlags extends BaseFeatureFlags {
  protected override now(): number {
    return testClock.now ?? Date.now();
  }
}

// As the README sets it up: at startup, where a Worker may not make calls; the provider makes
// none until the first evaluation. maxAgeMs 0 so each test sees the writes it just made.
OpenFeature.setProvider(
  "startup",
  new FeatureFlagsProvider({
    flagSet: () => env.FEATURE_FLAGS.getByName("startup"),
    maxAgeMs: 0,
  }),
);
const flags = OpenFeature.getClient("startup");

const app = new Hono<{ Bindings: Env }>();
app.route("/", featureFlagsRoutes());
app.get("/checkout", async (c) => {
  const details = await flags.getBooleanDetails("new-checkout", false, {
    targetingKey: c.req.query("user") ?? "anonymous",
  });
  return c.json({ checkout: details.value ? "new" : "classic", reason: details.reason }, 200, {
    "X-Flag-Reason": details.reason ?? "UNKNOWN",
  });
});
app.notFound(notFound);
app.onError(internalError);

export default app;
