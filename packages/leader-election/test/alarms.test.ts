import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import {
  advance,
  countStorageWrites,
  expectReleased,
  expectRenewed,
  freshElection,
  granted,
  setNow,
  storedFootprint,
  T0,
} from "./helpers";
import { testClock } from "./worker";

afterEach(() => {
  testClock.now = null;
});

describe("expiry", () => {
  it("by read: a lease past its expiry is free before any alarm has run", async () => {
    setNow(T0);
    const election = freshElection();
    granted(await election.acquire("a", 5_000));
    setNow(T0 + 5_000);
    // Storage still holds the lease: nothing has written the expiry down.
    expect((await storedFootprint(election)).state?.lease?.holder).toBe("a");
    expect(await election.current()).toMatchObject({
      holder: null,
      fencingToken: null,
      transitions: 2,
    });
    expect((await election.validate(1)).valid).toBe(false);
    expect(granted(await election.acquire("b", 5_000)).fencingToken).toBe(2);
  });

  it("by alarm: the alarm writes the expiry down, with the lock-delay, and does not re-arm", async () => {
    setNow(T0);
    const election = freshElection();
    granted(await election.acquire("a", 5_000, { lockDelayMs: 1_500 }));
    expect((await storedFootprint(election)).alarm).toBe(T0 + 5_000);
    setNow(T0 + 5_000);
    expect(await runDurableObjectAlarm(election)).toBe(true);
    expect(await storedFootprint(election)).toEqual({
      rows: 1,
      state: { lastToken: 1, transitions: 2, lease: null, lockedUntil: T0 + 6_500 },
      alarm: null,
    });
    expect(await election.current()).toMatchObject({ holder: null, lockedUntil: T0 + 6_500 });
    // Written down, the expiry reads the same after eviction.
    await evictDurableObject(election);
    expect(await election.current()).toMatchObject({ transitions: 2, lastToken: 1 });
  });

  it("an alarm that runs before the expiry (a renewed lease) re-arms for the new expiry", async () => {
    setNow(T0);
    const election = freshElection();
    granted(await election.acquire("a", 5_000));
    advance(4_000);
    // A renewal does not move the alarm: one write per renewal, the record.
    const writes = await countStorageWrites(election);
    expectRenewed(await election.renew("a", 1));
    expect(writes()).toBe(1);
    const footprint = await storedFootprint(election);
    expect(footprint.alarm).toBe(T0 + 5_000);

    setNow(T0 + 5_000);
    expect(await runDurableObjectAlarm(election)).toBe(true);
    expect(await storedFootprint(election)).toEqual({ ...footprint, alarm: T0 + 9_000 });
    expect((await election.current()).holder).toBe("a");
    setNow(T0 + 9_000);
    expect(await runDurableObjectAlarm(election)).toBe(true);
    expect(await storedFootprint(election)).toMatchObject({ alarm: null, state: { lease: null } });
  });

  it("a retried alarm is harmless: the second run changes nothing and the token is kept", async () => {
    setNow(T0);
    const election = freshElection();
    granted(await election.acquire("a", 5_000));
    setNow(T0 + 5_000);
    expect(await runDurableObjectAlarm(election)).toBe(true);
    const after = await storedFootprint(election);
    // Re-run the same alarm, as the runtime may after a failure.
    const writes = await countStorageWrites(election);
    await runInDurableObject(election, (instance) => instance.alarm());
    await runInDurableObject(election, (instance) => instance.alarm());
    expect(writes()).toBe(0);
    expect(await storedFootprint(election)).toEqual(after);
    expect(await runDurableObjectAlarm(election)).toBe(false);
    expect(granted(await election.acquire("b", 5_000)).fencingToken).toBe(2);
  });

  it("an alarm after a read-side grant finds the new lease live and re-arms for it", async () => {
    setNow(T0);
    const election = freshElection();
    granted(await election.acquire("a", 5_000));
    setNow(T0 + 6_000);
    granted(await election.acquire("b", 5_000));
    expect((await storedFootprint(election)).alarm).toBe(T0 + 5_000);
    expect(await runDurableObjectAlarm(election)).toBe(true);
    expect(await storedFootprint(election)).toMatchObject({
      alarm: T0 + 11_000,
      state: { lastToken: 2, transitions: 3, lease: { holder: "b", token: 2 } },
    });
  });

  it("a release leaves the alarm, which then finds nothing to do and does not re-arm", async () => {
    setNow(T0);
    const election = freshElection();
    granted(await election.acquire("a", 5_000));
    expectReleased(await election.release("a", 1));
    const before = await storedFootprint(election);
    expect(before.alarm).toBe(T0 + 5_000);
    setNow(T0 + 5_000);
    expect(await runDurableObjectAlarm(election)).toBe(true);
    expect(await storedFootprint(election)).toEqual({ ...before, alarm: null });
    // The next grant arms it again.
    granted(await election.acquire("b", 5_000));
    expect((await storedFootprint(election)).alarm).toBe(T0 + 10_000);
  });

  it("storage stays one row however many terms a group sees", async () => {
    setNow(T0);
    const election = freshElection();
    for (let i = 0; i < 50; i++) {
      const lease = granted(await election.acquire(`c-${i}`, 1_000));
      if (i % 2 === 0) expectReleased(await election.release(`c-${i}`, lease.fencingToken));
      else advance(1_000);
      if (i % 10 === 0) await runDurableObjectAlarm(election);
    }
    expect((await storedFootprint(election)).rows).toBe(1);
    expect((await election.current()).lastToken).toBe(50);
  });
});
