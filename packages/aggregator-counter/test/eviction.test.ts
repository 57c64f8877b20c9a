import { evictDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { freshCounters, ok, resetTestState, setNow, stored, T0, valueOf } from "./helpers";

afterEach(resetTestState);

describe("eviction", () => {
  it("eviction right after acknowledged increments loses none", async () => {
    const counters = freshCounters();
    await Promise.all(Array.from({ length: 500 }, () => counters.increment("a").then(ok)));
    ok(await counters.increment("b", 7));
    await evictDurableObject(counters);
    expect(await valueOf(counters, "a")).toBe(500);
    expect(await valueOf(counters, "b")).toBe(7);
  });

  it("a crash in the middle of a burst: every acknowledged increment survives, and retries with the same idempotency key bring the count to exactly the calls made", async () => {
    const name = `counters-${crypto.randomUUID()}`;
    let counters = env.COUNTERS.getByName(name);
    const calls = 1_000;
    ok(await counters.increment("views", 1, "warm-up"));
    // The third flush of the burst crashes the object (ctx.abort) while its batch commits:
    // unlike a graceful eviction, this fails every call not yet answered.
    await counters.crashOnFlush(3);
    const first = await Promise.allSettled(
      Array.from({ length: calls }, (_, i) => counters.increment("views", 1, `req-${i}`)),
    );
    const acknowledged = first.filter((r) => r.status === "fulfilled" && ok(r.value)).length;
    const failed = first.flatMap((r, i) => (r.status === "rejected" ? [i] : []));
    expect(acknowledged + failed.length).toBe(calls);
    // The eviction did cut the burst.
    expect(failed.length).toBeGreaterThan(0);
    expect(acknowledged).toBeGreaterThanOrEqual(1);

    // A stub whose object crashed stays broken: callers take a new one.
    counters = env.COUNTERS.getByName(name);
    // Nothing acknowledged was lost; unacknowledged ones may or may not have committed.
    const after = await valueOf(counters, "views");
    expect(after).toBeGreaterThanOrEqual(acknowledged + 1);
    expect(after).toBeLessThanOrEqual(calls + 1);

    // The callers retry what failed, with the same idempotency keys: each counts once.
    const retried = (
      await Promise.all(failed.map((i) => counters.increment("views", 1, `req-${i}`)))
    ).map(ok);
    expect(retried.filter((r) => r.duplicate)).toHaveLength(after - 1 - acknowledged);
    expect(await valueOf(counters, "views")).toBe(calls + 1);
    // And a retry of an acknowledged one is a duplicate too.
    expect(ok(await counters.increment("views", 1, "req-0")).duplicate).toBe(true);
    expect(await valueOf(counters, "views")).toBe(calls + 1);
  });

  it("counts at the edge of the safe-integer range and idempotency keys survive eviction exactly", async () => {
    setNow(T0);
    const counters = freshCounters();
    ok(await counters.increment("big", Number.MAX_SAFE_INTEGER - 1, "once"));
    ok(await counters.increment("big", 1));
    ok(await counters.increment("low", -Number.MAX_SAFE_INTEGER));
    await evictDurableObject(counters);
    expect(await valueOf(counters, "big")).toBe(Number.MAX_SAFE_INTEGER);
    expect(await valueOf(counters, "low")).toBe(-Number.MAX_SAFE_INTEGER);
    expect(await counters.increment("big", 1)).toMatchObject({
      ok: false,
      error: { code: "out_of_range" },
    });
    const retry = ok(await counters.increment("big", Number.MAX_SAFE_INTEGER - 1, "once"));
    expect(retry).toEqual({
      ok: true,
      key: "big",
      value: Number.MAX_SAFE_INTEGER,
      duplicate: true,
    });
    expect((await stored(counters)).dedupe).toHaveLength(1);
  });
});

describe("a failed commit", () => {
  it("answers every caller in the batch with an error, duplicates included, and leaves nothing behind", async () => {
    setNow(T0);
    const counters = freshCounters();
    // The first call's flush succeeds; the calls that gather behind it share the second, which fails.
    await counters.failFlush(2);
    const results = await Promise.allSettled([
      counters.increment("a", 1),
      counters.increment("a", 1, "x"),
      counters.increment("a", 1, "x"),
      counters.increment("b", 5, "y"),
      counters.increment("a", 1),
    ]);
    expect(results.map((r) => r.status)).toEqual([
      "fulfilled",
      "rejected",
      "rejected",
      "rejected",
      "rejected",
    ]);
    expect(String((results[1] as PromiseRejectedResult).reason)).toMatch(/disk is full/);
    // Reads no longer show the failed batch, and storage never held it.
    expect(await valueOf(counters, "a")).toBe(1);
    expect(await valueOf(counters, "b")).toBe(0);
    expect(await stored(counters)).toMatchObject({ counters: { a: 1 }, dedupe: [] });
    // The callers retry: each idempotency key counts once, from here on.
    expect(ok(await counters.increment("a", 1, "x"))).toMatchObject({ value: 2, duplicate: false });
    expect(ok(await counters.increment("a", 1, "x"))).toMatchObject({ value: 2, duplicate: true });
    expect(ok(await counters.increment("b", 5, "y")).value).toBe(5);
  });
});
