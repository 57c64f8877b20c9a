import { afterEach, describe, expect, it } from "vitest";
import { countWrites, freshCounters, ok, resetTestState, stored, valueOf } from "./helpers";

afterEach(resetTestState);

describe("concurrency", () => {
  it("10,000 concurrent increments sum exactly, each acknowledged with a distinct value", async () => {
    const counters = freshCounters();
    const writes = await countWrites(counters);
    const results = (
      await Promise.all(Array.from({ length: 10_000 }, () => counters.increment("hits")))
    ).map(ok);
    expect(await valueOf(counters, "hits")).toBe(10_000);
    // Every increment saw its own value: none was lost or counted twice.
    expect(new Set(results.map((r) => r.value)).size).toBe(10_000);
    expect(Math.max(...results.map((r) => r.value))).toBe(10_000);
    expect((await stored(counters)).counters).toEqual({ hits: 10_000 });
    // Group commit: far fewer flushes and rows than increments.
    const { rows, flushes } = writes();
    expect(flushes).toBeLessThan(1_000);
    expect(rows).toBe(flushes);
  });

  it("mixed amounts over many keys sum exactly", async () => {
    const counters = freshCounters();
    const calls = Array.from({ length: 2_000 }, (_, i) => ({
      key: `k${i % 37}`,
      amount: (i % 7) - 3 || 5,
    }));
    await Promise.all(calls.map(({ key, amount }) => counters.increment(key, amount).then(ok)));
    const expected: Record<string, number> = {};
    for (const { key, amount } of calls) expected[key] = (expected[key] ?? 0) + amount;
    for (const [key, value] of Object.entries(expected)) {
      expect(await valueOf(counters, key)).toBe(value);
    }
    const rows = (await stored(counters)).counters;
    expect(rows).toEqual(Object.fromEntries(Object.entries(expected).filter(([, v]) => v !== 0)));
  });

  it("increments that arrive while a flush commits share the next one", async () => {
    const counters = freshCounters();
    const writes = await countWrites(counters);
    // One at a time: nothing to share, one transaction each.
    for (let i = 0; i < 5; i++) ok(await counters.increment("a"));
    expect(writes().flushes).toBe(5);
    // 64 at once: the first starts a flush, the rest wait for the next one.
    await Promise.all(Array.from({ length: 64 }, () => counters.increment("a").then(ok)));
    expect(writes().flushes).toBeLessThanOrEqual(5 + 32);
    expect(await valueOf(counters, "a")).toBe(69);
  });
});
