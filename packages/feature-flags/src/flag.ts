/**
 * The flag model, its limits, and its validation: one place for the RPC surface, HTTP and the
 * provider's snapshot alike. zod checks the shape; `checkFlag` the rules that tie fields
 * together (a served variant exists, a split adds up to 100%, a value fits the flag's type),
 * each with a message that names the field.
 */
import * as z from "zod/mini";
import { describeZodError, objectError } from "./http";
import { parseSemver } from "./semver";

/** A JSON value, as flags store and serve it. */
export type JsonValue = null | boolean | number | string | JsonArray | JsonObject;
// Interfaces, not inline types: TypeScript expands them lazily, so the RPC stub's mapped types
// over a recursive value stay within its instantiation depth limit.
export interface JsonObject {
  [key: string]: JsonValue;
}
export interface JsonArray extends Array<JsonValue> {}

/** What a flag evaluates to: one of its variants' values, or the caller's default. */
export type FlagValue = JsonValue;

export const FLAG_TYPES = ["boolean", "string", "number", "object"] as const;
/** `object` flags serve JSON objects or arrays. */
export type FlagType = (typeof FLAG_TYPES)[number];

export const OPERATORS = [
  "equals",
  "not_equals",
  "in",
  "not_in",
  "starts_with",
  "ends_with",
  "lt",
  "lte",
  "gt",
  "gte",
  "semver_eq",
  "semver_lt",
  "semver_lte",
  "semver_gt",
  "semver_gte",
] as const;
export type Operator = (typeof OPERATORS)[number];

/** Flags one set may hold. */
export const MAX_FLAGS = 500;
/** A flag definition's size as compact JSON (UTF-8 bytes). */
export const MAX_FLAG_BYTES = 16 * 1024;
/** The whole set's size: what one snapshot carries to a provider. */
export const MAX_FLAG_SET_BYTES = 1024 * 1024;
export const MAX_VARIANTS = 32;
export const MAX_RULES = 50;
export const MAX_CONDITIONS = 10;
export const MAX_LIST_VALUES = 500;
export const MAX_DESCRIPTION_LENGTH = 500;
export const MAX_ATTRIBUTE_LENGTH = 128;
/** Nesting depth of an object flag's values. */
export const MAX_VALUE_DEPTH = 16;
/** Percentages are kept in thousandths: 100% is this many buckets (see hash.ts). */
export const PERCENT_SCALE = 1000;

export const FLAG_KEY_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
const VARIANT_NAME_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;

/** One test on one context attribute. A missing attribute fails every operator. */
export interface Condition {
  attribute: string;
  op: Operator;
  /** A list of strings or numbers for `in` / `not_in`; one string, number or boolean otherwise. */
  value: string | number | boolean | (string | number)[];
}

/** One share of a percentage rollout; the shares of a split add up to exactly 100. */
export interface SplitShare {
  variant: string;
  /** 0 to 100, in steps of 0.001. */
  percent: number;
}

/** What a rule or the fallthrough serves: one variant, or a percentage split across several. */
export type Serve = { variant: string } | { split: SplitShare[] };

/** Matches when every condition holds; the first matching rule decides. */
export interface Rule {
  conditions: Condition[];
  serve: Serve;
}

/**
 * A flag as an admin writes it.
 *
 * @example
 * const flag: FlagDefinition = {
 *   key: "new-checkout",
 *   type: "boolean",
 *   enabled: true,
 *   variants: { on: true, off: false },
 *   rules: [{ conditions: [{ attribute: "plan", op: "equals", value: "beta" }], serve: { variant: "on" } }],
 *   fallthrough: { split: [{ variant: "on", percent: 30 }, { variant: "off", percent: 70 }] },
 * };
 */
export interface FlagDefinition {
  key: string;
  type: FlagType;
  description?: string;
  /** A disabled flag serves the caller's default value, with reason DISABLED. */
  enabled: boolean;
  variants: Record<string, FlagValue>;
  rules: Rule[];
  /** What everyone gets whom no rule matches. */
  fallthrough: Serve;
}

/** A flag as stored: its definition, and the flag set version at which it last changed. */
export interface StoredFlag extends FlagDefinition {
  version: number;
  /** Milliseconds since the epoch. */
  updatedAt: number;
}

