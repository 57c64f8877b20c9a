import { describe, expect, it } from "vitest";
import {
  dataBytes,
  deleteFields,
  MAX_DATA_BYTES,
  MAX_DEPTH,
  MAX_FIELD_NAME_LENGTH,
  mergeFields,
  setField,
  type SessionData,
} from "../src/index";

function refused(result: ReturnType<typeof mergeFields>) {
  if (result.ok) throw new Error(`expected a refusal, got ${JSON.stringify(result.data)}`);
  return result.error;
}

/** Data of exactly `bytes` bytes as JSON: {"pad":"xxx..."} is 10 bytes plus the padding. */
function dataOfSize(bytes: number): SessionData {
  return { pad: "x".repeat(bytes - 10) };
}

describe("session data, as pure functions", () => {
  it("sets, merges and deletes fields without touching the input", () => {
    const data = { a: 1, b: "two" };
    expect(setField(data, "c", [3])).toEqual({ ok: true, data: { a: 1, b: "two", c: [3] } });
    expect(mergeFields(data, { a: null, d: { e: true } })).toEqual({
      ok: true,
      data: { a: null, b: "two", d: { e: true } },
    });
    expect(deleteFields(data, ["a", "missing"])).toEqual({ ok: true, data: { b: "two" } });
    expect(data).toEqual({ a: 1, b: "two" });
  });

  it("returns the very same data when a delete removes nothing", () => {
    const data = { a: 1 };
    const result = deleteFields(data, ["b"]);
    expect(result.ok && result.data).toBe(data);
  });

  it("caps the data at MAX_DATA_BYTES of JSON, to the byte", () => {
    expect(dataBytes(dataOfSize(MAX_DATA_BYTES))).toBe(MAX_DATA_BYTES);
    expect(mergeFields({}, dataOfSize(MAX_DATA_BYTES)).ok).toBe(true);
    expect(refused(mergeFields({}, dataOfSize(MAX_DATA_BYTES + 1)))).toEqual({
      code: "data_too_large",
      message: `session data would take ${MAX_DATA_BYTES + 1} bytes as JSON; the limit is ${MAX_DATA_BYTES}`,
    });
    // Counted as UTF-8: each of these characters is three bytes.
    const wide = { w: "€".repeat(Math.floor((MAX_DATA_BYTES - 8) / 3) + 1) };
    expect(refused(mergeFields({}, wide)).code).toBe("data_too_large");
    // The cap is on the whole data, not on one write.
    const half = "x".repeat(MAX_DATA_BYTES / 2);
    expect(refused(setField({ a: half }, "b", half)).code).toBe("data_too_large");
  });

  it("refuses a value far over the cap without walking all of it", () => {
    const huge = Array.from({ length: 1_000_000 }, () => 0);
    expect(refused(setField({}, "huge", huge))).toEqual({
      code: "data_too_large",
      message: `session data would take more than ${MAX_DATA_BYTES} bytes as JSON, the limit`,
    });
  });

  it("takes only plain JSON, saying where the bad value is", () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    let deep: unknown = 1;
    for (let i = 0; i < MAX_DEPTH; i++) deep = [deep];
    const sparse: unknown[] = [1];
    sparse[2] = 3; // index 1 is a hole
    const cases: [unknown, RegExp][] = [
      [undefined, /field "v" must be a JSON value .* not undefined/],
      [Number.NaN, /field "v" must be a finite number/],
      [Number.POSITIVE_INFINITY, /must be a finite number/],
      [new Date(0), /not a Date/],
      [new Map(), /not a Map/],
      [() => 1, /not a function/],
      [10n, /not a bigint/],
      [{ nested: [1, { bad: undefined }] }, /field "v"\.nested\[1\]\.bad must be a JSON value/],
      [sparse, /field "v"\[1\] must be a JSON value/],
      [cyclic, /nests deeper than 32 levels/],
      [deep, /nests deeper than 32 levels/],
    ];
    for (const [value, message] of cases) {
      const error = refused(setField({}, "v", value));
      expect(error.code).toBe("invalid_input");
      expect(error.message).toMatch(message);
    }
    let justDeepEnough: unknown = 1;
    for (let i = 1; i < MAX_DEPTH; i++) justDeepEnough = [justDeepEnough];
    expect(setField({}, "v", justDeepEnough).ok).toBe(true);
  });

  it("checks field names and the shape of what is given", () => {
    expect(refused(setField({}, "", 1)).message).toBe(
      `field must be 1-${MAX_FIELD_NAME_LENGTH} characters`,
    );
    expect(refused(setField({}, "x".repeat(MAX_FIELD_NAME_LENGTH + 1), 1)).code).toBe(
      "invalid_input",
    );
    expect(setField({}, "x".repeat(MAX_FIELD_NAME_LENGTH), 1).ok).toBe(true);
    expect(refused(setField({}, 7, 1)).message).toBe("field must be a string");
    expect(refused(mergeFields({}, [1, 2])).message).toMatch(/fields must be an object/);
    expect(refused(mergeFields({}, null)).message).toMatch(/fields must be an object/);
    expect(refused(mergeFields({}, { "": 1 })).message).toMatch(/must be 1-128 characters/);
    expect(refused(deleteFields({}, "a")).message).toBe("fields must be an array of field names");
    expect(refused(deleteFields({}, ["a", 2])).message).toBe("fields[1] must be a string");
  });

  it("stores a field named __proto__ as data, never as a prototype", () => {
    const given = JSON.parse('{"__proto__": {"admin": true}}') as Record<string, unknown>;
    const merged = mergeFields({}, given);
    expect(merged.ok).toBe(true);
    if (!merged.ok) return;
    expect(Object.getPrototypeOf(merged.data)).toBe(Object.prototype);
    expect(Object.hasOwn(merged.data, "__proto__")).toBe(true);
    expect((merged.data as { admin?: unknown }).admin).toBeUndefined();
    const set = setField({}, "__proto__", { admin: true });
    expect(set.ok && Object.getPrototypeOf(set.data)).toBe(Object.prototype);
    const kept = deleteFields({ ...(merged.data as object), other: 1 }, ["other"]);
    expect(kept.ok && Object.hasOwn(kept.data, "__proto__")).toBe(true);
    expect(kept.ok && Object.getPrototypeOf(kept.data)).toBe(Object.prototype);
    expect(({} as { admin?: unknown }).admin).toBeUndefined();
  });
});
