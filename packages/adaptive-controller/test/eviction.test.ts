import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { MAX_BATCH_ATTEMPTS } from "../src/index";
import {
  SECOND,
  T0,
  resetClock,
  scheduledAlarm,
  setNow,
  startedLoop,
  tick,
  ticks,
} from "./helpers";

afterEach(resetClock);

/** What must survive a restart: everything but the timing fields of the in-memory copy. */
function parameters(status: Awaited<ReturnType<typeof tick>>) {
  const { decisions, series, ...rest } = status;
  return { ...rest, decisions: decisions.length, series: series.length };
}

describe("eviction", () => {
  it("a loop evicted mid-run resumes with the same parameters, window and logs", async () => {
    const { stub, downstream } = await startedLoop();
    downstream.successRate = 0.9;
    await ticks(stub, 2);
    downstream.successRate = 1;
    const before = (await ticks(stub, 3)).at(-1)!;
    await evictDurableObject(stub);
    const after = await stub.status();
    expect(parameters(after)).toEqual(parameters(before));
    expect(after.decisions).toEqual(before.decisions);
    expect(after.series).toEqual(before.series);
    expect(await scheduledAlarm(stub)).toBe(before.nextRunAt);

    const next = await tick(stub);
    expect(downstream.fetched.at(-1)).toBe(before.batchSize);
    expect(next.tick).toBe(before.tick + 1);
  });

  it("an open breaker survives eviction: still no calls until the cool-down is over", async () => {
    const { stub, downstream } = await startedLoop();
    downstream.mode = "throw";
    const opened = (await ticks(stub, 3)).at(-1)!;
    expect(opened.breaker).toBe("open");
    await evictDurableObject(stub);
    const calls = downstream.calls;
    setNow(opened.openUntil! - 1);
    await runDurableObjectAlarm(stub);
    expect(downstream.calls).toBe(calls);
    downstream.mode = "ok";
    expect(await tick(stub)).toMatchObject({ breaker: "closed" });
  });

  it("a paused loop stays paused across eviction", async () => {
    const { stub } = await startedLoop();
    await tick(stub);
    await stub.pause();
    await evictDurableObject(stub);
    expect(await stub.status()).toMatchObject({ status: "paused", nextRunAt: null, tick: 1 });
    expect(await scheduledAlarm(stub)).toBeNull();
  });
});

/**
 * Plays an attempt that recorded its batch and then died (the object restarted mid-batch):
 * the stored state as the object wrote it just before calling the processor.
 */
async function interruptMidBatch(
  stub: Awaited<ReturnType<typeof startedLoop>>["stub"],
  ids: string[] | null,
) {
  await runInDurableObject(stub, (_instance, state) => {
    const stored = state.storage.kv.get<Record<string, unknown> & { tick: number }>("state")!;
    state.storage.kv.put("state", {
      ...stored,
      inflight: { tick: stored.tick + 1, size: 3, probe: false, ids, attempts: 1, startedAt: T0 },
    });
  });
  await evictDurableObject(stub);
}

describe("a batch interrupted before its outcome was recorded", () => {
  it("is sent again with the same items, once, and recorded once", async () => {
    const { stub, downstream } = await startedLoop();
    await tick(stub);
    await interruptMidBatch(stub, ["a", "b", "c"]);
    expect((await stub.status()).inflight).toEqual({ tick: 2, size: 3, attempts: 1, probe: false });

    setNow(T0 + 2 * SECOND);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(downstream.fetched).toHaveLength(1); // no new batch fetched
    expect(downstream.processed.at(-1)).toEqual(["a", "b", "c"]);
    const status = await stub.status();
    expect(status).toMatchObject({ tick: 2, inflight: null, totals: { batches: 2, items: 7 } });
    expect(status.series.map((p) => p.tick)).toEqual([1, 2]);

    // Another delivery of the same alarm does nothing more.
    await runInDurableObject(stub, (instance) => instance.alarm());
    expect(downstream.processed).toHaveLength(2);
  });

  it("with no items recorded yet, fetches its batch then", async () => {
    const { stub, downstream } = await startedLoop();
    await tick(stub);
    await interruptMidBatch(stub, null);
    setNow(T0 + 2 * SECOND);
    await runDurableObjectAlarm(stub);
    expect(downstream.fetched).toEqual([4, 3]);
    expect((await stub.status()).tick).toBe(2);
  });

  it(`after ${MAX_BATCH_ATTEMPTS} attempts is recorded as failed without another call`, async () => {
    const { stub, downstream } = await startedLoop();
    await tick(stub);
    await interruptMidBatch(stub, ["a", "b", "c"]);
    await runInDurableObject(stub, (_instance, state) => {
      const stored = state.storage.kv.get<{ inflight: { attempts: number } }>("state")!;
      state.storage.kv.put("state", {
        ...stored,
        inflight: { ...stored.inflight, attempts: MAX_BATCH_ATTEMPTS },
      });
    });
    await evictDurableObject(stub);
    setNow(T0 + 2 * SECOND);
    await runDurableObjectAlarm(stub);
    expect(downstream.processed).toHaveLength(1);
    const status = await stub.status();
    expect(status).toMatchObject({ tick: 2, inflight: null, consecutiveFailures: 1 });
    expect(status.series.at(-1)).toMatchObject({ items: 3, successRate: 0 });
    expect(await scheduledAlarm(stub)).toBe(status.nextRunAt);
  });
});
