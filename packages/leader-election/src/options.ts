/**
 * What a caller may send, validated in one place. The RPC methods check their few primitive
 * arguments with plain functions (no schema on the hot path); the HTTP routes validate bodies
 * with zod schemas built from the same bounds.
 */
import * as z from "zod/mini";
import { objectError } from "./http";

/** Candidate ids and group names: 1-256 characters, no control characters. */
export const MAX_NAME_LENGTH = 256;
export const MIN_TTL_MS = 1;
/** One day: a leader that cannot renew once a day should not hold a lease. */
export const MAX_TTL_MS = 86_400_000;
/** One minute, Chubby's own bound: longer makes a vanished holder's lease a long outage. */
export const MAX_LOCK_DELAY_MS = 60_000;

/** Any control character (C0, DEL, C1): none belong in a name, and they garble logs. */
const CONTROL = /\p{Cc}/u;

export interface AcquireOptions {
  /**
   * If this lease expires (or is revoked) without a release, nobody may acquire it for this
   * long, since its holder may still be writing: 0 to 60,000 ms, default 0.
   */
  lockDelayMs?: number;
}

/** Returned, not thrown, when an argument is out of bounds: a caller's mistake is an answer. */
export interface InputError {
  code: "invalid_input";
  message: string;
}

export function checkName(field: string, value: unknown): InputError | undefined {
  if (typeof value !== "string") return invalid(`${field} must be a string`);
  if (value.length === 0 || value.length > MAX_NAME_LENGTH || CONTROL.test(value)) {
    return invalid(`${field} must be 1-${MAX_NAME_LENGTH} characters with no control characters`);
  }
  return undefined;
}

export function checkWhole(
  field: string,
  value: unknown,
  min: number,
  max: number,
): InputError | undefined {
  if (typeof value !== "number") return invalid(`${field} must be a number`);
  if (!Number.isInteger(value)) return invalid(`${field} must be a whole number`);
  if (value < min || value > max) return invalid(`${field} must be from ${min} to ${max}`);
  return undefined;
}

export function checkToken(value: unknown): InputError | undefined {
  return checkWhole("token", value, 1, Number.MAX_SAFE_INTEGER);
}

/** The first problem with an acquire's arguments, or undefined when they are valid. */
export function checkAcquire(
  candidate: unknown,
  ttlMs: unknown,
  options: unknown,
): InputError | undefined {
  const bad =
    checkName("candidate", candidate) ?? checkWhole("ttlMs", ttlMs, MIN_TTL_MS, MAX_TTL_MS);
  if (bad !== undefined) return bad;
  if (options === undefined) return undefined;
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    return invalid("options must be an object with optional lockDelayMs");
  }
  const extra = Object.keys(options).filter((key) => key !== "lockDelayMs");
  if (extra.length > 0) return invalid(`unknown option "${extra[0]}"`);
  const { lockDelayMs } = options as AcquireOptions;
  if (lockDelayMs === undefined) return undefined;
  return checkWhole("lockDelayMs", lockDelayMs, 0, MAX_LOCK_DELAY_MS);
}

function invalid(message: string): InputError {
  return { code: "invalid_input", message };
}

// ---- HTTP bodies ----

/** A zod field that reports the same messages as the RPC checks. */
function validated<T>(check: (value: unknown) => InputError | undefined) {
  return z.custom<T>((value) => check(value) === undefined, {
    error: (issue) => check(issue.input)?.message ?? "invalid value",
  });
}

const group = validated<string>((value) => checkName("group", value));
const candidate = validated<string>((value) => checkName("candidate", value));
const token = validated<number>(checkToken);

export const bodies = {
  acquire: z.strictObject(
    {
      group,
      candidate,
      ttlMs: validated<number>((value) => checkWhole("ttlMs", value, MIN_TTL_MS, MAX_TTL_MS)),
      lockDelayMs: z.optional(
        validated<number>((value) => checkWhole("lockDelayMs", value, 0, MAX_LOCK_DELAY_MS)),
      ),
    },
    {
      error: objectError(
        "body must be a JSON object with group, candidate, ttlMs and optional lockDelayMs",
      ),
    },
  ),
  held: z.strictObject(
    { group, candidate, token },
    { error: objectError("body must be a JSON object with group, candidate and token") },
  ),
  group: z.strictObject({ group }, { error: objectError("body must be a JSON object with group") }),
};

export const query = {
  group: z.object({ group }),
  validate: z.object({
    group,
    // A query string carries text: "42" is the token 42; anything else is reported as given.
    token: z.pipe(
      z.transform((text: unknown) =>
        typeof text === "string" && /^\d{1,16}$/.test(text) ? Number(text) : text,
      ),
      token,
    ),
  }),
};
