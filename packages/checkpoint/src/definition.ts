/**
 * What a caller may ask for, validated in one place for RPC and HTTP: a run's definition (its
 * steps and options), worker names, attempts, and the JSON values a run stores. Every bound a
 * run's storage depends on is here.
 */
import * as z from "zod/mini";
import { describeZodError, objectError } from "./http";
import type { RetryPolicy } from "./retry";

/** Steps one run may have. */
export const MAX_STEPS = 10_000;
/** One step's input, as JSON (UTF-8 bytes). */
export const MAX_INPUT_BYTES = 16 * 1024;
/** All of a run's inputs together, as JSON: one `create` call's worth. */
export const MAX_TOTAL_INPUT_BYTES = 4 * 1024 * 1024;
/** One step's output, as JSON. Larger results belong in R2, with their key as the output. */
export const MAX_OUTPUT_BYTES = 32 * 1024;
/** One step's progress (the last heartbeat's), as JSON. */
export const MAX_PROGRESS_BYTES = 1024;
/** A failure's error message is kept to this many characters (longer ones are cut, not refused). */
export const MAX_ERROR_LENGTH = 1024;
/** Run ids, step ids and worker names. */
export const MAX_NAME_LENGTH = 128;
export const MAX_RUN_ID_LENGTH = 256;
export const MAX_ATTEMPTS = 100;
export const MAX_BACKOFF_MS = 86_400_000;
export const MAX_MULTIPLIER = 10;
export const MIN_LEASE_MS = 1_000;
export const MAX_LEASE_MS = 86_400_000;
export const MAX_PARALLELISM = 1_000;
export const MIN_RETENTION_MS = 60_000;
export const MAX_RETENTION_MS = 31_536_000_000;

export const DEFAULT_RETRY: RetryPolicy = {
  maxAttempts: 3,
  initialBackoffMs: 1_000,
  multiplier: 2,
  maxBackoffMs: 60_000,
};
export const DEFAULT_LEASE_MS = 30_000;
export const DEFAULT_PARALLELISM = 1;
/** Seven days. */
export const DEFAULT_RETENTION_MS = 604_800_000;

/** A whole number from `min` to `max`, with one message per way of missing it. */
const wholeNumber = (field: string, min: number, max: number) =>
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

const NAME = /^[A-Za-z0-9_.:-]+$/;
const nameSchema = (field: string) =>
  z.string({ error: `${field} must be a string` }).check(
    z.minLength(1, { error: `${field} must not be empty` }),
    z.maxLength(MAX_NAME_LENGTH, {
      error: `${field} must be at most ${MAX_NAME_LENGTH} characters`,
    }),
    z.regex(NAME, { error: `${field} may hold only letters, digits, '_', '.', ':' and '-'` }),
  );

/** A run id is the object's name: any printable ASCII without spaces, so callers' own ids fit. */
export const runIdSchema = z.string({ error: "runId must be a string" }).check(
  z.minLength(1, { error: "runId must not be empty" }),
  z.maxLength(MAX_RUN_ID_LENGTH, {
    error: `runId must be at most ${MAX_RUN_ID_LENGTH} characters`,
  }),
  z.regex(/^[\x21-\x7e]+$/, {
    error: "runId may hold only printable ASCII characters, no spaces",
  }),
);
export const stepIdSchema = nameSchema("stepId");
export const workerSchema = nameSchema("worker");
export const attemptSchema = wholeNumber("attempt", 1, Number.MAX_SAFE_INTEGER);

const retryShape = {
  maxAttempts: z.optional(wholeNumber("maxAttempts", 1, MAX_ATTEMPTS)),
  initialBackoffMs: z.optional(wholeNumber("initialBackoffMs", 0, MAX_BACKOFF_MS)),
  multiplier: z.optional(
    z
      .number({ error: "multiplier must be a number" })
      .check(
        z.gte(1, { error: "multiplier must be at least 1" }),
        z.lte(MAX_MULTIPLIER, { error: `multiplier must be at most ${MAX_MULTIPLIER}` }),
      ),
  ),
  maxBackoffMs: z.optional(wholeNumber("maxBackoffMs", 0, MAX_BACKOFF_MS)),
};
const retrySchema = z.strictObject(retryShape, {
  error: objectError(
    "retry must be an object with optional maxAttempts, initialBackoffMs, multiplier and maxBackoffMs",
  ),
});
const leaseSchema = wholeNumber("leaseTimeoutMs", MIN_LEASE_MS, MAX_LEASE_MS);

