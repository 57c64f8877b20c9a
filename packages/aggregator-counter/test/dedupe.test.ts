import { evictDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import {
  countWrites,
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

describe("idempotency keys", () => {
  it("a retried increment counts once, answered as a duplicate with the value now", async () => {
    setNow(T0);
    const counters = freshCounters();
    expect(ok(await counters.increment("a", 5, "req-1"))).toEqual({
      ok: true,
      key: "a",
      value: 5,
      duplicate: false,
    });
    ok(await counters.increment("a", 1));
    expect(ok(await counters.increment("a", 5, "req-1"))).toEqual({
      ok: true,
      key: "a",
      value: 6,
      duplicate: true,
    });
    expect(await valueOf(counters, "a")).toBe(6);
  });

  it("many concurrent retries of one key count once, and every one waits for the commit", async () => {
    setNow(T0);
    const counters = freshCounters();
    const results = (
      await Promise.all(Array.from({ length: 200 }, () => counters.increment("a", 3, "same")))
    ).map(ok);
    expect(results.filter((r) => !r.duplicate)).toHaveLength(1);
    expect(results.every((r) => r.value === 3)).toBe(true);
    expect(await valueOf(counters, "a")).toBe(3);
    expect((await stored(counters)).dedupe).toHaveLength(1);
  });

  it("200 distinct keys, each sent twice at once, count exactly 200", async () => {
    setNow(T0);
    const counters = freshCounters();
    const ids = Array.from({ length: 200 }, (_, i) => `id-${i}`);
    const results = (
      await Promise.all([...ids, ...ids].map((id) => counters.increment("a", 1, id)))
    ).map(ok);
    expect(results.filter((r) => r.duplicate)).toHaveLength(200);
    expect(await valueOf(counters, "a")).toBe(200);
  });

  it("the same idempotency key for another counter or amount is a conflict that changes nothing", async () => {
    setNow(T0);
    const counters = freshCounters();
    ok(await counters.increment("a", 1, "k"));
    for (const [key, amount] of [
      ["b", 1],
      ["a", 2],
    ] as const) {
      expect(await counters.increment(key, amount, "k")).toMatchObject({
        ok: false,
        error: { code: "idempotency_conflict", message: /already used for "a" by 1/ },
      });
    }
    expect(await valueOf(counters, "a")).toBe(1);
    expect(await valueOf(counters, "b")).toBe(0);
  });

  it("dedupes for the window, and not after it (the edge to the millisecond)", async () => {
    setNow(T0);
    setLimits({ dedupeWindowMs: 60_000 });
    const counters = freshCounters();
    ok(await counters.increment("a", 1, "k"));
    setNow(T0 + 59_999);
    expect(ok(await counters.increment("a", 1, "k")).duplicate).toBe(true);
    setNow(T0 + 60_000);
    expect(ok(await counters.increment("a", 1, "k")).duplicate).toBe(false);
    expect(await valueOf(counters, "a")).toBe(2);
    // The expired row was replaced, not added to: one row for the key.
    expect((await stored(counters)).dedupe).toEqual([{ id: "k", at: T0 + 60_000 }]);
    // And the new use dedupes for a full window of its own.
    setNow(T0 + 119_999);
    expect(ok(await counters.increment("a", 1, "k")).duplicate).toBe(true);
  });

  it("a clock that steps backwards keeps keys remembered", async () => {
    setNow(T0 + 10_000);
    setLimits({ dedupeWindowMs: 60_000 });
    const counters = freshCounters();
    ok(await counters.increment("a", 1, "k"));
    setNow(T0);
    expect(ok(await counters.increment("a", 1, "k")).duplicate).toBe(true);
  });

  it("keeps at most maxIdempotencyKeys: the oldest are forgotten first", async () => {
    setNow(T0);
    setLimits({ maxIdempotencyKeys: 5 });
    const counters = freshCounters();
    for (let i = 0; i < 8; i++) {
      setNow(T0 + i);
      ok(await counters.increment("a", 1, `k${i}`));
    }
    expect((await stored(counters)).dedupe.map((row) => row.id)).toEqual([
      "k3",
      "k4",
      "k5",
      "k6",
      "k7",
    ]);
    // The newest five still dedupe; the oldest counts again.
    expect(ok(await counters.increment("a", 1, "k3")).duplicate).toBe(true);
    expect(ok(await counters.increment("a", 1, "k0")).duplicate).toBe(false);
    expect(await valueOf(counters, "a")).toBe(9);
    // The cap holds across eviction, where the count is rebuilt from storage.
    await evictDurableObject(counters);
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => counters.increment("a", 1, `burst-${i}`).then(ok)),
    );
    expect((await stored(counters)).dedupe).toHaveLength(5);
    expect(await valueOf(counters, "a")).toBe(29);
  });

  it("writes one row per counter touched per flush, plus two per new idempotency key (the row and its age index)", async () => {
    setNow(T0);
    const counters = freshCounters();
    const writes = await countWrites(counters);
    ok(await counters.increment("a", 1, "k1"));
    expect(writes()).toMatchObject({ rows: 3, flushes: 1 });
    // A duplicate writes nothing.
    ok(await counters.increment("a", 1, "k1"));
    expect(writes()).toMatchObject({ rows: 3, flushes: 1 });
    ok(await counters.increment("a", 1));
    expect(writes()).toMatchObject({ rows: 4, flushes: 2 });
  });
});
