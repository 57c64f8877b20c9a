/**
 * The README's promises as properties: over every flag the schema accepts (all types, rules with
 * every operator, splits), every context (including ones that are not objects at all) and every
 * default, evaluation never throws and every field of its answer says what is true; rollouts
 * only ever add people; splits give each variant exactly its share of buckets; the object's
 * version counts changes exactly.
 */
// Each answer is checked against the claim that fits its reason.
/* oxlint-disable vitest/no-conditional-expect */
import * as fc from "fast-check";
import { describe, expect, it } from "vitest";
import { REASONS, compileFlag, evaluateFlag, type Resolution } from "../src/evaluate";
import {
  FLAG_TYPES,
  OPERATORS,
  PERCENT_SCALE,
  parseFlag,
  typeOfValue,
  type Condition,
  type FlagDefinition,
  type FlagType,
  type JsonValue,
  type Operator,
  type Serve,
} from "../src/flag";
import { BUCKETS, bucketOf } from "../src/hash";
import { compareSemver, parseSemver } from "../src/semver";
import { ADMIN, freshFlagSet, T0 } from "./helpers";

const RUNS = { numRuns: 300 };

// Small pools, so that generated rules and contexts actually meet.
const ATTRIBUTES = ["plan", "country", "age", "appVersion", "email"] as const;
const STRINGS = ["beta", "free", "pro", "de", "fr", "a@x.io", "b@y.io", "1.2.3", "2.0.0-rc.1", ""];
const word = fc.constantFrom(...STRINGS.filter((s) => s !== ""));
const smallNumber = fc.oneof(
  fc.integer({ min: -3, max: 3 }),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);
const semverText = fc
  .tuple(
    fc.nat({ max: 3 }),
    fc.nat({ max: 3 }),
    fc.nat({ max: 3 }),
    fc.option(fc.constantFrom("alpha", "beta.1", "rc.2", "1"), { nil: undefined }),
  )
  .map(([a, b, c, pre]) => `${a}.${b}.${c}${pre === undefined ? "" : `-${pre}`}`);

const variantName = fc.stringMatching(/^[A-Za-z0-9_.-]{1,6}$/);
const flagKey = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,12}$/);

/** Plain JSON, as it would arrive over HTTP (a round trip normalises -0 and the like). */
const json = fc
  .jsonValue({ maxDepth: 2 })
  .map((value) => JSON.parse(JSON.stringify(value)) as JsonValue);

function valueOf(type: FlagType): fc.Arbitrary<JsonValue> {
  switch (type) {
    case "boolean":
      return fc.boolean();
    case "string":
      return fc.oneof(word, fc.string({ maxLength: 6 }));
    case "number":
      return smallNumber;
    case "object":
      return fc
        .oneof(
          fc.dictionary(fc.string({ maxLength: 4 }), json, { maxKeys: 3 }),
          fc.array(json, { maxLength: 3 }),
        )
        .map((value) => JSON.parse(JSON.stringify(value)) as JsonValue);
  }
}

function conditionValue(op: Operator): fc.Arbitrary<Condition["value"]> {
  switch (op) {
    case "equals":
    case "not_equals":
      return fc.oneof(word, fc.integer({ min: -3, max: 3 }), fc.boolean());
    case "in":
    case "not_in":
      return fc.array(fc.oneof(word, fc.integer({ min: -3, max: 3 })), {
        minLength: 1,
        maxLength: 4,
      });
    case "starts_with":
    case "ends_with":
      return fc.constantFrom("b", "f", "@x.io", "1.", "-rc");
    case "lt":
    case "lte":
    case "gt":
    case "gte":
      return smallNumber;
    default:
      return semverText;
  }
}

const condition: fc.Arbitrary<Condition> = fc
  .record({ attribute: fc.constantFrom(...ATTRIBUTES), op: fc.constantFrom(...OPERATORS) })
  .chain(({ attribute, op }) => conditionValue(op).map((value) => ({ attribute, op, value })));

/** One variant, or a split over some of them with shares in 0.001% steps adding up to 100%. */
function serve(names: string[]): fc.Arbitrary<Serve> {
  const split = fc.shuffledSubarray(names, { minLength: 1 }).chain((chosen) =>
    fc
      .array(fc.integer({ min: 0, max: 100 * PERCENT_SCALE }), {
        minLength: chosen.length - 1,
        maxLength: chosen.length - 1,
      })
      .map((cuts) => {
        const bounds = [0, ...cuts.toSorted((a, b) => a - b), 100 * PERCENT_SCALE];
        return {
          split: chosen.map((variant, i) => ({
            variant,
            percent: (bounds[i + 1]! - bounds[i]!) / PERCENT_SCALE,
          })),
        };
      }),
  );
  return fc.oneof(
    fc.constantFrom(...names).map((variant) => ({ variant })),
    split,
  );
}

