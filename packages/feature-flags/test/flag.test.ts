/** Flag validation: each rule a definition must follow, each with a message naming the field. */
import { describe, expect, it } from "vitest";
import {
  MAX_FLAG_BYTES,
  MAX_LIST_VALUES,
  MAX_RULES,
  MAX_VARIANTS,
  parseFlag,
  percentToBuckets,
} from "../src/flag";
import { checkoutFlag, staticFlag } from "./helpers";

const withRule = (condition: object) =>
  checkoutFlag({
    rules: [{ conditions: [{ attribute: "a", ...condition }], serve: { variant: "on" } }] as never,
  });

describe("parseFlag accepts valid flags", () => {
  it("returns the definition normalised: rules always present, fields in one order", () => {
    const { rules: _rules, ...withoutRules } = staticFlag("theme");
    const parsed = parseFlag({ ...withoutRules, description: "the site's colour" });
    expect(parsed).toEqual({
      ok: true,
      flag: { ...staticFlag("theme"), description: "the site's colour" },
      // One field order, whatever order the caller wrote them in: equal flags store equal JSON.
      json: JSON.stringify({
        key: "theme",
        type: "string",
        description: "the site's colour",
        enabled: true,
        variants: { blue: "blue", green: "green" },
        rules: [],
        fallthrough: { variant: "blue" },
      }),
      bytes: expect.any(Number),
    });
  });

  it("accepts every flag type with its own kind of value", () => {
    for (const [type, variants] of [
      ["boolean", { on: true, off: false }],
      ["string", { a: "x", b: "" }],
      ["number", { low: -1.5, high: 1e6 }],
      ["object", { one: { a: [1, { b: null }] }, list: [1, 2] }],
    ] as const) {
      const first = Object.keys(variants)[0]!;
      const parsed = parseFlag({
        ...staticFlag("f"),
        type,
        variants,
        fallthrough: { variant: first },
      });
      expect(parsed.ok).toBe(true);
    }
  });

  it("accepts splits in steps of 0.001%", () => {
    const split = [
      { variant: "on", percent: 33.333 },
      { variant: "off", percent: 66.667 },
    ];
    expect(parseFlag(checkoutFlag({ fallthrough: { split } })).ok).toBe(true);
    expect(percentToBuckets(12.345)).toBe(12_345);
    expect(percentToBuckets(0.0001)).toBeUndefined();
  });
});

