/**
 * What a caller may configure or ask for, validated in one place for the RPC surface and HTTP.
 * Money is whole numbers of a unit the caller chooses (micro-dollars, cents, tokens) and at most
 * MAX_AMOUNT, so sums stay exact far below 2^53.
 */
import * as z from "zod/mini";
import { describeZodError, objectError } from "./http";

/** The largest budget, estimate or cost: 10^15 units (a billion dollars in micro-dollars). */
export const MAX_AMOUNT = 1_000_000_000_000_000;
export const MAX_PROCESSORS = 32;
export const MAX_TIERS = 16;
export const MAX_PHASE = 99;
/** Open reservations one governor holds at once, across processors. */
export const MAX_OPEN_RESERVATIONS = 10_000;
/** Settled reservations remembered for idempotent retries (the oldest are forgotten first). */
export const MAX_SETTLED_RESERVATIONS = 10_000;
export const MAX_HISTORY = 200;
/** The most work items or errors one commit may report. */
export const MAX_USAGE_COUNT = 1_000_000_000;
export const DEFAULT_HISTORY = 50;
export const DEFAULT_RESERVATION_TTL_SECONDS = 60;
export const MAX_RESERVATION_TTL_SECONDS = 86_400;
/** A scheduled cycle lasts at least a minute and at most a year. */
export const MIN_PERIOD_SECONDS = 60;
export const MAX_PERIOD_SECONDS = 31_536_000;
/** Enabled weights must sum to 1 within this. */
export const WEIGHT_TOLERANCE = 1e-6;

/** A whole number from `min` to `max`, with one message per way of missing it. */
export const wholeNumber = (field: string, min: number, max: number) =>
  z
    .int({
      error: (issue) => {
        if (issue.code === "invalid_type") {
          return issue.expected === "int"
            ? `${field} must be a whole number`
            : `${field} must be a number`;
        }
        return issue.code === "too_small"
          ? `${field} must be at least ${min}`
          : `${field} must be at most ${max}`;
      },
    })
    .check(
      z.gte(min, { error: `${field} must be at least ${min}` }),
      z.lte(max, { error: `${field} must be at most ${max}` }),
    );

const NAME = /^[A-Za-z0-9_.-]{1,64}$/;
const nameSchema = (field: string) =>
  z.string({ error: `${field} must be a string` }).check(
    z.regex(NAME, {
      error: `${field} must be 1-64 characters of letters, digits, '_', '.' or '-'`,
    }),
  );

export const processorIdSchema = nameSchema("processorId");

const processorSchema = z.strictObject(
  {
    id: nameSchema("id"),
    weight: z
      .number({ error: "weight must be a number" })
      .check(
        z.gte(0, { error: "weight must be from 0 to 1" }),
        z.lte(1, { error: "weight must be from 0 to 1" }),
      ),
    phase: wholeNumber("phase", 0, MAX_PHASE),
    tier: nameSchema("tier"),
    enabled: z.optional(z.boolean({ error: "enabled must be true or false" })),
  },
  { error: objectError("each processor must be an object with id, weight, phase and tier") },
);

const tierSchema = z.strictObject(
  {
    model: z
      .string({ error: "model must be a string" })
      .check(
        z.minLength(1, { error: "model must not be empty" }),
        z.maxLength(128, { error: "model must be at most 128 characters" }),
      ),
    costPerCall: wholeNumber("costPerCall", 0, MAX_AMOUNT),
    maxConcurrency: wholeNumber("maxConcurrency", 1, MAX_OPEN_RESERVATIONS),
  },
  { error: objectError("each tier must be an object with model, costPerCall and maxConcurrency") },
);

export const configSchema = z.strictObject(
  {
    processors: z
      .array(processorSchema, { error: "processors must be an array" })
      .check(
        z.minLength(1, { error: "processors must list at least one processor" }),
        z.maxLength(MAX_PROCESSORS, { error: `processors may list at most ${MAX_PROCESSORS}` }),
      ),
    tiers: z
      .record(nameSchema("tier name"), tierSchema, {
        error: "tiers must be an object of tier name to { model, costPerCall, maxConcurrency }",
      })
      .check(
        z.refine((tiers) => Object.keys(tiers).length <= MAX_TIERS, {
          error: `tiers may name at most ${MAX_TIERS}`,
        }),
      ),
    reservationTtlSeconds: z.optional(
      wholeNumber("reservationTtlSeconds", 1, MAX_RESERVATION_TTL_SECONDS),
    ),
    schedule: z.optional(
      z.strictObject(
        {
          periodSeconds: wholeNumber("periodSeconds", MIN_PERIOD_SECONDS, MAX_PERIOD_SECONDS),
          totalBudget: z.optional(wholeNumber("totalBudget", 0, MAX_AMOUNT)),
        },
        { error: objectError("schedule must be an object with periodSeconds and totalBudget") },
      ),
    ),
    historyLimit: z.optional(wholeNumber("historyLimit", 1, MAX_HISTORY)),
  },
  { error: objectError("config must be an object with processors and tiers") },
);

/**
 * A governor's configuration: its processors and the model routing table they draw on.
 *
 * @example
 * const config: GovernorConfig = {
 *   processors: [
 *     { id: "keywords", weight: 0.5, phase: 1, tier: "small" },
 *     { id: "summaries", weight: 0.5, phase: 2, tier: "large" },
 *   ],
 *   tiers: {
 *     small: { model: "@cf/meta/llama-3.1-8b-instruct", costPerCall: 200, maxConcurrency: 50 },
 *     large: { model: "@cf/meta/llama-3.3-70b-instruct", costPerCall: 2_000, maxConcurrency: 10 },
 *   },
 * };
 */