/** Any flag the schema accepts, small enough that rules and splits are hit often. */
const flag: fc.Arbitrary<FlagDefinition> = fc.constantFrom(...FLAG_TYPES).chain((type) =>
  fc.uniqueArray(variantName, { minLength: 1, maxLength: 4 }).chain((names) =>
    fc.record({
      key: flagKey,
      type: fc.constant(type),
      enabled: fc.boolean(),
      variants: fc
        .tuple(...names.map(() => valueOf(type)))
        .map((values) => Object.fromEntries(names.map((name, i) => [name, values[i] ?? null]))),
      rules: fc.array(
        fc.record({
          conditions: fc.array(condition, { minLength: 1, maxLength: 3 }),
          serve: serve(names),
        }),
        { maxLength: 4 },
      ),
      fallthrough: serve(names),
    }),
  ),
);

/** Contexts that meet the rules, with odd targeting keys, and some that are not objects at all. */
const context: fc.Arbitrary<unknown> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record(
      {
        targetingKey: fc.oneof(fc.string({ maxLength: 8 }), fc.constant(""), fc.integer()),
        plan: fc.oneof(word, fc.integer({ min: -3, max: 3 })),
        country: word,
        age: fc.oneof(smallNumber, fc.date({ noInvalidDate: true }), word),
        appVersion: fc.oneof(semverText, word),
        email: fc.oneof(word, fc.constantFrom(null)),
      },
      { requiredKeys: [] },
    ),
  },
  { weight: 1, arbitrary: fc.anything() },
);

const defaultValue: fc.Arbitrary<JsonValue> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  word,
  smallNumber,
  fc.constant({ fallback: true }),
);

function valid(definition: FlagDefinition): FlagDefinition {
  const parsed = parseFlag(definition);
  if (!parsed.ok) throw new Error(`generated an invalid flag: ${parsed.message}`);
  return parsed.flag;
}

/** The answer a reference reading of the rules expects: the first rule whose conditions all hold. */
function firstMatchingRule(definition: FlagDefinition, ctx: Record<string, unknown>): number {
  return definition.rules.findIndex((rule) => rule.conditions.every((c) => holds(c, ctx)));
}

/** Each operator as its README sentence says, written plainly and apart from the evaluator. */
function holds({ attribute, op, value }: Condition, ctx: Record<string, unknown>): boolean {
  if (!Object.hasOwn(ctx, attribute)) return false;
  const actual = ctx[attribute];
  if (actual === null || actual === undefined) return false;
  const num =
    typeof actual === "number" ? actual : actual instanceof Date ? actual.getTime() : undefined;
  const str = typeof actual === "string" ? actual : undefined;
  const list = value as (string | number)[];
  switch (op) {
    case "equals":
      return actual === value;
    case "not_equals":
      return ["string", "number", "boolean"].includes(typeof actual) && actual !== value;
    case "in":
      return (typeof actual === "string" || typeof actual === "number") && list.includes(actual);
    case "not_in":
      return (typeof actual === "string" || typeof actual === "number") && !list.includes(actual);
    case "starts_with":
      return str !== undefined && str.startsWith(value as string);
    case "ends_with":
      return str !== undefined && str.endsWith(value as string);
    case "lt":
      return num !== undefined && num < (value as number);
    case "lte":
      return num !== undefined && num <= (value as number);
    case "gt":
      return num !== undefined && num > (value as number);
    case "gte":
      return num !== undefined && num >= (value as number);
    default: {
      const a = str === undefined ? undefined : parseSemver(str);
      const b = parseSemver(value as string);
      if (a === undefined || b === undefined) return false;
      const order = compareSemver(a, b);
      return {
        semver_eq: order === 0,
        semver_lt: order < 0,
        semver_lte: order <= 0,
        semver_gt: order > 0,
        semver_gte: order >= 0,
      }[op];
    }
  }
}

const isObjectContext = (ctx: unknown): ctx is Record<string, unknown> =>
  typeof ctx === "object" && ctx !== null && !Array.isArray(ctx);

