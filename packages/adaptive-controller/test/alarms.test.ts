import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { DEFAULT_CONFIG } from "../src/index";
import {
  SECOND,
  T0,
  resetClock,
  scheduledAlarm,
  setNow,
  startedLoop,
  storedFootprint,
  tick,
  ticks,
} from "./helpers";

afterEach(resetClock);

describe("the loop, driven by its alarm", () => {
  it("starts with a tick due at once, then ticks every interval", async () => {
    const { stub, downstream } = await startedLoop();
    expect(await scheduledAlarm(stub)).toBe(T0);
    const after = await tick(stub);
    expect(downstream.fetched).toEqual([4]);
    expect(downstream.processed).toHaveLength(1);
    expect(after).toMatchObject({ tick: 1, lastTickAt: T0, nextRunAt: T0 + SECOND });
    expect(await scheduledAlarm(stub)).toBe(T0 + SECOND);
  });

  it("a healthy downstream ramps the batch x1.5 up to the maximum and stays there", async () => {
    const { stub, downstream } = await startedLoop();
    const sizes = (await ticks(stub, 8)).map((s) => s.batchSize);
    // 4 -> 6 -> 9 -> 14 -> 21 capped at 20.
    expect(sizes).toEqual([6, 9, 14, 20, 20, 20, 20, 20]);
    expect(downstream.fetched).toEqual([4, 6, 9, 14, 20, 20, 20, 20]);
    const status = await stub.status();
    expect(status.breaker).toBe("closed");
    expect(status.decisions.filter((d) => d.kind === "batch-size")).toHaveLength(4);
    expect(status.decisions[0]).toMatchObject({
      kind: "batch-size",
      from: 14,
      to: 20,
      reason: expect.stringContaining("grow x1.5"),
      metrics: { windowSuccessRate: 1, batchSuccessRate: 1, items: 14 },
    });
  });

  it("holds between 80% and 95%, halves between 50% and 80%, down to the minimum", async () => {
    const { stub, downstream } = await startedLoop({ initialBatchSize: 20, windowSize: 20 });
    downstream.successRate = 0.9;
    expect((await tick(stub)).batchSize).toBe(20);
    downstream.successRate = 0.6;
    // The window holds the newest 20 results: 60% from here on.
    const halved = await ticks(stub, 4);
    expect(halved.map((s) => s.batchSize)).toEqual([10, 5, 2, 2]);
    expect(halved.every((s) => s.intervalMs === 1_000)).toBe(true);
    const [latest] = (await stub.status()).decisions;
    expect(latest).toMatchObject({
      kind: "batch-size",
      to: 2,
      reason: expect.stringContaining("halve"),
    });
  });

  it("below 50%: minimum batch and the backoff interval; recovery returns to normal", async () => {
    const { stub, downstream } = await startedLoop({ initialBatchSize: 10, breakerThreshold: 100 });
    downstream.successRate = 0.3;
    const bad = await tick(stub);
    expect(bad).toMatchObject({ batchSize: 2, intervalMs: 5_000, nextRunAt: T0 + 5 * SECOND });
    expect(await scheduledAlarm(stub)).toBe(T0 + 5 * SECOND);
    downstream.successRate = 1;
    const recovered = await ticks(stub, 20);
    expect(recovered.at(-1)).toMatchObject({ batchSize: 20, intervalMs: 1_000, breaker: "closed" });
  });

  it("an empty source changes nothing and keeps ticking", async () => {
    const { stub, downstream } = await startedLoop();
    downstream.remaining = 0;
    const statuses = await ticks(stub, 3);
    expect(statuses.map((s) => [s.batchSize, s.intervalMs, s.tick])).toEqual([
      [4, 1_000, 1],
      [4, 1_000, 2],
      [4, 1_000, 3],
    ]);
    expect(downstream.processed).toEqual([]);
    expect((await stub.status()).decisions).toEqual([]);
  });
});

describe("the circuit breaker", () => {
  it("opens after N failed batches, makes no call while open, probes half-open, closes on success", async () => {
    const { stub, downstream } = await startedLoop({ initialBatchSize: 10 });
    downstream.mode = "throw-process";
    const failing = await ticks(stub, 3);
    expect(failing.map((s) => s.breaker)).toEqual(["closed", "closed", "open"]);
    const opened = failing[2]!;
    expect(opened).toMatchObject({ openUntil: opened.lastTickAt! + 10 * SECOND, batchSize: 2 });
    expect(opened.nextRunAt).toBe(opened.openUntil);
    expect(await scheduledAlarm(stub)).toBe(opened.openUntil);

    // An alarm that runs early while open calls nothing and keeps the cool-down.
    const calls = downstream.calls;
    setNow(opened.openUntil! - 1);
    await runDurableObjectAlarm(stub);
    expect(downstream.calls).toBe(calls);
    expect(await scheduledAlarm(stub)).toBe(opened.openUntil);

    downstream.mode = "ok";
    const probed = await tick(stub);
    expect(downstream.fetched.at(-1)).toBe(1); // the probe batch
    expect(probed).toMatchObject({
      breaker: "closed",
      batchSize: 2,
      intervalMs: 1_000,
      openUntil: null,
    });
    const breakerLog = probed.decisions
      .filter((d) => d.kind === "breaker")
      .map((d) => [d.from, d.to])
      .toReversed();
    expect(breakerLog).toEqual([
      ["closed", "open"],
      ["open", "half-open"],
      ["half-open", "closed"],
    ]);
    // Closed again: the batch grows back to the maximum.
    expect((await ticks(stub, 10)).at(-1)?.batchSize).toBe(20);
  });

  it("a failed probe reopens with the cool-down doubled, capped at maxCooldownMs", async () => {
    const { stub, downstream } = await startedLoop();
    downstream.mode = "throw";
    await ticks(stub, 3);
    const cooldowns: number[] = [];
    for (let i = 0; i < 4; i++) {
      const s = await tick(stub); // a probe that fails
      expect(s.breaker).toBe("open");
      cooldowns.push(s.openUntil! - s.lastTickAt!);
    }
    expect(cooldowns).toEqual([20_000, 40_000, 40_000, 40_000]);
    downstream.mode = "ok";
    expect(await tick(stub)).toMatchObject({ breaker: "closed" });
  });

  it("a probe that finds no work stays half-open and probes again", async () => {
    const { stub, downstream } = await startedLoop();
    downstream.mode = "throw";
    await ticks(stub, 3);
    downstream.mode = "ok";
    downstream.remaining = 0;
    expect(await tick(stub)).toMatchObject({ breaker: "half-open", nextRunAt: expect.any(Number) });
    downstream.remaining = 10;
    expect(await tick(stub)).toMatchObject({ breaker: "closed" });
  });
});

