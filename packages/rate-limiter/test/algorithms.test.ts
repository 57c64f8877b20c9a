/** The pure decision functions, driven with plain numbers. */
import { describe, expect, it } from "vitest";
import {
  decide,
  type Algorithm,
  type Decision,
  type LimiterState,
  type Rate,
} from "../src/algorithms";

const MINUTE = 60_000;
const T0 = Date.UTC(2026, 0, 1); // the start of a minute

/** Runs `count` checks at `now`, threading state as the object would. */
function run(rate: Rate, state: LimiterState | undefined, now: number, count: number, cost = 1) {
  let current = state;
  let admitted = 0;
  for (let i = 0; i < count; i++) {
    const decision = decide(rate, current, now, cost);
    if (decision.next) {
      current = decision.next.state;
      admitted++;
    }
  }
  return { state: current, admitted };
}

const rate = (algorithm: Algorithm, limit = 10, windowMs = MINUTE): Rate => ({
  algorithm,
  limit,
  windowMs,
});

describe.each<Algorithm>(["fixed-window", "sliding-window", "token-bucket", "gcra"])(
  "%s",
  (algorithm) => {
    it("admits exactly the limit at one instant, then denies without a next state", () => {
      const { state, admitted } = run(rate(algorithm), undefined, T0, 25);
      expect(admitted).toBe(10);
      const denied = decide(rate(algorithm), state, T0, 1);
      expect(denied.allowed).toBe(false);
      expect(denied.next).toBeUndefined();
      expect(denied.remaining).toBe(0);
      expect(denied.retryAfterMs).toBeGreaterThan(0);
    });

    it("counts cost in units", () => {
      const { admitted } = run(rate(algorithm), undefined, T0, 10, 4);
      expect(admitted).toBe(2);
    });

    it("reports remaining after each admitted call", () => {
      const first = decide(rate(algorithm), undefined, T0, 3);
      expect(first.allowed).toBe(true);
      expect(first.remaining).toBe(7);
      expect(first.retryAfterMs).toBe(0);
    });

    it("admits again once the advertised retry time has passed", () => {
      const { state } = run(rate(algorithm), undefined, T0 + 5_000, 10);
      const denied = decide(rate(algorithm), state, T0 + 5_000, 1);
      expect(denied.allowed).toBe(false);
      const justBefore = decide(rate(algorithm), state, T0 + 5_000 + denied.retryAfterMs - 1, 1);
      expect(justBefore.allowed).toBe(false);
      const at = decide(rate(algorithm), state, T0 + 5_000 + denied.retryAfterMs, 1);
      expect(at.allowed).toBe(true);
    });

    it("is back to the full limit once the reset time has passed, and the state has expired by then", () => {
      const start = T0 + 5_000;
      const last = run(rate(algorithm), undefined, start, 9);
      const final = decide(rate(algorithm), last.state, start, 1);
      expect(final.next).toBeDefined();
      const resetAt = start + final.resetAfterMs;
      expect(final.next!.expiresAt).toBeLessThanOrEqual(resetAt);
      const { admitted } = run(rate(algorithm), final.next!.state, resetAt, 20);
      expect(admitted).toBe(10);
      // Expired state is equivalent to none at all.
      expect(decide(rate(algorithm), final.next!.state, final.next!.expiresAt, 1)).toEqual(
        decide(rate(algorithm), undefined, final.next!.expiresAt, 1),
      );
    });

    it("ignores state left by another algorithm", () => {
      const other: LimiterState =
        algorithm === "gcra"
          ? { algorithm: "fixed-window", windowStart: T0, count: 10 }
          : { algorithm: "gcra", tat: T0 + MINUTE, tatFraction: 0 };
      expect(decide(rate(algorithm), other, T0, 1).remaining).toBe(9);
    });
  },
);

describe("fixed window", () => {
  it("resets at the epoch-aligned window edge and so allows 2x the limit across it", () => {
    const r = rate("fixed-window");
    const lateInFirst = run(r, undefined, T0 + MINUTE - 1, 10);
    expect(lateInFirst.admitted).toBe(10);
    const denied = decide(r, lateInFirst.state, T0 + MINUTE - 1, 1);
    expect(denied.retryAfterMs).toBe(1);
    expect(run(r, lateInFirst.state, T0 + MINUTE, 10).admitted).toBe(10);
  });
});

describe("sliding window", () => {
  it("weights the previous window by its overlap, which blocks the edge burst", () => {
    const r = rate("sliding-window");
    const full = run(r, undefined, T0 + MINUTE - 1, 10);
    // A quarter into the next window, 75% of the previous 10 still counts: room for 2.
    const quarter = run(r, full.state, T0 + MINUTE + MINUTE / 4, 10);
    expect(quarter.admitted).toBe(2);
  });

  it("computes retry-after from the decaying previous window", () => {
    const r = rate("sliding-window");
    const full = run(r, undefined, T0 + 1_000, 10).state;
    // Next window starts: estimate is 10 * (1 - 0) = 10; room for 1 appears when weight hits 0.9.
    const denied = decide(r, full, T0 + MINUTE, 1);
    expect(denied.allowed).toBe(false);
    expect(denied.retryAfterMs).toBe(MINUTE / 10);
    expect(decide(r, full, T0 + MINUTE + MINUTE / 10, 1).allowed).toBe(true);
  });

  it("forgets windows older than the previous one", () => {
    const r = rate("sliding-window");
    const full = run(r, undefined, T0, 10).state;
    expect(decide(r, full, T0 + 2 * MINUTE, 1).remaining).toBe(9);
  });
});

