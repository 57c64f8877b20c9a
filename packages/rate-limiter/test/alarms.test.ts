import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import {
  ALL_ALGORITHMS,
  countStorageWrites,
  freshLimiter,
  ok,
  policyFor,
  setNow,
  storedEntries,
  storedFootprint,
  T0,
} from "./helpers";
import { testClock } from "./worker";

afterEach(() => {
  testClock.now = null;
});

describe("alarms and cleanup", () => {
  it.each(ALL_ALGORITHMS)(
    "%s: a key that goes quiet leaves nothing behind after its window",
    async (algorithm) => {
      setNow(T0 + 1_000);
      const limiter = freshLimiter();
      const policy = policyFor(algorithm, 10, 60);
      await limiter.check(policy, { cost: 4 });
      const during = await storedFootprint(limiter);
      expect(during.rows).toBe(1);
      expect(during.alarm).not.toBeNull();

      // An alarm that runs before the state expires must keep it and re-arm.
      expect(await runDurableObjectAlarm(limiter)).toBe(true);
      expect(await storedFootprint(limiter)).toEqual(during);
      expect(ok(await limiter.peek(policy)).remaining).toBe(6);

      setNow(during.alarm!);
      expect(await runDurableObjectAlarm(limiter)).toBe(true);
      expect(await storedFootprint(limiter)).toEqual({ tables: [], rows: 0, alarm: null });
      expect(ok(await limiter.peek(policy)).remaining).toBe(10);
    },
  );

  it("a retried alarm is harmless: the second run finds nothing to do", async () => {
    setNow(T0 + 1_000);
    const limiter = freshLimiter();
    await limiter.check(policyFor("fixed-window", 10, 60));
    setNow(T0 + 60_000);
    expect(await runDurableObjectAlarm(limiter)).toBe(true);
    // Re-run the same alarm, as the runtime may after a failure.
    await runInDurableObject(limiter, (instance) => instance.alarm());
    expect(await storedFootprint(limiter)).toEqual({ tables: [], rows: 0, alarm: null });
    expect(await runDurableObjectAlarm(limiter)).toBe(false);
  });

  it("removes only expired policies and re-arms for the next expiry", async () => {
    setNow(T0 + 1_000);
    const limiter = freshLimiter();
    const short = policyFor("fixed-window", 10, 10);
    const long = policyFor("gcra", 10, 3600);
    await limiter.check(short);
    await limiter.check(long, { cost: 10 });
    expect((await storedFootprint(limiter)).alarm).toBe(T0 + 10_000);

    setNow(T0 + 10_000);
    await runDurableObjectAlarm(limiter);
    const after = await storedFootprint(limiter);
    expect(after.rows).toBe(1);
    expect(after.alarm).toBe(T0 + 1_000 + 3_600_000);
    expect(ok(await limiter.peek(long)).allowed).toBe(false);
  });

  it("moves the alarm earlier for a policy that expires before the others", async () => {
    setNow(T0 + 1_000);
    const limiter = freshLimiter();
    const long = policyFor("gcra", 10, 3600);
    const short = policyFor("fixed-window", 10, 10);
    await limiter.check(long, { cost: 10 });
    expect((await storedFootprint(limiter)).alarm).toBe(T0 + 1_000 + 3_600_000);
    await limiter.check(short);
    expect((await storedFootprint(limiter)).alarm).toBe(T0 + 10_000);

    setNow(T0 + 10_000);
    await runDurableObjectAlarm(limiter);
    expect(await storedFootprint(limiter)).toEqual({
      tables: [],
      rows: 1,
      alarm: T0 + 1_000 + 3_600_000,
    });
  });

  it("state written after the cleanup deleted everything is stored and alarmed again", async () => {
    setNow(T0 + 1_000);
    const limiter = freshLimiter();
    const policy = policyFor("sliding-window", 3, 60);
    await limiter.check(policy);
    setNow(T0 + 1_000 + 3 * 60_000);
    await runDurableObjectAlarm(limiter);
    expect((await storedFootprint(limiter)).tables).toEqual([]);

    await limiter.check(policy, { cost: 3 });
    const footprint = await storedFootprint(limiter);
    expect(footprint.rows).toBe(1);
    expect(footprint.alarm).not.toBeNull();
    expect(ok(await limiter.check(policy)).allowed).toBe(false);
  });

  it("denials and peeks write nothing and leave no storage behind", async () => {
    setNow(T0 + 1_000);
    const limiter = freshLimiter();
    const policy = policyFor("token-bucket", 5, 60);
    await limiter.peek(policy);
    expect(await storedFootprint(limiter)).toEqual({ tables: [], rows: 0, alarm: null });

    await limiter.check(policy, { cost: 5 });
    const before = await storedEntries(limiter);
    expect(before).toHaveLength(1);
    // Comparing rows cannot see a rewrite of an unchanged row; counting writes can.
    const writes = await countStorageWrites(limiter);
    for (let i = 0; i < 5; i++) {
      expect(ok(await limiter.check(policy)).allowed).toBe(false);
      expect(ok(await limiter.peek(policy, { cost: 2 })).allowed).toBe(false);
    }
    expect(writes()).toBe(0);
    expect(await storedEntries(limiter)).toEqual(before);
    // The counter does count: an admitted call is one row (the alarm is already set).
    setNow(T0 + 1_000 + 12_000);
    expect(ok(await limiter.check(policy)).allowed).toBe(true);
    expect(writes()).toBe(1);
  });

  it("reset forgets one policy, deleting its row, or all of them and every trace of storage", async () => {
    setNow(T0 + 1_000);
    const limiter = freshLimiter();
    const a = policyFor("gcra", 5, 60);
    const b = policyFor("fixed-window", 5, 60);
    await limiter.check(a, { cost: 5 });
    await limiter.check(b, { cost: 5 });
    expect(await limiter.reset(a.name)).toEqual({ cleared: 1 });
    expect((await storedEntries(limiter)).map(([name]) => name)).toEqual([b.name]);
    // Memory is only a cache: after eviction the object sees exactly what storage kept.
    await evictDurableObject(limiter);
    expect(ok(await limiter.peek(a)).remaining).toBe(5);
    expect(ok(await limiter.peek(b)).remaining).toBe(0);
    expect(await limiter.reset("never-used")).toEqual({ cleared: 0 });
    expect(await limiter.reset()).toEqual({ cleared: 1 });
    expect(await storedFootprint(limiter)).toEqual({ tables: [], rows: 0, alarm: null });
  });
});

describe("bounded state", () => {
  it("caps the policies one key tracks, and frees slots as state expires", async () => {
    setNow(T0 + 1_000);
    const limiter = freshLimiter();
    for (let i = 0; i < 32; i++) {
      await limiter.check({
        name: `p${i}`,
        algorithm: "fixed-window",
        limit: 1,
        windowSeconds: 60,
      });
    }
    const refused = await limiter.check({
      name: "one-too-many",
      algorithm: "fixed-window",
      limit: 1,
      windowSeconds: 60,
    });
    expect(refused).toMatchObject({ allowed: false, error: { code: "too_many_policies" } });
    expect((await storedFootprint(limiter)).rows).toBe(32);

    setNow(T0 + 60_000);
    const admitted = await limiter.check({
      name: "one-more",
      algorithm: "fixed-window",
      limit: 1,
      windowSeconds: 60,
    });
    expect(admitted.allowed).toBe(true);
    expect((await storedFootprint(limiter)).rows).toBe(1);
  });
});
