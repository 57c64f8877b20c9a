/**
 * Settings both sides of the bench need: the Node runner (which configures Miniflare and checks
 * arguments) and the bench Worker (which runs the calls). Plain data only, so Node can import it
 * without bundling.
 */

/** The compatibility date used across the repo. */
export const COMPATIBILITY_DATE = "2026-11-01";

/**
 * The bench Worker's Durable Object bindings: binding name -> the class `objects.ts` exports
 * under that name. `objects.ts` derives the Worker's `Env` type from this, so a binding whose
 * class is not exported fails the type-check instead of failing at boot. Every class is bound
 * SQLite-backed, the only kind new Durable Objects can be.
 */
export const BINDINGS = {
  CEILING: "CeilingObject",
  BASELINE: "TimestampArrayLimiter",
  RATE_LIMITER: "BenchRateLimiter",
  RATE_LIMITER_SIGNATURE: "RateLimiterSignatureFloor",
} as const;

/**
 * The limit of the "admitted" rate-limiter and baseline rows, per 60 s. Every call to one
 * object (warm-up included) must be admitted, so warm-up + timed calls may not exceed it.
 */
export const ADMITTED_LIMIT = 10_000;

/** Untimed calls on each fresh object before timing: JIT, caches and the first write settle. */
export const WARMUP_CALLS = 16;

/** Which ceiling a row is judged against: `noop` if the op writes nothing, `write` if it writes. */
export type CeilingKind = "noop" | "write";

/** The ceiling rows' names, so a row's `ceiling` can be resolved to a measured rate. */
export const CEILING_ROWS: Record<CeilingKind, string> = {
  noop: "ceiling/noop",
  write: "ceiling/write-row",
};

/** A row as the Worker describes it to the runner (GET /rows). */
export interface RowInfo {
  /** `<package>/<operation>`. */
  name: string;
  /** The ceiling for this kind of work; null on the ceiling rows themselves. */
  ceiling: CeilingKind | null;
  /** Another row to compare with in the table's "vs baseline" column. */
  baseline: string | null;
  /** The row measuring this op's RPC signature alone (`floors.ts`), for the "vs floor" column. */
  floor: string | null;
}

/** Calls in flight for each row: one at a time, and enough to queue at the object's input gate. */
export const IN_FLIGHT = [1, 64] as const;
