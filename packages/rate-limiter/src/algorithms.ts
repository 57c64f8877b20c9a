/**
 * The four rate-limiting algorithms as pure functions of (policy, stored state, time, cost).
 *
 * Nothing here touches storage or the clock, so every edge case is unit-tested with plain
 * numbers. Each algorithm keeps O(1) state per (key, policy): two or three numbers.
 * Times are milliseconds since the epoch.
 */

export const ALGORITHMS = ["fixed-window", "sliding-window", "token-bucket", "gcra"] as const;

export type Algorithm = (typeof ALGORITHMS)[number];

/** What a decision needs to know about a policy: `limit` units per `windowMs`. */
export interface Rate {
  algorithm: Algorithm;
  limit: number;
  windowMs: number;
}

/** Count of the epoch-aligned window that contains `windowStart`. */
export interface FixedWindowState {
  algorithm: "fixed-window";
  windowStart: number;
  count: number;
}

/** Counts of the current and the previous epoch-aligned window. */
export interface SlidingWindowState {
  algorithm: "sliding-window";
  windowStart: number;
  current: number;
  previous: number;
}

/**
 * The bucket's level at `updatedAt`, in token-milliseconds (tokens x window length) so that
 * refill arithmetic stays in whole numbers.
 */
export interface TokenBucketState {
  algorithm: "token-bucket";
  level: number;
  updatedAt: number;
}

/** Theoretical arrival time: when the bucket would be empty again if nothing else arrived. */
export interface GcraState {
  algorithm: "gcra";
  tat: number;
}

export type LimiterState = FixedWindowState | SlidingWindowState | TokenBucketState | GcraState;

export interface Decision {
  allowed: boolean;
  /** Whole units that could still be consumed right after this decision. */
  remaining: number;
  /** Milliseconds until the full limit is available again. */
  resetAfterMs: number;
  /** Milliseconds until a call of the same cost would be allowed; 0 when allowed. */
  retryAfterMs: number;
  /**
   * The state to store when the call is allowed and consumes, and when it stops mattering
   * (from then on it is equivalent to no state at all). Absent when denied: a denied call
   * (or a peek) must not write.
   */
  next?: { state: LimiterState; expiresAt: number };
}

/**
 * GCRA's emission interval (window / limit) is rarely a whole number of milliseconds. This is
 * the float slack for its comparisons against times near 1.8e12 ms, where a double resolves
 * about 0.0002 ms: far below the clock's 1 ms resolution.
 */
const EPSILON = 1e-3;

/**
 * Decides whether a call costing `cost` units is allowed at `now`, given the stored state
 * (`undefined` when there is none, or it belongs to another algorithm).
 *
 * @example
 * const rate = { algorithm: "gcra", limit: 10, windowMs: 60_000 } as const;
 * const first = decide(rate, undefined, Date.now(), 1); // allowed, remaining 9
 */
export function decide(
  rate: Rate,
  state: LimiterState | undefined,
  now: number,
  cost: number,
): Decision {
  switch (rate.algorithm) {
    case "fixed-window":
      return decideFixedWindow(
        rate,
        state?.algorithm === rate.algorithm ? state : undefined,
        now,
        cost,
      );
    case "sliding-window":
      return decideSlidingWindow(
        rate,
        state?.algorithm === rate.algorithm ? state : undefined,
        now,
        cost,
      );
    case "token-bucket":
      return decideTokenBucket(
        rate,
        state?.algorithm === rate.algorithm ? state : undefined,
        now,
        cost,
      );
    case "gcra":
      return decideGcra(rate, state?.algorithm === rate.algorithm ? state : undefined, now, cost);
  }
}

/** Start of the epoch-aligned window containing `now`. */
export function windowStartOf(now: number, windowMs: number): number {
  return Math.floor(now / windowMs) * windowMs;
}

function decideFixedWindow(
  { limit, windowMs }: Rate,
  state: FixedWindowState | undefined,
  now: number,
  cost: number,
): Decision {
  const windowStart = windowStartOf(now, windowMs);
  const windowEnd = windowStart + windowMs;
  const used = state !== undefined && state.windowStart === windowStart ? state.count : 0;
  const untilWindowEnd = windowEnd - now;

  if (used + cost > limit) {
    return {
      allowed: false,
      remaining: limit - used,
      resetAfterMs: untilWindowEnd,
      // cost <= limit is validated, so the next window always admits it.
      retryAfterMs: untilWindowEnd,
    };
  }
  return {
    allowed: true,
    remaining: limit - used - cost,
    resetAfterMs: untilWindowEnd,
    retryAfterMs: 0,
    next: {
      state: { algorithm: "fixed-window", windowStart, count: used + cost },
      expiresAt: windowEnd,
    },
  };
}

/**
 * The sliding-window counter: the previous window's count, weighted by how much of it still
 * overlaps the sliding window, plus the current window's count. Two numbers instead of a log
 * of every timestamp; it assumes the previous window's calls were spread evenly.
 *
 * The weighted estimate is kept multiplied by the window length, so every comparison is in
 * whole numbers and exact (for limit x window below 2^53, e.g. a million per day).
 */
