/**
 * The outbox's pure decisions: how keys are split into purge calls, when a failed call is tried
 * again, when it is given up, and what a purge's status is. No storage, no clock: the object
 * passes `now` and a random number in, so every rule here is property-tested.
 */
import { PURGE_BATCH_SIZE } from "./input";

export interface RetryPolicy {
  /** Delay before the first attempt, in ms (default 0: the next alarm, at once). */
  firstAttemptDelayMs: number;
  /** Backoff before the second attempt; it doubles per failure (default 1,000). */
  baseDelayMs: number;
  /** Backoff never exceeds this (default 300,000: five minutes). */
  maxDelayMs: number;
  /** A purge call still failing this long after its purge was requested is given up (default 24 h). */
  maxAgeMs: number;
  /** An attempt not settled within this is a failure, tried again (default 10,000). */
  attemptTimeoutMs: number;
  /** Purge calls attempted per alarm run, at once (default 10: 1,000 keys at most). */
  callsPerAlarm: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  firstAttemptDelayMs: 0,
  baseDelayMs: 1_000,
  maxDelayMs: 300_000,
  maxAgeMs: 86_400_000,
  attemptTimeoutMs: 10_000,
  callsPerAlarm: 10,
};

/**
 * The backoff after `failures` failed attempts (1 or more): the exponential step
 * `min(maxDelayMs, baseDelayMs x 2^(failures - 1))`, with "equal jitter": somewhere in its upper
 * half, so retries of many calls spread out but none comes sooner than half the step.
 * `random` is in [0, 1).
 */
export function backoffDelay(failures: number, policy: RetryPolicy, random: number): number {
  const step = backoffStep(failures, policy);
  const half = Math.floor(step / 2);
  return step - half + Math.min(half, Math.floor(random * (half + 1)));
}

/** The un-jittered step after `failures` failures, capped at `maxDelayMs`. */
export function backoffStep(failures: number, policy: RetryPolicy): number {
  // 2^40 ms is 35 years: past that the cap has long been reached, and the power stays exact.
  const exponent = Math.min(Math.max(failures, 1) - 1, 40);
  return Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** exponent);
}

/** What becomes of a purge call whose attempt just failed. */
export type AfterFailure = { retry: true; at: number } | { retry: false };

/**
 * After the `failures`-th failure at `now` of a call whose purge was requested at `createdAt`:
 * retry after the backoff, but never past the deadline `createdAt + maxAgeMs` (one last attempt
 * lands on it); at or past the deadline, give up.
 */
export function afterFailure(
  now: number,
  createdAt: number,
  failures: number,
  policy: RetryPolicy,
  random: number,
): AfterFailure {
  const deadline = createdAt + policy.maxAgeMs;
  if (now >= deadline) return { retry: false };
  return { retry: true, at: Math.min(now + backoffDelay(failures, policy, random), deadline) };
}

/** Splits keys into purge calls of at most `size` keys, in order. */
export function batchKeys(keys: readonly string[], size = PURGE_BATCH_SIZE): string[][] {
  const batches: string[][] = [];
  for (let i = 0; i < keys.length; i += size) batches.push(keys.slice(i, i + size));
  return batches;
}

export const CALL_STATES = ["pending", "done", "failed"] as const;
/** A purge call's state, a store's, or a whole purge's. */
export type PurgeState = (typeof CALL_STATES)[number];

/**
 * The state of a set of calls (one store's, or a purge's): pending while any call is, then
 * failed if any call failed, else done. An empty set is done: nothing was owed.
 */
export function combineStates(states: Iterable<PurgeState>): PurgeState {
  let failed = false;
  for (const state of states) {
    if (state === "pending") return "pending";
    if (state === "failed") failed = true;
  }
  return failed ? "failed" : "done";
}
