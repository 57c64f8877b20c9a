/** The pure evaluator, driven with plain flags and contexts. */
import { describe, expect, it } from "vitest";
import { evaluateFlag, unreadableEntry, type Resolution } from "../src/evaluate";
import type { Condition, FlagDefinition } from "../src/flag";
import { bucketOf } from "../src/hash";
import { checkoutFlag, compiled, staticFlag } from "./helpers";

/** The variant user-42 gets from new-checkout when `percent` of subjects are on. */
const variantAt = (percent: number) =>
  evaluateFlag(
    compiled(
      checkoutFlag({
        rules: [],
        fallthrough: {
          split: [
            { variant: "on", percent },
            { variant: "off", percent: (100_000 - percent * 1000) / 1000 },
          ],
        },
      }),
    ),
    "new-checkout",
    { targetingKey: "user-42" },
  ).variant;

describe("reasons", () => {
  it("STATIC: no rules, one variant for everyone, no targeting key needed", () => {
    expect(evaluateFlag(compiled(staticFlag("theme")), "theme", {}, "red")).toEqual({
      value: "blue",
      variant: "blue",
      reason: "STATIC",
    });
  });

  it("TARGETING_MATCH: the first rule that matches decides", () => {
    const flag = compiled(checkoutFlag());
    expect(evaluateFlag(flag, "new-checkout", { plan: "beta" }, false)).toEqual({
      value: true,
      variant: "on",
      reason: "TARGETING_MATCH",
    });
  });

  it("SPLIT: the fallthrough split picks by the targeting key's bucket", () => {
    const flag = compiled(checkoutFlag());
    // user-42 is in bucket 34,907 of new-checkout: past the first 30,000, so "off".
    expect(bucketOf("new-checkout", "user-42")).toBe(34_907);
    expect(evaluateFlag(flag, "new-checkout", { targetingKey: "user-42" }, true)).toEqual({
      value: false,
      variant: "off",
      reason: "SPLIT",
    });
  });

  it("SPLIT boundaries are exact: a bucket belongs to the share whose range ends after it", () => {
    // user-42's bucket for new-checkout is 34,907: "on" at 34.907% stops just short of it.
    expect(variantAt(34.907)).toBe("off");
    expect(variantAt(34.908)).toBe("on");
    expect(variantAt(0)).toBe("off");
    expect(variantAt(100)).toBe("on");
  });

  it("SPLIT from a rule: a rule may serve a split too", () => {
    const flag = compiled(
      checkoutFlag({
        rules: [
          {
            conditions: [{ attribute: "plan", op: "equals", value: "beta" }],
            serve: { split: [{ variant: "on", percent: 100 }] },
          },
        ],
        fallthrough: { variant: "off" },
      }),
    );
    expect(evaluateFlag(flag, "new-checkout", { plan: "beta", targetingKey: "u" })).toMatchObject({
      value: true,
      reason: "SPLIT",
    });
    expect(evaluateFlag(flag, "new-checkout", { plan: "free", targetingKey: "u" })).toMatchObject({
      value: false,
      reason: "DEFAULT",
    });
  });

  it("DEFAULT: rules exist, none matched, the fallthrough serves one variant", () => {
    const flag = compiled(checkoutFlag({ fallthrough: { variant: "off" } }));
    expect(evaluateFlag(flag, "new-checkout", { plan: "free" }, true)).toEqual({
      value: false,
      variant: "off",
      reason: "DEFAULT",
    });
  });

  it("DISABLED: the caller's default, no variant, whatever the context", () => {
    const flag = compiled(checkoutFlag({ enabled: false }));
    expect(evaluateFlag(flag, "new-checkout", { plan: "beta" }, false)).toEqual({
      value: false,
      reason: "DISABLED",
    });
    expect(evaluateFlag(flag, "new-checkout", "not even a context")).toEqual({
      value: null,
      reason: "DISABLED",
    });
  });
});

function expectError(result: Resolution, code: string, value: unknown): void {
  expect(result).toMatchObject({ value, reason: "ERROR", errorCode: code });
  expect(result.variant).toBeUndefined();
  expect(result.errorMessage).toMatch(/\w+ \w+/);
}

