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
  CHECKPOINTS: "BenchCheckpoint",
  CHECKPOINT_SIGNATURE: "CheckpointSignatureFloor",
  EVENT_REACTOR: "BenchEventReactor",
  EVENT_REACTOR_SIGNATURE: "EventReactorSignatureFloor",
  AGENT_CEILING: "AgentCeilingObject",
  FETCH_CEILING: "FetchCeilingObject",
  LEADER_ELECTION: "BenchLeaderElection",
  STEPPING_LEADER_ELECTION: "BenchSteppingLeaderElection",
  LEADER_ELECTION_SIGNATURE: "LeaderElectionSignatureFloor",
  BASELINE: "TimestampArrayLimiter",
  RATE_LIMITER: "BenchRateLimiter",
  RATE_LIMITER_SIGNATURE: "RateLimiterSignatureFloor",
  FEATURE_FLAGS: "BenchFeatureFlags",
  FEATURE_FLAGS_SIGNATURE: "FeatureFlagsSignatureFloor",
  FEATURE_FLAGS_BASELINE: "NaiveFeatureFlags",
  SESSIONS: "BenchSession",
  TOUCHING_SESSIONS: "BenchTouchingSession",
  SESSION_SIGNATURE: "SessionSignatureFloor",
  SESSION_BASELINE: "RewriteOnReadSessionBaseline",
  ADAPTIVE_CONTROLLER: "BenchAdaptiveController",
  CONTROLLER_TICK_FLOOR: "ControllerTickFloorObject",
  COUNTERS: "BenchAggregatorCounter",
  COUNTER_FLOOR: "SharedFlushCounterFloorObject",
  COUNTER_WRITE_PER_CALL: "WritePerCallCounterFloorObject",
  COUNTER_BASELINE: "NaiveWritePerIncrementCounterObject",
  SIDECARS: "BenchStorageSidecar",
  SIDECAR_SIGNATURE: "SidecarSignatureFloorObject",
  SIDECAR_BASELINE: "NaiveArraySidecarObject",
  BUDGET_GOVERNORS: "BenchBudgetGovernor",
  GOVERNOR_SIGNATURE: "GovernorSignatureFloorObject",
  CACHE_COORDINATOR: "BenchCacheCoordinator",
  CACHE_COORDINATOR_FLOOR: "CacheCoordinatorFloorObject",
  CACHE_COORDINATOR_BASELINE: "NaiveCacheCoordinatorObject",
} as const;

/**
 * The limit of the "admitted" rate-limiter and baseline rows, per 60 s. Every call to one
 * object (warm-up included) must be admitted, so warm-up + timed calls may not exceed it.
 */
export const ADMITTED_LIMIT = 10_000;

/** Untimed calls on each fresh object before timing: JIT, caches and the first write settle. */
export const WARMUP_CALLS = 16;

/**
 * Which ceiling a row is judged against: `noop` if the op writes nothing, `write` if it writes,
 * `write-cold` if every call also starts an object never called before (a new key).
 */
export type CeilingKind = "noop" | "write" | "write-cold";

/** The ceiling rows' names, so a row's `ceiling` can be resolved to a measured rate. */
export const CEILING_ROWS: Record<CeilingKind, string> = {
  noop: "ceiling/noop",
  write: "ceiling/write-row",
  "write-cold": "ceiling/write-row-cold",
};

/**
 * What a row is for. Only `pattern` rows are judged against the catalog's bar; the others are
 * what they are judged by: the ceilings, each pattern signature's floor, and the naive baseline.
 * A `local` row times a pattern's work inside the calling isolate (no call at all): it has no
 * ceiling or floor, and reports its ops/s alone.
 */
export type RowRole = "ceiling" | "floor" | "baseline" | "pattern" | "local";

/** A row as the Worker describes it to the runner (GET /rows). */
export interface RowInfo {
  /** `<package>/<operation>`. */
  name: string;
  role: RowRole;
  /** The ceiling for this kind of work; null on the ceiling rows themselves. */
  ceiling: CeilingKind | null;
  /** The row measuring this op's RPC signature alone (`floors.ts`); set on every pattern row. */
  floor: string | null;
  /** The naive design this op must beat by 2x, where the source articles have one. */
  baseline: string | null;
  /** The most storage rows one call may write, as the pattern declares; pattern rows only. */
  maxRowsWrittenPerOp: number | null;
  /** Each call goes to an object never called before, as the first call for a new key does. */
  freshObjectPerCall: boolean;
  /** Fewer calls than the run's N: see `maxCalls` in rows.ts. */
  maxCalls: number | null;
}

/** Calls in flight for each row: one at a time, and enough to queue at the object's input gate. */
export const IN_FLIGHT = [1, 64] as const;
