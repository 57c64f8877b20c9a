import { evictDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import {
  ALL_ALGORITHMS,
  countStorageWrites,
  freshLimiter,
  ok,
  policyFor,
  setNow,
  storedFootprint,
  T0,
} from "./helpers";
import { testClock } from "./worker";

afterEach(() => {
  testClock.now = null;
});

describe("refund", () => {
  it.each(ALL_ALGORITHMS)(
    "%s: refunding an admitted check leaves the key as if it never happened",
    async (algorithm) => {
      setNow(T0 + 1_000);
      const limiter = freshLimiter();
      const policy = policyFor(algorithm, 10);
      await limiter.check(policy, { cost: 4 });
      const beforeLast = ok(await limiter.peek(policy));
      expect(ok(await limiter.check(policy, { cost: 3 })).remaining).toBe(3);

      const refunded = ok(await limiter.refund(policy, { cost: 3 }));
      expect(refunded.remaining).toBe(6);
      expect(ok(await limiter.peek(policy))).toEqual(beforeLast);

      // Everything given back: nothing left to store, so nothing is stored.
      ok(await limiter.refund(policy, { cost: 4 }));
      expect(ok(await limiter.peek(policy))).toMatchObject({ remaining: 10, resetAfterMs: 0 });
      expect(await storedFootprint(limiter)).toEqual({ tables: [], rows: 0, alarm: null });
    },
  );

  it.each(ALL_ALGORITHMS)("%s: never gives back more than was used", async (algorithm) => {
    setNow(T0 + 1_000);
    const limiter = freshLimiter();
    const policy = policyFor(algorithm, 5);
    await limiter.check(policy, { cost: 2 });
    expect(ok(await limiter.refund(policy, { cost: 5 })).remaining).toBe(5);
    expect(ok(await limiter.check(policy, { cost: 5 })).allowed).toBe(true);
    expect(ok(await limiter.check(policy)).allowed).toBe(false);
  });

  it("on a key with nothing stored writes nothing and reports the full limit", async () => {
    setNow(T0 + 1_000);
    const limiter = freshLimiter();
    const writes = await countStorageWrites(limiter);
    const result = ok(await limiter.refund(policyFor("gcra", 5), { cost: 5 }));
    expect(result).toMatchObject({ allowed: true, remaining: 5, resetAfterMs: 0 });
    expect(writes()).toBe(0);
    expect(await storedFootprint(limiter)).toEqual({ tables: [], rows: 0, alarm: null });
  });

  it("survives eviction like any acknowledged write", async () => {
    setNow(T0 + 1_000);
    const limiter = freshLimiter();
    const policy = policyFor("sliding-window", 10);
    await limiter.check(policy, { cost: 10 });
    await limiter.refund(policy, { cost: 4 });
    await evictDurableObject(limiter);
    expect(ok(await limiter.peek(policy)).remaining).toBe(4);
  });

  it("rejects a bad cost or policy with a reason, changing nothing", async () => {
    setNow(T0 + 1_000);
    const limiter = freshLimiter();
    const policy = policyFor("token-bucket", 5);
    await limiter.check(policy, { cost: 5 });
    expect(await limiter.refund(policy, { cost: 6 })).toMatchObject({
      allowed: false,
      error: { code: "invalid_cost" },
    });
    expect(await limiter.refund({ ...policy, limit: 0 }, { cost: 1 })).toMatchObject({
      allowed: false,
      error: { code: "invalid_policy" },
    });
    expect(ok(await limiter.peek(policy)).remaining).toBe(0);
  });
});

describe("refund under concurrency", () => {
  it.each(ALL_ALGORITHMS)(
    "%s: checks and refunds racing on one key account for every unit exactly",
    async (algorithm) => {
      setNow(T0 + 1_000);
      const limiter = freshLimiter();
      const policy = policyFor(algorithm, 100);
      let admitted = 0;
      let refunded = 0;
      await Promise.all(
        Array.from({ length: 600 }, async (_, i) => {
          if (!ok(await limiter.check(policy)).allowed) return;
          admitted++;
          // Every third admitted request "fails" and gives its unit back.
          if (i % 3 === 0) {
            ok(await limiter.refund(policy));
            refunded++;
          }
        }),
      );
      expect(admitted - refunded).toBeLessThanOrEqual(100);
      expect(admitted).toBeGreaterThanOrEqual(100);
      expect(ok(await limiter.peek(policy)).remaining).toBe(100 - (admitted - refunded));
    },
  );

  it.each(ALL_ALGORITHMS)(
    "%s: a thousand concurrent refunds of a spent key bring it back to exactly the limit",
    async (algorithm) => {
      setNow(T0 + 1_000);
      const limiter = freshLimiter();
      const policy = policyFor(algorithm, 50);
      await limiter.check(policy, { cost: 50 });
      const results = await Promise.all(
        Array.from({ length: 1_000 }, () => limiter.refund(policy)),
      );
      expect(results.map(ok).every((r) => r.remaining <= 50)).toBe(true);
      expect(ok(await limiter.peek(policy)).remaining).toBe(50);
      expect(await storedFootprint(limiter)).toEqual({ tables: [], rows: 0, alarm: null });
    },
  );
});

describe("peek", () => {
  it.each(ALL_ALGORITHMS)(
    "%s: on a fresh key reports the full limit with nothing to wait for, whatever the cost",
    async (algorithm) => {
      setNow(T0 + 1_234);
      const limiter = freshLimiter();
      const policy = policyFor(algorithm, 10);
      for (const cost of [1, 4, 10]) {
        expect(ok(await limiter.peek(policy, { cost }))).toEqual({
          allowed: true,
          policy: policy.name,
          limit: 10,
          windowSeconds: 60,
          remaining: 10,
          resetAfterMs: 0,
          retryAfterMs: 0,
        });
      }
    },
  );
});