describe("a misbehaving downstream", () => {
  it("a hanging call is timed out, counted as failed, and the next tick still scheduled", async () => {
    const { stub, downstream } = await startedLoop({ timeoutMs: 5, initialBatchSize: 4 });
    downstream.mode = "hang-process";
    const after = await tick(stub);
    expect(after).toMatchObject({ tick: 1, consecutiveFailures: 1, inflight: null });
    expect(after.series.at(-1)).toMatchObject({ items: 4, successRate: 0 });
    expect(after.decisions[0]?.reason).toContain("timed out after 5 ms");
    expect(await scheduledAlarm(stub)).toBe(after.nextRunAt);
  });

  it("a source that hangs is timed out too", async () => {
    const { stub, downstream } = await startedLoop({ timeoutMs: 5 });
    downstream.mode = "hang";
    const after = await tick(stub);
    expect(after).toMatchObject({ tick: 1, consecutiveFailures: 1, inflight: null });
    expect(await scheduledAlarm(stub)).toBe(after.nextRunAt);
  });

  it("a throwing processor fails the batch, and the alarm still re-arms", async () => {
    const { stub, downstream } = await startedLoop();
    downstream.mode = "throw-process";
    const after = await tick(stub);
    expect(after.decisions[0]?.reason).toContain("simulated: processor crashed");
    expect(await scheduledAlarm(stub)).toBe(after.nextRunAt);
  });
});

describe("status", () => {
  it("with history: false leaves out the log and series, and the rest is the same", async () => {
    const { stub } = await startedLoop();
    await ticks(stub, 2);
    const full = await stub.status();
    expect(full.decisions.length).toBeGreaterThan(0);
    expect(await stub.status({ history: false })).toEqual({ ...full, decisions: [], series: [] });
  });
});

describe("retried alarms", () => {
  it("a repeated alarm does not process a second batch", async () => {
    const { stub, downstream } = await startedLoop();
    await tick(stub);
    // The same alarm again, as the runtime may deliver it after a failure.
    await runInDurableObject(stub, (instance) => instance.alarm());
    await runInDurableObject(stub, (instance) => instance.alarm());
    expect(downstream.fetched).toHaveLength(1);
    const status = await stub.status();
    expect(status.tick).toBe(1);
    expect(status.totals.batches).toBe(1);
    expect(await scheduledAlarm(stub)).toBe(T0 + SECOND);
  });
});

describe("start, pause, resume, reset", () => {
  it("pause stops ticking and keeps every parameter; resume runs at once from them", async () => {
    const { stub, downstream } = await startedLoop();
    const before = (await ticks(stub, 3)).at(-1)!;
    const paused = await stub.pause();
    expect(paused.ok && paused.status).toMatchObject({ status: "paused", nextRunAt: null });
    expect(await scheduledAlarm(stub)).toBeNull();
    setNow(T0 + 60 * SECOND);
    expect(await runDurableObjectAlarm(stub)).toBe(false);
    await runInDurableObject(stub, (instance) => instance.alarm()); // a stray alarm does nothing
    expect(downstream.fetched).toHaveLength(3);

    const resumed = await stub.resume();
    expect(resumed.ok && resumed.status).toMatchObject({
      status: "running",
      batchSize: before.batchSize,
      nextRunAt: T0 + 60 * SECOND,
    });
    await tick(stub);
    expect(downstream.fetched.at(-1)).toBe(before.batchSize);
  });

  it("pause and resume before start answer not_started", async () => {
    const { stub } = await startedLoop();
    await stub.reset();
    expect(await stub.pause()).toMatchObject({ ok: false, error: { code: "not_started" } });
    expect(await stub.resume()).toMatchObject({ ok: false, error: { code: "not_started" } });
  });

  it("reset forgets everything: no entry, no table, no alarm", async () => {
    const { stub } = await startedLoop();
    await ticks(stub, 2);
    expect(await stub.reset()).toEqual({ reset: true });
    const status = await stub.status();
    expect(status).toMatchObject({ status: "idle", tick: 0, decisions: [], series: [] });
    expect(status.config).toEqual(DEFAULT_CONFIG);
    expect(await storedFootprint(stub)).toEqual({ tables: [], entries: [], alarm: null });
  });
});