/**
 * A stored flag that no longer passes validation (written by an older or edited copy of this
 * schema). It stays in the set, so evaluating it answers PARSE_ERROR rather than pretending the
 * flag does not exist, and an admin can still update or delete it.
 */
export interface UnreadableFlag {
  key: string;
  version: number;
  message: string;
}

/** Every flag of a set at one version: what a provider evaluates against. */
export interface FlagSetSnapshot {
  version: number;
  flags: StoredFlag[];
  unreadable: UnreadableFlag[];
}

/** The answer to `snapshot(knownVersion)` when the caller already holds that version. */
export interface UnchangedSnapshot {
  version: number;
  unchanged: true;
}

export const flagKeySchema = z.string({ error: "key must be a string" }).check(
  z.regex(FLAG_KEY_PATTERN, {
    error:
      "key must be 1-128 characters of letters, digits, '_', '.' or '-', starting with a letter or digit",
  }),
);

/** Names a flag set (one Durable Object): an environment or a tenant. */
export const flagSetNameSchema = z.string({ error: "flag set name must be a string" }).check(
  z.regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, {
    error:
      "flag set name must be 1-64 characters of letters, digits, '_', '.' or '-', starting with a letter or digit",
  }),
);

export const actorSchema = z
  .string({ error: "actor must be a string" })
  .check(
    z.minLength(1, { error: "actor must not be empty" }),
    z.maxLength(128, { error: "actor must be at most 128 characters" }),
  );

const serveSchema = z.strictObject(
  {
    variant: z.optional(z.string({ error: "variant must be a string" })),
    split: z.optional(
      z.array(
        z.strictObject(
          {
            variant: z.string({ error: "variant must be a string" }),
            percent: z.number({ error: "percent must be a number" }),
          },
          { error: objectError("each split share must be an object with variant and percent") },
        ),
        { error: "split must be a list of { variant, percent }" },
      ),
    ),
  },
  { error: objectError("serve must be an object with either variant or split") },
);

const conditionSchema = z.strictObject(
  {
    attribute: z.string({ error: "attribute must be a string" }).check(
      z.minLength(1, { error: "attribute must not be empty" }),
      z.maxLength(MAX_ATTRIBUTE_LENGTH, {
        error: `attribute must be at most ${MAX_ATTRIBUTE_LENGTH} characters`,
      }),
    ),
    op: z.enum(OPERATORS, { error: `op must be one of: ${OPERATORS.join(", ")}` }),
    // Checked per operator by checkCondition, which says what each one needs.
    value: z.optional(z.unknown()),
  },
  { error: objectError("each condition must be an object with attribute, op and value") },
);

const ruleSchema = z.strictObject(
  {
    conditions: z.array(conditionSchema, { error: "conditions must be a list" }).check(
      z.minLength(1, { error: "conditions must hold at least one condition" }),
      z.maxLength(MAX_CONDITIONS, {
        error: `conditions must hold at most ${MAX_CONDITIONS} conditions`,
      }),
    ),
    serve: serveSchema,
  },
  { error: objectError("each rule must be an object with conditions and serve") },
);

export const flagSchema = z.strictObject(
  {
    key: flagKeySchema,
    type: z.enum(FLAG_TYPES, { error: `type must be one of: ${FLAG_TYPES.join(", ")}` }),
    description: z.optional(
      z.string({ error: "description must be a string" }).check(
        z.maxLength(MAX_DESCRIPTION_LENGTH, {
          error: `description must be at most ${MAX_DESCRIPTION_LENGTH} characters`,
        }),
      ),
    ),
    enabled: z.boolean({ error: "enabled must be true or false" }),
    variants: z.record(z.string(), z.unknown(), {
      error: "variants must be an object of variant name to value",
    }),
    rules: z.optional(
      z
        .array(ruleSchema, { error: "rules must be a list" })
        .check(z.maxLength(MAX_RULES, { error: `rules must hold at most ${MAX_RULES} rules` })),
    ),
    fallthrough: serveSchema,
  },
  {
    error: objectError(
      "flag must be an object with key, type, enabled, variants, fallthrough and optional rules and description",
    ),
  },
);

