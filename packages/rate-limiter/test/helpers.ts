import { env } from "cloudflare:workers";
import type { Algorithm, Policy, RateLimitOutcome, RateLimitResult } from "../src/index";
import { testClock } from "./worker";

export const ALL_ALGORITHMS: Algorithm[] = [
  "fixed-window",
  "sliding-window",
  "token-bucket",
  "gcra",
];

/** A fresh object per test: storage is shared within a file. */
export function freshLimiter() {
  return env.RATE_LIMITER.getByName(`key-${crypto.randomUUID()}`);
}

export function policyFor(algorithm: Algorithm, limit: number, windowSeconds = 60): Policy {
  return { name: `p-${algorithm}`, algorithm, limit, windowSeconds };
}

/**
 * The start of a minute, so windows line up predictably; in the future, so alarms the objects
 * set against the test clock never fire by themselves and only runDurableObjectAlarm runs them.
 */
export const T0 = Date.UTC(2030, 0, 1, 0, 0, 0);

export function setNow(ms: number): void {
  testClock.now = ms;
}

/** Unwraps an outcome the test expects to be a decision, failing loudly on a rejection. */
export function ok(outcome: RateLimitOutcome): RateLimitResult {
  if ("error" in outcome) throw new Error(`unexpected rejection: ${outcome.error.message}`);
  return outcome;
}
