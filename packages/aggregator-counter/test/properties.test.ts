/**
 * The README's promises as properties. The pure checks over their whole input space, and the
 * object itself, inside workerd, against a tiny model: random sequences of increments (alone
 * and in concurrent bursts, with and without idempotency keys), resets, clock jumps (backwards
 * too), evictions and alarm runs, on a short dedupe window and a small key cap so that expiry
 * and the cap are hit often.
 */
// Each step of a sequence is checked against the claim that fits it (a conflict, a duplicate).
/* oxlint-disable vitest/no-conditional-expect */
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import * as fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { isRemembered } from "../src/batch";
import { addExactly, checkAmount } from "../src/input";
import { freshCounters, resetTestState, setLimits, setNow, stored, T0, type Stub } from "./helpers";

afterEach(resetTestState);

const MAX = Number.MAX_SAFE_INTEGER;
const safeInt = fc.oneof(
  fc.integer({ min: -1000, max: 1000 }),
  fc.constantFrom(MAX, -MAX, MAX - 1, -MAX + 1, 2 ** 52),
  fc.maxSafeInteger(),
  fc.maxSafeNat(),
);

describe("pure checks", () => {
  it("addExactly is the exact sum whenever it is safe, and null exactly when it is not", () => {
    fc.assert(
      fc.property(safeInt, safeInt, (a, b) => {
        const exact = BigInt(a) + BigInt(b);
        const safe = exact <= BigInt(MAX) && exact >= -BigInt(MAX);
        expect(addExactly(a, b)).toBe(safe ? Number(exact) : null);
      }),
      { numRuns: 2_000 },
    );
  });

  it("an amount is accepted exactly when it is a non-zero safe integer (or absent: 1)", () => {
    fc.assert(
      fc.property(
        fc.oneof(safeInt, fc.double(), fc.constantFrom(2 ** 53, -(2 ** 53), 0, -0), fc.anything()),
        (amount) => {
          const checked = checkAmount(amount);
          const valid =
            amount === undefined ||
            (typeof amount === "number" && Number.isSafeInteger(amount) && amount !== 0);
          expect(checked.ok).toBe(valid);
          if (checked.ok) expect(checked.value).toBe(amount ?? 1);
        },
      ),
      { numRuns: 2_000 },
    );
  });

  it("a key is remembered for exactly the window after it was accepted, and whenever the clock is behind", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1e12 }),
        fc.integer({ min: -1e6, max: 1e6 }),
        fc.integer({ min: 1, max: 1e6 }),
        (at, elapsed, window) => {
          expect(isRemembered(at, at + elapsed, window)).toBe(elapsed < window);
        },
      ),
    );
  });
});

// ---- The object against a model ----

const WINDOW = 100;
const CAP = 4;
const KEYS = ["a", "b", "c"] as const;
const IDS = ["i1", "i2", "i3", "i4", "i5", "i6"] as const;

type Op =
  | { kind: "inc"; key: string; amount: number; id?: string }
  | { kind: "burst"; incs: { key: string; amount: number; fresh: boolean }[] }
  | { kind: "reset"; key: string }
  | { kind: "advance"; ms: number }
  | { kind: "evict" }
  | { kind: "alarm" };

const amountArb = fc.integer({ min: -3, max: 3 }).filter((n) => n !== 0);
const keyArb = fc.constantFrom(...KEYS);
const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .record({
        key: keyArb,
        amount: amountArb,
        id: fc.option(fc.constantFrom(...IDS), { nil: undefined }),
      })
      .map(({ key, amount, id }): Op =>
        id === undefined ? { kind: "inc", key, amount } : { kind: "inc", key, amount, id },
      ),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("burst" as const),
      incs: fc.array(fc.record({ key: keyArb, amount: amountArb, fresh: fc.boolean() }), {
        minLength: 1,
        maxLength: 12,
      }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("reset" as const), key: keyArb }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("advance" as const),
      ms: fc.oneof(
        fc.constantFrom(0, 1, WINDOW - 1, WINDOW, WINDOW + 1, -1, -WINDOW),
        fc.integer({ min: -WINDOW, max: 3 * WINDOW }),
      ),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: "evict" as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: "alarm" as const }) },
);

/** What the README promises, in a few lines: counts, and the idempotency keys remembered. */
class Model {
  counts = new Map<string, number>();
  ids = new Map<string, { key: string; amount: number; at: number }>();
  fresh = 0;

  value(key: string): number {
    return this.counts.get(key) ?? 0;
  }