describe("errors: the caller's default, reason ERROR, a code and a message", () => {
  it("FLAG_NOT_FOUND", () => {
    expectError(evaluateFlag(undefined, "missing", {}, 7), "FLAG_NOT_FOUND", 7);
  });

  it("TYPE_MISMATCH: a default of another type than the flag's", () => {
    const flag = compiled(checkoutFlag());
    expectError(
      evaluateFlag(flag, "new-checkout", { plan: "beta" }, "yes"),
      "TYPE_MISMATCH",
      "yes",
    );
    expectError(evaluateFlag(flag, "new-checkout", {}, { a: 1 }), "TYPE_MISMATCH", { a: 1 });
    // An explicit expected type wins over the default's.
    expectError(evaluateFlag(flag, "new-checkout", {}, null, "number"), "TYPE_MISMATCH", null);
  });

  it("a null default expects no particular type", () => {
    const flag = compiled(checkoutFlag());
    expect(evaluateFlag(flag, "new-checkout", { plan: "beta" }, null).value).toBe(true);
  });

  it("TARGETING_KEY_MISSING: a split reached without a usable targeting key", () => {
    const flag = compiled(checkoutFlag());
    for (const context of [{}, { targetingKey: "" }, { targetingKey: 42 }]) {
      expectError(
        evaluateFlag(flag, "new-checkout", context, false),
        "TARGETING_KEY_MISSING",
        false,
      );
    }
    // A rule that matches first needs no key.
    expect(evaluateFlag(flag, "new-checkout", { plan: "beta" }, false).reason).toBe(
      "TARGETING_MATCH",
    );
  });

  it("PARSE_ERROR: a flag storage holds but this code cannot read", () => {
    const entry = unreadableEntry({ key: "old", version: 3, message: "type must be one of ..." });
    expectError(evaluateFlag(entry, "old", {}, false), "PARSE_ERROR", false);
  });

  it("INVALID_CONTEXT: a context that is not an object", () => {
    const flag = compiled(checkoutFlag());
    for (const context of [null, "user-42", 42, ["plan"]]) {
      expectError(evaluateFlag(flag, "new-checkout", context, false), "INVALID_CONTEXT", false);
    }
  });

  it("GENERAL: whatever goes wrong inside is an answer, not a throw", () => {
    const flag = compiled(checkoutFlag());
    const hostile = {
      get plan(): string {
        throw new Error("a getter that throws");
      },
    };
    expectError(evaluateFlag(flag, "new-checkout", hostile, false), "GENERAL", false);
  });
});

/** Evaluates a one-condition rule against an attribute value: did it match? */
function matches(condition: Omit<Condition, "attribute">, actual: unknown): boolean {
  const flag: FlagDefinition = {
    key: "f",
    type: "boolean",
    enabled: true,
    variants: { yes: true, no: false },
    rules: [{ conditions: [{ attribute: "a", ...condition }], serve: { variant: "yes" } }],
    fallthrough: { variant: "no" },
  };
  const context = actual === undefined ? {} : { a: actual };
  return evaluateFlag(compiled(flag), "f", context).value === true;
}

