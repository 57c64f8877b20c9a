/**
 * How a benchmarked row is made. A row names one operation on one Durable Object binding; the
 * harness gives each run of a row a fresh object (or, for a `freshObjectPerCall` row, a fresh
 * object per call), runs `setup` and a warm-up untimed, then times `op` N times.
 *
 * Pattern rows (`hotPath`) are judged against the catalog's bar; the others are what they are
 * judged by: the ceilings (`ceilingRow`), each signature's floor (`floorRow`, in `floors.ts`)
 * and the naive baseline (`baselineRow`). A `localRow` times work that makes no call at all
 * (a pattern's in-isolate path) and reports its ops/s alone.
 */
import type { CeilingKind, RowInfo } from "./config.ts";
import type { BenchStatsRpc, StorageStats } from "./instrument.ts";
import type { Env } from "./objects.ts";

export type Benched = Rpc.DurableObjectBranded & BenchStatsRpc;

interface Measured<T extends Benched> {
  /** `<package>/<operation>`. */
  name: string;
  namespace: (env: Env) => DurableObjectNamespace<T>;
  /** One timed call. Throws if the result is not the one the row claims to measure. */
  op: (object: DurableObjectStub<T>) => Promise<unknown>;
  /**
   * Calls per run when fewer than the run's N are wanted: a cold-key row's every call creates a
   * database; a row whose object holds a fixed amount of work must not run out of it; a naive
   * baseline slow enough that the objects of the rows taking turns with it sit idle until
   * workerd evicts them (their row counts, kept in memory, go with them).
   */
  maxCalls?: number;
}

/** Which objects the calls go to: one per run (the default), or a new one for every call. */
type Objects<T extends Benched> =
  | {
      freshObjectPerCall?: false;
      /** Untimed, once per fresh object, before warm-up: e.g. a priming call. */
      setup?: (object: DurableObjectStub<T>) => Promise<unknown>;
    }
  | {
      /**
       * Every call (warm-up included) goes to an object never called before, so each timed
       * call pays for starting an object and creating its database, as the first call for a
       * new key does. Its rows counted include the object's start-up.
       */
      freshObjectPerCall: true;
    };

/** A pattern's hot path: judged against its floor, its baseline and its declared writes. */
export type HotPath<T extends Benched> = Measured<T> &
  Objects<T> & {
    /** The ceiling for this kind of work (see `CeilingKind`). */
    ceiling: CeilingKind;
    /** The floor row measuring this op's RPC signature alone (`floors.ts`). */
    floor: string;
    /** The naive design of the source articles, where one exists: the bar is 2x it. */
    baseline?: string;
    /** The most storage rows one call may write: the bar fails a row that writes more. */
    maxRowsWrittenPerOp: number;
  };

/** A floor or a baseline: judged by nothing, but shown against its ceiling. */
export type ReferencePath<T extends Benched> = Measured<T> &
  Objects<T> & {
    ceiling: CeilingKind;
  };

/** A row with its object type erased, so rows for different classes share one list. */
export interface Row extends RowInfo {
  /** Untimed: setup and warm-up calls, then the row counters zeroed. */
  prepare(env: Env, objectName: string, warmupCalls: number, inFlight: number): Promise<void>;
  /**
   * Timed calls `first` to `first + calls - 1` of a run (its calls come in slices), at most
   * `inFlight` outstanding at once.
   */
  run(env: Env, objectName: string, first: number, calls: number, inFlight: number): Promise<void>;
  /** Rows counted since `prepare`, over every object the run's `calls` calls went to. */
  stats(env: Env, objectName: string, calls: number): Promise<StorageStats>;
  /** Evicts every object the run used (warm-up included), so none lingers into the next run. */
  release(env: Env, objectName: string, calls: number, warmupCalls: number): Promise<void>;
}

/** Anything that names one object: a stub, as `setup` and `op` receive it. */
export type RunObject = { readonly id: DurableObjectId };

/**
 * State a row's calls carry from one to the next (a key counter, the holds its setup opened),
 * kept per object. The rows of a group take turns (see run.ts), so state kept for the whole
 * module would be shared by a row and its floor. `start` gives an object fresh state (call it in
 * `setup`); `of` gives its current state.
 */
export function perObject<S>(fresh: () => S): {
  start(object: RunObject): S;
  of(object: RunObject): S;
} {
  const states = new Map<string, S>();
  const start = (object: RunObject): S => {
    const state = fresh();
    states.set(object.id.toString(), state);
    return state;
  };
  return { start, of: (object) => states.get(object.id.toString()) ?? start(object) };
}

export function hotPath<T extends Benched>(path: HotPath<T>): Row {
  return row(path, {
    role: "pattern",
    ceiling: path.ceiling,
    floor: path.floor,
    baseline: path.baseline ?? null,
    maxRowsWrittenPerOp: path.maxRowsWrittenPerOp,
  });
}

export function ceilingRow<T extends Benched>(path: Measured<T> & Objects<T>): Row {
  return row(path, { role: "ceiling", ceiling: null });
}

