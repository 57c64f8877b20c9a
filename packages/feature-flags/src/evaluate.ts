/**
 * The evaluator: a flag and a context in, OpenFeature-shaped details out. Pure and synchronous,
 * shared by the Durable Object and the provider, so both answer the same for the same flag set.
 *
 * A flag is compiled once (when it is loaded or written, or when a snapshot arrives): rules get
 * their lists as Sets, versions pre-parsed and splits as bucket boundaries, so an evaluation
 * only reads memory. `evaluateFlag` never throws: every failure is an answer with reason ERROR
 * and the caller's default value.
 */
import {
  percentToBuckets,
  typeOfValue,
  type Condition,
  type FlagType,
  type FlagValue,
  type Serve,
  type StoredFlag,
  type UnreadableFlag,
} from "./flag";
import { bucketOf } from "./hash";
import { compareSemver, parseSemver } from "./semver";

export const REASONS = [
  "STATIC",
  "TARGETING_MATCH",
  "SPLIT",
  "DISABLED",
  "DEFAULT",
  "ERROR",
] as const;
/**
 * Why a value was served (OpenFeature's standard reasons):
 * - STATIC: the flag has no rules and serves one variant to everyone.
 * - TARGETING_MATCH: a rule matched and serves one variant.
 * - SPLIT: a percentage split chose the variant by the targeting key's bucket.
 * - DEFAULT: the flag has rules, none matched, and the fallthrough serves one variant.
 * - DISABLED: the flag is disabled; the value is the caller's default.
 * - ERROR: see `errorCode`; the value is the caller's default.
 */
export type Reason = (typeof REASONS)[number];

/** OpenFeature's error codes that this evaluator can produce. */
export type FlagErrorCode =
  | "FLAG_NOT_FOUND"
  | "TYPE_MISMATCH"
  | "TARGETING_KEY_MISSING"
  | "PARSE_ERROR"
  | "INVALID_CONTEXT"
  | "GENERAL";

/** OpenFeature's resolution details. `variant` is present exactly when the flag chose the value. */
export interface Resolution {
  value: FlagValue;
  variant?: string;
  reason: Reason;
  errorCode?: FlagErrorCode;
  errorMessage?: string;
}

/**
 * Context attributes, as OpenFeature defines them: `targetingKey` identifies the subject (a user,
 * a device) for percentage splits; anything else is an attribute rules can test.
 */
export type ContextValue = null | boolean | string | number | Date | ContextList | ContextRecord;
export interface ContextRecord {
  [key: string]: ContextValue;
}
export interface ContextList extends Array<ContextValue> {}
export type EvaluationContext = { targetingKey?: string } & {
  [attribute: string]: ContextValue | undefined;
};

/** A flag ready to evaluate, or one storage holds but cannot read. */
export type FlagEntry = CompiledFlag | UnreadableEntry;

export interface UnreadableEntry {
  kind: "unreadable";
  message: string;
}

export interface CompiledFlag {
  kind: "flag";
  type: FlagType;
  enabled: boolean;
  hasRules: boolean;
  rules: CompiledRule[];
  fallthrough: CompiledServe;
}

interface CompiledRule {
  tests: ((context: EvaluationContext) => boolean)[];
  serve: CompiledServe;
}

type CompiledServe =
  | { variant: string; value: FlagValue }
  /** Shares in order, each with the bucket its range ends before. */
  | { split: { variant: string; value: FlagValue; end: number }[] };

/**
 * Prepares a validated flag for evaluation. Variant values are frozen, because the same object
 * is handed to every caller in this isolate: a caller that modified it would change the flag.
 *
 * @example
 * const entry = compileFlag(storedFlag);
 * evaluateFlag(entry, storedFlag.key, { targetingKey: "user-42" });
 */
export function compileFlag(flag: StoredFlag): CompiledFlag {
  const values = new Map<string, FlagValue>();
  for (const [name, value] of Object.entries(flag.variants)) values.set(name, deepFreeze(value));
  const compileServe = (s: Serve): CompiledServe => {
    if ("variant" in s) return { variant: s.variant, value: values.get(s.variant) ?? null };
    let end = 0;
    return {
      split: s.split.map(({ variant, percent }) => {
        end += percentToBuckets(percent) ?? 0;
        return { variant, value: values.get(variant) ?? null, end };
      }),
    };
  };
  return {
    kind: "flag",
    type: flag.type,
    enabled: flag.enabled,
    hasRules: flag.rules.length > 0,
    rules: flag.rules.map((rule) => ({
      tests: rule.conditions.map(compileCondition),
      serve: compileServe(rule.serve),
    })),
    fallthrough: compileServe(flag.fallthrough),
  };
}

/** The entry for a flag that failed validation: evaluating it answers PARSE_ERROR. */
export function unreadableEntry(flag: UnreadableFlag): UnreadableEntry {
  return { kind: "unreadable", message: flag.message };
}

/**
 * Evaluates one flag for one context. `defaultValue` is served on DISABLED and ERROR; its type
 * is the type the caller expects (as OpenFeature's typed methods do), unless `expectedType`
 * says otherwise. A null default expects no particular type.
 *
 * @example
 * const details = evaluateFlag(flags.get("new-checkout"), "new-checkout", { targetingKey: userId }, false);
 * if (details.value === true) showNewCheckout();
 */
export function evaluateFlag(
  entry: FlagEntry | undefined,
  flagKey: string,
  context: unknown,
  defaultValue: FlagValue = null,
  expectedType: FlagType | undefined = typeOfValue(defaultValue),
): Resolution {
  try {
    return resolve(entry, flagKey, context, defaultValue, expectedType);
  } catch (error) {
    // Unreachable for validated flags; the promise that evaluation never throws does not rest on it.
    return failure(defaultValue, "GENERAL", `evaluation failed: ${String(error)}`);
  }
}

