/**
 * Session data: a flat object of fields holding JSON values, at most MAX_DATA_BYTES as JSON.
 * Pure functions from the current data and a change to the new data, or to the reason the change
 * is refused; a refused change leaves nothing half-applied, because the caller stores only a
 * returned `data`.
 *
 * Input arrives from HTTP (parsed JSON) or from RPC (structured clone, which can carry Dates,
 * Maps, cycles, undefined, NaN...), so every value is checked to be plain JSON, with a budget that
 * stops the walk as soon as the value is known to be too large. New objects are always built by
 * spreading, which defines own properties, so a field named `__proto__` is stored as data and
 * never reaches a prototype.
 */

/** What a field may hold: anything `JSON.stringify` turns into the same value. */
export type JsonValue =
  | null
  | boolean
  | number
  | string
  | JsonValue[]
  | { [key: string]: JsonValue };

/** Fields to store: names to JSON values. */
export interface SessionFields {
  [field: string]: JsonValue;
}

/**
 * A session's data as stored and returned. Every value is JSON (checked when it is stored), but
 * is typed as "anything but undefined": the RPC stub types expand a recursive type like
 * `JsonValue` in a result without end. The middleware takes your own type for it instead
 * (`session<MyData>()`).
 */
export interface SessionData {
  [field: string]: NonNullable<unknown> | null;
}

/** The most a session's data may take, as UTF-8 JSON (`JSON.stringify(data)`). */
export const MAX_DATA_BYTES = 16 * 1024;
export const MAX_FIELD_NAME_LENGTH = 128;
/** How deep values may nest: plenty for data, and no risk to the stack when walking it. */
export const MAX_DEPTH = 32;

export type DataErrorCode = "invalid_input" | "data_too_large";
export interface DataError {
  code: DataErrorCode;
  message: string;
}
export type DataResult = { ok: true; data: SessionData } | { ok: false; error: DataError };

/**
 * The data with one field set to `value`.
 *
 * @example
 * setField({ theme: "light" }, "theme", "dark"); // { ok: true, data: { theme: "dark" } }
 */
export function setField(data: SessionData, field: unknown, value: unknown): DataResult {
  const badName = checkFieldName(field, "field");
  if (badName !== undefined) return refuse("invalid_input", badName);
  return mergeFields(data, { [field as string]: value });
}

/**
 * The data with every field of `fields` set (a shallow merge: a field's old value is replaced,
 * not merged into). `null` is a value like any other; remove fields with `deleteFields`.
 *
 * @example
 * mergeFields({ a: 1 }, { b: [2, 3] }); // { ok: true, data: { a: 1, b: [2, 3] } }
 */
export function mergeFields(data: SessionData, fields: unknown): DataResult {
  if (!isPlainObject(fields)) {
    return refuse("invalid_input", "fields must be an object of field names to JSON values");
  }
  const budget = { bytes: 0 };
  for (const [name, value] of Object.entries(fields)) {
    const problem =
      checkFieldName(name, `field "${shorten(name)}"`) ??
      checkJson(value, `field "${shorten(name)}"`, 1, budget);
    if (problem !== undefined)
      return refuse(budget.bytes > MAX_DATA_BYTES ? "data_too_large" : "invalid_input", problem);
  }
  return sized({ ...data, ...(fields as SessionData) });
}

/**
 * The data without the named fields. Naming a field that is not there is not an error; with
 * nothing removed the same object comes back, so the caller can tell nothing changed.
 *
 * @example
 * deleteFields({ a: 1, b: 2 }, ["b", "c"]); // { ok: true, data: { a: 1 } }
 */
export function deleteFields(data: SessionData, fields: unknown): DataResult {
  if (!Array.isArray(fields))
    return refuse("invalid_input", "fields must be an array of field names");
  for (const [index, name] of fields.entries()) {
    const problem = checkFieldName(name, `fields[${index}]`);
    if (problem !== undefined) return refuse("invalid_input", problem);
  }
  const names = fields as string[];
  if (!names.some((name) => Object.hasOwn(data, name))) return { ok: true, data };
  // fromEntries defines properties, as spreading does; assigning `__proto__` would not.
  const remaining = Object.entries(data).filter(([name]) => !names.includes(name));
  return { ok: true, data: Object.fromEntries(remaining) };
}

/**
 * Validates data given whole (a new session's initial data): the same rules as a merge into
 * empty data.
 *
 * @example
 * initialData(undefined); // { ok: true, data: {} }
 */
export function initialData(fields: unknown): DataResult {
  return fields === undefined ? { ok: true, data: {} } : mergeFields({}, fields);
}

/**
 * Bytes the data takes as UTF-8 JSON, the measure MAX_DATA_BYTES caps.
 *
 * @example
 * dataBytes({ theme: "dark" }); // 16: {"theme":"dark"}
 */
export function dataBytes(data: SessionData): number {
  return new TextEncoder().encode(JSON.stringify(data)).byteLength;
}

function sized(data: SessionData): DataResult {
  const bytes = dataBytes(data);
  if (bytes > MAX_DATA_BYTES) {
    return refuse(
      "data_too_large",
      `session data would take ${bytes} bytes as JSON; the limit is ${MAX_DATA_BYTES}`,
    );
  }
  return { ok: true, data };
}

function checkFieldName(name: unknown, what: string): string | undefined {
  if (typeof name !== "string") return `${what} must be a string`;
  if (name.length === 0 || name.length > MAX_FIELD_NAME_LENGTH) {
    return `${what} must be 1-${MAX_FIELD_NAME_LENGTH} characters`;
  }
  return undefined;
}

/**
 * Why `value` is not plain JSON, or undefined when it is. `budget.bytes` counts a lower bound of
 * the JSON size seen so far (a UTF-8 string is at least as many bytes as UTF-16 code units), so
 * a value far over the cap is refused without walking all of it.
 */
function checkJson(
  value: unknown,
  where: string,
  depth: number,
  budget: { bytes: number },
): string | undefined {
  if (depth > MAX_DEPTH) return `${where} nests deeper than ${MAX_DEPTH} levels`;
  if (typeof value === "string") return spend(budget, value.length + 2);
  if (typeof value === "boolean" || value === null) return spend(budget, 4);
  if (typeof value === "number") {
    return Number.isFinite(value) ? spend(budget, 1) : `${where} must be a finite number`;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const problem = spend(budget, 1) ?? checkJson(value[i], `${where}[${i}]`, depth + 1, budget);
      if (problem !== undefined) return problem;
    }
    return spend(budget, 2);
  }
  if (isPlainObject(value)) {
    for (const [key, item] of Object.entries(value)) {
      const problem =
        spend(budget, key.length + 3) ??
        checkJson(item, `${where}.${shorten(key)}`, depth + 1, budget);
      if (problem !== undefined) return problem;
    }
    return spend(budget, 2);
  }
  return `${where} must be a JSON value (string, finite number, boolean, null, array or plain object), not ${describe(value)}`;
}

function spend(budget: { bytes: number }, bytes: number): string | undefined {
  budget.bytes += bytes;
  return budget.bytes > MAX_DATA_BYTES
    ? `session data would take more than ${MAX_DATA_BYTES} bytes as JSON, the limit`
    : undefined;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

function describe(value: unknown): string {
  if (value === undefined) return "undefined";
  if (typeof value === "object") return `a ${(value as object).constructor?.name ?? "object"}`;
  return `a ${typeof value}`;
}

function shorten(name: string): string {
  return name.length > 40 ? `${name.slice(0, 40)}...` : name;
}

function refuse(code: DataErrorCode, message: string): DataResult {
  return { ok: false, error: { code, message } };
}
