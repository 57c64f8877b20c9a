/**
 * The four rate-limiting algorithms as pure functions of (rate, stored state, time, cost).
 *
 * Nothing here touches storage or the clock, so every promise is property-tested with plain
 * numbers. Each algorithm keeps O(1) state per (key, policy): two or three numbers. Times are
 * milliseconds since the epoch.
 *
 * Every comparison is in whole numbers below 2^53, so decisions are exact: usage is scaled by
 * the window length (sliding window, token bucket) or by the limit (GCRA's fractional emission
 * interval), and a valid policy keeps `limit x windowMs` at most 2^53 - 1.
 */

export const ALGORITHMS = ["fixed-window", "sliding-window", "token-bucket", "gcra"] as const;

export type Algorithm = (typeof ALGORITHMS)[number];

/** What a decision needs to know about a policy: `limit` units per `windowMs`. */
export interface Rate {
  algorithm: Algorithm;
  limit: number;
  windowMs: number;
}

/** Count of the epoch-aligned window that starts at `windowStart`. */
export interface FixedWindowState {
  algorithm: "fixed-window";
  windowStart: number;
  count: number;
}

/** Counts of the epoch-aligned window that starts at `windowStart` and of the one before. */
export interface SlidingWindowState {
  algorithm: "sliding-window";
  windowStart: number;
  current: number;
  previous: number;
}

/**
 * The bucket's level at `updatedAt`, in token-milliseconds (tokens x window length), so that
 * refilling `limit` per millisecond stays in whole numbers.
 */
export interface TokenBucketState {
  algorithm: "token-bucket";
  level: number;
  updatedAt: number;
}

/**
 * The theoretical arrival time (TAT): when the key would be back to its full limit if nothing
 * else arrived. The emission interval (window / limit) is rarely a whole number of
 * milliseconds, so the TAT is kept exact as `tat + tatFraction / limit` ms, with
 * `0 <= tatFraction < limit`.
 */
export interface GcraState {
  algorithm: "gcra";
  tat: number;
  tatFraction: number;
}

export type LimiterState = FixedWindowState | SlidingWindowState | TokenBucketState | GcraState;

/** State worth storing, and the time from which it is equivalent to no state at all. */
export interface StoredState {
  state: LimiterState;
  expiresAt: number;
}

export interface Decision {
  /** Whether a call of this cost is (or, without consuming, would be) admitted now. */
  allowed: boolean;
  /** Whole units available right after this decision: exactly this many unit calls fit. */
  remaining: number;
  /** Milliseconds until the full limit is available again; 0 when it is available now. */
  resetAfterMs: number;
  /** Milliseconds until a call of this cost would be admitted; 0 when it is admitted now. */
  retryAfterMs: number;
  /**
   * The state to store, present only when the call was admitted and consumed. A denial, or a
   * decision made without consuming (a peek), describes the present and must not write.
   */
  next?: StoredState;
}

/**
 * Decides a call costing `cost` units at `now`, given the stored state (`undefined` when there
 * is none, or it belongs to another algorithm). With `consume` false it only reports: the
 * answer then describes the key as it is now, whatever the cost asked about, except `allowed`
 * and `retryAfterMs`, which answer for that cost. A denied call is reported the same way.
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
  consume = true,
): Decision {
  switch (rate.algorithm) {
    case "fixed-window":
      return decideFixedWindow(rate, asFixedWindow(state), now, cost, consume);
    case "sliding-window":
      return decideSlidingWindow(rate, asSlidingWindow(state), now, cost, consume);
    case "token-bucket":
      return decideBucket(
        rate,
        tokenBucketLevel(rate, asTokenBucket(state), now),
        now,
        cost,
        consume,
        tokenBucketState,
      );
    case "gcra":
      return decideBucket(rate, gcraLevel(rate, asGcra(state), now), now, cost, consume, gcraState);
  }
}

/**
 * Gives back up to `cost` units of what a key has used: the most recent usage first, never
 * below no usage at all, so the key never holds more than its limit. Returns the state to
 * store, or `undefined` when nothing is in use any more (equivalent to no state: delete it).
 *
 * A refund of a check's cost with no call in between leaves the key exactly as if that check
 * had never happened, however late it comes: units the window or the refill has already given
 * back are not given twice. With calls in between, it takes from the most recent usage.
 */
export function refund(
  rate: Rate,
  state: LimiterState | undefined,
  now: number,
  cost: number,
): StoredState | undefined {
  switch (rate.algorithm) {
    case "fixed-window":
      return refundFixedWindow(rate, asFixedWindow(state), now, cost);
    case "sliding-window":
      return refundSlidingWindow(rate, asSlidingWindow(state), now, cost);
    case "token-bucket":
      return refundBucket(
        rate,
        tokenBucketLevel(rate, asTokenBucket(state), now),
        now,
        cost,
        tokenBucketState,
      );
    case "gcra":
      return refundBucket(rate, gcraLevel(rate, asGcra(state), now), now, cost, gcraState);
  }
}

