/**
 * `rateLimit()`: Hono middleware that admits a request only if its key is within the policy.
 */
import type { Context, Env as HonoEnv, MiddlewareHandler } from "hono";
import { rateLimitHeaders, type HeaderFormat } from "./headers";
import { errorResponse } from "./http";
import { getLimiterNamespace } from "./namespace";
import type { RateLimitOutcome } from "./object";
import { keySchema, parsePolicyAndCost, type Policy } from "./policy";

type PerRequest<E extends HonoEnv, T> = T | ((c: Context<E>) => T | Promise<T>);

export interface RateLimitOptions<E extends HonoEnv> {
  /** Name of the RateLimiter Durable Object binding in `env`. */
  binding: string;
  /** Who is being limited: one Durable Object per distinct key. */
  key: (c: Context<E>) => string | Promise<string>;
  /**
   * The policy: fixed (validated when the middleware is built), or computed per request, for
   * limits that depend on the caller's plan (an invalid computed policy throws: it is a bug in
   * the app, not the client's fault).
   */
  policy: PerRequest<E, Policy>;
  /** Units a request costs (default 1), fixed or computed per request. */
  cost?: PerRequest<E, number>;
  /**
   * Give a request's units back once its response is ready: `"failed"` (status 400 or above,
   * errors included), `"successful"` (below 400), or a predicate on the finished context, e.g.
   * `(c) => c.res.status >= 500`. Default: never. Denied requests consumed nothing to give back.
   */
  refund?: "failed" | "successful" | ((c: Context<E>) => boolean | Promise<boolean>);
  /** Which draft's header fields to send (default "draft-10"; see `rateLimitHeaders`). */
  headers?: HeaderFormat;
  /**
   * What to do when the limiter cannot be reached: let the request through (default, so an
   * outage of the limiter is not an outage of the app) or answer 503.
   */
  onLimiterError?: "allow" | "deny";
}

/**
 * Sets the RateLimit headers on every response and answers 429 with Retry-After when over the
 * limit.
 *
 * @example
 * app.use("/api/*", rateLimit({
 *   binding: "RATE_LIMITER",
 *   key: (c) => c.req.header("cf-connecting-ip") ?? "unknown",
 *   policy: { name: "api", algorithm: "sliding-window", limit: 100, windowSeconds: 60 },
 *   refund: "failed",
 * }));
 */
export function rateLimit<E extends HonoEnv = HonoEnv>(
  options: RateLimitOptions<E>,
): MiddlewareHandler<E> {
  const policyOption = options.policy;
  // A bad fixed policy is a programming error: fail when the app is built, not per request.
  const fixedPolicy = typeof policyOption === "function" ? undefined : validPolicy(policyOption);
  const policyFor = async (c: Context<E>): Promise<Policy> =>
    fixedPolicy ??
    validPolicy(await resolve(policyOption, c), "the policy computed for this request: ");
  return async (c, next) => {
    const key = keySchema.safeParse(await options.key(c));
    if (!key.success) {
      return errorResponse(
        c,
        400,
        "invalid_request",
        `rate limit key: ${key.error.issues[0]?.message}`,
      );
    }
    const policy = await policyFor(c);
    const cost = options.cost === undefined ? 1 : await resolve(options.cost, c);
    // A missing binding is a deployment mistake, so it is not swallowed by onLimiterError.
    const limiter = getLimiterNamespace(c.env, options.binding).getByName(key.data);
    let result: RateLimitOutcome;
    try {
      result = await limiter.check(policy, { cost });
    } catch {
      if (options.onLimiterError === "deny") {
        return errorResponse(
          c,
          503,
          "unavailable",
          "the rate limiter is unavailable; try again shortly",
          {
            "Retry-After": "1",
          },
        );
      }
      await next();
      return;
    }
    if ("error" in result) {
      return errorResponse(c, 400, "invalid_request", `rate limit: ${result.error.message}`);
    }
    const headers = rateLimitHeaders(policy, result, options.headers);
    if (!result.allowed) {
      return errorResponse(
        c,
        429,
        "rate_limited",
        `rate limit "${policy.name}" exceeded: ${policy.limit} per ${policy.windowSeconds}s; retry after ${headers["Retry-After"]}s`,
        headers,
      );
    }
    await next();
    for (const [name, value] of Object.entries(headers)) c.res.headers.set(name, value);
    if (options.refund !== undefined && (await shouldRefund(options.refund, c))) {
      afterResponse(c, limiter.refund(policy, { cost }));
    }
  };
}

function validPolicy(policy: Policy, which = ""): Policy {
  const valid = parsePolicyAndCost(policy, undefined);
  if (!valid.ok) throw new RangeError(`rateLimit(): ${which}${valid.message}`);
  return valid.policy;
}

/** The option's value for this request. T is never itself a function (a Policy or a number). */
async function resolve<E extends HonoEnv, T>(value: PerRequest<E, T>, c: Context<E>): Promise<T> {
  return typeof value === "function" ? (value as (c: Context<E>) => T | Promise<T>)(c) : value;
}

async function shouldRefund<E extends HonoEnv>(
  refund: NonNullable<RateLimitOptions<E>["refund"]>,
  c: Context<E>,
): Promise<boolean> {
  if (refund === "failed") return c.res.status >= 400;
  if (refund === "successful") return c.res.status < 400;
  return refund(c);
}

/**
 * Lets the response go without waiting for the refund when the runtime can keep working after
 * it (`waitUntil`); a refund that fails only leaves the request counted, so it is logged, not
 * raised.
 */
function afterResponse(c: Context, work: Promise<unknown>): void {
  const settled = work.then(
    () => undefined,
    (error: unknown) =>
      console.warn("rateLimit(): refund failed; the request stays counted", error),
  );
  try {
    c.executionCtx.waitUntil(settled);
  } catch {
    // No execution context (called outside a Worker's fetch): nothing to keep alive.
  }
}
