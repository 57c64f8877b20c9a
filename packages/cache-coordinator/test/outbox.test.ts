import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { footprint, freshCoordinator, purgeOf, queued, setNow, T0 } from "./helpers";
import { TEST_RETRY_POLICY, testClock, testRandom } from "./worker";
import type { InvalidateOutcome } from "../src/index";

afterEach(() => {
  testClock.now = null;
  testRandom.value = 0.5;
});

describe("purges through the outbox", () => {
  it("an invalidation waits for the alarm only when it moves it, and answers at once otherwise", async () => {
    setNow(T0);
    const { stub } = freshCoordinator();
    await stub.register({ key: "k1", store: "a" });
    await stub.register({ key: "k2", store: "a" });
    await runInDurableObject(stub, async (instance) => {
      const first = instance.invalidate("k1");
      expect(first).toBeInstanceOf(Promise);
      queued(await first);
      // The alarm is already due no later than this purge's first attempt.
      const second = instance.invalidate("k2");
      expect(second).not.toBeInstanceOf(Promise);
      expect(queued(second as InvalidateOutcome)).toMatchObject({ keys: 1, calls: 1 });
    });
    expect(await runInDurableObject(stub, (_instance, state) => state.storage.getAlarm())).toBe(
      T0 + TEST_RETRY_POLICY.firstAttemptDelayMs,
    );
  });

  it("fans a tag out to every store holding its keys, each store getting only its keys", async () => {
    setNow(T0);
    const { stub, a, b } = freshCoordinator();
    for (const key of ["p1", "p2", "p3"]) a.held.add(key);
    for (const key of ["p2", "p3", "p4"]) b.held.add(key);
    await stub.register({ key: "p1", store: "a", tags: ["product"] });
    await stub.register({ key: "p2", store: "a", tags: ["product", "sale"] });
    await stub.register({ key: "p2", store: "b", tags: ["product"] });
    await stub.register({ key: "p3", store: "a", tags: ["other"] });
    await stub.register({ key: "p3", store: "b", tags: ["sale"] });
    await stub.register({ key: "p4", store: "b", tags: ["other"] });

    const sale = queued(await stub.invalidateTag("sale"));
    expect(sale).toMatchObject({ keys: 2, calls: 2 });
    // Written to the outbox, not attempted: nothing is purged until the alarm runs.
    expect(a.calls).toEqual([]);
    expect(purgeOf(await stub.status(sale.purgeId)).status).toBe("pending");

    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(a.acknowledged).toEqual([{ keys: ["p2", "p3"], mode: "hard" }]);
    expect(b.acknowledged).toEqual([{ keys: ["p2", "p3"], mode: "hard" }]);
    expect([...a.held]).toEqual(["p1"]);
    expect([...b.held]).toEqual(["p4"]);
    const status = purgeOf(await stub.status(sale.purgeId));
    expect(status).toMatchObject({ kind: "tag", target: "sale", status: "done", keys: 2 });
    expect(status.stores).toEqual({
      a: {
        status: "done",
        calls: 1,
        acknowledged: 1,
        attempts: 1,
        nextAttemptAt: null,
        lastError: null,
      },
      b: {
        status: "done",
        calls: 1,
        acknowledged: 1,
        attempts: 1,
        nextAttemptAt: null,
        lastError: null,
      },
    });
    // The purged keys are forgotten; p1 and p4 remain registered under their other tags.
    expect(await stub.lookup("p2")).toEqual({ ok: true, key: "p2", stores: [], tags: [] });
    expect(await stub.lookup("p1")).toMatchObject({ stores: ["a"], tags: ["product"] });
    const product = queued(await stub.invalidateTag("product"));
    expect(product).toMatchObject({ keys: 1, calls: 1 });
  });

  it("batches at most 100 keys per purge call", async () => {
    setNow(T0);
    const { stub, a, b } = freshCoordinator();
    for (let i = 0; i < 250; i++) {
      await stub.register({ key: `k${String(i).padStart(3, "0")}`, store: "a", tags: ["all"] });
    }
    await stub.register({ key: "k000", store: "b", tags: ["all"] });
    const purge = queued(await stub.invalidateTag("all"));
    expect(purge).toMatchObject({ keys: 250, calls: 4 });
    await runDurableObjectAlarm(stub);
    expect(a.acknowledged.map((call) => call.keys.length)).toEqual([100, 100, 50]);
    expect(new Set(a.acknowledged.flatMap((call) => call.keys)).size).toBe(250);
    expect(b.acknowledged).toEqual([{ keys: ["k000"], mode: "hard" }]);
    expect(purgeOf(await stub.status(purge.purgeId)).stores.a).toMatchObject({
      status: "done",
      calls: 3,
      acknowledged: 3,
    });
  });

  it("retries a store that fails N times with exponential backoff, until it acknowledges", async () => {
    setNow(T0);
    testRandom.value = 0; // the shortest jitter: half of each step
    const { stub, a } = freshCoordinator();
    a.held.add("k");
    a.failNext = 3;
    await stub.register({ key: "k", store: "a" });
    await stub.register({ key: "k", store: "b" });
    const purge = queued(await stub.invalidate("k"));

    const alarmAt = () => runInDurableObject(stub, (_instance, state) => state.storage.getAlarm());
    expect(await alarmAt()).toBe(T0);
    await runDurableObjectAlarm(stub);
    // b acknowledged at once; a failed and waits out half of the 1 s base step.
    let status = purgeOf(await stub.status(purge.purgeId));
    expect(status.status).toBe("pending");
    expect(status.stores.b?.status).toBe("done");
    expect(status.stores.a).toMatchObject({
      status: "pending",
      attempts: 1,
      nextAttemptAt: T0 + 500,
      lastError: "scripted failure",
    });
    expect(await alarmAt()).toBe(T0 + 500);

    // An early alarm attempts nothing and keeps the schedule.
    await runDurableObjectAlarm(stub);
    expect(a.calls).toHaveLength(1);
    expect(await alarmAt()).toBe(T0 + 500);

    let now = T0;
    for (const wait of [500, 1_000, 2_000]) {
      now += wait;
      setNow(now);
      await runDurableObjectAlarm(stub);
    }
    expect(a.calls).toHaveLength(4);
    expect(a.held.has("k")).toBe(false);
    status = purgeOf(await stub.status(purge.purgeId));
    expect(status).toMatchObject({ status: "done", finishedAt: now });
    expect(status.stores.a).toMatchObject({ status: "done", attempts: 4, acknowledged: 1 });
    // Nothing left to do: no calls, no alarm, and the outbox count (the cap's) back to 0.
    expect(await footprint(stub)).toMatchObject({ calls: 0, alarm: null });
    expect(await stub.overview()).toMatchObject({ pendingCalls: 0, pendingPurges: 0 });
  });

  it("spreads retries with jitter within the upper half of each step", async () => {
    setNow(T0);
    testRandom.value = 0.999_999;
    const { stub, a } = freshCoordinator();
    a.failNext = 1;
    await stub.register({ key: "k", store: "a" });
    const purge = queued(await stub.invalidate("k"));
    await runDurableObjectAlarm(stub);
    expect(purgeOf(await stub.status(purge.purgeId)).stores.a?.nextAttemptAt).toBe(T0 + 1_000);
  });

  it("reports a store failed once the max age passes, and never drops it silently", async () => {
    setNow(T0);
    const { stub, a, b } = freshCoordinator();
    a.failNext = Number.POSITIVE_INFINITY;
    await stub.register({ key: "k", store: "a" });
    await stub.register({ key: "k", store: "b" });
    const purge = queued(await stub.invalidate("k"));
    let now = T0;
    for (let i = 0; i < 1_000; i++) {
      await runDurableObjectAlarm(stub);
      const next = purgeOf(await stub.status(purge.purgeId)).stores.a?.nextAttemptAt ?? null;
      if (next === null) break;
      now = next;
      setNow(now);
    }
    // The last attempt lands on the deadline, and fails there.
    expect(now).toBe(T0 + TEST_RETRY_POLICY.maxAgeMs);
    const status = purgeOf(await stub.status(purge.purgeId));
    expect(status.status).toBe("failed");
    expect(status.stores.b?.status).toBe("done");
    expect(status.stores.a?.status).toBe("failed");
    expect(status.stores.a?.lastError).toMatch(/^gave up after \d+ attempts: scripted failure/);
    expect(status.stores.a?.attempts).toBe(a.calls.length);
    expect(await footprint(stub)).toMatchObject({ calls: 0, alarm: null, purges: 1 });
    expect(await stub.overview()).toMatchObject({ pendingCalls: 0, finishedPurges: 1 });
    expect(b.acknowledged).toHaveLength(1);
  });

  it("counts an attempt with no answer within the timeout as a failure, and retries it", async () => {
    setNow(T0);
    const { stub, a } = freshCoordinator();
    a.hang = true;
    await stub.register({ key: "k", store: "a" });
    const purge = queued(await stub.invalidate("k"));
    await runDurableObjectAlarm(stub);
    expect(purgeOf(await stub.status(purge.purgeId)).stores.a).toMatchObject({
      status: "pending",
      attempts: 1,
      lastError: `no answer within ${TEST_RETRY_POLICY.attemptTimeoutMs} ms`,
    });
    a.hang = false;
    setNow(T0 + 60_000);
    await runDurableObjectAlarm(stub);
    expect(purgeOf(await stub.status(purge.purgeId)).status).toBe("done");
  });

  it("attempts at most callsPerAlarm calls per run, and re-arms at once for the rest", async () => {
    setNow(T0);
    const { stub, a } = freshCoordinator();
    for (let i = 0; i < 250; i++) await stub.register({ key: `k${i}`, store: "a", tags: ["t"] });
    for (let i = 0; i < 12; i++) await stub.register({ key: `x${i}`, store: "a" });
    const ids = [];
    for (let i = 0; i < 12; i++) ids.push(queued(await stub.invalidate(`x${i}`)).purgeId);
    queued(await stub.invalidateTag("t"));
    await runDurableObjectAlarm(stub);
    expect(a.calls).toHaveLength(TEST_RETRY_POLICY.callsPerAlarm);
    expect((await footprint(stub)).alarm).toBe(T0);
    await runDurableObjectAlarm(stub);
    expect(a.calls).toHaveLength(12 + 3);
    expect(await footprint(stub)).toMatchObject({ calls: 0, alarm: null, purges: 13 });
  });

  it("a repeated alarm attempts nothing twice once it has recorded the outcome", async () => {
    setNow(T0);
    const { stub, a } = freshCoordinator();
    await stub.register({ key: "k", store: "a" });
    queued(await stub.invalidate("k"));
    await runDurableObjectAlarm(stub);
    // The platform retries an alarm it believes failed: this one has nothing left to do.
    await runInDurableObject(stub, (instance) => instance.alarm());
    expect(a.calls).toHaveLength(1);
  });

  it("invalidating an unregistered key or an unused tag writes nothing", async () => {
    setNow(T0);
    const { stub } = freshCoordinator();
    expect(await stub.invalidate("nobody")).toEqual({ ok: true, purgeId: null, keys: 0, calls: 0 });
    expect(await stub.invalidateTag("none")).toEqual({
      ok: true,
      purgeId: null,
      keys: 0,
      calls: 0,
    });
    expect(await footprint(stub)).toMatchObject({ purges: 0, calls: 0, alarm: null });
  });

  it("a soft purge marks stale where a store can and keeps the registrations", async () => {
    setNow(T0);
    const { stub, a } = freshCoordinator();
    a.held.add("k");
    await stub.register({ key: "k", store: "a", tags: ["t"] });
    const purge = queued(await stub.invalidateTag("t", { mode: "soft" }));
    await runDurableObjectAlarm(stub);
    expect(a.acknowledged).toEqual([{ keys: ["k"], mode: "soft" }]);
    expect(a.held.has("k") && a.stale.has("k")).toBe(true);
    expect(purgeOf(await stub.status(purge.purgeId))).toMatchObject({
      mode: "soft",
      status: "done",
    });
    expect(await stub.lookup("k")).toMatchObject({ stores: ["a"], tags: ["t"] });
    // A later hard purge still finds it.
    queued(await stub.invalidate("k"));
    await runDurableObjectAlarm(stub);
    expect(a.held.has("k")).toBe(false);
  });
});
