import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import {
  freshCounters,
  ok,
  resetTestState,
  setLimits,
  setNow,
  stored,
  T0,
  valueOf,
} from "./helpers";

afterEach(resetTestState);

const WINDOW = 60_000;

describe("the pruning alarm", () => {
  it("is set by the first idempotency key, at its expiry; plain increments set none", async () => {
    setNow(T0);
    setLimits({ dedupeWindowMs: WINDOW });
    const counters = freshCounters();
    ok(await counters.increment("a"));
    expect((await stored(counters)).alarm).toBeNull();
    ok(await counters.increment("a", 1, "k1"));
    expect((await stored(counters)).alarm).toBe(T0 + WINDOW);
    setNow(T0 + 10);
    ok(await counters.increment("a", 1, "k2"));
    // Later keys leave the alarm at the earliest expiry.
    expect((await stored(counters)).alarm).toBe(T0 + WINDOW);
  });

  it("deletes only expired keys, re-arms for the next, and leaves counts alone", async () => {
    setNow(T0);
    setLimits({ dedupeWindowMs: WINDOW });
    const counters = freshCounters();
    ok(await counters.increment("a", 2, "old"));
    setNow(T0 + 30_000);
    ok(await counters.increment("a", 3, "new"));

    // Early: nothing has expired, nothing changes, the alarm comes back.
    setNow(T0 + 59_999);
    expect(await runDurableObjectAlarm(counters)).toBe(true);
    expect((await stored(counters)).dedupe.map((r) => r.id)).toEqual(["old", "new"]);
    expect((await stored(counters)).alarm).toBe(T0 + WINDOW);

    setNow(T0 + WINDOW);
    expect(await runDurableObjectAlarm(counters)).toBe(true);
    const after = await stored(counters);
    expect(after.dedupe.map((r) => r.id)).toEqual(["new"]);
    expect(after.alarm).toBe(T0 + 30_000 + WINDOW);
    expect(after.counters).toEqual({ a: 5 });

    setNow(T0 + 30_000 + WINDOW);
    expect(await runDurableObjectAlarm(counters)).toBe(true);
    expect(await stored(counters)).toEqual({ counters: { a: 5 }, dedupe: [], alarm: null });
    expect(await runDurableObjectAlarm(counters)).toBe(false);
  });

  it("a retried alarm is harmless: counts and live keys unchanged", async () => {
    setNow(T0);
    setLimits({ dedupeWindowMs: WINDOW });
    const counters = freshCounters();
    ok(await counters.increment("a", 1, "k1"));
    setNow(T0 + WINDOW + 1);
    ok(await counters.increment("a", 1, "k2"));
    expect(await runDurableObjectAlarm(counters)).toBe(true);
    // The runtime may run an alarm again after a failure: run the handler twice more.
    await runInDurableObject(counters, (instance) => instance.alarm());
    await runInDurableObject(counters, (instance) => instance.alarm());
    const after = await stored(counters);
    expect(after.counters).toEqual({ a: 2 });
    expect(after.dedupe.map((r) => r.id)).toEqual(["k2"]);
    expect(after.alarm).toBe(T0 + WINDOW + 1 + WINDOW);
    expect(ok(await counters.increment("a", 1, "k2")).duplicate).toBe(true);
  });

  it("counts stay exact with alarms running in the middle of concurrent increments", async () => {
    setNow(T0);
    setLimits({ dedupeWindowMs: 1 });
    const counters = freshCounters();
    const calls: Promise<unknown>[] = [];
    for (let round = 0; round < 10; round++) {
      setNow(T0 + round);
      for (let i = 0; i < 50; i++) {
        calls.push(counters.increment(`k${i % 3}`, 1, `r${round}-${i}`).then(ok));
      }
      calls.push(runDurableObjectAlarm(counters));
      calls.push(runInDurableObject(counters, (instance) => instance.alarm()));
    }
    await Promise.all(calls);
    const total = (await Promise.all(["k0", "k1", "k2"].map((k) => valueOf(counters, k)))).reduce(
      (a, b) => a + b,
    );
    expect(total).toBe(500);
    await evictDurableObject(counters);
    expect((await stored(counters)).counters).toEqual({ k0: 170, k1: 170, k2: 160 });
  });

  it("after eviction, a new key that expires sooner still moves the alarm earlier", async () => {
    setNow(T0 + 50_000);
    setLimits({ dedupeWindowMs: WINDOW });
    const counters = freshCounters();
    ok(await counters.increment("a", 1, "later"));
    expect((await stored(counters)).alarm).toBe(T0 + 50_000 + WINDOW);
    await evictDurableObject(counters);
    // The clock stepped back: this key expires first.
    setNow(T0);
    ok(await counters.increment("a", 1, "sooner"));
    expect((await stored(counters)).alarm).toBe(T0 + WINDOW);
  });
});