describe("evaluation never throws and every field says what is true", () => {
  it("over every valid flag, context and default", () => {
    fc.assert(
      fc.property(flag, context, defaultValue, (generated, ctx, fallback) => {
        const definition = valid(generated);
        const entry = compileFlag({ ...definition, version: 1, updatedAt: T0 });
        const result: Resolution = evaluateFlag(entry, definition.key, ctx, fallback);
        expect(REASONS).toContain(result.reason);
        // Deterministic: the same question, the same answer.
        expect(evaluateFlag(entry, definition.key, ctx, fallback)).toEqual(result);
        // errorCode and errorMessage exactly when the reason is ERROR.
        expect(result.errorCode !== undefined).toBe(result.reason === "ERROR");
        expect(result.errorMessage !== undefined).toBe(result.reason === "ERROR");
        // A variant exactly when the flag chose the value, and then the value is that variant's.
        if (result.variant !== undefined) {
          expect(["STATIC", "TARGETING_MATCH", "SPLIT", "DEFAULT"]).toContain(result.reason);
          expect(result.value).toEqual(definition.variants[result.variant]);
          expect(typeOfValue(result.value)).toBe(definition.type);
        } else {
          expect(["DISABLED", "ERROR"]).toContain(result.reason);
          expect(result.value).toEqual(fallback);
        }
        const expected = typeOfValue(fallback);
        if (expected !== undefined && expected !== definition.type) {
          expect(result.errorCode).toBe("TYPE_MISMATCH");
          return;
        }
        if (!definition.enabled) {
          expect(result.reason).toBe("DISABLED");
          return;
        }
        if (!isObjectContext(ctx)) {
          expect(result.errorCode).toBe("INVALID_CONTEXT");
          return;
        }
        expect(result.reason === "STATIC").toBe(
          definition.rules.length === 0 && "variant" in definition.fallthrough,
        );
        const ruleIndex = firstMatchingRule(definition, ctx);
        const served =
          ruleIndex === -1 ? definition.fallthrough : definition.rules[ruleIndex]!.serve;
        if ("variant" in served) {
          expect(result.variant).toBe(served.variant);
          expect(result.reason).toBe(
            ruleIndex === -1
              ? definition.rules.length === 0
                ? "STATIC"
                : "DEFAULT"
              : "TARGETING_MATCH",
          );
          return;
        }
        const key = ctx.targetingKey;
        if (typeof key !== "string" || key === "") {
          expect(result.errorCode).toBe("TARGETING_KEY_MISSING");
          return;
        }
        // A split gives the variant whose range of buckets holds this key's bucket.
        const bucket = bucketOf(definition.key, key);
        let end = 0;
        const share = served.split.find(
          (s) => (end += Math.round(s.percent * PERCENT_SCALE)) > bucket,
        );
        expect(result).toMatchObject({ reason: "SPLIT", variant: share?.variant });
      }),
      { numRuns: 2_000 },
    );
  });

  it("a flag that is not in the set, or unreadable, answers the default with its error", () => {
    fc.assert(
      fc.property(flagKey, context, defaultValue, (key, ctx, fallback) => {
        expect(evaluateFlag(undefined, key, ctx, fallback)).toMatchObject({
          value: fallback,
          reason: "ERROR",
          errorCode: "FLAG_NOT_FOUND",
        });
      }),
      RUNS,
    );
  });
});

/** A boolean flag: `percent` of subjects on, the rest off. */
const twoWay = (key: string, percent: number): FlagDefinition => ({
  key,
  type: "boolean",
  enabled: true,
  variants: { on: true, off: false },
  rules: [],
  fallthrough: {
    split: [
      { variant: "on", percent },
      {
        variant: "off",
        percent: (100 * PERCENT_SCALE - percent * PERCENT_SCALE) / PERCENT_SCALE,
      },
    ],
  },
});

describe("rollouts", () => {
  const thousandths = fc
    .integer({ min: 0, max: 100 * PERCENT_SCALE })
    .map((n) => n / PERCENT_SCALE);

  it("raising a percentage never removes anyone already in; lowering it never adds anyone", () => {
    fc.assert(
      fc.property(
        flagKey,
        fc.string({ minLength: 1, maxLength: 12 }),
        thousandths,
        thousandths,
        (key, subject, a, b) => {
          const [low, high] = a <= b ? [a, b] : [b, a];
          const on = (percent: number) =>
            evaluateFlag(
              compileFlag({ ...valid(twoWay(key, percent)), version: 1, updatedAt: T0 }),
              key,
              {
                targetingKey: subject,
              },
            ).value === true;
          // In at the lower percentage implies in at the higher one.
          expect(!on(low) || on(high)).toBe(true);
        },
      ),
      { numRuns: 1_000 },
    );
  });

  it("every bucket is a whole number from 0 to 99,999", () => {
    fc.assert(
      fc.property(flagKey, fc.string({ maxLength: 40 }), (key, subject) => {
        const bucket = bucketOf(key, subject);
        expect(Number.isInteger(bucket) && bucket >= 0 && bucket < BUCKETS).toBe(true);
      }),
      { numRuns: 1_000 },
    );
  });
});

