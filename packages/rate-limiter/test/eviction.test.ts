import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { ALL_ALGORITHMS, freshLimiter, ok, policyFor, setNow, T0 } from "./helpers";
import { testClock } from "./worker";

afterEach(() => {
  testClock.now = null;
});

describe("eviction", () => {
  it.each(ALL_ALGORITHMS)("%s: admitted counts survive eviction", async (algorithm) => {
    setNow(T0 + 1_000);
    const limiter = freshLimiter();
    const policy = policyFor(algorithm, 10);
    for (let i = 0; i < 6; i++) expect(ok(await limiter.check(policy)).allowed).toBe(true);

    await evictDurableObject(limiter);

    expect(ok(await limiter.peek(policy)).remaining).toBe(4);
    const after = (await Promise.all(Array.from({ length: 10 }, () => limiter.check(policy)))).map(
      ok,
    );
    expect(after.filter((r) => r.allowed)).toHaveLength(4);
  });

  it("keeps every policy of a key, and its cleanup alarm, across eviction", async () => {
    setNow(T0 + 1_000);
    const limiter = freshLimiter();
    const short = policyFor("gcra", 5, 10);
    const long = policyFor("fixed-window", 5, 3600);
    await limiter.check(short, { cost: 5 });
    await limiter.check(long, { cost: 2 });

    await evictDurableObject(limiter);

    expect(ok(await limiter.check(short)).allowed).toBe(false);
    expect(ok(await limiter.peek(long)).remaining).toBe(3);
    const alarm = await runInDurableObject(limiter, (_instance, state) => state.storage.getAlarm());
    expect(alarm).toBe(T0 + 11_000);
  });

  it("after eviction, a write never moves the alarm past an expiry it must clean up", async () => {
    setNow(T0 + 1_000);
    const limiter = freshLimiter();
    const short = policyFor("fixed-window", 5, 10);
    const long = policyFor("gcra", 5, 3600);
    await limiter.check(long);
    await limiter.check(short);
    const alarmOf = () =>
      runInDurableObject(limiter, (_instance, state) => state.storage.getAlarm());
    expect(await alarmOf()).toBe(T0 + 10_000);

    await evictDurableObject(limiter);
    await limiter.check(long);
    expect(await alarmOf()).toBe(T0 + 10_000);
    // A policy expiring sooner still moves it earlier.
    await limiter.check(policyFor("token-bucket", 1_000, 1));
    expect(await alarmOf()).toBe(T0 + 1_001);
  });
});
