import { evictDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import {
  advance,
  expectReleased,
  expectRenewed,
  freshElection,
  granted,
  refused,
  setNow,
  storedFootprint,
  T0,
} from "./helpers";
import { testClock } from "./worker";

afterEach(() => {
  testClock.now = null;
});

describe("eviction", () => {
  it("mid-lease keeps the holder, its token, its expiry and its alarm", async () => {
    setNow(T0);
    const election = freshElection();
    const lease = granted(await election.acquire("a", 10_000, { lockDelayMs: 1_000 }));
    advance(2_000);
    expectRenewed(await election.renew("a", lease.fencingToken));
    const before = await election.current();

    await evictDurableObject(election);

    expect(await election.current()).toEqual(before);
    expect(before).toMatchObject({ holder: "a", fencingToken: 1, expiresAt: T0 + 12_000 });
    expect(refused(await election.acquire("b", 10_000))).toMatchObject({
      holder: "a",
      retryAfterMs: 11_000,
    });
    expect((await election.validate(1)).valid).toBe(true);
    expectRenewed(await election.renew("a", 1));
    // The alarm set at the grant is still there, no later than the expiry.
    expect((await storedFootprint(election)).alarm).toBe(T0 + 10_000);
  });

  it("the token counter survives eviction after a release: the next grant never reuses a token", async () => {
    setNow(T0);
    const election = freshElection();
    for (let i = 1; i <= 3; i++) {
      const lease = granted(await election.acquire(`c-${i}`, 10_000));
      expect(lease.fencingToken).toBe(i);
      expectReleased(await election.release(`c-${i}`, i));
      await evictDurableObject(election);
    }
    expect(granted(await election.acquire("c-4", 10_000)).fencingToken).toBe(4);
    expect((await election.current()).transitions).toBe(7);
  });

  it("after eviction, an expired lease is still free on read and its lock-delay still applies", async () => {
    setNow(T0);
    const election = freshElection();
    granted(await election.acquire("a", 5_000, { lockDelayMs: 2_000 }));
    await evictDurableObject(election);
    setNow(T0 + 6_000);
    expect(refused(await election.acquire("b", 5_000))).toMatchObject({
      reason: "lock_delay",
      retryAfterMs: 1_000,
    });
    await evictDurableObject(election);
    setNow(T0 + 7_000);
    expect(granted(await election.acquire("b", 5_000)).fencingToken).toBe(2);
  });

  it("after eviction, a shorter re-acquire still moves the alarm earlier", async () => {
    setNow(T0);
    const election = freshElection();
    granted(await election.acquire("a", 60_000));
    await evictDurableObject(election);
    granted(await election.acquire("a", 1_000));
    expect((await storedFootprint(election)).alarm).toBe(T0 + 1_000);
  });
});
