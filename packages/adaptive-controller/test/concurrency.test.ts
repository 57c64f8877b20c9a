import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import {
  SECOND,
  T0,
  TEST_CONFIG,
  newLoop,
  resetClock,
  scheduledAlarm,
  setNow,
  startedLoop,
  tick,
} from "./helpers";

afterEach(resetClock);

/** Waits until the downstream has received `count` processor calls (the alarm is mid-batch). */
async function untilProcessing(downstream: { processed: unknown[] }, count: number) {
  for (let i = 0; i < 1_000 && downstream.processed.length < count; i++) {
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  expect(downstream.processed.length).toBe(count);
}

describe("calls that arrive while a batch is in flight", () => {
  it("the recorded batch shows in status, with a watchdog alarm in case the attempt dies", async () => {
    const { stub, downstream } = await startedLoop();
    const release = downstream.hold();
    const running = runDurableObjectAlarm(stub);
    await untilProcessing(downstream, 1);
    const status = await stub.status();
    expect(status.inflight).toEqual({ tick: 1, size: 4, attempts: 1, probe: false });
    // Its items are stored before they are processed, for a retry to send the same ones.
    const stored = await runInDurableObject(stub, (_instance, state) =>
      state.storage.kv.get<{ inflight: { ids: string[] } }>("state"),
    );
    expect(stored?.inflight.ids).toEqual(downstream.processed[0]);
    expect(await scheduledAlarm(stub)).toBe(T0 + TEST_CONFIG.timeoutMs + TEST_CONFIG.intervalMs);
    release();
    await running;
    expect(await stub.status()).toMatchObject({ inflight: null, tick: 1 });
    expect(await scheduledAlarm(stub)).toBe(T0 + SECOND);
  });

  it("pause during a batch: the batch is recorded, and no tick is scheduled", async () => {
    const { stub, downstream } = await startedLoop();
    const release = downstream.hold();
    const running = runDurableObjectAlarm(stub);
    await untilProcessing(downstream, 1);
    await stub.pause();
    release();
    await running;
    expect(await stub.status()).toMatchObject({ status: "paused", tick: 1, batchSize: 6 });
    expect(await scheduledAlarm(stub)).toBeNull();
  });

  it("reset during a batch: its late outcome is discarded, and a new loop is not disturbed", async () => {
    const { stub, downstream } = await startedLoop();
    const release = downstream.hold();
    const running = runDurableObjectAlarm(stub);
    await untilProcessing(downstream, 1);
    await stub.reset();
    const restarted = await stub.start({ ...TEST_CONFIG, initialBatchSize: 7 });
    expect(restarted.ok).toBe(true);
    release();
    await running;
    const status = await stub.status();
    expect(status).toMatchObject({ status: "running", tick: 0, batchSize: 7, series: [] });
    // The new loop's first tick is still armed, and runs.
    expect(await scheduledAlarm(stub)).toBe(T0);
    expect((await tick(stub)).tick).toBe(1);
    expect(downstream.fetched).toEqual([4, 7]);
  });

  it("an alarm delivered while a tick runs leaves the batch to that tick", async () => {
    const { stub, downstream } = await startedLoop();
    const release = downstream.hold();
    const running = runDurableObjectAlarm(stub);
    await untilProcessing(downstream, 1);
    setNow(T0 + 10 * SECOND);
    // The runtime does not overlap alarms, but a retry may arrive while a slow one still runs.
    await runInDurableObject(stub, (instance) => instance.alarm());
    expect(downstream.processed).toHaveLength(1);
    release();
    await running;
    expect(downstream.fetched).toHaveLength(1);
    expect(downstream.processed).toHaveLength(1);
    expect((await stub.status()).totals.batches).toBe(1);
  });
});

describe("many calls at once", () => {
  it("300 concurrent starts, configures and status reads leave one loop, one alarm, a valid config", async () => {
    setNow(T0);
    const { stub, downstream } = newLoop();
    const calls = Array.from({ length: 300 }, (_, i) => {
      if (i % 3 === 0) return stub.start({ ...TEST_CONFIG, maxBatchSize: 10 + (i % 7) });
      if (i % 3 === 1) return stub.configure({ initialBatchSize: 2 + (i % 5) });
      return stub.status();
    });
    await Promise.all(calls);
    const status = await stub.status();
    expect(status.status).toBe("running");
    expect(status.config.initialBatchSize).toBeLessThanOrEqual(status.config.maxBatchSize);
    expect(status.batchSize).toBeGreaterThanOrEqual(status.config.minBatchSize);
    expect(status.batchSize).toBeLessThanOrEqual(status.config.maxBatchSize);
    expect(await scheduledAlarm(stub)).toBe(T0);
    await tick(stub);
    expect(downstream.fetched).toHaveLength(1);
  });

  it("200 concurrent ticks' worth of alarms process exactly one batch per due time", async () => {
    const { stub, downstream } = await startedLoop();
    await Promise.all(Array.from({ length: 200 }, () => runDurableObjectAlarm(stub)));
    expect(downstream.fetched).toHaveLength(1);
    expect((await stub.status()).totals.batches).toBe(1);
  });
});
