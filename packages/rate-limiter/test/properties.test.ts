/**
 * The README's promises about the pure decisions, as properties over every valid policy: random
 * call sequences with costs, peeks, refunds and clock jumps, on small limits and short windows
 * so that window edges, empty buckets and expiry are hit often.
 */
// Each step of a sequence is checked against the claim that fits it (a denial, an admission).
/* oxlint-disable vitest/no-conditional-expect */
import * as fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  ALGORITHMS,
  decide,
  refund,
  type Algorithm,
  type LimiterState,
  type Rate,
} from "../src/algorithms";
import { MAX_LIMIT, MAX_WINDOW_SECONDS } from "../src/policy";

/** Aligned to every window the generators make (whole seconds up to 5 s, and to the day). */
const BASE = Date.UTC(2030, 0, 1);
const RUNS = { numRuns: 300 };

type Op = { kind: "check" | "peek" | "refund"; cost: number } | { kind: "advance"; ms: number };

/** A valid policy's rate with a small limit and a short window, so edges come up often. */
const smallRate = (algorithm: Algorithm) =>
  fc
    .record({ limit: fc.integer({ min: 1, max: 20 }), seconds: fc.integer({ min: 1, max: 5 }) })
    .map(({ limit, seconds }): Rate => ({ algorithm, limit, windowMs: seconds * 1000 }));

/** Any valid policy's rate: limit x window-milliseconds at most 2^53 - 1. */
const anyRate = (algorithm: Algorithm) =>
  fc
    .record({
      limit: fc.oneof(fc.integer({ min: 1, max: 1_000 }), fc.integer({ min: 1, max: MAX_LIMIT })),
      seconds: fc.oneof(
        fc.integer({ min: 1, max: 60 }),
        fc.integer({ min: 1, max: MAX_WINDOW_SECONDS }),
      ),
    })
    .filter(({ limit, seconds }) => limit * seconds * 1000 <= Number.MAX_SAFE_INTEGER)
    .map(({ limit, seconds }): Rate => ({ algorithm, limit, windowMs: seconds * 1000 }));

/** Clock jumps that land on, just before and just after window edges, and far beyond. */
const jump = (windowMs: number) =>
  fc.oneof(
    fc.constantFrom(0, 1, windowMs - 1, windowMs, windowMs + 1),
    fc.integer({ min: 0, max: windowMs }),
    fc.integer({ min: 0, max: 3 * windowMs }),
  );

const cost = (limit: number) =>
  fc.oneof(fc.constant(1), fc.constant(limit), fc.integer({ min: 1, max: limit }));

const ops = (rate: Rate, kinds: Op["kind"][]) =>
  fc.array(
    fc.oneof(
      ...kinds.map((kind) =>
        kind === "advance"
          ? jump(rate.windowMs).map((ms): Op => ({ kind, ms }))
          : cost(rate.limit).map((c): Op => ({ kind, cost: c })),
      ),
    ),
    { maxLength: 60 },
  );

/** A rate, a start anywhere in a window, and a sequence of operations on one key. */
const scenario = (algorithm: Algorithm, kinds: Op["kind"][]) =>
  smallRate(algorithm).chain((rate) =>
    fc.record({
      rate: fc.constant(rate),
      start: fc.integer({ min: 0, max: 2 * rate.windowMs }).map((offset) => BASE + offset),
      ops: ops(rate, kinds),
    }),
  );

interface Step {
  op: Op;
  now: number;
  /** The key's state before the operation. */
  before: LimiterState | undefined;
  /** The key's state after it. */
  after: LimiterState | undefined;
  admitted: boolean;
  result?: ReturnType<typeof decide>;
}

/** Plays the operations as the object does: a check stores `next`, a refund stores its result. */
function play(rate: Rate, start: number, operations: Op[]): Step[] {
  let now = start;
  let state: LimiterState | undefined;
  const steps: Step[] = [];
  for (const op of operations) {
    const before = state;
    if (op.kind === "advance") {
      now += op.ms;
      continue;
    }
    if (op.kind === "refund") {
      state = refund(rate, state, now, op.cost)?.state;
      steps.push({ op, now, before, after: state, admitted: false });
      continue;
    }
    const result = decide(rate, state, now, op.cost, op.kind === "check");
    if (result.next !== undefined) state = result.next.state;
    steps.push({ op, now, before, after: state, admitted: result.next !== undefined, result });
  }
  return steps;
}

