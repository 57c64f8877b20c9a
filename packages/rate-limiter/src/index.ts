/**
 * @do-patterns/rate-limiter: one Durable Object per rate-limited key (a user, an IP, an API
 * key), exact under any concurrency, with O(1) state per policy and nothing left behind once a
 * key goes quiet.
 *
 * Each file is one room: `object.ts` the Durable Object, `routes.ts` the HTTP routes,
 * `middleware.ts` the Hono middleware, `algorithms.ts` the pure decisions, `policy.ts` input
 * validation, `headers.ts` the response headers, `http.ts` the helpers every catalog package
 * repeats.
 */
export {
  RateLimiter,
  type CheckOptions,
  type RateLimitOutcome,
  type RateLimitRejection,
  type RateLimitResult,
} from "./object";
export { rateLimiterRoutes, type RateLimiterRoutesOptions } from "./routes";
export { rateLimit, type RateLimitOptions } from "./middleware";
export {
  ALGORITHMS,
  decide,
  refund,
  type Algorithm,
  type Decision,
  type LimiterState,
  type Rate,
} from "./algorithms";
export { HEADER_FORMATS, rateLimitHeaders, type HeaderFormat } from "./headers";
export {
  MAX_LIMIT,
  MAX_POLICIES_PER_KEY,
  MAX_WINDOW_SECONDS,
  policySchema,
  type Policy,
} from "./policy";
