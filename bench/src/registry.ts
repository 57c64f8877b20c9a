/**
 * Every benchmarked hot path, in the order the table prints them. A row names one operation on
 * one Durable Object binding; the harness gives each (row, calls-in-flight) run a fresh object,
 * runs `setup` and a warm-up untimed, then times `op` N times.
 *
 * To add a pattern's hot path: bind its class (`objects.ts` + `config.ts`), then add a
 * `hotPath({ ... })` entry below.
 */
import { ALGORITHMS, type Algorithm, type Policy } from "@do-patterns/rate-limiter";
import { ADMITTED_LIMIT, CEILING_ROWS, type CeilingKind, type RowInfo } from "./config.ts";
import type { BenchStatsRpc, StorageStats } from "./instrument.ts";
import type { Env } from "./objects.ts";

type Benched = Rpc.DurableObjectBranded & BenchStatsRpc;

export interface HotPath<T extends Benched> {
  /** `<package>/<operation>`. */
  name: string;
  /** The ceiling for this kind of work; null on the ceiling rows themselves. */
  ceiling: CeilingKind | null;
  /** Another row to compare with in the table's "vs baseline" column. */
  baseline?: string;
  /** The row measuring this op's RPC signature alone (`floors.ts`), for the "vs floor" column. */
  floor?: string;
  namespace: (env: Env) => DurableObjectNamespace<T>;
  /** Untimed, once per fresh object, before warm-up: e.g. a priming call. */
  setup?: (object: DurableObjectStub<T>) => Promise<unknown>;
  /** One timed call. Throws if the result is not the one the row claims to measure. */
  op: (object: DurableObjectStub<T>) => Promise<unknown>;
}

/** A row with its object type erased, so rows for different classes share one list. */
export interface Row extends RowInfo {
  open(env: Env, objectName: string): RowObject;
}

export interface RowObject {
  setup(): Promise<void>;
  op(): Promise<void>;
  stats(): Promise<StorageStats>;
  resetStats(): Promise<void>;
}

export function hotPath<T extends Benched>(path: HotPath<T>): Row {
  return {
    name: path.name,
    ceiling: path.ceiling,
    baseline: path.baseline ?? null,
    floor: path.floor ?? null,
    open(env, objectName) {
      const object = path.namespace(env).getByName(objectName);
      // The stub type of a generic T cannot be resolved to its methods; every benched class has
      // the stats methods (instrumented()), so view the same stub through that interface.
      const counted = object as unknown as DurableObjectStub<
        Rpc.DurableObjectBranded & BenchStatsRpc
      >;
      return {
        setup: async () => {
          await path.setup?.(object);
        },
        op: async () => {
          await path.op(object);
        },
        stats: async () => {
          const { rowsRead, rowsWritten } = await counted.benchStats();
          return { rowsRead, rowsWritten };
        },
        resetStats: async () => {
          await counted.benchResetStats();
        },
      };
    },
  };
}

/** Fails the row, rather than silently measuring the wrong path, if a decision is unexpected. */
async function expectAllowed(
  result: Promise<{ allowed: boolean }>,
  allowed: boolean,
): Promise<void> {
  const decision = await result;
  if (decision.allowed !== allowed) {
    throw new Error(
      `expected ${allowed ? "an admitted" : "a denied"} call, got ${JSON.stringify(decision)}`,
    );
  }
}

/** Admits every call a run makes (at most ADMITTED_LIMIT per object). */
const admitting = (algorithm: Algorithm): Policy => ({
  name: "bench",
  algorithm,
  limit: ADMITTED_LIMIT,
  windowSeconds: 60,
});
/** Denies every call after the first for the next hour. */
const denying = (algorithm: Algorithm): Policy => ({
  name: "bench",
  algorithm,
  limit: 1,
  windowSeconds: 3600,
});

const BASELINE = "baseline/timestamp-array";
const CHECK_FLOOR = "rate-limiter/floor-check";
const DENIED_CHECK_FLOOR = "rate-limiter/floor-check-denied";

export const ROWS: Row[] = [
  hotPath({
    name: CEILING_ROWS.noop,
    ceiling: null,
    namespace: (env) => env.CEILING,
    op: (ceiling) => ceiling.noop(),
  }),
  hotPath({
    name: CEILING_ROWS.write,
    ceiling: null,
    namespace: (env) => env.CEILING,
    op: (ceiling) => ceiling.writeRow(),
  }),
  hotPath({
    name: BASELINE,
    ceiling: "write",
    namespace: (env) => env.BASELINE,
    op: (baseline) => expectAllowed(baseline.check(ADMITTED_LIMIT, 60_000), true),
  }),
  hotPath({
    name: CHECK_FLOOR,
    ceiling: "write",
    namespace: (env) => env.RATE_LIMITER_SIGNATURE,
    op: (floor) => expectAllowed(floor.check(admitting("gcra")), true),
  }),
  hotPath({
    name: DENIED_CHECK_FLOOR,
    ceiling: "noop",
    namespace: (env) => env.RATE_LIMITER_SIGNATURE,
    op: (floor) => expectAllowed(floor.checkDenied(denying("gcra")), false),
  }),
  ...ALGORITHMS.map((algorithm) =>
    hotPath({
      name: `rate-limiter/${algorithm}-check`,
      ceiling: "write",
      baseline: BASELINE,
      floor: CHECK_FLOOR,
      namespace: (env) => env.RATE_LIMITER,
      op: (limiter) => expectAllowed(limiter.check(admitting(algorithm)), true),
    }),
  ),
  ...ALGORITHMS.map((algorithm) =>
    hotPath({
      name: `rate-limiter/${algorithm}-check-denied`,
      ceiling: "noop",
      floor: DENIED_CHECK_FLOOR,
      namespace: (env) => env.RATE_LIMITER,
      setup: (limiter) => expectAllowed(limiter.check(denying(algorithm)), true),
      op: (limiter) => expectAllowed(limiter.check(denying(algorithm)), false),
    }),
  ),
  hotPath({
    name: "rate-limiter/gcra-peek",
    ceiling: "noop",
    floor: DENIED_CHECK_FLOOR,
    namespace: (env) => env.RATE_LIMITER,
    // Peek at a key that has state, as a real caller would.
    setup: (limiter) => expectAllowed(limiter.check(admitting("gcra")), true),
    op: (limiter) => expectAllowed(limiter.peek(admitting("gcra")), true),
  }),
];
