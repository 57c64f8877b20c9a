/* oxlint-disable vitest/no-conditional-expect -- properties branch on the generated case */
import * as fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  afterFailure,
  backoffDelay,
  backoffStep,
  batchKeys,
  combineStates,
  DEFAULT_RETRY_POLICY,
  type PurgeState,
  type RetryPolicy,
} from "../src/retry";

const policyArb: fc.Arbitrary<RetryPolicy> = fc
  .record({
    baseDelayMs: fc.integer({ min: 1, max: 10_000 }),
    maxDelayMs: fc.integer({ min: 1, max: 1_000_000 }),
    maxAgeMs: fc.integer({ min: 0, max: 10_000_000 }),
  })
  .map((p) => ({
    ...DEFAULT_RETRY_POLICY,
    ...p,
    maxDelayMs: Math.max(p.maxDelayMs, p.baseDelayMs),
  }));
const randomArb = fc.oneof(
  fc.constantFrom(0, 0.5, 0.999_999_999),
  fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
);

describe("backoff", () => {
  it("doubles from the base and stops at the cap", () => {
    const policy = { ...DEFAULT_RETRY_POLICY, baseDelayMs: 1_000, maxDelayMs: 10_000 };
    expect([1, 2, 3, 4, 5, 6, 100].map((n) => backoffStep(n, policy))).toEqual([
      1_000, 2_000, 4_000, 8_000, 10_000, 10_000, 10_000,
    ]);
    expect(backoffDelay(1, policy, 0)).toBe(500);
    expect(backoffDelay(1, policy, 0.999_999)).toBe(1_000);
    expect(backoffDelay(3, policy, 0.5)).toBe(3_000);
  });

  it("property: a delay lies in the upper half of its step, and steps never shrink", () => {
    fc.assert(
      fc.property(
        policyArb,
        fc.integer({ min: 1, max: 80 }),
        randomArb,
        (policy, failures, random) => {
          const step = backoffStep(failures, policy);
          const delay = backoffDelay(failures, policy, random);
          expect(Number.isSafeInteger(delay)).toBe(true);
          expect(delay).toBeGreaterThanOrEqual(Math.ceil(step / 2));
          expect(delay).toBeLessThanOrEqual(step);
          expect(step).toBeLessThanOrEqual(policy.maxDelayMs);
          expect(backoffStep(failures + 1, policy)).toBeGreaterThanOrEqual(step);
        },
      ),
    );
  });

  it("property: a failed call is retried later, never past its deadline, and given up only at it", () => {
    fc.assert(
      fc.property(
        policyArb,
        fc.integer({ min: 0, max: 1e12 }),
        fc.integer({ min: -1_000, max: 20_000_000 }),
        fc.integer({ min: 1, max: 60 }),
        randomArb,
        (policy, createdAt, elapsed, failures, random) => {
          const now = createdAt + elapsed;
          const deadline = createdAt + policy.maxAgeMs;
          const next = afterFailure(now, createdAt, failures, policy, random);
          if (now >= deadline) {
            expect(next).toEqual({ retry: false });
            return;
          }
          if (!next.retry) throw new Error("gave up before the deadline");
          expect(next.at).toBeGreaterThan(now);
          expect(next.at).toBeLessThanOrEqual(deadline);
        },
      ),
    );
  });

  it("property: retrying until the deadline ends in a give-up, in a bounded number of attempts", () => {
    const shortLived = policyArb.map((p) => ({ ...p, maxAgeMs: p.maxAgeMs % 50_000 }));
    fc.assert(
      fc.property(shortLived, randomArb, (policy, random) => {
        let now = 0;
        let failures = 1;
        for (let next = afterFailure(now, 0, failures, policy, random); next.retry; failures++) {
          now = next.at;
          next = afterFailure(now, 0, failures + 1, policy, random);
        }
        expect(now).toBeLessThanOrEqual(policy.maxAgeMs);
        // Every delay is at least half the base step, so the deadline is reached in time.
        const minDelay = Math.ceil(policy.baseDelayMs / 2);
        expect(failures).toBeLessThanOrEqual(Math.ceil(policy.maxAgeMs / minDelay) + 1);
      }),
    );
  });
});

describe("batchKeys", () => {
  it("splits 250 keys into 100, 100 and 50", () => {
    const keys = Array.from({ length: 250 }, (_, i) => `k${i}`);
    expect(batchKeys(keys).map((b) => b.length)).toEqual([100, 100, 50]);
    expect(batchKeys([])).toEqual([]);
  });

  it("property: batches keep every key once, in order, at most `size` each, only the last short", () => {
    fc.assert(
      fc.property(
        fc.array(fc.string(), { maxLength: 300 }),
        fc.integer({ min: 1, max: 120 }),
        (keys, size) => {
          const batches = batchKeys(keys, size);
          expect(batches.flat()).toEqual(keys);
          for (const batch of batches) expect(batch.length).toBeGreaterThan(0);
          batches.slice(0, -1).forEach((batch) => expect(batch).toHaveLength(size));
          expect(batches.at(-1)?.length ?? 0).toBeLessThanOrEqual(size);
          expect(batches).toHaveLength(Math.ceil(keys.length / size));
        },
      ),
    );
  });
});

describe("combineStates", () => {
  it("property: pending while any is pending, else failed if any failed, else done", () => {
    const state = fc.constantFrom<PurgeState>("pending", "done", "failed");
    fc.assert(
      fc.property(fc.array(state, { maxLength: 8 }), (states) => {
        const expected = states.includes("pending")
          ? "pending"
          : states.includes("failed")
            ? "failed"
            : "done";
        expect(combineStates(states)).toBe(expected);
      }),
    );
  });
});
