/**
 * The controller's settings: their defaults, their bounds, and the validation that keeps every
 * stored configuration one the loop can run (thresholds in order, a minimum below a maximum).
 */
import * as z from "zod/mini";
import { describeZodError, objectError } from "./http";

/**
 * How the loop sizes, paces and protects its batches. Every field has a default
 * (`DEFAULT_CONFIG`); a partial input is merged over the current configuration, then the whole
 * is validated.
 */
export interface ControllerConfig {
  /** Smallest batch the loop ever sends (default 5). */
  minBatchSize: number;
  /** Largest batch the loop ever sends (default 50, at most MAX_BATCH_SIZE). */
  maxBatchSize: number;
  /** Batch size of the first tick after start or reset (default 10). */
  initialBatchSize: number;
  /** Pause between ticks while the downstream is healthy enough (default 60 s). */
  intervalMs: number;
  /** Longer pause while the success rate is below `shrinkAbove` (default 300 s). */
  backoffIntervalMs: number;
  /** Fetch plus process of one batch must finish within this, or the batch failed (default 30 s). */
  timeoutMs: number;
  /** Grow the batch x1.5 when the success rate is above this (default 0.95). */
  growAbove: number;
  /** Hold the batch size when the success rate is at least this (default 0.8). */
  holdAbove: number;
  /** Halve the batch when the success rate is at least this; below it, minimum batch and backoff interval (default 0.5). */
  shrinkAbove: number;
  /** Failed batches in a row that open the circuit breaker (default 5). */
  breakerThreshold: number;
  /** How long the breaker stays open before a probe (default 60 s); doubles on each failed probe. */
  cooldownMs: number;
  /** The cool-down never grows past this (default 600 s). */
  maxCooldownMs: number;
  /** Items in a half-open probe batch (default 1). */
  probeBatchSize: number;
  /** Item results kept in the rolling window that the success rate is measured over (default 100). */
  windowSize: number;
}

export const DEFAULT_CONFIG: Readonly<ControllerConfig> = Object.freeze({
  minBatchSize: 5,
  maxBatchSize: 50,
  initialBatchSize: 10,
  intervalMs: 60_000,
  backoffIntervalMs: 300_000,
  timeoutMs: 30_000,
  growAbove: 0.95,
  holdAbove: 0.8,
  shrinkAbove: 0.5,
  breakerThreshold: 5,
  cooldownMs: 60_000,
  maxCooldownMs: 600_000,
  probeBatchSize: 1,
  windowSize: 100,
});

/** Largest batch any configuration may ask for: the recorded batch stays well under 128 KiB. */
export const MAX_BATCH_SIZE = 500;
/** Largest rolling window: one stored value of at most this many results. */
export const MAX_WINDOW_SIZE = 1_000;
/** Item ids longer than this are refused, so the recorded batch stays bounded. */
export const MAX_ITEM_ID_LENGTH = 200;
/** Longest interval, cool-down or backoff: a day. */
export const MAX_INTERVAL_MS = 86_400_000;
/** Shortest interval between ticks. */
export const MIN_INTERVAL_MS = 100;
/** A batch may take at most 10 minutes: an alarm handler has 15 minutes of wall time. */
export const MAX_TIMEOUT_MS = 600_000;
export const MAX_BREAKER_THRESHOLD = 100;

const whole = (field: string, min: number, max: number) =>
  z
    .number({ error: `${field} must be a number` })
    .check(
      z.int({ error: `${field} must be a whole number` }),
      z.gte(min, { error: `${field} must be at least ${min}` }),
      z.lte(max, { error: `${field} must be at most ${max}` }),
    );

const fraction = (field: string) =>
  z
    .number({ error: `${field} must be a number` })
    .check(
      z.gt(0, { error: `${field} must be above 0` }),
      z.lt(1, { error: `${field} must be below 1` }),
    );