const remainingAt = (rate: Rate, state: LimiterState | undefined, now: number) =>
  decide(rate, state, now, 1, false).remaining;

/** How many unit calls a key admits at one instant, counted by making them. */
function unitCallsAdmitted(rate: Rate, state: LimiterState | undefined, now: number): number {
  let current = state;
  let admitted = 0;
  for (;;) {
    const next = decide(rate, current, now, 1).next;
    if (next === undefined || admitted > rate.limit) return admitted;
    current = next.state;
    admitted++;
  }
}

describe.each(ALGORITHMS)("%s", (algorithm) => {
  it("admits exactly the limit at one instant, for any policy and any costs", () => {
    fc.assert(
      fc.property(
        anyRate(algorithm).chain((rate) =>
          fc.record({
            rate: fc.constant(rate),
            now: fc.integer({ min: BASE, max: BASE + 2 * rate.windowMs }),
            costs: fc.array(cost(rate.limit), { minLength: 1, maxLength: 30 }),
          }),
        ),
        ({ rate, now, costs }) => {
          let state: LimiterState | undefined;
          let used = 0;
          for (const c of costs) {
            const decision = decide(rate, state, now, c);
            expect(decision.allowed).toBe(used + c <= rate.limit);
            if (decision.next !== undefined) {
              state = decision.next.state;
              used += c;
            }
            expect(decision.remaining).toBe(rate.limit - used);
          }
          // A unit call after the last one is admitted exactly when a unit is left.
          expect(decide(rate, state, now, 1).allowed).toBe(used < rate.limit);
        },
      ),
      RUNS,
    );
  });

  it("reports remaining honestly: exactly that many unit calls are admitted next", () => {
    fc.assert(
      fc.property(scenario(algorithm, ["check", "peek", "refund", "advance"]), (s) => {
        for (const step of play(s.rate, s.start, s.ops)) {
          const remaining = step.result?.remaining ?? remainingAt(s.rate, step.after, step.now);
          expect(unitCallsAdmitted(s.rate, step.after, step.now)).toBe(remaining);
        }
      }),
      RUNS,
    );
  });

  it("admits a call exactly when its cost fits in what remains, and a denial describes the present like a peek", () => {
    fc.assert(
      fc.property(scenario(algorithm, ["check", "refund", "advance"]), (s) => {
        for (const step of play(s.rate, s.start, s.ops)) {
          if (step.result === undefined || step.op.kind === "advance") continue;
          const { cost: c } = step.op;
          expect(step.result.allowed).toBe(c <= remainingAt(s.rate, step.before, step.now));
          if (!step.result.allowed) {
            expect(step.result).toEqual(decide(s.rate, step.before, step.now, c, false));
          }
        }
      }),
      RUNS,
    );
  });

  it("retryAfterMs is honest and tight: the same call is admitted then and not a millisecond sooner", () => {
    fc.assert(
      fc.property(scenario(algorithm, ["check", "peek", "refund", "advance"]), (s) => {
        for (const step of play(s.rate, s.start, s.ops)) {
          if (step.result === undefined || step.op.kind === "advance") continue;
          const { retryAfterMs, allowed } = step.result;
          if (allowed) {
            expect(retryAfterMs).toBe(0);
            continue;
          }
          const { cost: c } = step.op;
          expect(retryAfterMs).toBeGreaterThan(0);
          expect(decide(s.rate, step.before, step.now + retryAfterMs, c).allowed).toBe(true);
          expect(decide(s.rate, step.before, step.now + retryAfterMs - 1, c).allowed).toBe(false);
        }
      }),
      RUNS,
    );
  });

  it("resetAfterMs is honest and tight: the full limit is back then and not a millisecond sooner", () => {
    fc.assert(
      fc.property(scenario(algorithm, ["check", "peek", "refund", "advance"]), (s) => {
        for (const step of play(s.rate, s.start, s.ops)) {
          const resetAfterMs =
            step.result?.resetAfterMs ??
            decide(s.rate, step.after, step.now, 1, false).resetAfterMs;
          const at = step.now + resetAfterMs;
          expect(remainingAt(s.rate, step.after, at)).toBe(s.rate.limit);
          if (resetAfterMs > 0) {
            expect(remainingAt(s.rate, step.after, at - 1)).toBeLessThan(s.rate.limit);
          }
        }
      }),
      RUNS,
    );
  });

  it("stored state expires when the full limit is back, and from then on equals no state at all", () => {
    fc.assert(
      fc.property(
        scenario(algorithm, ["check", "refund", "advance"]),
        fc.nat({ max: 20_000 }),
        (s, later) => {
          let now = s.start;
          let state: LimiterState | undefined;
          for (const op of s.ops) {
            if (op.kind === "advance") {
              now += op.ms;
              continue;
            }
            const stored =
              op.kind === "refund"
                ? refund(s.rate, state, now, op.cost)
                : decide(s.rate, state, now, op.cost).next;
            if (op.kind === "refund" || stored !== undefined) state = stored?.state;
            if (stored === undefined) continue;
            expect(stored.expiresAt).toBe(
              now + decide(s.rate, stored.state, now, 1, false).resetAfterMs,
            );
            for (const at of [stored.expiresAt, stored.expiresAt + later]) {
              for (const c of [1, s.rate.limit]) {
                expect(decide(s.rate, stored.state, at, c)).toEqual(
                  decide(s.rate, undefined, at, c),
                );
              }
            }
          }
        },
      ),
      RUNS,
    );
  });

  it("peek reports what is true now, whatever the cost peeked", () => {
    fc.assert(
      fc.property(scenario(algorithm, ["check", "advance"]), fc.nat(), (s, seed) => {
        for (const step of play(s.rate, s.start, s.ops)) {
          const costs = [1, s.rate.limit, 1 + (seed % s.rate.limit)];
          const peeks = costs.map((c) => decide(s.rate, step.after, step.now, c, false));
          for (const [i, peeked] of peeks.entries()) {
            expect(peeked.next).toBeUndefined();
            expect(peeked.remaining).toBe(peeks[0]!.remaining);
            expect(peeked.resetAfterMs).toBe(peeks[0]!.resetAfterMs);
            expect(peeked.allowed).toBe(costs[i]! <= peeked.remaining);
          }
        }
      }),
      RUNS,
    );
  });

  it("peek on a key with no state reports the full limit and nothing to wait for", () => {
    fc.assert(
      fc.property(
        anyRate(algorithm).chain((rate) =>
          fc.record({ rate: fc.constant(rate), now: fc.integer({ min: BASE, max: 2 * BASE }) }),
        ),
        ({ rate, now }) => {
          for (const c of [1, rate.limit]) {
            expect(decide(rate, undefined, now, c, false)).toEqual({
              allowed: true,
              remaining: rate.limit,
              resetAfterMs: 0,
              retryAfterMs: 0,
            });
          }
        },
      ),
      RUNS,
    );
  });

  it("a refund never gives back more than asked or than was used, and undoes its check exactly, however late", () => {
    fc.assert(
      fc.property(
        scenario(algorithm, ["check", "refund", "advance"]),
        fc.oneof(fc.constant(0), fc.nat({ max: 12_000 })),
        fc.nat({ max: 10_000 }),
        (s, delay, later) => {
          for (const step of play(s.rate, s.start, s.ops)) {
            if (step.op.kind !== "refund") {
              if (!step.admitted || step.op.kind === "advance") continue;
              // A check, then (with no call in between) a refund of its cost: as if no call at all.
              const refundedAt = step.now + delay;
              const undone = refund(s.rate, step.after, refundedAt, step.op.cost)?.state;
              for (const at of [refundedAt, refundedAt + later]) {
                for (const c of [1, s.rate.limit]) {
                  const { next: _a, ...withRefund } = decide(s.rate, undone, at, c);
                  const { next: _b, ...withoutCall } = decide(s.rate, step.before, at, c);
                  expect(withRefund).toEqual(withoutCall);
                }
              }
              continue;
            }
            const before = remainingAt(s.rate, step.before, step.now);
            const after = remainingAt(s.rate, step.after, step.now);
            expect(after).toBeGreaterThanOrEqual(before);
            expect(after).toBeLessThanOrEqual(Math.min(s.rate.limit, before + step.op.cost));
          }
        },
      ),
      RUNS,
    );
  });
});

