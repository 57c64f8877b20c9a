/**
 * The envelope every event shares, whatever its domain: checked before the domain sees it.
 */
import * as z from "zod/mini";
import { describeZodError } from "./http";
import type { DomainEvent } from "./reactor";

/** Latest accepted `at`: the year 2100, so a timestamp in seconds or microseconds is refused. */
const MAX_AT = Date.UTC(2100, 0, 1);
/** Earliest accepted `at`: 2000-01-01, which catches a timestamp sent in seconds. */
const MIN_AT = Date.UTC(2000, 0, 1);

/** What an event id may be: letters, digits, '.', '_', ':' and '-', 1 to 128 of them. */
const ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;
const MAX_TYPE_LENGTH = 64;

export const envelopeSchema = z.strictObject(
  {
    id: z.string({ error: "id must be a string" }).check(
      z.regex(ID_PATTERN, {
        error: "id must be 1-128 characters of letters, digits, '.', '_', ':' and '-'",
      }),
    ),
    type: z.string({ error: "type must be a string" }).check(
      z.maxLength(MAX_TYPE_LENGTH, {
        error: `type must be at most ${MAX_TYPE_LENGTH} characters`,
      }),
    ),
    at: z
      .int({ error: "at must be a whole number of epoch milliseconds" })
      .check(
        z.gte(MIN_AT, { error: "at must be epoch milliseconds after 2000-01-01" }),
        z.lte(MAX_AT, { error: "at must be epoch milliseconds before 2100-01-01" }),
      ),
    data: z.record(z.string(), z.unknown(), { error: "data must be a JSON object" }),
  },
  {
    error: (issue) =>
      issue.code === "invalid_type"
        ? "an event must be a JSON object with id, type, at and data"
        : undefined,
  },
);

/**
 * Checks an event's envelope: `{ id, type, at, data }`, nothing else.
 *
 * @example
 * parseEnvelope({ id: "evt-1", type: "research.completed", at: Date.now(), data: {} }).ok; // true
 */
export function parseEnvelope(
  input: unknown,
): { ok: true; event: DomainEvent<string, unknown> } | { ok: false; message: string } {
  // Every event passes here, and nearly all are well formed: those take a few plain checks.
  // Anything else goes to the schema, which decides and words the error.
  if (isPlainEnvelope(input)) return { ok: true, event: input };
  const parsed = envelopeSchema.safeParse(input);
  if (!parsed.success) return { ok: false, message: describeZodError(parsed.error) };
  return { ok: true, event: parsed.data };
}

/**
 * Whether `input` is, beyond doubt, an envelope the schema accepts: a plain object with exactly
 * the four fields, each valid. It may say no to one the schema would accept (it never says yes
 * to one the schema refuses); the schema then decides.
 */
function isPlainEnvelope(input: unknown): input is DomainEvent<string, unknown> {
  if (!isPlainObject(input)) return false;
  const { id, type, at, data } = input;
  return (
    Object.keys(input).length === 4 &&
    typeof id === "string" &&
    ID_PATTERN.test(id) &&
    typeof type === "string" &&
    type.length <= MAX_TYPE_LENGTH &&
    Number.isSafeInteger(at) &&
    (at as number) >= MIN_AT &&
    (at as number) <= MAX_AT &&
    isPlainObject(data)
  );
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const prototype = Object.getPrototypeOf(value) as unknown;
  return prototype === Object.prototype || prototype === null;
}
