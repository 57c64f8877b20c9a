/**
 * The reserve / commit / release accounting for one processor in one cycle, as pure functions.
 * All amounts are whole numbers of money units (the caller picks the unit: micro-dollars,
 * cents, tokens), so every comparison is exact.
 *
 * The invariant every function keeps: `committed + reserved <= allocated`. Spend beyond it is
 * never charged to the budget: it is recorded apart, as `overrun` (see `commitSpend`).
 */

export interface Ledger {
  /** This processor's share of the cycle's budget. */
  allocated: number;
  /** Spend charged against the budget by commits. */
  committed: number;
  /** Held by open reservations. */
  reserved: number;
  /** Spend reported beyond what the budget could cover: recorded, never charged. */
  overrun: number;
}

/** What a new reservation may still take: the allocation less what is committed or held. */
export function available(ledger: Ledger): number {
  return Math.max(0, ledger.allocated - ledger.committed - ledger.reserved);
}

/**
 * Holds `estimate` if it fits in what is available; otherwise refuses and changes nothing.
 *
 * @example
 * reserveSpend({ allocated: 100, committed: 60, reserved: 30, overrun: 0 }, 20); // undefined
 */
export function reserveSpend(ledger: Ledger, estimate: number): Ledger | undefined {
  if (estimate > available(ledger)) return undefined;
  return { ...ledger, reserved: ledger.reserved + estimate };
}

export interface CommitResult {
  ledger: Ledger;
  /** What was charged against the budget. */
  charged: number;
  /** What was spent beyond the budget: `actual - charged`. */
  overrun: number;
}

/**
 * Settles a reservation that holds `held` (its estimate while open; 0 once it has expired) with
 * the spend that actually happened. The rule for a commit above its estimate: the excess is
 * charged from the processor's unreserved remainder as far as it goes, and whatever the budget
 * cannot cover is recorded as overrun rather than charged, so `committed + reserved` never
 * passes `allocated`. A commit at or below its estimate charges exactly `actual` and returns the
 * rest of the hold to the pool.
 *
 * @example
 * commitSpend({ allocated: 100, committed: 0, reserved: 90, overrun: 0 }, 40, 55);
 * // charged 50 (40 held + the 10 unreserved), overrun 5
 */
export function commitSpend(ledger: Ledger, held: number, actual: number): CommitResult {
  const reservedByOthers = ledger.reserved - held;
  const coverable = Math.max(0, ledger.allocated - ledger.committed - reservedByOthers);
  const charged = Math.min(actual, coverable);
  const overrun = actual - charged;
  return {
    ledger: {
      allocated: ledger.allocated,
      committed: ledger.committed + charged,
      reserved: reservedByOthers,
      overrun: Math.min(Number.MAX_SAFE_INTEGER, ledger.overrun + overrun),
    },
    charged,
    overrun,
  };
}

/** Returns a hold to the pool: a released or expired reservation. */
export function releaseHold(ledger: Ledger, held: number): Ledger {
  return { ...ledger, reserved: ledger.reserved - held };
}