export type ParsedFlag =
  | { ok: true; flag: FlagDefinition; json: string; bytes: number }
  | { ok: false; message: string };

/**
 * Validates a flag definition from any source (RPC, HTTP, storage, a snapshot) and returns it
 * normalised (rules always present), with its JSON and size, or the first problem found. The
 * flag returned is read back from that JSON, so it is exactly what storage will give back after
 * an eviction (a -0 is already 0, say): memory and storage never disagree.
 *
 * @example
 * const parsed = parseFlag({ key: "dark-mode", type: "boolean", enabled: true,
 *   variants: { on: true, off: false }, fallthrough: { variant: "off" } });
 * if (!parsed.ok) console.warn(parsed.message);
 */
export function parseFlag(input: unknown): ParsedFlag {
  const shape = flagSchema.safeParse(input);
  if (!shape.success) return { ok: false, message: describeZodError(shape.error) };
  const { description, rules = [], fallthrough, ...rest } = shape.data;
  const problem = checkFlag(shape.data.type, shape.data.variants, rules, fallthrough);
  if (problem !== undefined) return { ok: false, message: problem };
  const normalised: FlagDefinition = {
    key: rest.key,
    type: rest.type,
    ...(description === undefined ? {} : { description }),
    enabled: rest.enabled,
    variants: rest.variants as Record<string, FlagValue>,
    rules: rules.map((rule) => ({
      conditions: rule.conditions as Condition[],
      serve: normaliseServe(rule.serve),
    })),
    fallthrough: normaliseServe(fallthrough),
  };
  const json = JSON.stringify(normalised);
  const bytes = byteLength(json);
  if (bytes > MAX_FLAG_BYTES) {
    return {
      ok: false,
      message: `flag is ${bytes} bytes as JSON; it must be at most ${MAX_FLAG_BYTES}`,
    };
  }
  return { ok: true, flag: JSON.parse(json) as FlagDefinition, json, bytes };
}

/** UTF-8 length: what storage and a snapshot actually carry. */
export function byteLength(text: string): number {
  return encoder.encode(text).byteLength;
}
const encoder = new TextEncoder();

/** The flag type a value belongs to; undefined for null (which carries no type). */
export function typeOfValue(value: unknown): FlagType | undefined {
  const type = typeof value;
  if (type === "boolean" || type === "string" || type === "number") return type;
  return type === "object" && value !== null ? "object" : undefined;
}

/** A split's share in buckets (thousandths of a percent); undefined if it is not a valid step. */
export function percentToBuckets(percent: number): number | undefined {
  if (!Number.isFinite(percent) || percent < 0 || percent > 100) return undefined;
  const buckets = Math.round(percent * PERCENT_SCALE);
  // 12.345 * 1000 is 12344.999999999998 in floating point: close enough is exact here.
  return Math.abs(buckets - percent * PERCENT_SCALE) < 1e-6 ? buckets : undefined;
}

type ParsedServe = z.infer<typeof serveSchema>;
type ParsedRule = z.infer<typeof ruleSchema>;

function normaliseServe(serve: ParsedServe): Serve {
  return serve.split === undefined
    ? { variant: serve.variant ?? "" }
    : { split: serve.split.map(({ variant, percent }) => ({ variant, percent })) };
}

/** The first problem that ties fields together, as "path: message", or undefined. */
function checkFlag(
  type: FlagType,
  variants: Record<string, unknown>,
  rules: ParsedRule[],
  fallthrough: ParsedServe,
): string | undefined {
  const names = Object.keys(variants);
  if (names.length === 0 || names.length > MAX_VARIANTS) {
    return `variants must hold 1-${MAX_VARIANTS} variants`;
  }
  for (const name of names) {
    if (!VARIANT_NAME_PATTERN.test(name)) {
      return `variants: "${name}" is not a valid variant name (1-64 letters, digits, '_', '.' or '-')`;
    }
    const problem = checkValue(type, variants[name]);
    if (problem !== undefined) return `variants.${name}: ${problem}`;
  }
  for (const [index, rule] of rules.entries()) {
    for (const [c, condition] of rule.conditions.entries()) {
      const problem = checkCondition(condition.op, condition.value);
      if (problem !== undefined) return `rules.${index}.conditions.${c}.value: ${problem}`;
    }
    const problem = checkServe(rule.serve, variants);
    if (problem !== undefined) return `rules.${index}.serve: ${problem}`;
  }
  const problem = checkServe(fallthrough, variants);
  return problem === undefined ? undefined : `fallthrough: ${problem}`;
}

