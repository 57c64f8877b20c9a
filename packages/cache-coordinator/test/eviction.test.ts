import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { footprint, freshCoordinator, purgeOf, queued, setNow, T0 } from "./helpers";
import { testClock } from "./worker";

afterEach(() => {
  testClock.now = null;
});

describe("eviction", () => {
  it("loses no purge that was in the outbox when the object was evicted", async () => {
    setNow(T0);
    const { stub, a, b } = freshCoordinator();
    for (let i = 0; i < 150; i++) {
      const key = `k${i}`;
      a.held.add(key);
      await stub.register({ key, store: "a", tags: [i % 2 === 0 ? "even" : "odd"] });
      if (i < 20) {
        b.held.add(key);
        await stub.register({ key, store: "b" });
      }
    }
    const even = queued(await stub.invalidateTag("even"));
    const one = queued(await stub.invalidate("k1"));
    b.failNext = 1;

    await evictDurableObject(stub);
    await runDurableObjectAlarm(stub);
    // b failed once (on whichever of its two calls ran first); evicted again mid-retry.
    const pendingB = [];
    for (const id of [even.purgeId, one.purgeId]) {
      pendingB.push(purgeOf(await stub.status(id)).stores.b?.status);
    }
    expect(pendingB.toSorted()).toEqual(["done", "pending"]);
    expect((await stub.overview()).pendingCalls).toBe(1);
    await evictDurableObject(stub);
    setNow(T0 + 60_000);
    await runDurableObjectAlarm(stub);

    for (const id of [even.purgeId, one.purgeId]) {
      expect(purgeOf(await stub.status(id)).status).toBe("done");
    }
    const odd = Array.from({ length: 75 }, (_, i) => `k${2 * i + 1}`).filter((k) => k !== "k1");
    expect([...a.held].toSorted()).toEqual(odd.toSorted());
    expect([...b.held].toSorted()).toEqual(
      ["k3", "k5", "k7", "k9", "k11", "k13", "k15", "k17", "k19"].toSorted(),
    );
    expect(await footprint(stub)).toMatchObject({ calls: 0, alarm: null });
  });

  it("keeps registrations and tags across eviction", async () => {
    setNow(T0);
    const { stub } = freshCoordinator();
    await stub.register({ key: "k", store: "a", tags: ["t1", "t2"] });
    await stub.register({ key: "k", store: "b", tags: ["t3"] });
    await evictDurableObject(stub);
    expect(await stub.lookup("k")).toEqual({
      ok: true,
      key: "k",
      stores: ["a", "b"],
      tags: ["t1", "t2", "t3"],
    });
    expect((await stub.overview()).keys).toBe(1);
  });

  it("re-arms a missing alarm on start when calls are pending", async () => {
    setNow(T0);
    const { stub, a } = freshCoordinator();
    await stub.register({ key: "k", store: "a" });
    queued(await stub.invalidate("k"));
    // As if the alarm had exhausted the platform's retries.
    await runInDurableObject(stub, (_instance, state) => state.storage.deleteAlarm());
    await evictDurableObject(stub);
    expect((await stub.overview()).pendingCalls).toBe(1);
    expect((await footprint(stub)).alarm).toBe(T0);
    await runDurableObjectAlarm(stub);
    expect(a.acknowledged).toHaveLength(1);
  });

  it("keeps the outbox cap's count across eviction", async () => {
    setNow(T0);
    const { stub } = freshCoordinator();
    for (let i = 0; i < 5; i++) {
      await stub.register({ key: `k${i}`, store: "a" });
      queued(await stub.invalidate(`k${i}`));
    }
    await evictDurableObject(stub);
    expect(await stub.overview()).toMatchObject({ pendingCalls: 5, pendingPurges: 5, keys: 0 });
  });
});