/** Any subset of the fields, each within its own bounds; unknown fields are refused. */
export const configInputSchema = z.strictObject(
  {
    minBatchSize: z.optional(whole("minBatchSize", 1, MAX_BATCH_SIZE)),
    maxBatchSize: z.optional(whole("maxBatchSize", 1, MAX_BATCH_SIZE)),
    initialBatchSize: z.optional(whole("initialBatchSize", 1, MAX_BATCH_SIZE)),
    intervalMs: z.optional(whole("intervalMs", MIN_INTERVAL_MS, MAX_INTERVAL_MS)),
    backoffIntervalMs: z.optional(whole("backoffIntervalMs", MIN_INTERVAL_MS, MAX_INTERVAL_MS)),
    timeoutMs: z.optional(whole("timeoutMs", 1, MAX_TIMEOUT_MS)),
    growAbove: z.optional(fraction("growAbove")),
    holdAbove: z.optional(fraction("holdAbove")),
    shrinkAbove: z.optional(fraction("shrinkAbove")),
    breakerThreshold: z.optional(whole("breakerThreshold", 1, MAX_BREAKER_THRESHOLD)),
    cooldownMs: z.optional(whole("cooldownMs", MIN_INTERVAL_MS, MAX_INTERVAL_MS)),
    maxCooldownMs: z.optional(whole("maxCooldownMs", MIN_INTERVAL_MS, MAX_INTERVAL_MS)),
    probeBatchSize: z.optional(whole("probeBatchSize", 1, MAX_BATCH_SIZE)),
    windowSize: z.optional(whole("windowSize", 1, MAX_WINDOW_SIZE)),
  },
  { error: objectError("config must be an object of controller settings") },
);

/** A partial configuration as callers send it; validated by `mergeConfig`. */
export type ConfigInput = { [K in keyof ControllerConfig]?: ControllerConfig[K] | undefined };

export type ConfigResult =
  | { ok: true; config: ControllerConfig }
  | { ok: false; error: { code: "invalid_config"; message: string } };

/**
 * Merges `input` over `base` and validates the result: each field within its bounds, and the
 * fields in order (min <= initial <= max, probe <= max, shrink < hold < grow, interval <=
 * backoff, cool-down <= its cap). Returns the new configuration or the reason it was refused.
 *
 * @example
 * const result = mergeConfig(DEFAULT_CONFIG, { intervalMs: 1_000 });
 * if (result.ok) console.log(result.config.intervalMs); // 1000
 */
export function mergeConfig(base: ControllerConfig, input: unknown): ConfigResult {
  const parsed = configInputSchema.safeParse(input ?? {});
  if (!parsed.success) return refuse(describeZodError(parsed.error));
  const config: ControllerConfig = { ...base };
  for (const [field, value] of Object.entries(parsed.data)) {
    if (value !== undefined) config[field as keyof ControllerConfig] = value;
  }
  const problem = orderProblem(config);
  return problem === null ? { ok: true, config } : refuse(problem);
}

function orderProblem(c: ControllerConfig): string | null {
  if (c.minBatchSize > c.maxBatchSize) return "minBatchSize must be at most maxBatchSize";
  if (c.initialBatchSize < c.minBatchSize || c.initialBatchSize > c.maxBatchSize) {
    return "initialBatchSize must be between minBatchSize and maxBatchSize";
  }
  if (c.probeBatchSize > c.maxBatchSize) return "probeBatchSize must be at most maxBatchSize";
  if (!(c.shrinkAbove < c.holdAbove && c.holdAbove < c.growAbove)) {
    return "thresholds must satisfy shrinkAbove < holdAbove < growAbove";
  }
  if (c.backoffIntervalMs < c.intervalMs) return "backoffIntervalMs must be at least intervalMs";
  if (c.maxCooldownMs < c.cooldownMs) return "maxCooldownMs must be at least cooldownMs";
  return null;
}

function refuse(message: string): ConfigResult {
  return { ok: false, error: { code: "invalid_config", message } };
}