/** Units admitted by checks at times in [from, to). */
const admittedBetween = (steps: Step[], from: number, to: number) =>
  steps
    .filter((step) => step.admitted && step.now >= from && step.now < to)
    .reduce((sum, step) => sum + (step.op.kind === "check" ? step.op.cost : 0), 0);

const windowStarts = (steps: Step[], windowMs: number) => [
  ...new Set(steps.map((step) => step.now - (step.now % windowMs))),
];

describe("bounds over time (admitted units, without refunds)", () => {
  it.each(["fixed-window", "sliding-window"] as const)(
    "%s: never more than the limit within one aligned window",
    (algorithm) => {
      fc.assert(
        fc.property(scenario(algorithm, ["check", "advance"]), (s) => {
          const steps = play(s.rate, s.start, s.ops);
          for (const start of windowStarts(steps, s.rate.windowMs)) {
            expect(admittedBetween(steps, start, start + s.rate.windowMs)).toBeLessThanOrEqual(
              s.rate.limit,
            );
          }
        }),
        RUNS,
      );
    },
  );

  it.each([
    ["fixed-window", 0],
    ["sliding-window", 1],
  ] as const)(
    "%s: at most 2 x limit - %i within any interval one window long",
    (algorithm, less) => {
      fc.assert(
        fc.property(scenario(algorithm, ["check", "advance"]), (s) => {
          const steps = play(s.rate, s.start, s.ops);
          for (const step of steps) {
            expect(
              admittedBetween(steps, step.now, step.now + s.rate.windowMs),
            ).toBeLessThanOrEqual(2 * s.rate.limit - less);
          }
        }),
        RUNS,
      );
    },
  );

  it("sliding-window: the 2 x limit - 1 bound is reached (so the README states the true bound)", () => {
    const rate: Rate = { algorithm: "sliding-window", limit: 100, windowMs: 60_000 };
    const boundary = BASE + 60_000;
    const first = decide(rate, undefined, boundary - 1, 100);
    expect(first.allowed).toBe(true);
    let state = first.next!.state;
    let admitted = 100;
    for (let i = 0; i < 100; i++) {
      const next = decide(rate, state, boundary + 60_000 - 2, 1).next;
      if (next === undefined) break;
      state = next.state;
      admitted++;
    }
    // Both bursts lie within 59,999 ms of each other.
    expect(admitted).toBe(199);
  });

  it.each(["token-bucket", "gcra"] as const)(
    "%s: at most limit + elapsed x limit / window over any stretch of time",
    (algorithm) => {
      fc.assert(
        fc.property(scenario(algorithm, ["check", "advance"]), (s) => {
          const steps = play(s.rate, s.start, s.ops).filter((step) => step.admitted);
          for (const [i, first] of steps.entries()) {
            for (const last of steps.slice(i)) {
              const units = admittedBetween(steps, first.now, last.now + 1);
              const refill = Math.floor(((last.now - first.now) * s.rate.limit) / s.rate.windowMs);
              expect(units).toBeLessThanOrEqual(s.rate.limit + refill);
            }
          }
        }),
        RUNS,
      );
    },
  );
});

