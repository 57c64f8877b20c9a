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

export const envelopeSchema = z.strictObject(
  {
    id: z.string({ error: "id must be a string" }).check(
      z.regex(/^[A-Za-z0-9._:-]{1,128}$/, {
        error: "id must be 1-128 characters of letters, digits, '.', '_', ':' and '-'",
      }),
    ),
    type: z
      .string({ error: "type must be a string" })
      .check(z.maxLength(64, { error: "type must be at most 64 characters" })),
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
  const parsed = envelopeSchema.safeParse(input);
  if (!parsed.success) return { ok: false, message: describeZodError(parsed.error) };
  return { ok: true, event: parsed.data };
}
