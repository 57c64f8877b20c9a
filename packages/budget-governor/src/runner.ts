/**
 * The data plane as the governor sees it: anything with a `run` method. A service binding to a
 * `WorkerEntrypoint`, an RPC stub or a plain object all fit, so the governor decides and a
 * stateless Worker does the work.
 */

/** One processor's turn in `executeCycle`: what to run, on which model, within what budget. */
export interface RunRequest {
  cycleId: number;
  processorId: string;
  phase: number;
  tier: string;
  model: string;
  costPerCall: number;
  maxConcurrency: number;
  /** The most this run may spend, in money units: it is held by `reservationId` meanwhile. */
  budget: number;
  reservationId: string;
}

/** What a run reports back: money units spent, work items done, errors met. */
export interface UsageReport {
  spent: number;
  items: number;
  errors: number;
}

/**
 * The dispatch target `executeCycle` calls once per enabled processor.
 *
 * @example
 * // A service binding to `export class DataPlane extends WorkerEntrypoint { async run(req) {...} }`
 * class MyGovernor extends BudgetGovernor {
 *   protected override processorRunner(): ProcessorRunner | undefined {
 *     return this.env.DATA_PLANE;
 *   }
 * }
 */
export interface ProcessorRunner {
  run(request: RunRequest): Promise<UsageReport>;
}

const MAX_COUNT = 1_000_000_000;
/** MAX_AMOUNT of config.ts, repeated so this file stands alone. */
const MAX_SPEND = 1_000_000_000_000_000;

function whole(n: unknown, max: number): n is number {
  return typeof n === "number" && Number.isSafeInteger(n) && n >= 0 && n <= max;
}

/** A usage report the governor can record, or undefined for anything else a runner returned. */
export function parseUsageReport(value: unknown, maxSpend = MAX_SPEND): UsageReport | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const { spent, items, errors } = value as Record<string, unknown>;
  if (!whole(spent, maxSpend) || !whole(items, MAX_COUNT) || !whole(errors, MAX_COUNT)) {
    return undefined;
  }
  return { spent, items, errors };
}