/** Start of the epoch-aligned window containing `now`. */
export function windowStartOf(now: number, windowMs: number): number {
  return now - (now % windowMs);
}

// ---------------------------------------------------------------------------------------------
// Fixed window: a count per epoch-aligned window.
// ---------------------------------------------------------------------------------------------

function fixedWindowUsed(windowMs: number, state: FixedWindowState | undefined, now: number) {
  const windowStart = windowStartOf(now, windowMs);
  const used = state !== undefined && state.windowStart === windowStart ? state.count : 0;
  return { windowStart, windowEnd: windowStart + windowMs, used };
}

function decideFixedWindow(
  { limit, windowMs }: Rate,
  state: FixedWindowState | undefined,
  now: number,
  cost: number,
  consume: boolean,
): Decision {
  const { windowStart, windowEnd, used } = fixedWindowUsed(windowMs, state, now);
  const fits = used <= limit - cost;
  if (!fits || !consume) {
    return {
      allowed: fits,
      remaining: Math.max(0, limit - used),
      resetAfterMs: used > 0 ? windowEnd - now : 0,
      // cost <= limit is validated, so the next window always admits it.
      retryAfterMs: fits ? 0 : windowEnd - now,
    };
  }
  return {
    allowed: true,
    remaining: limit - used - cost,
    resetAfterMs: windowEnd - now,
    retryAfterMs: 0,
    next: {
      state: { algorithm: "fixed-window", windowStart, count: used + cost },
      expiresAt: windowEnd,
    },
  };
}

function refundFixedWindow(
  { windowMs }: Rate,
  state: FixedWindowState | undefined,
  now: number,
  cost: number,
): StoredState | undefined {
  const { windowStart, windowEnd, used } = fixedWindowUsed(windowMs, state, now);
  const count = Math.max(0, used - cost);
  if (count === 0) return undefined;
  return { state: { algorithm: "fixed-window", windowStart, count }, expiresAt: windowEnd };
}

// ---------------------------------------------------------------------------------------------
// Sliding window: the previous window's count, weighted by how much of it still overlaps the
// sliding window, plus the current window's count. Two numbers instead of a log of every
// timestamp; it assumes the previous window's calls were spread evenly. The estimate is kept
// multiplied by the window length, so it is a whole number.
// ---------------------------------------------------------------------------------------------

function slidingWindowCounts(windowMs: number, state: SlidingWindowState | undefined, now: number) {
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
  return { windowStart, current, previous };
}

function decideSlidingWindow(
  { limit, windowMs }: Rate,
  state: SlidingWindowState | undefined,
  now: number,
  cost: number,
  consume: boolean,
): Decision {
  const { windowStart, current, previous } = slidingWindowCounts(windowMs, state, now);
  const scaledLimit = limit * windowMs;
  const scaledEstimate = previous * (windowStart + windowMs - now) + current * windowMs;
  const fits = scaledEstimate <= scaledLimit - cost * windowMs;
  if (!fits || !consume) {
    return {
      allowed: fits,
      remaining:
        scaledEstimate >= scaledLimit ? 0 : floorDiv(scaledLimit - scaledEstimate, windowMs),
      resetAfterMs: Math.max(0, slidingExpiry(windowStart, windowMs, current, previous) - now),
      retryAfterMs: fits
        ? 0
        : slidingRetryAt(windowStart, windowMs, current, previous, cost, limit) - now,
    };
  }
  const next = {
    algorithm: "sliding-window",
    windowStart,
    current: current + cost,
    previous,
  } as const;
  const expiresAt = slidingExpiry(windowStart, windowMs, next.current, previous);
  return {
    allowed: true,
    remaining: floorDiv(scaledLimit - scaledEstimate - cost * windowMs, windowMs),
    resetAfterMs: expiresAt - now,
    retryAfterMs: 0,
    next: { state: next, expiresAt },
  };
}

/** Takes the refund from the current window's count first, then from the previous one's. */
function refundSlidingWindow(
  { windowMs }: Rate,
  state: SlidingWindowState | undefined,
  now: number,
  cost: number,
): StoredState | undefined {
  const { windowStart, current, previous } = slidingWindowCounts(windowMs, state, now);
  const fromCurrent = Math.min(current, cost);
  const nextCurrent = current - fromCurrent;
  const nextPrevious = Math.max(0, previous - (cost - fromCurrent));
  if (nextCurrent === 0 && nextPrevious === 0) return undefined;
  return {
    state: {
      algorithm: "sliding-window",
      windowStart,
      current: nextCurrent,
      previous: nextPrevious,
    },
    expiresAt: slidingExpiry(windowStart, windowMs, nextCurrent, nextPrevious),
  };
}

/**
 * When the counts stop mattering, which is also when the full limit is back: the current count
 * weighs until the end of the next window, the previous one until the end of this window.
 */