function decideSlidingWindow(
  { limit, windowMs }: Rate,
  state: SlidingWindowState | undefined,
  now: number,
  cost: number,
): Decision {
  const windowStart = windowStartOf(now, windowMs);
  let current = 0;
  let previous = 0;
  if (state !== undefined) {
    if (state.windowStart === windowStart) {
      current = state.current;
      previous = state.previous;
    } else if (state.windowStart === windowStart - windowMs) {
      previous = state.current;
    }
  }
  const remainingOverlap = windowMs - (now - windowStart);
  const scaledEstimate = previous * remainingOverlap + current * windowMs;
  const scaledLimit = limit * windowMs;

  if (scaledEstimate + cost * windowMs > scaledLimit) {
    return {
      allowed: false,
      remaining: Math.max(0, Math.floor((scaledLimit - scaledEstimate) / windowMs)),
      resetAfterMs: slidingExpiry(windowStart, windowMs, current, previous) - now,
      retryAfterMs: slidingRetryAt(windowStart, windowMs, current, previous, cost, limit) - now,
    };
  }
  const nextCurrent = current + cost;
  const expiresAt = slidingExpiry(windowStart, windowMs, nextCurrent, previous);
  return {
    allowed: true,
    remaining: Math.floor((scaledLimit - scaledEstimate - cost * windowMs) / windowMs),
    resetAfterMs: expiresAt - now,
    retryAfterMs: 0,
    next: {
      state: { algorithm: "sliding-window", windowStart, current: nextCurrent, previous },
      expiresAt,
    },
  };
}

/** The counts stop mattering once neither window overlaps the sliding window any more. */
function slidingExpiry(
  windowStart: number,
  windowMs: number,
  current: number,
  previous: number,
): number {
  if (current > 0) return windowStart + 2 * windowMs;
  if (previous > 0) return windowStart + windowMs;
  return windowStart;
}

/**
 * The earliest millisecond at which the estimate leaves room for `cost`. Within the current
 * window the previous window's weight decays linearly; if that is not enough, the current count
 * becomes the previous one at the next boundary and decays in turn.
 */
function slidingRetryAt(
  windowStart: number,
  windowMs: number,
  current: number,
  previous: number,
  cost: number,
  limit: number,
): number {
  const room = limit - cost - current;
  // previous * (windowMs - (t - windowStart)) <= room * windowMs
  if (room >= 0) return windowStart + ceilDiv((previous - room) * windowMs, previous);
  const nextStart = windowStart + windowMs;
  const roomNext = limit - cost;
  return nextStart + ceilDiv((current - roomNext) * windowMs, current);
}

/**
 * A bucket of `limit` tokens that refills continuously at `limit` per window. The level is kept
 * in token-milliseconds (tokens x window), so refilling adds `limit` per millisecond and every
 * comparison is exact in whole numbers.
 */
function decideTokenBucket(
  { limit, windowMs }: Rate,
  state: TokenBucketState | undefined,
  now: number,
  cost: number,
): Decision {
  const capacity = limit * windowMs;
  const level =
    state === undefined
      ? capacity
      : Math.min(capacity, state.level + Math.max(0, now - state.updatedAt) * limit);
  const needed = cost * windowMs;

  if (level < needed) {
    return {
      allowed: false,
      remaining: Math.floor(level / windowMs),
      resetAfterMs: ceilDiv(capacity - level, limit),
      retryAfterMs: ceilDiv(needed - level, limit),
    };
  }
  const left = level - needed;
  const untilFull = ceilDiv(capacity - left, limit);
  return {
    allowed: true,
    remaining: Math.floor(left / windowMs),
    resetAfterMs: untilFull,
    retryAfterMs: 0,
    next: {
      state: { algorithm: "token-bucket", level: left, updatedAt: now },
      expiresAt: now + untilFull,
    },
  };
}

/**
 * The generic cell rate algorithm: one timestamp per key. Each unit pushes the theoretical
 * arrival time (TAT) forward by the emission interval (window / limit); a call is allowed while
 * the TAT stays within one window of now, which admits a burst of `limit` and then a steady
 * `limit` per window.
 */
function decideGcra(
  { limit, windowMs }: Rate,
  state: GcraState | undefined,
  now: number,
  cost: number,
): Decision {
  const interval = windowMs / limit;
  const tat = Math.max(state?.tat ?? now, now);
  const nextTat = tat + cost * interval;
  const allowAt = nextTat - windowMs;

  if (allowAt > now + EPSILON) {
    return {
      allowed: false,
      remaining: Math.max(0, Math.floor((windowMs - (tat - now)) / interval + EPSILON)),
      resetAfterMs: Math.ceil(tat - now),
      retryAfterMs: Math.ceil(allowAt - now),
    };
  }
  return {
    allowed: true,
    remaining: Math.max(0, Math.floor((windowMs - (nextTat - now)) / interval + EPSILON)),
    resetAfterMs: Math.ceil(nextTat - now),
    retryAfterMs: 0,
    next: { state: { algorithm: "gcra", tat: nextTat }, expiresAt: Math.ceil(nextTat) },
  };
}

/** ceil(a / b) for non-negative whole numbers, without float rounding surprises. */
function ceilDiv(a: number, b: number): number {
  if (a <= 0) return 0;
  let q = Math.floor(a / b);
  if (q * b > a) q--;
  return q * b < a ? q + 1 : q;
}
