/**
 * The rate limiter over HTTP, for services that ask a central limiter.
 */
import { Hono } from "hono";
import type { Context } from "hono";
import * as z from "zod/mini";
import { rateLimitHeaders } from "./headers";
import { errorResponse, limitBody, objectError, readJson, requireAdmin } from "./http";
import { getLimiterNamespace } from "./namespace";
import {
  costSchema,
  keySchema,
  parsePolicyAndCost,
  policyNameSchema,
  policySchema,
} from "./policy";

export interface RateLimiterRoutesOptions {
  /** Name of the Durable Object binding in `env` (default "RATE_LIMITER"). */
  binding?: string;
}

const decisionBody = z.strictObject(
  { key: keySchema, policy: policySchema, cost: z.optional(costSchema) },
  { error: objectError("body must be a JSON object with key, policy and optional cost") },
);
const resetBody = z.strictObject(
  { key: keySchema, policy: z.optional(policyNameSchema) },
  { error: objectError("body must be a JSON object with key and optional policy (a policy name)") },
);

type RoutesEnv = { Bindings: Record<string, unknown> & { ADMIN_TOKEN?: string } };
type Operation = "check" | "peek" | "refund";

/**
 * Mount it anywhere: `app.route("/rate-limiter", rateLimiterRoutes())`.
 *
 * - `POST /check`  `{ key, policy, cost? }` consumes; 200 when allowed, 429 when not.
 * - `POST /peek`   `{ key, policy, cost? }` reports without consuming; always 200.
 * - `POST /refund` `{ key, policy, cost? }` gives units back; always 200.
 * - `POST /reset`  `{ key, policy? }` forgets state; needs `Authorization: Bearer <ADMIN_TOKEN>`.
 *
 * Responses carry `RateLimit-Policy` and `RateLimit` headers, and `Retry-After` on 429.
 * The caller names the policy, so expose these routes to trusted services, not to the clients
 * being limited: for those, use the `rateLimit()` middleware with a policy fixed in code.
 *
 * @example
 * app.route("/rate-limiter", rateLimiterRoutes({ binding: "RATE_LIMITER" }));
 */
export function rateLimiterRoutes(options: RateLimiterRoutesOptions = {}): Hono<RoutesEnv> {
  const bindingName = options.binding ?? "RATE_LIMITER";
  const app = new Hono<RoutesEnv>();
  app.use("*", limitBody());

  const decideOverHttp = (operation: Operation) => async (c: Context<RoutesEnv>) => {
    const body = await readJson(c, decisionBody);
    if (!body.ok) return body.response;
    const { key, policy, cost } = body.data;
    const valid = parsePolicyAndCost(policy, cost);
    if (!valid.ok) return errorResponse(c, 400, "invalid_request", valid.message);
    const limiter = getLimiterNamespace(c.env, bindingName).getByName(key);
    const result = await limiter[operation](policy, { cost: valid.cost });
    if ("error" in result) return errorResponse(c, 400, "invalid_request", result.error.message);
    const headers = rateLimitHeaders(policy, result);
    return c.json(result, operation === "check" && !result.allowed ? 429 : 200, headers);
  };

  app.post("/check", decideOverHttp("check"));
  app.post("/peek", decideOverHttp("peek"));
  app.post("/refund", decideOverHttp("refund"));
  app.post("/reset", requireAdmin(), async (c) => {
    const body = await readJson(c, resetBody);
    if (!body.ok) return body.response;
    const limiter = getLimiterNamespace(c.env, bindingName).getByName(body.data.key);
    return c.json(await limiter.reset(body.data.policy));
  });
  return app;
}
