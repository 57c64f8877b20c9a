/**
 * The data plane the controller drives: where work comes from and what does it. Both are plain
 * interfaces, so a service binding to a `WorkerEntrypoint`, a Durable Object stub or an object
 * in the same isolate all fit. Items are ids: the control plane decides how many, the data plane
 * knows what they are.
 */
import { MAX_ITEM_ID_LENGTH } from "./config";
import type { BatchOutcome, Sample } from "./adapt";

/** Hands out up to `size` items of pending work; an empty list means nothing to do now. */
export interface WorkSource {
  fetchBatch(size: number): Promise<string[]>;
}

/** One item's result. `latencyMs` defaults to the batch's time. */
export interface ItemResult {
  id: string;
  ok: boolean;
  latencyMs?: number;
}

/**
 * Processes a batch, reporting each item. Items must be idempotent: a batch interrupted before
 * its outcome was recorded (the object restarted mid-batch) is sent again.
 */
export interface Processor {
  process(ids: string[]): Promise<ItemResult[]>;
}

export interface Downstream {
  source: WorkSource;
  processor: Processor;
}

/** The env binding the controller uses by default for both roles. */
export const DATA_PLANE_BINDING = "CONTROLLER_DATA_PLANE";

/**
 * The binding named `name` in `env`, as both work source and processor: a service binding to an
 * entrypoint with `fetchBatch` and `process` methods. Throws a clear error when it is missing.
 *
 * @example
 * protected override downstream() { return downstreamFromEnv(this.env, "MY_DATA_PLANE"); }
 */
export function downstreamFromEnv(env: unknown, name: string = DATA_PLANE_BINDING): Downstream {
  const binding = (env as Record<string, unknown> | undefined)?.[name];
  if (typeof binding !== "object" || binding === null) {
    throw new Error(
      `no binding named "${name}" in env: add a service binding to a data plane with fetchBatch and process`,
    );
  }
  return { source: binding as WorkSource, processor: binding as Processor };
}

/**
 * The source's answer as at most `size` valid ids, or an error message: anything but an array
 * of non-empty strings up to MAX_ITEM_ID_LENGTH, without duplicates, is refused.
 */
export function checkBatch(value: unknown, size: number): string[] | string {
  if (!Array.isArray(value)) return "work source returned something other than an array";
  const ids = value.slice(0, size);
  const seen = new Set<string>();
  for (const id of ids) {
    if (typeof id !== "string" || id.length === 0 || id.length > MAX_ITEM_ID_LENGTH) {
      return `work source returned an item id that is not a string of 1-${MAX_ITEM_ID_LENGTH} characters`;
    }
    if (seen.has(id)) return `work source returned the id "${id.slice(0, 40)}" twice`;
    seen.add(id);
  }
  return ids as string[];
}

/**
 * One sample per item of the batch, from the processor's answer: an item it did not report, or
 * reported in a malformed way, counts as failed; results for other ids are ignored.
 */
export function samplesFrom(
  ids: readonly string[],
  results: unknown,
  elapsedMs: number,
): BatchOutcome {
  if (!Array.isArray(results)) {
    return failedBatch(ids.length, elapsedMs, "processor returned something other than an array");
  }
  const reported = new Map<string, { ok: boolean; latencyMs: number }>();
  for (const result of results.slice(0, ids.length * 2)) {
    if (typeof result !== "object" || result === null) continue;
    const { id, ok, latencyMs } = result as Record<string, unknown>;
    if (typeof id !== "string" || typeof ok !== "boolean") continue;
    const latency =
      typeof latencyMs === "number" && Number.isFinite(latencyMs) && latencyMs >= 0
        ? Math.round(latencyMs)
        : elapsedMs;
    reported.set(id, { ok, latencyMs: latency });
  }
  const samples: Sample[] = ids.map((id) => {
    const result = reported.get(id);
    return result === undefined ? [0, elapsedMs] : [result.ok ? 1 : 0, result.latencyMs];
  });
  return { samples, error: null };
}

/** A batch that failed as a whole: every item (at least one) counted as failed. */
export function failedBatch(items: number, elapsedMs: number, error: string): BatchOutcome {
  const samples: Sample[] = Array.from({ length: Math.max(1, items) }, () => [0, elapsedMs]);
  return { samples, error: error.slice(0, 200) };
}
