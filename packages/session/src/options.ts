/**
 * What a caller may ask for, validated in one place for RPC, HTTP and the middleware. Data
 * values are checked by `data.ts`, which also measures them; these schemas only say where they go.
 */
import * as z from "zod/mini";
import { initialData, type DataError, type SessionFields } from "./data";
import { describeZodError, objectError } from "./http";
import {
  DEFAULT_ABSOLUTE_TIMEOUT_SECONDS,
  DEFAULT_IDLE_TIMEOUT_SECONDS,
  MAX_ABSOLUTE_TIMEOUT_SECONDS,
  MAX_IDLE_TIMEOUT_SECONDS,
  MIN_TIMEOUT_SECONDS,
  type SessionRecord,
} from "./record";

export const MAX_USER_ID_LENGTH = 256;

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

export const userIdSchema = z.string({ error: "userId must be a string" }).check(
  z.minLength(1, { error: "userId must not be empty" }),
  z.maxLength(MAX_USER_ID_LENGTH, {
    error: `userId must be at most ${MAX_USER_ID_LENGTH} characters`,
  }),
);

export const idleTimeoutSchema = wholeNumber(
  "idleTimeoutSeconds",
  MIN_TIMEOUT_SECONDS,
  MAX_IDLE_TIMEOUT_SECONDS,
);
export const absoluteTimeoutSchema = wholeNumber(
  "absoluteTimeoutSeconds",
  MIN_TIMEOUT_SECONDS,
  MAX_ABSOLUTE_TIMEOUT_SECONDS,
);

/** How long a new session may live; each field has a default. */
export interface Timeouts {
  /** Ends the session after this long without a request (default 1,800: 30 minutes). */
  idleTimeoutSeconds?: number;
  /** Ends the session this long after it began, however active (default 28,800: 8 hours). */
  absoluteTimeoutSeconds?: number;
}

/**
 * Options for a new session.
 *
 * @example
 * const options: CreateOptions = { data: { theme: "dark" }, idleTimeoutSeconds: 900 };
 */
export interface CreateOptions extends Timeouts {
  /** Initial data (default none), at most MAX_DATA_BYTES as JSON. */
  data?: SessionFields;
}

export const timeoutsShape = {
  idleTimeoutSeconds: z.optional(idleTimeoutSchema),
  absoluteTimeoutSeconds: z.optional(absoluteTimeoutSchema),
};

const createOptionsSchema = z.strictObject(
  { data: z.optional(z.unknown()), ...timeoutsShape },
  {
    error: objectError(
      "options must be an object with optional data, idleTimeoutSeconds and absoluteTimeoutSeconds",
    ),
  },
);

export type InputResult<T> = { ok: true; value: T } | { ok: false; error: DataError };

/**
 * Validates a new session's options into the record it starts with (user, times and data).
 *
 * @example
 * parseCreateOptions({ data: { cart: [] } }, null, Date.now());
 */
export function parseCreateOptions(
  options: unknown,
  userId: string | null,
  now: number,
): InputResult<SessionRecord> {
  const parsed = createOptionsSchema.safeParse(options ?? {});
  if (!parsed.success) return invalid(describeZodError(parsed.error));
  const data = initialData(parsed.data.data);
  if (!data.ok) return data;
  return {
    ok: true,
    value: {
      userId,
      createdAt: now,
      lastSeenAt: now,
      idleTimeoutMs: (parsed.data.idleTimeoutSeconds ?? DEFAULT_IDLE_TIMEOUT_SECONDS) * 1000,
      absoluteTimeoutMs:
        (parsed.data.absoluteTimeoutSeconds ?? DEFAULT_ABSOLUTE_TIMEOUT_SECONDS) * 1000,
      data: data.data,
    },
  };
}

/** Validates a user id; the message names what is wrong. */
export function parseUserId(userId: unknown): InputResult<string> {
  const parsed = userIdSchema.safeParse(userId);
  return parsed.success
    ? { ok: true, value: parsed.data }
    : invalid(describeZodError(parsed.error));
}

const timestamp = z.number({ error: "times must be finite numbers" });
const recordSchema = z.strictObject(
  {
    userId: z.nullable(userIdSchema),
    createdAt: timestamp,
    lastSeenAt: timestamp,
    idleTimeoutMs: z
      .int()
      .check(z.gte(MIN_TIMEOUT_SECONDS * 1000), z.lte(MAX_IDLE_TIMEOUT_SECONDS * 1000)),
    absoluteTimeoutMs: z
      .int()
      .check(z.gte(MIN_TIMEOUT_SECONDS * 1000), z.lte(MAX_ABSOLUTE_TIMEOUT_SECONDS * 1000)),
    data: z.unknown(),
  },
  { error: objectError("a session record must be an object as returned by detach()") },
);

/**
 * Validates a record handed over by a rotation (the result of `detach()`), which arrives over
 * RPC like any other input.
 */
export function parseRecord(input: unknown): InputResult<SessionRecord> {
  const parsed = recordSchema.safeParse(input);
  if (!parsed.success) return invalid(describeZodError(parsed.error));
  const data = initialData(parsed.data.data);
  if (!data.ok) return data;
  return { ok: true, value: { ...parsed.data, data: data.data } };
}

function invalid(message: string): { ok: false; error: DataError } {
  return { ok: false, error: { code: "invalid_input", message } };
}
