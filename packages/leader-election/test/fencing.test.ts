/**
 * The guarded resource: a paused leader's late write is refused once a newer leader has
 * written, and the guard's own rules (>= the highest seen, atomic with the write).
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { FencingGuard } from "../src/index";
import { freshElection, granted, setNow, T0 } from "./helpers";
import { testClock } from "./worker";

afterEach(() => {
  testClock.now = null;
});

const freshResource = () => env.FENCED_LOG.getByName(`resource-${crypto.randomUUID()}`);

/** A promise the test resolves when it wants the paused leader to go on. */
function pause() {
  const { promise, resolve } = Promise.withResolvers<void>();
  return { paused: promise, resume: () => resolve() };
}

describe("a paused former leader", () => {
  it("is refused by the resource once the next leader has written: its token is stale", async () => {
    setNow(T0);
    const election = freshElection();
    const resource = freshResource();
    const { paused, resume } = pause();
    const stalled = pause();

    // Leader A: acquires, writes once, then stalls (a GC pause, a slow request) mid-work.
    const leaderA = (async () => {
      const lease = granted(await election.acquire("leader-a", 10_000));
      expect(await resource.append(lease.fencingToken, "a: step 1")).toMatchObject({
        accepted: true,
      });
      stalled.resume();
      await paused;
      // It wakes up believing it still leads, and writes.
      return resource.append(lease.fencingToken, "a: step 2 (late)");
    })();

    // While A is paused, its lease runs out and B takes over.
    await stalled.paused;
    setNow(T0 + 10_000);
    expect((await election.validate(1)).valid).toBe(false);
    const b = granted(await election.acquire("leader-b", 10_000));
    expect(b.fencingToken).toBe(2);
    expect(await resource.append(b.fencingToken, "b: step 1")).toMatchObject({
      accepted: true,
      highestToken: 2,
    });

    resume();
    expect(await leaderA).toEqual({ accepted: false, highestToken: 2, reason: "stale_token" });
    expect((await resource.read()).entries.map((e) => e.text)).toEqual(["a: step 1", "b: step 1"]);
  });

  it("lock-delay covers the gap before the next leader's first write: nobody leads meanwhile", async () => {
    setNow(T0);
    const election = freshElection();
    granted(await election.acquire("leader-a", 10_000, { lockDelayMs: 5_000 }));
    // A vanished without releasing. Until the delay ends, no new leader can start writing
    // alongside A's possible late writes.
    setNow(T0 + 12_000);
    expect(await election.acquire("leader-b", 10_000)).toMatchObject({
      granted: false,
      reason: "lock_delay",
      retryAfterMs: 3_000,
    });
  });

  it("accepts the current token again and any newer one; refuses older ones and non-tokens", async () => {
    const resource = freshResource();
    expect(await resource.append(3, "x")).toMatchObject({ accepted: true, highestToken: 3 });
    expect(await resource.append(3, "x")).toMatchObject({ accepted: true, highestToken: 3 });
    expect(await resource.append(2, "x")).toEqual({
      accepted: false,
      highestToken: 3,
      reason: "stale_token",
    });
    expect(await resource.append(7, "x")).toMatchObject({ accepted: true, highestToken: 7 });
    for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(await resource.append(bad, "x")).toEqual({
        accepted: false,
        highestToken: 7,
        reason: "invalid_token",
      });
    }
    expect((await resource.read()).entries).toHaveLength(3);
  });
});

describe("FencingGuard", () => {
  it("keeps the write and the fence together: a write that throws raises no fence and keeps nothing", async () => {
    const resource = freshResource();
    await runInDurableObject(resource, (_instance, state) => {
      const guard = new FencingGuard(state.storage, "fence:test");
      expect(guard.write(1, () => state.storage.kv.put("value", "one"))).toMatchObject({
        accepted: true,
      });
      expect(() =>
        guard.write(5, () => {
          state.storage.kv.put("value", "five");
          throw new Error("simulated: the write failed halfway");
        }),
      ).toThrow("simulated");
      expect(guard.highestToken()).toBe(1);
      expect(state.storage.kv.get("value")).toBe("one");
      // Separate keys are separate fences.
      expect(new FencingGuard(state.storage, "fence:other").highestToken()).toBe(0);
    });
  });

  it("the fence survives eviction and writes nothing for a refused write", async () => {
    const resource = freshResource();
    expect(await resource.append(4, "x")).toMatchObject({ accepted: true });
    await runInDurableObject(resource, (_instance, state) => {
      const guard = new FencingGuard(state.storage);
      const before = [...state.storage.kv.list()];
      expect(guard.write(3, () => state.storage.kv.put("never", 1))).toMatchObject({
        accepted: false,
      });
      expect([...state.storage.kv.list()]).toEqual(before);
    });
  });
});