describe("parseFlag rejects, naming the problem", () => {
  const cases: [string, unknown, RegExp][] = [
    ["not an object", "flag", /flag must be an object/],
    ["a key with a slash", checkoutFlag({ key: "a/b" }), /key must be 1-128 characters/],
    [
      "an unknown type",
      { ...checkoutFlag(), type: "date" },
      /type must be one of: boolean, string, number, object/,
    ],
    ["enabled as a string", { ...checkoutFlag(), enabled: "yes" }, /enabled must be true or false/],
    ["no variants", checkoutFlag({ variants: {} }), /variants must hold 1-32 variants/],
    [
      "too many variants",
      checkoutFlag({
        variants: Object.fromEntries(
          Array.from({ length: MAX_VARIANTS + 1 }, (_, i) => [`v${i}`, true]),
        ),
        fallthrough: { variant: "v0" },
        rules: [],
      }),
      /variants must hold 1-32 variants/,
    ],
    [
      "a bad variant name",
      checkoutFlag({ variants: { "o n": true, off: false } }),
      /"o n" is not a valid variant name/,
    ],
    [
      "a value of another type",
      checkoutFlag({ variants: { on: "true", off: false } }),
      /variants\.on: a boolean flag's values must be booleans/,
    ],
    [
      "a non-finite number",
      {
        ...staticFlag("n"),
        type: "number",
        variants: { a: Number.NaN },
        fallthrough: { variant: "a" },
      },
      /variants\.a: must be a finite number/,
    ],
    [
      "an object flag with a primitive",
      { ...staticFlag("o"), type: "object", variants: { a: 1 }, fallthrough: { variant: "a" } },
      /JSON objects or arrays/,
    ],
    [
      "an object flag with a Date inside",
      {
        ...staticFlag("o"),
        type: "object",
        variants: { a: { at: new Date() } },
        fallthrough: { variant: "a" },
      },
      /must be plain JSON/,
    ],
    [
      "a fallthrough to a missing variant",
      checkoutFlag({ fallthrough: { variant: "maybe" } }),
      /fallthrough: no variant named "maybe"/,
    ],
    [
      "variant and split at once",
      { ...checkoutFlag(), fallthrough: { variant: "on", split: [] } },
      /either variant or split/,
    ],
    [
      "neither variant nor split",
      { ...checkoutFlag(), fallthrough: {} },
      /either variant or split/,
    ],
    [
      "a split short of 100",
      checkoutFlag({
        fallthrough: {
          split: [
            { variant: "on", percent: 30 },
            { variant: "off", percent: 60 },
          ],
        },
      }),
      /add up to 90; they must add up to exactly 100/,
    ],
    [
      "a split over 100",
      checkoutFlag({
        fallthrough: {
          split: [
            { variant: "on", percent: 60 },
            { variant: "off", percent: 60 },
          ],
        },
      }),
      /add up to 120/,
    ],
    [
      "a variant twice in a split",
      checkoutFlag({
        fallthrough: {
          split: [
            { variant: "on", percent: 50 },
            { variant: "on", percent: 50 },
          ],
        },
      }),
      /appears twice/,
    ],
    [
      "a negative percent",
      checkoutFlag({
        fallthrough: {
          split: [
            { variant: "on", percent: -10 },
            { variant: "off", percent: 110 },
          ],
        },
      }),
      /percent -10 must be from 0 to 100/,
    ],
    [
      "a percent finer than 0.001",
      checkoutFlag({
        fallthrough: {
          split: [
            { variant: "on", percent: 30.0001 },
            { variant: "off", percent: 69.9999 },
          ],
        },
      }),
      /steps of 0\.001/,
    ],
    ["an unknown operator", withRule({ op: "matches", value: "x" }), /op must be one of: equals/],
    [
      "in without a list",
      withRule({ op: "in", value: "de" }),
      /rules\.0\.conditions\.0\.value: in needs a list/,
    ],
    ["in with an empty list", withRule({ op: "in", value: [] }), /in needs a list of 1-500/],
    [
      "in with too long a list",
      withRule({ op: "in", value: Array.from({ length: MAX_LIST_VALUES + 1 }, (_, i) => i) }),
      /in needs a list of 1-500/,
    ],
    ["in with an object in the list", withRule({ op: "in", value: [{}] }), /in needs a list/],
    ["lt with a string", withRule({ op: "lt", value: "5" }), /lt needs a finite number/],
    ["equals with an object", withRule({ op: "equals", value: { a: 1 } }), /equals needs a string/],
    [
      "equals with no value",
      withRule({ op: "equals" }),
      /conditions\.0\.value: equals needs a string/,
    ],
    [
      "starts_with with an empty string",
      withRule({ op: "starts_with", value: "" }),
      /non-empty string/,
    ],
    [
      "semver_gte with a non-version",
      withRule({ op: "semver_gte", value: "2.x" }),
      /semantic version/,
    ],
    [
      "a rule with no conditions",
      checkoutFlag({ rules: [{ conditions: [], serve: { variant: "on" } }] }),
      /at least one condition/,
    ],
    [
      "an empty attribute",
      withRule({ attribute: "", op: "equals", value: 1 }),
      /attribute must not be empty/,
    ],
    [
      "too many rules",
      checkoutFlag({
        rules: Array.from({ length: MAX_RULES + 1 }, () => ({
          conditions: [{ attribute: "a", op: "equals" as const, value: 1 }],
          serve: { variant: "on" },
        })),
      }),
      /rules must hold at most 50 rules/,
    ],
    ["an unknown field", { ...checkoutFlag(), owner: "team-a" }, /unknown field "owner"/],
    [
      "a description too long",
      checkoutFlag({ description: "x".repeat(501) }),
      /description must be at most 500 characters/,
    ],
    [
      "a flag over the size cap",
      {
        ...staticFlag("big"),
        variants: { a: "x".repeat(MAX_FLAG_BYTES) },
        fallthrough: { variant: "a" },
      },
      /must be at most 16384/,
    ],
  ];

  it.each(cases)("%s", (_label, input, message) => {
    const parsed = parseFlag(input);
    expect(parsed.ok).toBe(false);
    expect(!parsed.ok && parsed.message).toMatch(message);
  });
});