describe("operators", () => {
  it.each<[Omit<Condition, "attribute">, unknown, boolean]>([
    [{ op: "equals", value: "beta" }, "beta", true],
    [{ op: "equals", value: "beta" }, "Beta", false],
    [{ op: "equals", value: 5 }, "5", false],
    [{ op: "equals", value: true }, true, true],
    [{ op: "not_equals", value: "free" }, "pro", true],
    [{ op: "not_equals", value: "free" }, "free", false],
    [{ op: "in", value: ["de", "fr", 49] }, "fr", true],
    [{ op: "in", value: ["de", "fr", 49] }, 49, true],
    [{ op: "in", value: ["de", "fr"] }, "it", false],
    [{ op: "not_in", value: ["de", "fr"] }, "it", true],
    [{ op: "not_in", value: ["de", "fr"] }, "de", false],
    [{ op: "starts_with", value: "admin-" }, "admin-7", true],
    [{ op: "starts_with", value: "admin-" }, "user-7", false],
    [{ op: "ends_with", value: "@example.com" }, "ana@example.com", true],
    [{ op: "ends_with", value: "@example.com" }, "ana@example.org", false],
    [{ op: "lt", value: 18 }, 17, true],
    [{ op: "lt", value: 18 }, 18, false],
    [{ op: "lte", value: 18 }, 18, true],
    [{ op: "gt", value: 0.3 }, 0.1 + 0.2, true],
    [{ op: "gte", value: 100 }, 99.999, false],
    [{ op: "gte", value: Date.UTC(2030, 0, 1) }, new Date(Date.UTC(2030, 0, 2)), true],
    [{ op: "lt", value: 5 }, "4", false],
    [{ op: "semver_gte", value: "2.4.0" }, "2.10.0", true],
    [{ op: "semver_gte", value: "2.4.0" }, "2.4.0-beta.1", false],
    [{ op: "semver_lt", value: "2.4.0" }, "v2.3.9", true],
    [{ op: "semver_lte", value: "2.4.0" }, "2.4.0+build.5", true],
    [{ op: "semver_gt", value: "2.4.0" }, "2.4.1-rc.1", true],
    [{ op: "semver_eq", value: "2.4.0" }, "2.4.0", true],
    [{ op: "semver_eq", value: "2.4.0" }, "not-a-version", false],
  ])("%j on %j: %s", (condition, actual, expected) => {
    expect(matches(condition, actual)).toBe(expected);
  });

  it.each<Omit<Condition, "attribute">>([
    { op: "equals", value: "x" },
    { op: "not_equals", value: "x" },
    { op: "in", value: ["x"] },
    { op: "not_in", value: ["x"] },
    { op: "starts_with", value: "x" },
    { op: "ends_with", value: "x" },
    { op: "lt", value: 1 },
    { op: "gte", value: 1 },
    { op: "semver_lt", value: "1.0.0" },
  ])("a missing or null attribute fails %j, negated operators included", (condition) => {
    expect(matches(condition, undefined)).toBe(false);
    expect(matches(condition, null)).toBe(false);
  });

  it("reads own attributes only, never inherited ones", () => {
    const flag = compiled(checkoutFlag({ fallthrough: { variant: "off" } }));
    // An inherited scalar would match "plan equals beta" if the evaluator read through prototypes.
    const inherited = Object.create({ plan: "beta" }) as object;
    expect(evaluateFlag(flag, "new-checkout", inherited, false)).toMatchObject({
      value: false,
      reason: "DEFAULT",
    });
    expect(evaluateFlag(flag, "new-checkout", { plan: "beta" }, false).reason).toBe(
      "TARGETING_MATCH",
    );
  });

  it("needs every condition of a rule (and), and takes the first matching rule (or)", () => {
    const flag = compiled(
      checkoutFlag({
        type: "string",
        variants: { a: "first", b: "second", c: "neither" },
        rules: [
          {
            conditions: [
              { attribute: "plan", op: "equals", value: "pro" },
              { attribute: "country", op: "in", value: ["de", "fr"] },
            ],
            serve: { variant: "a" },
          },
          {
            conditions: [{ attribute: "plan", op: "equals", value: "pro" }],
            serve: { variant: "b" },
          },
        ],
        fallthrough: { variant: "c" },
      }),
    );
    const value = (context: object) => evaluateFlag(flag, "new-checkout", context).value;
    expect(value({ plan: "pro", country: "de" })).toBe("first");
    expect(value({ plan: "pro", country: "us" })).toBe("second");
    expect(value({ plan: "free", country: "de" })).toBe("neither");
  });
});

describe("values", () => {
  it("serves object flags' values frozen, so no caller can change the flag for the next", () => {
    const flag = compiled({
      key: "limits",
      type: "object",
      enabled: true,
      variants: { small: { rows: 10, tags: ["a"] } },
      rules: [],
      fallthrough: { variant: "small" },
    });
    const value = evaluateFlag(flag, "limits", {}, {}).value as { rows: number; tags: string[] };
    expect(value).toEqual({ rows: 10, tags: ["a"] });
    expect(Object.isFrozen(value) && Object.isFrozen(value.tags)).toBe(true);
    expect(() => {
      value.rows = 11;
    }).toThrow(TypeError);
    expect(evaluateFlag(flag, "limits", {}, {}).value).toEqual({ rows: 10, tags: ["a"] });
  });
});