describe("token bucket", () => {
  it("refills continuously at limit per window", () => {
    const r = rate("token-bucket", 60, MINUTE); // one token per second
    const empty = run(r, undefined, T0, 60).state;
    expect(decide(r, empty, T0 + 999, 1).allowed).toBe(false);
    expect(decide(r, empty, T0 + 1_000, 1).allowed).toBe(true);
    expect(run(r, empty, T0 + 10_000, 60).admitted).toBe(10);
  });

  it("never holds more than the limit", () => {
    const r = rate("token-bucket", 5, MINUTE);
    const one = run(r, undefined, T0, 1).state;
    expect(run(r, one, T0 + 10 * MINUTE, 50).admitted).toBe(5);
  });
});

describe("GCRA", () => {
  it("spaces calls at window/limit once the burst is spent", () => {
    const r = rate("gcra", 60, MINUTE);
    const spent = run(r, undefined, T0, 60).state;
    const denied = decide(r, spent, T0, 1);
    expect(denied.retryAfterMs).toBe(1_000);
    expect(run(r, spent, T0 + 3_000, 60).admitted).toBe(3);
  });

  it("stays exact with an emission interval that is not a whole number of milliseconds", () => {
    const r = rate("gcra", 3, 1_000);
    expect(run(r, undefined, T0, 10).admitted).toBe(3);
    let state = run(r, undefined, T0, 3).state;
    let admitted = 0;
    for (let t = 1; t <= 3_000; t++) {
      const d = decide(r, state, T0 + t, 1);
      if (d.next) {
        state = d.next.state;
        admitted++;
      }
    }
    // The burst is spent at 0; then one every 333.3 ms: 333.3, 666.7, 1000, ... 3000.
    expect(admitted).toBe(9);
  });
});

/** Unit calls at one instant from no state, until the first denial. */
function admittedAtOnce(r: Rate, now = T0 + 123): { admitted: number; denial: Decision } {
  let state: LimiterState | undefined;
  for (let admitted = 0; ; admitted++) {
    const decision = decide(r, state, now, 1);
    if (decision.next === undefined) return { admitted, denial: decision };
    state = decision.next.state;
  }
}

describe("exact at every limit (the cases the float GCRA got wrong)", () => {
  it.each<Algorithm>(["fixed-window", "sliding-window", "token-bucket", "gcra"])(
    "%s: 15 per second, 10,000 per second and 1,000,000 per second admit exactly that many at once",
    (algorithm) => {
      for (const limit of [15, 10_000, 1_000_000]) {
        const { admitted, denial } = admittedAtOnce(rate(algorithm, limit, 1_000));
        expect(admitted).toBe(limit);
        expect(denial.remaining).toBe(0);
      }
    },
  );

  it("GCRA admits exactly L, then reports nothing remaining, for every limit up to 1,000 and windows from a second to a day", () => {
    for (const windowMs of [1_000, 7_000, 60_000, 86_400_000]) {
      for (let limit = 1; limit <= 1_000; limit++) {
        const { admitted, denial } = admittedAtOnce(rate("gcra", limit, windowMs));
        if (admitted !== limit || denial.remaining !== 0) {
          throw new Error(
            `${limit} per ${windowMs} ms admitted ${admitted}, then said ${denial.remaining} remain`,
          );
        }
      }
    }
    expect(admittedAtOnce(rate("gcra", 1_000, 86_400_000)).admitted).toBe(1_000);
  });

  it("every admitted call moves the state, even at the largest limit a policy may have", () => {
    const r = rate("gcra", 1_000_000_000, 9_000);
    const allButOne = decide(r, undefined, T0, 999_999_999);
    const last = decide(r, allButOne.next!.state, T0, 1);
    expect(last.allowed).toBe(true);
    expect(last.remaining).toBe(0);
    const spent = last.next!.state;
    const denied = decide(r, spent, T0, 1);
    expect(denied).toMatchObject({ allowed: false, remaining: 0, retryAfterMs: 1 });
    // The emission interval is 9 ns, so the clock's next millisecond gives back 111,111 units.
    expect(decide(r, spent, T0 + 1, 111_111).allowed).toBe(true);
    expect(decide(r, spent, T0 + 1, 111_112).allowed).toBe(false);
  });
});

describe("a clock that steps backwards", () => {
  it.each<Algorithm>(["token-bucket", "gcra"])(
    "%s: admits nothing extra, and is no worse than a full bucket owed",
    (algorithm) => {
      const r = rate(algorithm, 10, MINUTE);
      const { state } = run(r, undefined, T0 + 5_000, 10);
      for (const back of [1, 5_000, MINUTE, 10 * MINUTE]) {
        const earlier = decide(r, state, T0 + 5_000 - back, 1);
        expect(earlier.allowed).toBe(false);
        expect(earlier.remaining).toBe(0);
        // Never owed more than one full window: the limit is back at most a window later.
        expect(earlier.resetAfterMs).toBeLessThanOrEqual(MINUTE + back);
      }
      // Once the clock catches up, the refill is as if it had never stepped back.
      expect(run(r, state, T0 + 5_000 + 12_000, 10).admitted).toBe(2);
    },
  );
});
