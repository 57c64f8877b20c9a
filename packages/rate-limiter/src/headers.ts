/**
 * Response headers in the syntax of draft-ietf-httpapi-ratelimit-headers-10:
 *   RateLimit-Policy: "name";q=<quota>;w=<window seconds>
 *   RateLimit:        "name";r=<remaining>;t=<seconds until the quota is fully restored>
 * plus Retry-After (whole seconds) on a denial.
 */
import type { Policy } from "./policy";

export interface HeaderInput {
  allowed: boolean;
  remaining: number;
  resetAfterMs: number;
  retryAfterMs: number;
}

/**
 * @example
 * rateLimitHeaders({ name: "api", algorithm: "gcra", limit: 100, windowSeconds: 60 }, result)
 * // { "RateLimit-Policy": '"api";q=100;w=60', "RateLimit": '"api";r=99;t=1' }
 */
export function rateLimitHeaders(policy: Policy, result: HeaderInput): Record<string, string> {
  const headers: Record<string, string> = {
    "RateLimit-Policy": `"${policy.name}";q=${policy.limit};w=${policy.windowSeconds}`,
    RateLimit: `"${policy.name}";r=${result.remaining};t=${Math.ceil(result.resetAfterMs / 1000)}`,
  };
  if (!result.allowed) {
    // Never 0: a client told to retry after 0 seconds would spin.
    headers["Retry-After"] = String(Math.max(1, Math.ceil(result.retryAfterMs / 1000)));
  }
  return headers;
}