describe("GCRA and the token bucket", () => {
  it("make the same decision, field for field, for any policy and sequence", () => {
    fc.assert(
      fc.property(
        fc.oneof(smallRate("gcra"), anyRate("gcra")).chain((rate) =>
          fc.record({
            rate: fc.constant(rate),
            start: fc.integer({ min: BASE, max: BASE + 2 * rate.windowMs }),
            ops: ops(rate, ["check", "peek", "refund", "advance"]),
          }),
        ),
        ({ rate, start, ops: operations }) => {
          const bucket: Rate = { ...rate, algorithm: "token-bucket" };
          let now = start;
          let gcraState: LimiterState | undefined;
          let bucketState: LimiterState | undefined;
          for (const op of operations) {
            if (op.kind === "advance") {
              now += op.ms;
              continue;
            }
            if (op.kind === "refund") {
              const g = refund(rate, gcraState, now, op.cost);
              const b = refund(bucket, bucketState, now, op.cost);
              expect(g?.expiresAt).toBe(b?.expiresAt);
              gcraState = g?.state;
              bucketState = b?.state;
              continue;
            }
            const consume = op.kind === "check";
            const { next: g, ...gcraDecision } = decide(rate, gcraState, now, op.cost, consume);
            const { next: b, ...bucketDecision } = decide(
              bucket,
              bucketState,
              now,
              op.cost,
              consume,
            );
            expect(gcraDecision).toEqual(bucketDecision);
            expect(g?.expiresAt).toBe(b?.expiresAt);
            if (g !== undefined && b !== undefined) {
              gcraState = g.state;
              bucketState = b.state;
            }
          }
        },
      ),
      RUNS,
    );
  });
});