const stepSchema = z.strictObject(
  {
    id: nameSchema("id"),
    input: z.optional(z.unknown()),
    retry: z.optional(retrySchema),
    leaseTimeoutMs: z.optional(leaseSchema),
  },
  {
    error: objectError(
      "each step must be an object with id and optional input, retry, leaseTimeoutMs",
    ),
  },
);

export const stepsSchema = z
  .array(stepSchema, { error: "steps must be an array" })
  .check(
    z.minLength(1, { error: "steps must hold at least one step" }),
    z.maxLength(MAX_STEPS, { error: `steps must hold at most ${MAX_STEPS} steps` }),
  );

export const optionsSchema = z.strictObject(
  {
    retry: z.optional(retrySchema),
    leaseTimeoutMs: z.optional(leaseSchema),
    parallelism: z.optional(wholeNumber("parallelism", 1, MAX_PARALLELISM)),
    retentionMs: z.optional(wholeNumber("retentionMs", MIN_RETENTION_MS, MAX_RETENTION_MS)),
  },
  {
    error: objectError(
      "options must be an object with optional retry, leaseTimeoutMs, parallelism and retentionMs",
    ),
  },
);

/** Any value JSON can hold: what inputs, outputs and progress are. */
export type JsonValue =
  | null
  | boolean
  | number
  | string
  | JsonValue[]
  | { [key: string]: JsonValue };

/**
 * A JSON value as results carry it: typed as "anything but undefined", because the RPC stub
 * types expand a recursive type like `JsonValue` in a result without end. Every such value was
 * a `JsonValue` when it was stored.
 */
export type Json = NonNullable<unknown> | null;

/** A retry policy's fields, each optional: what is not given comes from the run, or the defaults. */
export interface RetryOptions {
  maxAttempts?: number | undefined;
  initialBackoffMs?: number | undefined;
  multiplier?: number | undefined;
  maxBackoffMs?: number | undefined;
}

/**
 * One step of a new run.
 *
 * @example
 * const step: StepDefinition = { id: "fetch-page-1", input: { url: "https://example.com" } };
 */
export interface StepDefinition {
  /** Unique within the run: 1-128 letters, digits, '_', '.', ':' or '-'. */
  id: string;
  /** Handed to the worker that claims the step; any JSON value up to MAX_INPUT_BYTES (default null). */
  input?: JsonValue | undefined;
  /** Overrides the run's retry policy for this step, field by field. */
  retry?: RetryOptions | undefined;
  /** Overrides the run's lease timeout for this step. */
  leaseTimeoutMs?: number | undefined;
}

/** How a run behaves; every field has a default. */
export interface RunOptions {
  /** Retries for every step (default 3 attempts, 1 s backoff doubling up to 60 s). */
  retry?: RetryOptions | undefined;
  /** How long a claim holds a step before it counts as failed, unless heartbeats extend it (default 30,000). */
  leaseTimeoutMs?: number | undefined;
  /**
   * Steps that may be started and not yet completed at once: leased, or waiting to retry
   * (default 1: strictly one after another).
   */
  parallelism?: number | undefined;
  /** How long a finished (completed, failed or cancelled) run is kept before it deletes itself (default 7 days). */
  retentionMs?: number | undefined;
}

/** A step as it is stored: its input as JSON text and its policy resolved. */
export interface ResolvedStep {
  id: string;
  inputJson: string;
  retry: RetryPolicy;
  leaseTimeoutMs: number;
}

export interface ResolvedRun {
  steps: ResolvedStep[];
  parallelism: number;
  retentionMs: number;
  /** What identifies the definition, to tell a retried create from a conflicting one. */
  canonical: string;
}

/** A parsed value, or why not; `tooLarge` when only its size is wrong. */
export type Parsed<T> = { ok: true; value: T } | { ok: false; message: string; tooLarge?: true };

