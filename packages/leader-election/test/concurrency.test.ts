import { afterEach, describe, expect, it } from "vitest";
import { advance, freshElection, granted, setNow, storedFootprint, T0 } from "./helpers";
import { testClock } from "./worker";

afterEach(() => {
  testClock.now = null;
});

describe("concurrency", () => {
  it("500 candidates acquiring at once: exactly one is granted, and every refusal names it", async () => {
    setNow(T0);
    const election = freshElection();
    const results = await Promise.all(
      Array.from({ length: 500 }, (_, i) => election.acquire(`candidate-${i}`, 30_000)),
    );
    const grants = results.filter((r) => r.granted);
    expect(grants).toHaveLength(1);
    const winner = granted(grants[0]!);
    expect(winner).toMatchObject({ fencingToken: 1, expiresAt: T0 + 30_000, newLease: true });
    for (const result of results) {
      if (result === grants[0]) continue;
      expect(result).toEqual({
        granted: false,
        reason: "held",
        holder: winner.holder,
        expiresAt: T0 + 30_000,
        retryAfterMs: 30_000,
      });
    }
    expect(await election.current()).toMatchObject({
      holder: winner.holder,
      fencingToken: 1,
      lastToken: 1,
      transitions: 1,
    });
    expect((await storedFootprint(election)).state?.lease?.holder).toBe(winner.holder);
  });

  it("500 candidates racing for an expired lease: one new grant, with the next token", async () => {
    setNow(T0);
    const election = freshElection();
    granted(await election.acquire("old-leader", 1_000));
    advance(1_000);
    const results = await Promise.all(
      Array.from({ length: 500 }, (_, i) => election.acquire(`candidate-${i}`, 30_000)),
    );
    const grants = results.filter((r) => r.granted).map(granted);
    expect(grants).toHaveLength(1);
    expect(grants[0]!.fencingToken).toBe(2);
    expect(grants[0]!.holder).not.toBe("old-leader");
    // Expiry of the old lease, then the new grant.
    expect((await election.current()).transitions).toBe(3);
  });

  it("a holder's renewals, a stale token's renewals and other candidates' acquires, all at once", async () => {
    setNow(T0);
    const election = freshElection();
    const first = granted(await election.acquire("a", 10_000));
    const calls = Array.from({ length: 300 }, (_, i) => {
      if (i % 3 === 0) return election.renew("a", first.fencingToken);
      if (i % 3 === 1) return election.renew("a", first.fencingToken + 1);
      return election.acquire(`other-${i}`, 10_000);
    });
    const results = await Promise.all(calls);
    const byKind = (kind: number) => results.filter((_, i) => i % 3 === kind);
    for (const result of byKind(0))
      expect(result).toMatchObject({ renewed: true, fencingToken: 1 });
    for (const result of byKind(1)) {
      expect(result).toEqual({ renewed: false, reason: "stale_token", holder: "a" });
    }
    for (const result of byKind(2)) expect(result).toMatchObject({ granted: false, holder: "a" });
    expect(await election.current()).toMatchObject({ holder: "a", lastToken: 1, transitions: 1 });
  });

  it("release and acquires racing: every grant after the release has a new token, one at a time", async () => {
    setNow(T0);
    const election = freshElection();
    const first = granted(await election.acquire("a", 10_000));
    const results = await Promise.all([
      election.acquire("b", 10_000),
      election.release("a", first.fencingToken),
      ...Array.from({ length: 100 }, (_, i) => election.acquire(`c-${i}`, 10_000)),
    ]);
    expect(results[0]).toMatchObject({ granted: false, holder: "a" });
    expect(results[1]).toMatchObject({ released: true });
    // Calls run in the order they arrive: the first acquire after the release wins.
    expect(results[2]).toMatchObject({ granted: true, holder: "c-0", fencingToken: 2 });
    expect(results.slice(3).every((r) => "granted" in r && !r.granted)).toBe(true);
  });
});
