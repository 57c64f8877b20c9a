/**
 * What a caller may send, checked in one place for RPC and HTTP alike, and the bounds that keep
 * every counter exact and every table bounded. Pure: no storage, no clock.
 */
export const MAX_KEY_LENGTH = 256;
export const MAX_IDEMPOTENCY_KEY_LENGTH = 128;
/** Counters one object holds; a new key past this is refused (`too_many_counters`). */
export const MAX_COUNTERS = 10_000;
/** Keys one `getMany` reads. */
export const MAX_KEYS_PER_READ = 100;
/** Counters one `list` page returns at most (and by default). */
export const MAX_LIST_LIMIT = 1_000;
/**
 * A retried increment counts once if it arrives within this long of the first (default one
 * hour) and while fewer than `maxIdempotencyKeys` newer keys have been seen.
 */
export const DEFAULT_DEDUPE_WINDOW_MS = 60 * 60 * 1000;
export const DEFAULT_MAX_IDEMPOTENCY_KEYS = 50_000;

export type InputErrorCode =
  | "invalid_key"
  | "invalid_amount"
  | "invalid_idempotency_key"
  | "invalid_request";

export type Checked<T> =
  | { ok: true; value: T }
  | { ok: false; code: InputErrorCode; message: string };

const fail = (code: InputErrorCode, message: string) => ({ ok: false, code, message }) as const;

/** A counter's name: a string of 1 to MAX_KEY_LENGTH characters. */
export function checkKey(key: unknown, field = "key"): Checked<string> {
  if (typeof key !== "string") return fail("invalid_key", `${field} must be a string`);
  if (key.length === 0) return fail("invalid_key", `${field} must not be empty`);
  if (key.length > MAX_KEY_LENGTH) {
    return fail("invalid_key", `${field} must be at most ${MAX_KEY_LENGTH} characters`);
  }
  return { ok: true, value: key };
}

/**
 * An amount to add: a non-zero whole number within the safe-integer range (negative amounts
 * count down). Anything else would make the sum inexact or say nothing.
 */
export function checkAmount(amount: unknown): Checked<number> {
  if (amount === undefined) return { ok: true, value: 1 };
  if (typeof amount !== "number" || Number.isNaN(amount)) {
    return fail("invalid_amount", "amount must be a number");
  }
  if (!Number.isInteger(amount)) return fail("invalid_amount", "amount must be a whole number");
  if (!Number.isSafeInteger(amount)) {
    return fail(
      "invalid_amount",
      `amount must be between -${Number.MAX_SAFE_INTEGER} and ${Number.MAX_SAFE_INTEGER}`,
    );
  }
  if (amount === 0) return fail("invalid_amount", "amount must not be 0");
  return { ok: true, value: amount };
}

/** An idempotency key, when given: 1 to MAX_IDEMPOTENCY_KEY_LENGTH characters. */
export function checkIdempotencyKey(id: unknown): Checked<string | undefined> {
  if (id === undefined) return { ok: true, value: undefined };
  if (typeof id !== "string") {
    return fail("invalid_idempotency_key", "idempotencyKey must be a string");
  }
  if (id.length === 0 || id.length > MAX_IDEMPOTENCY_KEY_LENGTH) {
    return fail(
      "invalid_idempotency_key",
      `idempotencyKey must be 1-${MAX_IDEMPOTENCY_KEY_LENGTH} characters`,
    );
  }
  return { ok: true, value: id };
}

/** The keys of one `getMany`: an array of 1 to MAX_KEYS_PER_READ valid keys. */
export function checkKeys(keys: unknown): Checked<string[]> {
  if (!Array.isArray(keys)) return fail("invalid_key", "keys must be an array of strings");
  if (keys.length === 0 || keys.length > MAX_KEYS_PER_READ) {
    return fail("invalid_key", `keys must hold 1-${MAX_KEYS_PER_READ} keys`);
  }
  for (const [i, key] of keys.entries()) {
    const checked = checkKey(key, `keys[${i}]`);
    if (!checked.ok) return checked;
  }
  return { ok: true, value: keys as string[] };
}

export interface ListOptions {
  /** Only keys starting with this (default: every key). */
  prefix?: string;
  /** Counters per page, 1 to MAX_LIST_LIMIT (default MAX_LIST_LIMIT). */
  limit?: number;
  /** The `cursor` of the previous page: the page starts after this key. */
  cursor?: string;
}

export function checkListOptions(
  options: unknown,
): Checked<{ prefix: string; limit: number; cursor: string | undefined }> {
  if (options === undefined) {
    return { ok: true, value: { prefix: "", limit: MAX_LIST_LIMIT, cursor: undefined } };
  }
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    return fail("invalid_request", "options must be an object with prefix, limit and cursor");
  }
  const { prefix = "", limit = MAX_LIST_LIMIT, cursor, ...rest } = options as ListOptions;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) return fail("invalid_request", `unknown option "${unknown[0]}"`);
  if (typeof prefix !== "string" || prefix.length > MAX_KEY_LENGTH) {
    return fail(
      "invalid_request",
      `prefix must be a string of at most ${MAX_KEY_LENGTH} characters`,
    );
  }
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) {
    return fail("invalid_request", `limit must be a whole number from 1 to ${MAX_LIST_LIMIT}`);
  }
  if (cursor !== undefined) {
    const checked = checkKey(cursor, "cursor");
    if (!checked.ok) return fail("invalid_request", checked.message);
  }
  return { ok: true, value: { prefix, limit, cursor } };
}

/**
 * `a + b` when the sum is still a safe integer, else null. Both are safe integers, so the float
 * sum is exact whenever the true sum is safe, and lands beyond the safe range whenever it is not
 * (rounding is monotonic), so the check never misses.
 */
export function addExactly(a: number, b: number): number | null {
  const sum = a + b;
  return Number.isSafeInteger(sum) ? sum : null;
}