export function floorRow<T extends Benched>(path: ReferencePath<T>): Row {
  return row(path, { role: "floor", ceiling: path.ceiling });
}

export function baselineRow<T extends Benched>(path: ReferencePath<T>): Row {
  return row(path, { role: "baseline", ceiling: path.ceiling });
}

/**
 * Work done in the bench Worker itself, such as a client library evaluating against state it
 * fetched in `setup`: `op` may ignore the object, and the rows counted on it prove it made no
 * call that touched storage.
 */
export function localRow<T extends Benched>(path: Measured<T> & Objects<T>): Row {
  return row(path, { role: "local", ceiling: null });
}

function row<T extends Benched>(
  path: Measured<T> & Objects<T>,
  info: Pick<RowInfo, "role" | "ceiling"> &
    Partial<Pick<RowInfo, "floor" | "baseline" | "maxRowsWrittenPerOp">>,
): Row {
  const fresh = path.freshObjectPerCall === true;
  const setup = path.freshObjectPerCall === true ? undefined : path.setup;
  // Timed call `index` of a run: on the run's one object, or on an object of its own.
  const objectFor = (env: Env, objectName: string, index: number) =>
    path.namespace(env).getByName(fresh ? `${objectName}/${index}` : objectName);
  return {
    name: path.name,
    role: info.role,
    ceiling: info.ceiling,
    floor: info.floor ?? null,
    baseline: info.baseline ?? null,
    maxRowsWrittenPerOp: info.maxRowsWrittenPerOp ?? null,
    freshObjectPerCall: fresh,
    maxCalls: path.maxCalls ?? null,

    // The warm-up runs at the timed run's in-flight count: an object's first burst of concurrent
    // calls is slower than the ones after it, and cost up to 10% of a timed run at 64 in flight
    // when the warm-up was sequential.
    async prepare(env, objectName, warmupCalls, inFlight) {
      if (fresh) {
        // Warm-up objects are named apart from the timed ones, whose counters start at zero.
        await runLanes(
          (index) => path.op(objectFor(env, `${objectName}/warmup`, index)),
          warmupCalls,
          inFlight,
        );
        return;
      }
      const object = objectFor(env, objectName, 0);
      await setup?.(object);
      await runLanes(() => path.op(object), warmupCalls, inFlight);
      await statsView(object).benchResetStats();
    },

    async run(env, objectName, first, calls, inFlight) {
      if (fresh) {
        await runLanes(
          (index) => path.op(objectFor(env, objectName, first + index)),
          calls,
          inFlight,
        );
        return;
      }
      const object = objectFor(env, objectName, 0);
      await runLanes(() => path.op(object), calls, inFlight);
    },

    async stats(env, objectName, calls) {
      const total: StorageStats = { rowsRead: 0, rowsWritten: 0 };
      const add = async (index: number) => {
        const { rowsRead, rowsWritten } = await statsView(
          objectFor(env, objectName, index),
        ).benchStats();
        total.rowsRead += rowsRead;
        total.rowsWritten += rowsWritten;
      };
      if (fresh) await runLanes(add, calls, UNTIMED_IN_FLIGHT);
      else await add(0);
      return total;
    },

    async release(env, objectName, calls, warmupCalls) {
      if (!fresh) {
        await evict(objectFor(env, objectName, 0));
        return;
      }
      await runLanes(
        (index) => evict(objectFor(env, `${objectName}/warmup`, index)),
        warmupCalls,
        UNTIMED_IN_FLIGHT,
      );
      await runLanes((index) => evict(objectFor(env, objectName, index)), calls, UNTIMED_IN_FLIGHT);
    },
  };
}

/** Empties an object's storage (its alarm too) and ends it. */
async function evict<T extends Benched>(object: DurableObjectStub<T>): Promise<void> {
  // The eviction fails the call that asked for it: that failure is the eviction.
  await statsView(object)
    .benchEvict()
    .catch(() => {});
}

/** Untimed calls to each object of a fresh-object run (counters, eviction), this many at once. */
const UNTIMED_IN_FLIGHT = 64;

/**
 * The stub type of a generic T cannot be resolved to its methods; every benched class has the
 * stats methods (instrumented()), so view the same stub through that interface.
 */
function statsView<T extends Benched>(object: DurableObjectStub<T>): DurableObjectStub<Benched> {
  return object as unknown as DurableObjectStub<Benched>;
}

/**
 * `inFlight` lanes pull calls from one shared counter until `calls` have started, so exactly
 * `calls` are made, each with its own index, and at most `inFlight` are outstanding at once.
 */
async function runLanes(
  call: (index: number) => Promise<unknown>,
  calls: number,
  inFlight: number,
): Promise<void> {
  let started = 0;
  const lane = async () => {
    while (started < calls) {
      await call(started++);
    }
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, calls) }, lane));
}

/**
 * Each call of a `freshObjectPerCall` row starts an object, which creates its SQLite database and holds it open
 * until the run evicts it. 1,000 calls time about as long as a no-op row's 9,984 do, keep the
 * run short and stay far below the file descriptors workerd may hold open (20,000 here).
 */
export const COLD_CALLS = 1_000;
