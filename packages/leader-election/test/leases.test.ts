import { afterEach, describe, expect, it } from "vitest";
import {
  advance,
  countStorageWrites,
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

describe("acquire", () => {
  it("grants a free lease with token 1 and its expiry, and refuses others with when to retry", async () => {
    setNow(T0);
    const election = freshElection();
    expect(await election.acquire("a", 5_000)).toEqual({
      granted: true,
      holder: "a",
      fencingToken: 1,
      expiresAt: T0 + 5_000,
      newLease: true,
    });
    advance(2_000);
    expect(await election.acquire("b", 5_000)).toEqual({
      granted: false,
      reason: "held",
      holder: "a",
      expiresAt: T0 + 5_000,
      retryAfterMs: 3_000,
    });
  });

  it("a holder's re-acquire keeps its token, moves its expiry and changes no history", async () => {
    setNow(T0);
    const election = freshElection();
    granted(await election.acquire("a", 5_000));
    advance(4_000);
    expect(await election.acquire("a", 10_000)).toEqual({
      granted: true,
      holder: "a",
      fencingToken: 1,
      expiresAt: T0 + 14_000,
      newLease: false,
    });
    // The new TTL is what renewals extend by from now on.
    advance(1_000);
    expect(expectRenewed(await election.renew("a", 1)).expiresAt).toBe(T0 + 15_000);
    expect(await election.current()).toMatchObject({ lastToken: 1, transitions: 1 });
  });

  it("the lease is free exactly at its expiry, not a millisecond before", async () => {
    setNow(T0);
    const election = freshElection();
    granted(await election.acquire("a", 5_000));
    setNow(T0 + 4_999);
    expect(refused(await election.acquire("b", 5_000)).retryAfterMs).toBe(1);
    setNow(T0 + 5_000);
    expect(granted(await election.acquire("b", 5_000)).fencingToken).toBe(2);
  });

  it("a refused acquire writes nothing", async () => {
    setNow(T0);
    const election = freshElection();
    granted(await election.acquire("a", 5_000, { lockDelayMs: 1_000 }));
    const writes = await countStorageWrites(election);
    for (let i = 0; i < 5; i++) refused(await election.acquire(`b-${i}`, 5_000));
    setNow(T0 + 5_500); // expired, in lock-delay
    for (let i = 0; i < 5; i++) refused(await election.acquire(`b-${i}`, 5_000));
    expect(writes()).toBe(0);
    // The counter does count: a grant is one write (the alarm is already early enough).
    setNow(T0 + 6_000);
    granted(await election.acquire("c", 5_000));
    expect(writes()).toBe(1);
  });
});

describe("fencing tokens", () => {
  it("strictly increase across grants, releases, expiries and revocations", async () => {
    setNow(T0);
    const election = freshElection();
    const tokens: number[] = [];
    const a = granted(await election.acquire("a", 1_000));
    tokens.push(a.fencingToken);
    expectReleased(await election.release("a", a.fencingToken));
    // The same candidate again, after its release: a new term, a new token.
    const again = granted(await election.acquire("a", 1_000));
    tokens.push(again.fencingToken);
    advance(1_000); // expires
    const b = granted(await election.acquire("b", 1_000));
    tokens.push(b.fencingToken);
    expect((await election.revoke()).revoked).toBe(true);
    const c = granted(await election.acquire("c", 1_000));
    tokens.push(c.fencingToken);
    expect(tokens).toEqual([1, 2, 3, 4]);
    // 4 grants, a release, an expiry and a revocation.
    expect(await election.current()).toMatchObject({ lastToken: 4, transitions: 7 });
  });
});

describe("renew", () => {
  it("is a compare-and-swap on holder and token, extending by the TTL from now", async () => {
    setNow(T0);
    const election = freshElection();
    granted(await election.acquire("a", 5_000));
    advance(3_000);
    expect(await election.renew("a", 1)).toEqual({
      renewed: true,
      holder: "a",
      fencingToken: 1,
      expiresAt: T0 + 8_000,
    });
    expect(await election.renew("b", 1)).toEqual({
      renewed: false,
      reason: "not_holder",
      holder: "a",
    });
  });

  it("with a stale token fails: an old term cannot extend a new one, even under the same name", async () => {
    setNow(T0);
    const election = freshElection();
    const first = granted(await election.acquire("worker-1", 1_000));
    advance(1_000);
    const second = granted(await election.acquire("worker-1", 1_000));
    expect(second.fencingToken).toBe(first.fencingToken + 1);
    expect(await election.renew("worker-1", first.fencingToken)).toEqual({
      renewed: false,
      reason: "stale_token",
      holder: "worker-1",
    });
    // And a token never granted yet.
    expect(await election.renew("worker-1", 99)).toMatchObject({ reason: "stale_token" });
    expect((await election.current()).expiresAt).toBe(T0 + 2_000);
  });

  it("after expiry fails, even before anyone else acquires: the holder must acquire again", async () => {
    setNow(T0);
    const election = freshElection();
    granted(await election.acquire("a", 5_000));
    setNow(T0 + 5_000);
    expect(await election.renew("a", 1)).toEqual({
      renewed: false,
      reason: "not_held",
      holder: null,
    });
    expect(granted(await election.acquire("a", 5_000)).fencingToken).toBe(2);
  });

  it("failed renewals write nothing", async () => {
    setNow(T0);
    const election = freshElection();
    granted(await election.acquire("a", 5_000));
    const writes = await countStorageWrites(election);
    await election.renew("a", 2);
    await election.renew("b", 1);
    setNow(T0 + 6_000);
    await election.renew("a", 1);
    expect(writes()).toBe(0);
  });
});

describe("release", () => {
  it("frees the lease at once, with no lock-delay, only for its holder and token", async () => {
    setNow(T0);
    const election = freshElection();
    granted(await election.acquire("a", 5_000, { lockDelayMs: 10_000 }));
    expect(await election.release("b", 1)).toEqual({
      released: false,
      reason: "not_holder",
      holder: "a",
    });
    expect(await election.release("a", 2)).toMatchObject({
      released: false,
      reason: "stale_token",
    });
    expect(await election.release("a", 1)).toEqual({
      released: true,
      holder: "a",
      fencingToken: 1,
    });
    expect(await election.release("a", 1)).toEqual({
      released: false,
      reason: "not_held",
      holder: null,
    });
    expect(granted(await election.acquire("b", 5_000)).fencingToken).toBe(2);
  });
});

describe("lock-delay", () => {
  it("keeps an expired lease unavailable for its delay, to everyone, its holder included", async () => {
    setNow(T0);
    const election = freshElection();
    granted(await election.acquire("a", 5_000, { lockDelayMs: 2_000 }));
    setNow(T0 + 5_000);
    expect(await election.current()).toMatchObject({
      holder: null,
      fencingToken: null,
      lockedUntil: T0 + 7_000,
      transitions: 2,
    });
    expect(await election.acquire("b", 5_000)).toEqual({
      granted: false,
      reason: "lock_delay",
      holder: null,
      expiresAt: null,
      retryAfterMs: 2_000,
    });
    expect(refused(await election.acquire("a", 5_000)).reason).toBe("lock_delay");
    // While the lease is held, the refusal already counts the delay in.
    setNow(T0 + 6_999);
    expect(refused(await election.acquire("b", 5_000)).retryAfterMs).toBe(1);
    setNow(T0 + 7_000);
    expect(await election.current()).toMatchObject({ lockedUntil: null });
    expect(granted(await election.acquire("b", 5_000)).fencingToken).toBe(2);
  });

  it("a held lease's refusal says when it frees if the holder vanishes: expiry plus delay", async () => {
    setNow(T0);
    const election = freshElection();
    granted(await election.acquire("a", 5_000, { lockDelayMs: 2_000 }));
    expect(refused(await election.acquire("b", 5_000)).retryAfterMs).toBe(7_000);
  });

  it("revoke ends the lease now and applies its lock-delay", async () => {
    setNow(T0);
    const election = freshElection();
    granted(await election.acquire("a", 60_000, { lockDelayMs: 3_000 }));
    advance(1_000);
    expect(await election.revoke()).toEqual({ revoked: true, holder: "a", fencingToken: 1 });
    expect(await election.revoke()).toEqual({ revoked: false, holder: null, fencingToken: null });
    expect(await election.renew("a", 1)).toMatchObject({ renewed: false, reason: "not_held" });
    expect(refused(await election.acquire("b", 5_000))).toMatchObject({
      reason: "lock_delay",
      retryAfterMs: 3_000,
    });
    advance(3_000);
    expect(granted(await election.acquire("b", 5_000)).fencingToken).toBe(2);
  });
});

describe("current and validate", () => {
  it("a new group: nobody holds it, no token granted yet, nothing stored", async () => {
    setNow(T0);
    const election = freshElection();
    expect(await election.current()).toEqual({
      holder: null,
      fencingToken: null,
      expiresAt: null,
      lockedUntil: null,
      lastToken: 0,
      transitions: 0,
    });
    expect(await election.validate(1)).toEqual({
      valid: false,
      fencingToken: null,
      expiresAt: null,
    });
    expect(await storedFootprint(election)).toEqual({ rows: 0, state: null, alarm: null });
  });

  it("validate accepts exactly the live lease's token", async () => {
    setNow(T0);
    const election = freshElection();
    granted(await election.acquire("a", 1_000));
    advance(1_000);
    granted(await election.acquire("b", 5_000));
    const live = { fencingToken: 2, expiresAt: T0 + 6_000 };
    expect(await election.validate(2)).toEqual({ valid: true, ...live });
    expect(await election.validate(1)).toEqual({ valid: false, ...live });
    expect(await election.validate(3)).toEqual({ valid: false, ...live });
    setNow(T0 + 6_000);
    expect(await election.validate(2)).toEqual({
      valid: false,
      fencingToken: null,
      expiresAt: null,
    });
  });

  it("current, validate and refusals write nothing", async () => {
    setNow(T0);
    const election = freshElection();
    granted(await election.acquire("a", 1_000, { lockDelayMs: 500 }));
    const writes = await countStorageWrites(election);
    for (const at of [T0 + 10, T0 + 1_000, T0 + 1_400, T0 + 9_000]) {
      setNow(at);
      await election.current();
      await election.validate(1);
      await election.release("b", 1);
    }
    expect(writes()).toBe(0);
  });
});
