/**
 * Rate-limit response headers. The default is the syntax of
 * draft-ietf-httpapi-ratelimit-headers-10:
 *   RateLimit-Policy: "name";q=<quota>;w=<window seconds>
 *   RateLimit:        "name";r=<remaining>;t=<seconds until the quota is fully restored>
 * Clients written against older drafts read other fields, so two earlier layouts are offered:
 *   draft-7: RateLimit-Policy: <quota>;w=<window>  RateLimit: limit=<q>, remaining=<r>, reset=<t>
 *   draft-6: RateLimit-Policy: <quota>;w=<window>  RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset
 * Every format adds Retry-After (whole seconds) on a denial.
 */
import type { Policy } from "./policy";

export const HEADER_FORMATS = ["draft-10", "draft-7", "draft-6"] as const;
export type HeaderFormat = (typeof HEADER_FORMATS)[number];

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
export function rateLimitHeaders(
  policy: Policy,
  result: HeaderInput,
  format: HeaderFormat = "draft-10",
): Record<string, string> {
  const reset = Math.ceil(result.resetAfterMs / 1000);
  let headers: Record<string, string>;
  switch (format) {
    case "draft-10":
      headers = {
        "RateLimit-Policy": `"${policy.name}";q=${policy.limit};w=${policy.windowSeconds}`,
        RateLimit: `"${policy.name}";r=${result.remaining};t=${reset}`,
      };
      break;
    case "draft-7":
      headers = {
        "RateLimit-Policy": `${policy.limit};w=${policy.windowSeconds}`,
        RateLimit: `limit=${policy.limit}, remaining=${result.remaining}, reset=${reset}`,
      };
      break;
    case "draft-6":
      headers = {
        "RateLimit-Policy": `${policy.limit};w=${policy.windowSeconds}`,
        "RateLimit-Limit": String(policy.limit),
        "RateLimit-Remaining": String(result.remaining),
        "RateLimit-Reset": String(reset),
      };
      break;
  }
  if (!result.allowed) {
    // Never 0: a client told to retry after 0 seconds would spin.
    headers["Retry-After"] = String(Math.max(1, Math.ceil(result.retryAfterMs / 1000)));
  }
  return headers;
}
