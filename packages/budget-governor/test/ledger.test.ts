/* oxlint-disable vitest/no-conditional-expect -- properties branch on the generated case */
import * as fc from "fast-check";
import { describe, expect, it } from "vitest";
import { available, commitSpend, releaseHold, reserveSpend, type Ledger } from "../src/index";

const fresh = (allocated: number): Ledger => ({ allocated, committed: 0, reserved: 0, overrun: 0 });

describe("the reserve / commit accounting", () => {
  it("reserves only what is available", () => {
    const ledger = { allocated: 100, committed: 60, reserved: 30, overrun: 0 };
    expect(reserveSpend(ledger, 10)).toEqual({ ...ledger, reserved: 40 });
    expect(reserveSpend(ledger, 11)).toBeUndefined();
  });

  it("a commit at or below its estimate charges exactly the actual cost and frees the rest", () => {
    const ledger = { allocated: 100, committed: 0, reserved: 50, overrun: 0 };
    expect(commitSpend(ledger, 50, 20)).toEqual({
      ledger: { allocated: 100, committed: 20, reserved: 0, overrun: 0 },
      charged: 20,
      overrun: 0,
    });
  });

  it("a commit above its estimate takes the excess from the unreserved remainder, the rest is overrun", () => {
    // 90 held (40 by this reservation), 10 unreserved: 55 spent = 50 charged + 5 overrun.
    const ledger = { allocated: 100, committed: 0, reserved: 90, overrun: 0 };
    expect(commitSpend(ledger, 40, 55)).toEqual({
      ledger: { allocated: 100, committed: 50, reserved: 50, overrun: 5 },
      charged: 50,
      overrun: 5,
    });
    // Room enough: the whole excess is charged.
    expect(commitSpend({ ...ledger, reserved: 40 }, 40, 55).overrun).toBe(0);
  });

  it("an expired reservation (nothing held) commits from the remainder by the same rule", () => {
    const ledger = { allocated: 100, committed: 95, reserved: 0, overrun: 0 };
    expect(commitSpend(ledger, 0, 8)).toMatchObject({ charged: 5, overrun: 3 });
  });

  type Op =
    | { kind: "reserve"; estimate: number }
    | { kind: "commit"; pick: number; actual: number }
    | { kind: "release"; pick: number }
    | { kind: "expire"; pick: number };

  const amount = fc.oneof(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 1_000 }));
  const opArb: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ kind: fc.constant("reserve" as const), estimate: amount }),
    fc.record({
      kind: fc.constant("commit" as const),
      pick: fc.nat(),
      actual: fc.oneof(fc.integer({ min: 0, max: 12 }), fc.integer({ min: 0, max: 2_000 })),
    }),
    fc.record({ kind: fc.constant("release" as const), pick: fc.nat() }),
    fc.record({ kind: fc.constant("expire" as const), pick: fc.nat() }),
  );

  it("property: committed + reserved never exceeds allocated, and every unit is accounted for", () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 5_000 })),
        fc.array(opArb, { maxLength: 60 }),
        (allocated, ops) => {
          let ledger = fresh(allocated);
          // The model: each open hold, plus the expired ones (which still may commit, holding 0).
          const open: number[] = [];
          const expired: number[] = [];
          let spentTotal = 0;
          for (const op of ops) {
            const before = ledger;
            if (op.kind === "reserve") {
              const next = reserveSpend(ledger, op.estimate);
              expect(next === undefined).toBe(op.estimate > available(ledger));
              if (next !== undefined) {
                ledger = next;
                open.push(op.estimate);
              } else {
                expect(reserveSpend(ledger, op.estimate)).toBeUndefined();
              }
            } else if (op.kind === "commit") {
              const pool = open.length + expired.length;
              if (pool === 0) continue;
              const index = op.pick % pool;
              const held =
                index < open.length
                  ? open.splice(index, 1)[0]!
                  : (expired.splice(index - open.length, 1), 0);
              const result = commitSpend(ledger, held, op.actual);
              expect(result.charged + result.overrun).toBe(op.actual);
              expect(result.charged).toBeGreaterThanOrEqual(0);
              // At or below what it held, a commit is charged in full.
              if (op.actual <= held) expect(result.overrun).toBe(0);
              // Overrun only when the budget was truly full.
              if (result.overrun > 0) {
                expect(result.ledger.committed + result.ledger.reserved).toBe(allocated);
              }
              ledger = result.ledger;
              spentTotal += op.actual;
            } else {
              if (open.length === 0) continue;
              const estimate = open.splice(op.pick % open.length, 1)[0]!;
              ledger = releaseHold(ledger, estimate);
              if (op.kind === "expire") expired.push(estimate);
            }
            // The invariant, and the held total matching the open holds exactly.
            expect(ledger.committed + ledger.reserved).toBeLessThanOrEqual(ledger.allocated);
            expect(ledger.reserved).toBe(open.reduce((a, b) => a + b, 0));
            expect(ledger.committed + ledger.overrun).toBe(spentTotal);
            expect(ledger.committed).toBeGreaterThanOrEqual(before.committed);
            expect(ledger.allocated).toBe(allocated);
          }
        },
      ),
      { numRuns: 400 },
    );
  });
});