  /** Returns whether the increment counted (false: a duplicate) or conflicted. */
  inc(
    key: string,
    amount: number,
    id: string | undefined,
    now: number,
  ): "counted" | "duplicate" | "conflict" {
    if (id !== undefined) {
      const seen = this.ids.get(id);
      if (seen !== undefined && now < seen.at + WINDOW) {
        return seen.key === key && seen.amount === amount ? "duplicate" : "conflict";
      }
      this.ids.set(id, { key, amount, at: now });
    }
    this.counts.set(key, this.value(key) + amount);
    return "counted";
  }

  /** The newest CAP keys by (time, id) stay; expired ones may linger until the alarm. */
  keepCap(): void {
    const sorted = [...this.ids.entries()].toSorted(
      ([ia, a], [ib, b]) => a.at - b.at || (ia < ib ? -1 : 1),
    );
    for (const [id] of sorted.slice(0, Math.max(0, sorted.length - CAP))) this.ids.delete(id);
  }

  alarm(now: number): void {
    for (const [id, seen] of this.ids) if (seen.at <= now - WINDOW) this.ids.delete(id);
  }
}

async function play(counters: Stub, ops: Op[]): Promise<void> {
  const model = new Model();
  let now = T0;
  setNow(now);
  for (const step of ops) {
    switch (step.kind) {
      case "inc": {
        const expected = model.inc(step.key, step.amount, step.id, now);
        const outcome = await counters.increment(step.key, step.amount, step.id);
        if (expected === "conflict") {
          expect(outcome).toMatchObject({ ok: false, error: { code: "idempotency_conflict" } });
        } else {
          expect(outcome).toEqual({
            ok: true,
            key: step.key,
            value: model.value(step.key),
            duplicate: expected === "duplicate",
          });
        }
        model.keepCap();
        break;
      }
      case "burst": {
        const calls = step.incs.map(({ key, amount, fresh }) => {
          const id = fresh ? `fresh-${model.fresh++}` : undefined;
          model.inc(key, amount, id, now);
          return counters.increment(key, amount, id);
        });
        const outcomes = await Promise.all(calls);
        expect(outcomes.every((o) => o.ok && !o.duplicate)).toBe(true);
        model.keepCap();
        break;
      }
      case "reset":
        expect(await counters.reset(step.key)).toEqual({
          ok: true,
          key: step.key,
          previous: model.value(step.key),
        });
        model.counts.delete(step.key);
        break;
      case "advance":
        now += step.ms;
        setNow(now);
        break;
      case "evict":
        // Only a running object can be evicted: make sure it runs (a read changes nothing).
        await counters.get("a");
        await evictDurableObject(counters);
        break;
      case "alarm":
        // Either way the runtime may run it: when due, or again after a failure.
        if (!(await runDurableObjectAlarm(counters))) {
          await runInDurableObject(counters, (instance) => instance.alarm());
        }
        model.alarm(now);
        break;
    }
    for (const k of KEYS)
      expect((await counters.get(k)).ok && (await counters.get(k))).toMatchObject({
        value: model.value(k),
      });
  }
  // Storage holds exactly the model: non-zero counters, and the remembered keys still live.
  const table = await stored(counters);
  expect(table.counters).toEqual(
    Object.fromEntries([...model.counts].filter(([, v]) => v !== 0).toSorted()),
  );
  const live = (ids: Iterable<[string, { at: number }]>) =>
    [...ids]
      .filter(([, { at }]) => now < at + WINDOW)
      .map(([id]) => id)
      .toSorted();
  expect(live(table.dedupe.map((row) => [row.id, row] as [string, { at: number }]))).toEqual(
    live(model.ids),
  );
  expect(table.dedupe.length).toBeLessThanOrEqual(CAP);
  const listed = await counters.list();
  expect(listed.ok && listed.counters).toEqual(
    [...model.counts]
      .filter(([, v]) => v !== 0)
      .toSorted(([a], [b]) => (a < b ? -1 : 1))
      .map(([key, value]) => ({ key, value })),
  );
}

describe("the object against a model", () => {
  it("random increments, bursts, resets, clock jumps, evictions and alarms keep every count and dedupe exact", async () => {
    setLimits({ dedupeWindowMs: WINDOW, maxIdempotencyKeys: CAP });
    let played = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 25 }), async (ops) => {
        await play(freshCounters(), ops);
        played++;
      }),
      { numRuns: 40 },
    );
    expect(played).toBe(40);
  });
});