function checkValue(type: FlagType, value: unknown): string | undefined {
  if (type === "object") {
    if (typeof value !== "object" || value === null) {
      return "an object flag's values must be JSON objects or arrays";
    }
    return isJson(value, 0)
      ? undefined
      : `must be plain JSON, nested at most ${MAX_VALUE_DEPTH} deep`;
  }
  if (typeof value !== type) return `a ${type} flag's values must be ${type}s`;
  if (type === "number" && !Number.isFinite(value)) return "must be a finite number";
  return undefined;
}

/** Plain JSON: what survives a round trip through storage and HTTP unchanged. */
function isJson(value: unknown, depth: number): boolean {
  if (value === null || typeof value === "boolean" || typeof value === "string") return true;
  if (typeof value === "number") return Number.isFinite(value);
  if (typeof value !== "object" || depth >= MAX_VALUE_DEPTH) return false;
  if (Array.isArray(value)) return value.every((item) => isJson(item, depth + 1));
  const prototype = Object.getPrototypeOf(value) as unknown;
  if (prototype !== Object.prototype && prototype !== null) return false;
  return Object.values(value).every((item) => isJson(item, depth + 1));
}

function checkServe(serve: ParsedServe, variants: Record<string, unknown>): string | undefined {
  const { variant, split } = serve;
  if ((variant === undefined) === (split === undefined)) {
    return "give either variant or split, not both and not neither";
  }
  if (variant !== undefined) {
    return Object.hasOwn(variants, variant) ? undefined : `no variant named "${variant}"`;
  }
  const shares = split ?? [];
  if (shares.length === 0) return "split must hold at least one share";
  const seen = new Set<string>();
  let total = 0;
  for (const share of shares) {
    if (!Object.hasOwn(variants, share.variant)) return `no variant named "${share.variant}"`;
    if (seen.has(share.variant)) return `variant "${share.variant}" appears twice in the split`;
    seen.add(share.variant);
    const buckets = percentToBuckets(share.percent);
    if (buckets === undefined) {
      return `percent ${share.percent} must be from 0 to 100 in steps of 0.001`;
    }
    total += buckets;
  }
  if (total !== 100 * PERCENT_SCALE) {
    return `split percents add up to ${total / PERCENT_SCALE}; they must add up to exactly 100`;
  }
  return undefined;
}

function checkCondition(op: Operator, value: unknown): string | undefined {
  switch (op) {
    case "equals":
    case "not_equals":
      return isScalar(value) ? undefined : `${op} needs a string, a finite number or a boolean`;
    case "in":
    case "not_in":
      return Array.isArray(value) &&
        value.length >= 1 &&
        value.length <= MAX_LIST_VALUES &&
        value.every((item) => typeof item === "string" || isFiniteNumber(item))
        ? undefined
        : `${op} needs a list of 1-${MAX_LIST_VALUES} strings or numbers`;
    case "starts_with":
    case "ends_with":
      return typeof value === "string" && value !== ""
        ? undefined
        : `${op} needs a non-empty string`;
    case "lt":
    case "lte":
    case "gt":
    case "gte":
      return isFiniteNumber(value) ? undefined : `${op} needs a finite number`;
    case "semver_eq":
    case "semver_lt":
    case "semver_lte":
    case "semver_gt":
    case "semver_gte":
      return typeof value === "string" && parseSemver(value) !== undefined
        ? undefined
        : `${op} needs a semantic version such as "2.1.0" or "2.1.0-beta.1"`;
  }
}

function isScalar(value: unknown): value is string | number | boolean {
  return typeof value === "string" || typeof value === "boolean" || isFiniteNumber(value);
}

function isFiniteNumber(value: unknown): value is number {
  return typeof value === "number" && Number.isFinite(value);
}
