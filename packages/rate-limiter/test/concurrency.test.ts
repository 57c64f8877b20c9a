import { afterEach, describe, expect, it } from "vitest";
import { testClock } from "./worker";
import { ALL_ALGORITHMS, freshLimiter, ok, policyFor, setNow, T0 } from "./helpers";

afterEach(() => {
  testClock.now = null;
});

describe("concurrency", () => {
  it.each(ALL_ALGORITHMS)(
    "%s: 1,000 concurrent checks with a limit of 100 admit exactly 100",
    async (algorithm) => {
      setNow(T0 + 1_000);
      const limiter = freshLimiter();
      const policy = policyFor(algorithm, 100);
      const results = (
        await Promise.all(Array.from({ length: 1_000 }, () => limiter.check(policy)))
      ).map(ok);
      expect(results.filter((r) => r.allowed)).toHaveLength(100);
      expect(results.filter((r) => !r.allowed).every((r) => r.remaining === 0)).toBe(true);
      // Every admitted call saw a distinct remaining count: no two read the same state.
      const remaining = results.filter((r) => r.allowed).map((r) => r.remaining);
      expect(new Set(remaining).size).toBe(100);
    },
  );

  it.each(ALL_ALGORITHMS)(
    "%s: concurrent calls with cost 3 never overshoot a limit of 100",
    async (algorithm) => {
      setNow(T0 + 1_000);
      const limiter = freshLimiter();
      const policy = policyFor(algorithm, 100);
      const results = (
        await Promise.all(Array.from({ length: 500 }, () => limiter.check(policy, { cost: 3 })))
      ).map(ok);
      expect(results.filter((r) => r.allowed)).toHaveLength(33);
      const after = ok(await limiter.peek(policy));
      expect(after.remaining).toBe(1);
    },
  );

  it("the real clock still admits exactly the limit under concurrency", async () => {
    const limiter = freshLimiter();
    const policy = policyFor("fixed-window", 50, 3600);
    const results = (
      await Promise.all(Array.from({ length: 400 }, () => limiter.check(policy)))
    ).map(ok);
    // A window boundary may fall inside the burst; either way no window admits more than 50.
    const admitted = results.filter((r) => r.allowed).length;
    expect(admitted).toBeGreaterThanOrEqual(50);
    expect(admitted).toBeLessThanOrEqual(100);
  });
});