export type GovernorConfig = z.infer<typeof configSchema>;
export type ProcessorConfig = GovernorConfig["processors"][number];
export type TierRoute = GovernorConfig["tiers"][string];

export type ConfigResult = { ok: true; config: GovernorConfig } | { ok: false; message: string };

/**
 * Validates a configuration: its shape, then the rules across fields (unique ids, tiers that
 * exist, enabled weights summing to 1 within WEIGHT_TOLERANCE).
 */
export function parseConfig(input: unknown): ConfigResult {
  const parsed = configSchema.safeParse(input);
  if (!parsed.success) return { ok: false, message: describeZodError(parsed.error) };
  const config = parsed.data;
  const seen = new Set<string>();
  let weights = 0;
  let enabled = 0;
  for (const processor of config.processors) {
    if (seen.has(processor.id)) {
      return { ok: false, message: `processor id "${processor.id}" appears more than once` };
    }
    seen.add(processor.id);
    if (!Object.hasOwn(config.tiers, processor.tier)) {
      return {
        ok: false,
        message: `processor "${processor.id}" names tier "${processor.tier}", which tiers does not define`,
      };
    }
    if (processor.enabled === false) continue;
    enabled++;
    weights += processor.weight;
  }
  if (enabled === 0) return { ok: false, message: "at least one processor must be enabled" };
  if (Math.abs(weights - 1) > WEIGHT_TOLERANCE) {
    return {
      ok: false,
      message: `the weights of enabled processors must sum to 1 (within ${WEIGHT_TOLERANCE}); they sum to ${weights}`,
    };
  }
  return { ok: true, config };
}

export const amountSchema = (field: string) => wholeNumber(field, 0, MAX_AMOUNT);

export const idempotencyKeySchema = z
  .string({ error: "idempotencyKey must be a string" })
  .check(
    z.minLength(1, { error: "idempotencyKey must not be empty" }),
    z.maxLength(128, { error: "idempotencyKey must be at most 128 characters" }),
  );

export const reserveSchema = z.strictObject(
  {
    processorId: processorIdSchema,
    estimatedCost: wholeNumber("estimatedCost", 1, MAX_AMOUNT),
    idempotencyKey: idempotencyKeySchema,
  },
  {
    error: objectError(
      "body must be a JSON object with processorId, estimatedCost and idempotencyKey",
    ),
  },
);
export type ReserveRequest = z.infer<typeof reserveSchema>;

export const usageSchema = z.strictObject(
  {
    items: z.optional(wholeNumber("items", 0, MAX_USAGE_COUNT)),
    errors: z.optional(wholeNumber("errors", 0, MAX_USAGE_COUNT)),
  },
  { error: objectError("usage must be an object with optional items and errors") },
);
/** What a commit did besides spending: work items done (default 1) and errors (default 0). */
export type Usage = z.infer<typeof usageSchema>;

/**
 * Hand-written checks for the hot path's simple arguments: each accepts exactly what its schema
 * accepts, or a subset of it (anything they do not accept goes to the schema, which finds the
 * problem and words it), so a valid call never pays for zod and a bad one gets the same message.
 */

export function isWholeAmount(value: unknown, min: number, max: number): boolean {
  return Number.isSafeInteger(value) && (value as number) >= min && (value as number) <= max;
}

/** The first problem with a reserve request, or undefined when it fits `reserveSchema`. */
export function reserveProblem(request: unknown): string | undefined {
  if (typeof request === "object" && request !== null && !Array.isArray(request)) {
    const { processorId, estimatedCost, idempotencyKey } = request as Record<string, unknown>;
    if (
      typeof processorId === "string" &&
      NAME.test(processorId) &&
      isWholeAmount(estimatedCost, 1, MAX_AMOUNT) &&
      typeof idempotencyKey === "string" &&
      idempotencyKey.length >= 1 &&
      idempotencyKey.length <= 128 &&
      Object.keys(request).length === 3 &&
      Object.hasOwn(request, "processorId") &&
      Object.hasOwn(request, "estimatedCost") &&
      Object.hasOwn(request, "idempotencyKey")
    ) {
      return undefined;
    }
  }
  return problemWith(reserveSchema, request);
}

const actualCostSchema = amountSchema("actualCost");

/** The first problem with a commit's actual cost and usage, or undefined when both fit. */
export function commitProblem(actualCost: unknown, usage: unknown): string | undefined {
  if (!isWholeAmount(actualCost, 0, MAX_AMOUNT)) return problemWith(actualCostSchema, actualCost);
  if (typeof usage === "object" && usage !== null && !Array.isArray(usage)) {
    let fits = true;
    for (const key in usage) {
      const value = (usage as Record<string, unknown>)[key];
      if (
        !Object.hasOwn(usage, key) ||
        (key !== "items" && key !== "errors") ||
        (value !== undefined && !isWholeAmount(value, 0, MAX_USAGE_COUNT))
      ) {
        fits = false;
        break;
      }
    }
    if (fits) return undefined;
  }
  return problemWith(usageSchema, usage);
}

/** The first problem with `value` against `schema`, or undefined when it fits. */
export function problemWith(schema: z.ZodMiniType, value: unknown): string | undefined {
  const parsed = schema.safeParse(value);
  return parsed.success ? undefined : describeZodError(parsed.error);
}