function resolve(
  entry: FlagEntry | undefined,
  flagKey: string,
  context: unknown,
  defaultValue: FlagValue,
  expectedType: FlagType | undefined,
): Resolution {
  if (entry === undefined) {
    return failure(defaultValue, "FLAG_NOT_FOUND", `no flag "${flagKey}" in this flag set`);
  }
  if (entry.kind === "unreadable") {
    return failure(
      defaultValue,
      "PARSE_ERROR",
      `flag "${flagKey}" is unreadable: ${entry.message}`,
    );
  }
  if (expectedType !== undefined && entry.type !== expectedType) {
    return failure(
      defaultValue,
      "TYPE_MISMATCH",
      `flag "${flagKey}" is a ${entry.type} flag, not a ${expectedType} flag`,
    );
  }
  if (!entry.enabled) return { value: defaultValue, reason: "DISABLED" };
  if (!isRecord(context)) {
    return failure(defaultValue, "INVALID_CONTEXT", "the evaluation context must be an object");
  }
  for (const rule of entry.rules) {
    if (rule.tests.every((test) => test(context))) {
      return serve(rule.serve, "TARGETING_MATCH", flagKey, context, defaultValue);
    }
  }
  const reason = entry.hasRules ? "DEFAULT" : "STATIC";
  return serve(entry.fallthrough, reason, flagKey, context, defaultValue);
}

function serve(
  target: CompiledServe,
  reason: Reason,
  flagKey: string,
  context: EvaluationContext,
  defaultValue: FlagValue,
): Resolution {
  if ("variant" in target) return { value: target.value, variant: target.variant, reason };
  const { targetingKey } = context;
  // An empty key would put every anonymous subject in one bucket: treat it as missing.
  if (typeof targetingKey !== "string" || targetingKey === "") {
    return failure(
      defaultValue,
      "TARGETING_KEY_MISSING",
      `flag "${flagKey}" splits by percentage and needs a non-empty string targetingKey in the context`,
    );
  }
  const bucket = bucketOf(flagKey, targetingKey);
  for (const share of target.split) {
    if (bucket < share.end) return { value: share.value, variant: share.variant, reason: "SPLIT" };
  }
  // Shares add up to every bucket (validated), so this is never reached.
  return failure(defaultValue, "GENERAL", `flag "${flagKey}" has a split that does not cover 100%`);
}

function failure(value: FlagValue, errorCode: FlagErrorCode, errorMessage: string): Resolution {
  return { value, reason: "ERROR", errorCode, errorMessage };
}

/**
 * One condition as a test of a context. A missing attribute (or one of the wrong type) fails
 * every operator, negated ones included: `not_in ["free"]` does not match a context that says
 * nothing about the plan.
 */
function compileCondition({ attribute, op, value }: Condition): (c: EvaluationContext) => boolean {
  const read = (context: EvaluationContext): ContextValue | undefined =>
    Object.hasOwn(context, attribute) ? context[attribute] : undefined;
  switch (op) {
    case "equals":
      return (c) => read(c) === value;
    case "not_equals":
      return (c) => isScalar(read(c)) && read(c) !== value;
    case "in":
    case "not_in": {
      const list = new Set<unknown>(Array.isArray(value) ? value : []);
      const wanted = op === "in";
      return (c) => {
        const actual = read(c);
        return (
          (typeof actual === "string" || typeof actual === "number") && list.has(actual) === wanted
        );
      };
    }
    case "starts_with":
    case "ends_with": {
      const affix = String(value);
      return op === "starts_with"
        ? (c) => asString(read(c))?.startsWith(affix) === true
        : (c) => asString(read(c))?.endsWith(affix) === true;
    }
    case "lt":
    case "lte":
    case "gt":
    case "gte": {
      const bound = Number(value);
      const holds = ORDER_TESTS[op];
      return (c) => {
        const actual = asNumber(read(c));
        return actual !== undefined && holds(actual < bound ? -1 : actual > bound ? 1 : 0);
      };
    }
    case "semver_eq":
    case "semver_lt":
    case "semver_lte":
    case "semver_gt":
    case "semver_gte": {
      const bound = parseSemver(String(value));
      const holds = ORDER_TESTS[op.slice("semver_".length) as keyof typeof ORDER_TESTS];
      return (c) => {
        const text = asString(read(c));
        const actual = text === undefined ? undefined : parseSemver(text);
        return actual !== undefined && bound !== undefined && holds(compareSemver(actual, bound));
      };
    }
  }
}

/** Each ordering operator as a test of a comparison's sign (-1, 0 or 1). */
const ORDER_TESTS = {
  eq: (sign: number) => sign === 0,
  lt: (sign: number) => sign < 0,
  lte: (sign: number) => sign <= 0,
  gt: (sign: number) => sign > 0,
  gte: (sign: number) => sign >= 0,
};

function asString(value: ContextValue | undefined): string | undefined {
  return typeof value === "string" ? value : undefined;
}

/** Numbers, and Dates as milliseconds since the epoch. */
function asNumber(value: ContextValue | undefined): number | undefined {
  if (typeof value === "number") return Number.isNaN(value) ? undefined : value;
  if (value instanceof Date) {
    const time = value.getTime();
    return Number.isNaN(time) ? undefined : time;
  }
  return undefined;
}

function isScalar(value: ContextValue | undefined): boolean {
  return typeof value === "string" || typeof value === "number" || typeof value === "boolean";
}

function isRecord(value: unknown): value is EvaluationContext {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    for (const item of Object.values(value)) deepFreeze(item);
    Object.freeze(value);
  }
  return value;
}