describe("validation", () => {
  it("accepts every generated flag, and is a fixed point: parsing its output changes nothing", () => {
    fc.assert(
      fc.property(flag, (generated) => {
        const once = valid(generated);
        expect(valid(once)).toEqual(once);
        expect(valid(JSON.parse(JSON.stringify(once)) as FlagDefinition)).toEqual(once);
      }),
      RUNS,
    );
  });

  it("never throws on any input, and answers a message for anything it refuses", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.anything(),
          flag.chain((generated) =>
            fc
              .tuple(fc.constantFrom(...Object.keys(generated)), fc.anything())
              .map(([field, value]) => ({ ...generated, [field]: value })),
          ),
        ),
        (input) => {
          const parsed = parseFlag(input);
          expect(parsed.ok || /\S/.test(parsed.message)).toBe(true);
        },
      ),
      RUNS,
    );
  });
});

describe("semver ordering is a total order", () => {
  it("reflexive, antisymmetric, transitive, and numeric on major.minor.patch", () => {
    fc.assert(
      fc.property(semverText, semverText, semverText, (x, y, z) => {
        const [a, b, c] = [x, y, z].map((text) => parseSemver(text)!);
        expect(compareSemver(a!, a!)).toBe(0);
        expect(compareSemver(a!, b!) + compareSemver(b!, a!)).toBe(0);
        if (compareSemver(a!, b!) <= 0 && compareSemver(b!, c!) <= 0) {
          expect(compareSemver(a!, c!)).toBeLessThanOrEqual(0);
        }
        if (a!.prerelease.length === 0 && b!.prerelease.length === 0) {
          const tuple = (v: typeof a) => v!.core.map(Number);
          const [ta, tb] = [tuple(a), tuple(b)];
          const index = ta.findIndex((n, i) => n !== tb[i]);
          expect(compareSemver(a!, b!)).toBe(index === -1 ? 0 : Math.sign(ta[index]! - tb[index]!));
        }
      }),
      { numRuns: 1_000 },
    );
  });
});

describe("the object's version counts changes exactly (model-based, against a real object)", () => {
  type Op =
    | { kind: "create"; flag: FlagDefinition }
    | { kind: "update"; flag: FlagDefinition }
    | { kind: "toggle"; key: string; enabled: boolean }
    | { kind: "delete"; key: string };
  const keys = fc.constantFrom("a", "b", "c");
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc
      .tuple(fc.constantFrom("create" as const, "update" as const), keys, flag)
      .map(([kind, key, generated]) => ({
        kind,
        // As a caller would send it: fast-check may build null-prototype objects, which RPC
        // cannot carry (workerd refuses them on the caller's side, before the object is reached).
        flag: JSON.parse(JSON.stringify({ ...generated, key })) as FlagDefinition,
      })),
    fc.record({ kind: fc.constant("toggle" as const), key: keys, enabled: fc.boolean() }),
    fc.record({ kind: fc.constant("delete" as const), key: keys }),
  );

  it("over random sequences of creates, updates, toggles and deletes", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 20 }), async (ops) => {
        const set = freshFlagSet();
        const model = new Map<string, FlagDefinition>();
        let version = 0;
        for (const step of ops) {
          const key = step.kind === "create" || step.kind === "update" ? step.flag.key : step.key;
          const current = model.get(key);
          let expected: FlagDefinition | undefined | "rejected" = "rejected";
          let outcome: object;
          if (step.kind === "create") {
            outcome = await set.createFlag(step.flag, ADMIN);
            if (current === undefined) expected = valid(step.flag);
          } else if (step.kind === "update") {
            outcome = await set.updateFlag(step.flag, ADMIN);
            if (current !== undefined) expected = valid(step.flag);
          } else if (step.kind === "toggle") {
            outcome = await set.setEnabled(step.key, step.enabled, ADMIN);
            if (current !== undefined) expected = { ...current, enabled: step.enabled };
          } else {
            outcome = await set.deleteFlag(step.key, ADMIN);
            if (current !== undefined) expected = undefined;
          }
          if (expected === "rejected") {
            expect(outcome).toHaveProperty("error");
            continue;
          }
          expect(outcome).not.toHaveProperty("error");
          // A write that changes nothing is no change: no new version.
          const unchanged =
            expected !== undefined && JSON.stringify(expected) === JSON.stringify(current);
          if (!unchanged) version++;
          if (expected === undefined) model.delete(key);
          else model.set(key, expected);
          expect(outcome).toMatchObject({ version });
        }
        const snapshot = await set.snapshot();
        expect(snapshot.version).toBe(version);
        const stored = "flags" in snapshot ? snapshot.flags : [];
        expect(
          Object.fromEntries(
            stored.map(({ version: _v, updatedAt: _u, ...definition }) => [
              definition.key,
              definition,
            ]),
          ),
        ).toEqual(Object.fromEntries(model));
        const audit = await set.auditLog({ limit: 100 });
        expect("entries" in audit && audit.entries.map((entry) => entry.version)).toEqual(
          Array.from({ length: version }, (_, i) => version - i),
        );
      }),
      { numRuns: 40 },
    );
  });
});
