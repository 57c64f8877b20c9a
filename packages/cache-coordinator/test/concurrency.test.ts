import { runDurableObjectAlarm } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { footprint, freshCoordinator, queued, setNow, T0, type Stub } from "./helpers";
import { ScriptedStore, testClock } from "./worker";

afterEach(() => {
  testClock.now = null;
});

/** Runs alarms, moving the clock to each next attempt, until the outbox is empty. */
async function drain(stub: Stub): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const { nextAttemptAt } = await stub.overview();
    if (nextAttemptAt === null) return;
    setNow(Math.max(nextAttemptAt, testClock.now ?? 0));
    await runDurableObjectAlarm(stub);
  }
  throw new Error("the outbox did not drain");
}

describe("concurrency", () => {
  it("100 concurrent invalidations of one key queue exactly one purge", async () => {
    setNow(T0);
    const { stub, a } = freshCoordinator();
    await stub.register({ key: "k", store: "a" });
    await stub.register({ key: "k", store: "b" });
    const outcomes = await Promise.all(Array.from({ length: 100 }, () => stub.invalidate("k")));
    const purges = outcomes.filter((o) => o.ok && o.purgeId !== null);
    expect(purges).toHaveLength(1);
    expect(purges[0]).toMatchObject({ keys: 1, calls: 2 });
    await drain(stub);
    expect(a.acknowledged).toHaveLength(1);
  });

  it("under concurrent registrations and invalidations, a store never holds a key the coordinator has forgotten", async () => {
    setNow(T0);
    const { stub, a, b } = freshCoordinator();
    const stores: Record<"a" | "b", ScriptedStore> = { a, b };
    const register = (i: number) => {
      const store = i % 3 === 0 ? "b" : "a";
      const key = `k${i % 150}`;
      // The store caches the key, then registers it, as the demo does.
      stores[store].held.add(key);
      return stub.register({ key, store, tags: [`t${i % 7}`, `u${i % 4}`] });
    };
    a.failNext = 3;
    await Promise.all(Array.from({ length: 200 }, (_, i) => register(i)));
    const mixed: Promise<unknown>[] = [];
    for (let i = 200; i < 500; i++) {
      mixed.push(register(i));
      if (i % 25 === 0) mixed.push(stub.invalidateTag(`t${i % 7}`));
      if (i % 40 === 0) mixed.push(stub.invalidate(`k${i % 150}`));
      if (i % 100 === 0) mixed.push(runDurableObjectAlarm(stub));
    }
    const results = await Promise.all(mixed);
    const refused = results.filter(
      (result) => typeof result === "object" && result !== null && "ok" in result && !result.ok,
    );
    expect(refused).toEqual([]);
    await drain(stub);
    let purgedOrKept = 0;
    for (let i = 0; i < 150; i++) {
      const key = `k${i}`;
      const lookup = await stub.lookup(key);
      if (!lookup.ok) throw new Error(lookup.error.message);
      // Held implies registered: a stale entry the coordinator forgot could never be purged.
      // (Registered but not held is harmless: a purge queued before a re-cache ran after it.)
      for (const store of ["a", "b"] as const) {
        const held = stores[store].held.has(key);
        expect({ key, store, forgotten: held && !lookup.stores.includes(store) }).toEqual({
          key,
          store,
          forgotten: false,
        });
      }
      purgedOrKept += lookup.stores.length;
    }
    expect(purgedOrKept).toBeGreaterThan(0);
    expect(a.acknowledged.length).toBeGreaterThan(0);
    expect(await footprint(stub)).toMatchObject({ calls: 0, alarm: null });
  });

  it("invalidations while the alarm waits on a slow store are queued at once and purged next", async () => {
    setNow(T0);
    const { stub, a } = freshCoordinator();
    for (let i = 0; i < 5; i++) await stub.register({ key: `k${i}`, store: "a" });
    queued(await stub.invalidate("k0"));
    const gate = Promise.withResolvers<void>();
    a.gate = gate.promise;
    const running = runDurableObjectAlarm(stub);
    // The alarm is waiting on the store; the hot path does not.
    const during = await Promise.all([1, 2, 3, 4].map((i) => stub.invalidate(`k${i}`)));
    expect(during.every((o) => o.ok && o.purgeId !== null)).toBe(true);
    expect(a.acknowledged).toHaveLength(0);
    a.gate = null;
    gate.resolve();
    await running;
    expect(a.acknowledged).toHaveLength(1);
    const { alarm } = await footprint(stub);
    expect(alarm).not.toBeNull();
    expect(alarm).toBeLessThanOrEqual(T0);
    await drain(stub);
    expect(a.acknowledged.flatMap((call) => call.keys).toSorted()).toEqual([
      "k0",
      "k1",
      "k2",
      "k3",
      "k4",
    ]);
  });
});