function slidingExpiry(windowStart: number, windowMs: number, current: number, previous: number) {
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
  return nextStart + ceilDiv((current - (limit - cost)) * windowMs, current);
}

// ---------------------------------------------------------------------------------------------
// Token bucket and GCRA: one bucket of `limit` tokens that refills continuously at `limit` per
// window, kept in token-milliseconds (tokens x window) so that refilling adds `limit` per
// millisecond. The token bucket stores the level; GCRA stores when the bucket will be full
// again (its TAT). Both make the same decisions.
// ---------------------------------------------------------------------------------------------

type BucketStateAt = (rate: Rate, level: number, now: number) => LimiterState;

function decideBucket(
  rate: Rate,
  level: number,
  now: number,
  cost: number,
  consume: boolean,
  stateAt: BucketStateAt,
): Decision {
  const { limit, windowMs } = rate;
  const capacity = limit * windowMs;
  const needed = cost * windowMs;
  const fits = level >= needed;
  if (!fits || !consume) {
    return {
      allowed: fits,
      remaining: floorDiv(level, windowMs),
      resetAfterMs: ceilDiv(capacity - level, limit),
      retryAfterMs: fits ? 0 : ceilDiv(needed - level, limit),
    };
  }
  const left = level - needed;
  const untilFull = ceilDiv(capacity - left, limit);
  return {
    allowed: true,
    remaining: floorDiv(left, windowMs),
    resetAfterMs: untilFull,
    retryAfterMs: 0,
    next: { state: stateAt(rate, left, now), expiresAt: now + untilFull },
  };
}

function refundBucket(
  rate: Rate,
  level: number,
  now: number,
  cost: number,
  stateAt: BucketStateAt,
): StoredState | undefined {
  const { limit, windowMs } = rate;
  const capacity = limit * windowMs;
  // Compared before adding: level + cost x window could pass 2^53.
  if (level >= capacity - cost * windowMs) return undefined;
  const refilled = level + cost * windowMs;
  return {
    state: stateAt(rate, refilled, now),
    expiresAt: now + ceilDiv(capacity - refilled, limit),
  };
}

function tokenBucketLevel(
  { limit, windowMs }: Rate,
  state: TokenBucketState | undefined,
  now: number,
): number {
  const capacity = limit * windowMs;
  if (state === undefined) return capacity;
  const elapsed = Math.max(0, now - state.updatedAt);
  // Compared before multiplying, so a long-idle key cannot push the product past 2^53.
  if (elapsed >= windowMs) return capacity;
  return Math.min(capacity, state.level + elapsed * limit);
}

function tokenBucketState(_rate: Rate, level: number, now: number): TokenBucketState {
  return { algorithm: "token-bucket", level, updatedAt: now };
}

/**
 * The bucket's level from the TAT: full minus what is still owed, where what is owed is the
 * TAT's distance from now in units of 1/limit ms. A TAT further out than one window (a clock
 * that stepped back) owes at most the whole bucket.
 */
function gcraLevel({ limit, windowMs }: Rate, state: GcraState | undefined, now: number): number {
  const capacity = limit * windowMs;
  if (state === undefined || state.tat < now) return capacity;
  if (state.tat - now >= windowMs) return 0;
  const owed = (state.tat - now) * limit + state.tatFraction;
  return capacity - Math.min(capacity, owed);
}

function gcraState({ limit, windowMs }: Rate, level: number, now: number): GcraState {
  const owed = limit * windowMs - level;
  return { algorithm: "gcra", tat: now + floorDiv(owed, limit), tatFraction: owed % limit };
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

function asFixedWindow(state: LimiterState | undefined): FixedWindowState | undefined {
  return state?.algorithm === "fixed-window" ? state : undefined;
}
function asSlidingWindow(state: LimiterState | undefined): SlidingWindowState | undefined {
  return state?.algorithm === "sliding-window" ? state : undefined;
}
function asTokenBucket(state: LimiterState | undefined): TokenBucketState | undefined {
  return state?.algorithm === "token-bucket" ? state : undefined;
}
/** A GCRA state without its fraction (stored before the TAT was exact) counts as none. */
function asGcra(state: LimiterState | undefined): GcraState | undefined {
  return state?.algorithm === "gcra" && typeof state.tatFraction === "number" ? state : undefined;
}

/**
 * floor(a / b) for whole numbers a >= 0, b > 0 below 2^53. `%` is exact on doubles, where a
 * float division can round a quotient just below a whole number up to it.
 */
function floorDiv(a: number, b: number): number {
  return (a - (a % b)) / b;
}

/** ceil(a / b) for whole numbers below 2^53, b > 0; 0 for a <= 0. */
function ceilDiv(a: number, b: number): number {
  if (a <= 0) return 0;
  return floorDiv(a, b) + (a % b === 0 ? 0 : 1);
}
