/** The rate limiter's rows: four algorithms admitted and denied, a peek, and a cold key. */
import { ALGORITHMS, type Algorithm, type Policy } from "@do-patterns/rate-limiter";
import { ADMITTED_LIMIT } from "../config.ts";
import { baselineRow, COLD_CALLS, floorRow, hotPath, type Row } from "../rows.ts";

/** Fails the row, rather than silently measuring the wrong path, if a decision is unexpected. */
async function expectAllowed(
  result: Promise<{ allowed: boolean }>,
  allowed: boolean,
): Promise<void> {
  const decision = await result;
  if (decision.allowed !== allowed) {
    throw new Error(
      `expected ${allowed ? "an admitted" : "a denied"} call, got ${JSON.stringify(decision)}`,
    );
  }
}

/** Admits every call a run makes (at most ADMITTED_LIMIT per object). */
const admitting = (algorithm: Algorithm): Policy => ({
  name: "bench",
  algorithm,
  limit: ADMITTED_LIMIT,
  windowSeconds: 60,
});
/** Denies every call after the first for the next hour. */
const denying = (algorithm: Algorithm): Policy => ({
  name: "bench",
  algorithm,
  limit: 1,
  windowSeconds: 3600,
});
/**
 * One admitted call's state lasts a tenth of a day: longer than any run, so no cleanup alarm
 * fires mid-run to be counted in a row's writes or to land in another row's timing.
 */
const tenADay: Policy = {
  name: "bench",
  algorithm: "gcra",
  limit: 10,
  windowSeconds: 86_400,
};

const BASELINE = "baseline/timestamp-array";
const CHECK_FLOOR = "rate-limiter/floor-check";
const DENIED_CHECK_FLOOR = "rate-limiter/floor-check-denied";
const COLD_KEY_CHECK_FLOOR = "rate-limiter/floor-check-cold-key";

export const RATE_LIMITER_ROWS: Row[] = [
  baselineRow({
    name: BASELINE,
    ceiling: "write",
    namespace: (env) => env.BASELINE,
    op: (baseline) => expectAllowed(baseline.check(ADMITTED_LIMIT, 60_000), true),
  }),
  floorRow({
    name: CHECK_FLOOR,
    ceiling: "write",
    namespace: (env) => env.RATE_LIMITER_SIGNATURE,
    op: (floor) => expectAllowed(floor.check(admitting("gcra")), true),
  }),
  floorRow({
    name: DENIED_CHECK_FLOOR,
    ceiling: "noop",
    namespace: (env) => env.RATE_LIMITER_SIGNATURE,
    op: (floor) => expectAllowed(floor.checkDenied(denying("gcra")), false),
  }),
  floorRow({
    name: COLD_KEY_CHECK_FLOOR,
    ceiling: "write-cold",
    namespace: (env) => env.RATE_LIMITER_SIGNATURE,
    freshObjectPerCall: true,
    maxCalls: COLD_CALLS,
    op: (floor) => expectAllowed(floor.checkNewKey(tenADay), true),
  }),
  ...ALGORITHMS.map((algorithm) =>
    hotPath({
      name: `rate-limiter/${algorithm}-check`,
      ceiling: "write",
      floor: CHECK_FLOOR,
      baseline: BASELINE,
      maxRowsWrittenPerOp: 1,
      namespace: (env) => env.RATE_LIMITER,
      op: (limiter) => expectAllowed(limiter.check(admitting(algorithm)), true),
    }),
  ),
  ...ALGORITHMS.map((algorithm) =>
    hotPath({
      name: `rate-limiter/${algorithm}-check-denied`,
      ceiling: "noop",
      floor: DENIED_CHECK_FLOOR,
      maxRowsWrittenPerOp: 0,
      namespace: (env) => env.RATE_LIMITER,
      setup: (limiter) => expectAllowed(limiter.check(denying(algorithm)), true),
      op: (limiter) => expectAllowed(limiter.check(denying(algorithm)), false),
    }),
  ),
  hotPath({
    name: "rate-limiter/gcra-peek",
    ceiling: "noop",
    floor: DENIED_CHECK_FLOOR,
    maxRowsWrittenPerOp: 0,
    namespace: (env) => env.RATE_LIMITER,
    // Peek at a key that has state, as a real caller would, and keeps it for the whole run.
    setup: (limiter) => expectAllowed(limiter.check(tenADay), true),
    op: (limiter) => expectAllowed(limiter.peek(tenADay), true),
  }),
  hotPath({
    // Limiting by IP mostly sees keys for the first time: each call starts a new object.
    name: "rate-limiter/gcra-check-cold-key",
    ceiling: "write-cold",
    floor: COLD_KEY_CHECK_FLOOR,
    maxRowsWrittenPerOp: 1,
    namespace: (env) => env.RATE_LIMITER,
    freshObjectPerCall: true,
    maxCalls: COLD_CALLS,
    op: (limiter) => expectAllowed(limiter.check(tenADay), true),
  }),
];
