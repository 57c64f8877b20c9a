/* oxlint-disable vitest/no-conditional-expect -- properties branch on the generated case */
import * as fc from "fast-check";
import { describe, expect, it } from "vitest";
import { allocate, WEIGHT_SCALE } from "../src/index";

const shares = (...weights: number[]) => weights.map((weight, i) => ({ id: `p${i}`, weight }));

describe("allocate (largest remainder)", () => {
  it("splits by weight in whole units", () => {
    expect([...allocate(1_000, shares(0.5, 0.3, 0.2)).values()]).toEqual([500, 300, 200]);
  });

  it("gives the leftover units to the largest remainders, ties to the earlier share", () => {
    // 100 / 3 = 33.33 each: one unit left, the first share takes it.
    expect([...allocate(100, shares(1 / 3, 1 / 3, 1 / 3)).values()]).toEqual([34, 33, 33]);
    // 10 x (0.55, 0.45) = 5.5, 4.5: tie on .5, the earlier share wins.
    expect([...allocate(10, shares(0.55, 0.45)).values()]).toEqual([6, 4]);
    // 7 x (0.6, 0.25, 0.15) = 4.2, 1.75, 1.05: the .75 takes the one unit left.
    expect([...allocate(7, shares(0.6, 0.25, 0.15)).values()]).toEqual([4, 2, 1]);
  });

  it("is exact where floating point is not (0.1 + 0.2 != 0.3)", () => {
    expect([...allocate(10, shares(0.1, 0.2, 0.7)).values()]).toEqual([1, 2, 7]);
    expect([...allocate(1e15, shares(0.1, 0.2, 0.7)).values()]).toEqual([1e14, 2e14, 7e14]);
  });

  it("allocates nothing to a zero weight, and zero of a zero budget", () => {
    expect([...allocate(5, shares(0, 1)).values()]).toEqual([0, 5]);
    expect([...allocate(0, shares(0.5, 0.5)).values()]).toEqual([0, 0]);
    expect([...allocate(9, shares(0, 0)).values()]).toEqual([0, 0]);
  });

  const weightsArb = fc
    .array(fc.integer({ min: 0, max: WEIGHT_SCALE }), { minLength: 1, maxLength: 32 })
    .filter((parts) => parts.some((p) => p > 0))
    .map((parts) => parts.map((p) => p / WEIGHT_SCALE));
  const totalArb = fc.oneof(
    fc.integer({ min: 0, max: 20 }),
    fc.integer({ min: 0, max: 1_000_000_000_000_000 }),
  );

  it("property: allocations are whole, sum exactly to the total, and each is within 1 of its quota", () => {
    fc.assert(
      fc.property(totalArb, weightsArb, (total, weights) => {
        const result = [...allocate(total, shares(...weights)).values()];
        const sum = weights.reduce((a, b) => a + b, 0);
        expect(result.every((n) => Number.isSafeInteger(n) && n >= 0)).toBe(true);
        expect(result.reduce((a, b) => a + b, 0)).toBe(total);
        result.forEach((n, i) => {
          const quota = (total * (weights[i] ?? 0)) / sum;
          // Quota in floating point, so allow its rounding on top of the unit.
          expect(Math.abs(n - quota)).toBeLessThanOrEqual(1 + quota * 1e-9);
          if (weights[i] === 0) expect(n).toBe(0);
        });
      }),
      { numRuns: 500 },
    );
  });

  it("property: a larger weight never gets less than a smaller one", () => {
    fc.assert(
      fc.property(totalArb, weightsArb, (total, weights) => {
        const result = [...allocate(total, shares(...weights)).values()];
        for (let i = 0; i < weights.length; i++) {
          for (let j = 0; j < weights.length; j++) {
            if ((weights[i] ?? 0) > (weights[j] ?? 0)) {
              expect(result[i] ?? 0).toBeGreaterThanOrEqual(result[j] ?? 0);
            }
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});
