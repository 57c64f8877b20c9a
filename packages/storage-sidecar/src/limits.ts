/**
 * Every cap of a sidecar, and the checks that hold input to them, shared by RPC and HTTP. Input
 * is checked before anything is written, so a rejected call changes nothing.
 */

/** Largest value (a key's value or one list item), as UTF-8 bytes of its JSON text: 1 MiB. */
export const MAX_VALUE_BYTES = 1_048_576;
/** Key length in characters. */
export const MAX_KEY_LENGTH = 512;
/** List name length in characters. */
export const MAX_LIST_LENGTH = 128;
/** Idempotency key length in characters. */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 128;
/** Values one `appendMany` call may add. */
export const MAX_BATCH_ITEMS = 1_000;
/** JSON bytes one `appendMany` call may add: 8 MiB, well inside one RPC message (32 MiB). */
export const MAX_BATCH_BYTES = 8 * 1_048_576;
/** JSON bytes of every value and item one sidecar holds: 128 MiB. */
export const MAX_TOTAL_BYTES = 128 * 1_048_576;
/** Rows one sidecar holds: keys + list items + remembered idempotency keys. */
export const MAX_ENTRIES = 100_000;
/** Entries or items per page by default, and at most. */
export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 1_000;
/** A page stops once it holds this many JSON bytes (it always holds at least one entry). */
export const MAX_PAGE_BYTES = 4 * 1_048_576;

/**
 * What a value may be: JSON. It is stored as its `JSON.stringify` text and read back with
 * `JSON.parse`, so what comes back is what JSON keeps (a Date becomes its ISO string).
 */
export type JsonValue = string | number | boolean | null | JsonArray | JsonObject;
// Interfaces, so the recursion is named rather than expanded (RPC's stub types walk it).
export interface JsonObject {
  [key: string]: JsonValue;
}
export interface JsonArray extends Array<JsonValue> {}

export type SidecarErrorCode =
  | "invalid_key"
  | "invalid_list"
  | "invalid_value"
  | "invalid_options"
  | "value_too_large"
  | "sidecar_full";

/** Input a sidecar will not act on, answered rather than thrown. Nothing was written. */
export interface SidecarRejection {
  ok: false;
  error: { code: SidecarErrorCode; message: string };
}

export function reject(code: SidecarErrorCode, message: string): SidecarRejection {
  return { ok: false, error: { code, message } };
}

/** A key: 1-512 characters. */
export function checkKey(key: unknown, field = "key"): SidecarRejection | null {
  if (typeof key !== "string") return reject("invalid_key", `${field} must be a string`);
  if (key.length === 0 || key.length > MAX_KEY_LENGTH) {
    return reject("invalid_key", `${field} must be 1-${MAX_KEY_LENGTH} characters`);
  }
  // A lone surrogate has no UTF-8 form: stored, it would turn into U+FFFD and stop matching.
  if (!key.isWellFormed()) return reject("invalid_key", `${field} must be well-formed Unicode`);
  return null;
}

/** A list name: 1-128 characters. */
export function checkList(list: unknown): SidecarRejection | null {
  if (typeof list !== "string") return reject("invalid_list", "list must be a string");
  if (list.length === 0 || list.length > MAX_LIST_LENGTH) {
    return reject("invalid_list", `list must be 1-${MAX_LIST_LENGTH} characters`);
  }
  if (!list.isWellFormed()) return reject("invalid_list", "list must be well-formed Unicode");
  return null;
}

export interface EncodedValue {
  json: string;
  bytes: number;
}

/** The value's JSON text and its size, or why it cannot be stored. */
export function encodeValue(value: unknown): EncodedValue | SidecarRejection {
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch {
    return reject("invalid_value", "value must be JSON-serialisable (no cycles, no BigInt)");
  }
  // undefined, a function or a symbol have no JSON text.
  if (json === undefined) return reject("invalid_value", "value must be a JSON value");
  // Every UTF-16 unit is at least one UTF-8 byte: a text this long is too large already.
  const bytes = json.length > MAX_VALUE_BYTES ? json.length : utf8Length(json);
  if (bytes > MAX_VALUE_BYTES) {
    return reject(
      "value_too_large",
      `value takes more than ${MAX_VALUE_BYTES} bytes as JSON, the most one value may take (1 MiB)`,
    );
  }
  return { json, bytes };
}

/** UTF-8 length without allocating: JSON text is well-formed UTF-16 (lone surrogates escaped). */
function utf8Length(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) continue;
    if (unit < 0x800) {
      bytes += 1;
    } else if (unit >= 0xd800 && unit <= 0xdbff) {
      // A surrogate pair: two units, four bytes.
      bytes += 2;
      i++;
    } else {
      bytes += 2;
    }
  }
  return bytes;
}

/** A page size: a whole number from 1 to 1,000, default 100. */
export function checkLimit(limit: unknown): number | SidecarRejection {
  if (limit === undefined) return DEFAULT_PAGE_SIZE;
  if (typeof limit !== "number" || !Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) {
    return reject("invalid_options", `limit must be a whole number from 1 to ${MAX_PAGE_SIZE}`);
  }
  return limit;
}

/** An item cursor: the `seq` of the last item seen (0 or absent for the start). */
export function checkSeqCursor(cursor: unknown): number | SidecarRejection {
  if (cursor === undefined || cursor === null) return 0;
  if (typeof cursor !== "number" || !Number.isSafeInteger(cursor) || cursor < 0) {
    return reject("invalid_options", "cursor must be a whole number from a previous page, or null");
  }
  return cursor;
}

/** The optional idempotency key of an append: 1-128 characters. */
export function checkIdempotencyKey(key: unknown): SidecarRejection | null {
  if (key === undefined) return null;
  if (
    typeof key !== "string" ||
    key.length === 0 ||
    key.length > MAX_IDEMPOTENCY_KEY_LENGTH ||
    !key.isWellFormed()
  ) {
    return reject(
      "invalid_options",
      `idempotencyKey must be a string of 1-${MAX_IDEMPOTENCY_KEY_LENGTH} characters`,
    );
  }
  return null;
}
