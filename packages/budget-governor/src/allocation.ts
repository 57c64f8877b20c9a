/**
 * Splitting a cycle's budget across processors by weight: exact integers that always sum to the
 * total (largest remainder), computed without floating-point error.
 */

/** Weights are counted in millionths: a weight is a multiple of 0.000001 (closer ones round). */
export const WEIGHT_SCALE = 1_000_000;

export interface WeightedShare {
  id: string;
  weight: number;
}

/**
 * Allocates `total` (a whole number of money units) across `shares` in proportion to their
 * weights, as whole numbers summing exactly to `total`. Each share gets the floor of its exact
 * quota; the units left over go one each to the largest remainders (ties: the earlier share).
 * Weights need not sum to 1: they are normalised. All weights 0 allocate nothing.
 *
 * @example
 * allocate(100, [{ id: "a", weight: 0.5 }, { id: "b", weight: 0.25 }, { id: "c", weight: 0.25 }]);
 * // Map { "a" => 50, "b" => 25, "c" => 25 }
 */
export function allocate(total: number, shares: readonly WeightedShare[]): Map<string, number> {
  const parts = shares.map((share) => BigInt(Math.round(share.weight * WEIGHT_SCALE)));
  const sum = parts.reduce((a, b) => a + b, 0n);
  const allocations = new Map<string, number>();
  if (sum === 0n) {
    for (const share of shares) allocations.set(share.id, 0);
    return allocations;
  }
  // Exact: total x part fits easily in a BigInt, so floor and remainder carry no rounding.
  const budget = BigInt(total);
  const floors = parts.map((part) => (budget * part) / sum);
  const remainders = parts.map((part, i) => budget * part - (floors[i] ?? 0n) * sum);
  let left = budget - floors.reduce((a, b) => a + b, 0n);
  const order = shares
    .map((_, i) => i)
    .toSorted((a, b) => {
      const ra = remainders[a] ?? 0n;
      const rb = remainders[b] ?? 0n;
      return ra === rb ? a - b : rb > ra ? 1 : -1;
    });
  const result = [...floors];
  for (const i of order) {
    if (left === 0n) break;
    result[i] = (result[i] ?? 0n) + 1n;
    left--;
  }
  shares.forEach((share, i) => allocations.set(share.id, Number(result[i] ?? 0n)));
  return allocations;
}
