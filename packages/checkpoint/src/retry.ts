/**
 * The pure decisions of a step's life: how long to back off after a failed try, and what a
 * failure does to the step (another try, or the end of the run). The object applies them to its
 * rows; the property tests check them over every policy the package accepts.
 */

/**
 * How a step is retried. The delay before try `k + 1`, after try `k` failed, is
 * `min(maxBackoffMs, initialBackoffMs x multiplier^(k - 1))`, rounded to the millisecond.
 *
 * @example
 * const policy: RetryPolicy = { maxAttempts: 5, initialBackoffMs: 500, multiplier: 2, maxBackoffMs: 30_000 };
 */
export interface RetryPolicy {
  /** Tries in all, the first included (1 means never retry). */
  maxAttempts: number;
  initialBackoffMs: number;
  multiplier: number;
  maxBackoffMs: number;
}

/** The delay after the `tries`-th try failed (tries counts from 1). */
export function backoffMs(policy: RetryPolicy, tries: number): number {
  if (policy.initialBackoffMs === 0 || policy.maxBackoffMs === 0) return 0;
  const delay = policy.initialBackoffMs * policy.multiplier ** Math.max(0, tries - 1);
  // Past the cap (Infinity included, for a large multiplier and many tries) the cap holds.
  return delay >= policy.maxBackoffMs ? policy.maxBackoffMs : Math.round(delay);
}

/** What a failed try leads to. */
export type FailureOutcome = { kind: "retry"; retryAt: number } | { kind: "fail-run" };

/**
 * A try failed at `at`, after `tries` tries under `policy` (this one included). A retryable
 * failure with tries left waits out its backoff; anything else fails the run.
 */
export function decideFailure(
  policy: RetryPolicy,
  tries: number,
  at: number,
  retryable: boolean,
): FailureOutcome {
  if (!retryable || tries >= policy.maxAttempts) return { kind: "fail-run" };
  return { kind: "retry", retryAt: at + backoffMs(policy, tries) };
}