/** Validates a run's steps and options, resolving each step's policy. */
export function parseDefinition(steps: unknown, options: unknown): Parsed<ResolvedRun> {
  const parsedSteps = stepsSchema.safeParse(steps);
  if (!parsedSteps.success) return invalid(describeZodError(parsedSteps.error), "steps");
  const parsedOptions = optionsSchema.safeParse(options ?? {});
  if (!parsedOptions.success) return invalid(describeZodError(parsedOptions.error), "options");
  const runOptions = parsedOptions.data;
  const runRetry = mergeRetry(DEFAULT_RETRY, runOptions.retry);
  const runLease = runOptions.leaseTimeoutMs ?? DEFAULT_LEASE_MS;

  const seen = new Set<string>();
  const resolved: ResolvedStep[] = [];
  let totalBytes = 0;
  for (const [index, step] of parsedSteps.data.entries()) {
    if (seen.has(step.id))
      return { ok: false, message: `steps.${index}.id "${step.id}" is used twice` };
    seen.add(step.id);
    const input = toJson(step.input ?? null, `steps.${index}.input`, MAX_INPUT_BYTES);
    if (!input.ok) return input;
    totalBytes += byteLength(input.value);
    if (totalBytes > MAX_TOTAL_INPUT_BYTES) {
      return {
        ok: false,
        message: `the steps' inputs together must be at most ${MAX_TOTAL_INPUT_BYTES} bytes as JSON`,
        tooLarge: true,
      };
    }
    resolved.push({
      id: step.id,
      inputJson: input.value,
      retry: mergeRetry(runRetry, step.retry),
      leaseTimeoutMs: step.leaseTimeoutMs ?? runLease,
    });
  }
  const parallelism = runOptions.parallelism ?? DEFAULT_PARALLELISM;
  const retentionMs = runOptions.retentionMs ?? DEFAULT_RETENTION_MS;
  return {
    ok: true,
    value: {
      steps: resolved,
      parallelism,
      retentionMs,
      canonical: JSON.stringify({ steps: resolved, parallelism, retentionMs }),
    },
  };
}

/**
 * A step id or worker name, checked without the schema on the hot path (`claim`, `complete`,
 * `heartbeat`, `fail` take one each call); the schema's messages for anything else.
 */
export function parseName(schema: typeof stepIdSchema, value: unknown): Parsed<string> {
  if (typeof value === "string" && value.length <= MAX_NAME_LENGTH && NAME.test(value)) {
    return { ok: true, value };
  }
  return parseWith(schema, value);
}

/** An attempt number, checked without the schema unless it is wrong. */
export function parseAttempt(value: unknown): Parsed<number> {
  if (typeof value === "number" && Number.isSafeInteger(value) && value >= 1) {
    return { ok: true, value };
  }
  return parseWith(attemptSchema, value);
}

/** Parses one value with a schema, answering with the schema's message. */
export function parseWith<T>(schema: z.ZodMiniType<T>, value: unknown): Parsed<T> {
  const parsed = schema.safeParse(value);
  return parsed.success
    ? { ok: true, value: parsed.data }
    : { ok: false, message: describeZodError(parsed.error) };
}

/**
 * A value as JSON text of at most `maxBytes` UTF-8 bytes, or why not. Over RPC a caller can pass
 * what JSON cannot hold (a function, a bigint, a cycle), so this is where that is refused.
 */
export function toJson(value: unknown, field: string, maxBytes: number): Parsed<string> {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch {
    return { ok: false, message: `${field} must be a JSON value` };
  }
  if (text === undefined) return { ok: false, message: `${field} must be a JSON value` };
  // A UTF-16 unit is at most 3 UTF-8 bytes: a short text needs no encoding to be measured.
  if (text.length * 3 > maxBytes && byteLength(text) > maxBytes) {
    return {
      ok: false,
      message: `${field} must be at most ${maxBytes} bytes as JSON`,
      tooLarge: true,
    };
  }
  return { ok: true, value: text };
}

const encoder = new TextEncoder();
export function byteLength(text: string): number {
  return encoder.encode(text).length;
}

/** An error message as stored: a string of at most MAX_ERROR_LENGTH characters. */
export function errorText(error: unknown): string {
  const text =
    typeof error === "string" ? error : error instanceof Error ? error.message : String(error);
  return text.length > MAX_ERROR_LENGTH ? text.slice(0, MAX_ERROR_LENGTH) : text;
}

function invalid(message: string, field: string): { ok: false; message: string } {
  return { ok: false, message: message.startsWith(field) ? message : `${field}: ${message}` };
}

function mergeRetry(base: RetryPolicy, override: RetryOptions | undefined): RetryPolicy {
  return {
    maxAttempts: override?.maxAttempts ?? base.maxAttempts,
    initialBackoffMs: override?.initialBackoffMs ?? base.initialBackoffMs,
    multiplier: override?.multiplier ?? base.multiplier,
    maxBackoffMs: override?.maxBackoffMs ?? base.maxBackoffMs,
  };
}
