/**
 * What a caller may ask for, validated in one place for both the RPC surface and HTTP.
 * Bounds keep arithmetic exact (limit x window below 2^53) and windows meaningful.
 */
import * as z from "zod/mini";
import { ALGORITHMS } from "./algorithms";
import { describeZodError, objectError } from "./http";

export const MAX_LIMIT = 1_000_000_000;
/** One year: longer windows are better served by a quota in a database. */
export const MAX_WINDOW_SECONDS = 31_536_000;
/** Policies one key may track at once; keeps one object's state bounded. */
export const MAX_POLICIES_PER_KEY = 32;
export const MAX_KEY_LENGTH = 512;

/** A whole number from 1 to `max`, with one message per way of missing it. */
const wholeNumber = (field: string, max: number) =>
  z
    .int({
      error: (issue) => {
        if (issue.code === "invalid_type") {
          return issue.expected === "int"
            ? `${field} must be a whole number`
            : `${field} must be a number`;
        }
        // Beyond the safe-integer range zod reports its own bound; ours is the useful one.
        return issue.code === "too_small"
          ? `${field} must be at least 1`
          : `${field} must be at most ${max}`;
      },
    })
    .check(
      z.gte(1, { error: `${field} must be at least 1` }),
      z.lte(max, { error: `${field} must be at most ${max}` }),
    );

/** Safe to quote in a structured header: no quotes, backslashes or spaces. */
export const policyNameSchema = z.string({ error: "name must be a string" }).check(
  z.regex(/^[A-Za-z0-9_.-]{1,64}$/, {
    error: "name must be 1-64 characters of letters, digits, '_', '.' or '-'",
  }),
);

export const policySchema = z
  .strictObject(
    {
      name: policyNameSchema,
      algorithm: z.enum(ALGORITHMS, {
        error: `algorithm must be one of: ${ALGORITHMS.join(", ")}`,
      }),
      limit: wholeNumber("limit", MAX_LIMIT),
      windowSeconds: wholeNumber("windowSeconds", MAX_WINDOW_SECONDS),
    },
    {
      error: objectError("policy must be an object with name, algorithm, limit and windowSeconds"),
    },
  )
  .check(
    z.refine((policy) => policy.limit * policy.windowSeconds * 1000 <= Number.MAX_SAFE_INTEGER, {
      // The algorithms count in limit x window-milliseconds; past 2^53 whole numbers stop being exact.
      error:
        "limit x windowSeconds must be at most 9,007,199,254,740 (e.g. 100,000,000 per day); use a shorter window",
      path: ["limit"],
    }),
  );

/**
 * A named rate: `limit` units per `windowSeconds`, enforced by `algorithm`.
 *
 * @example
 * const policy: Policy = { name: "api", algorithm: "gcra", limit: 100, windowSeconds: 60 };
 */
export type Policy = z.infer<typeof policySchema>;

export const costSchema = wholeNumber("cost", MAX_LIMIT);

export const keySchema = z
  .string({ error: "key must be a string" })
  .check(
    z.minLength(1, { error: "key must not be empty" }),
    z.maxLength(MAX_KEY_LENGTH, { error: `key must be at most ${MAX_KEY_LENGTH} characters` }),
  );

export type InputErrorCode = "invalid_policy" | "invalid_cost";

/**
 * Validates a policy and a cost. A cost above the limit could never be admitted, so it is a
 * caller error, not a denial. A valid policy comes back frozen: it is shared by later calls.
 */
export function parsePolicyAndCost(
  policy: unknown,
  cost: unknown,
):
  | { ok: true; policy: Policy; cost: number }
  | { ok: false; code: InputErrorCode; message: string } {
  const valid = alreadyValidated(policy) ?? validateAndRemember(policy);
  if ("message" in valid) return { ok: false, code: "invalid_policy", message: valid.message };
  // The default cost of 1 is valid under every policy (limit >= 1); only a given cost is parsed.
  const parsedCost =
    cost === undefined ? { success: true as const, data: 1 } : costSchema.safeParse(cost);
  if (!parsedCost.success) {
    return { ok: false, code: "invalid_cost", message: describeZodError(parsedCost.error) };
  }
  if (parsedCost.data > valid.policy.limit) {
    return {
      ok: false,
      code: "invalid_cost",
      message: `cost ${parsedCost.data} exceeds the policy's limit of ${valid.policy.limit}, so it could never be allowed`,
    };
  }
  return { ok: true, policy: valid.policy, cost: parsedCost.data };
}

/**
 * The last policy under each name that passed the schema. Callers send the same few policies on
 * every call, and in workerd the schema costs about 5% of the write ceiling per check (measured
 * with `pnpm bench`), so an input equal field for field to one of these skips it. Shared by every
 * object in the isolate, because each key is its own object and most keys use the same policies.
 */
const validatedByName = new Map<string, Policy>();
export const MAX_REMEMBERED_POLICIES = 256;

/** How many policies are remembered now; never more than MAX_REMEMBERED_POLICIES. */
export function rememberedPolicyCount(): number {
  return validatedByName.size;
}
const POLICY_FIELDS = ["name", "algorithm", "limit", "windowSeconds"] as const;

function validateAndRemember(input: unknown): { policy: Policy } | { message: string } {
  const parsed = policySchema.safeParse(input);
  if (!parsed.success) return { message: describeZodError(parsed.error) };
  const policy = Object.freeze(parsed.data);
  // Deleted first so the name moves to the newest end; the oldest name goes when full.
  validatedByName.delete(policy.name);
  if (validatedByName.size >= MAX_REMEMBERED_POLICIES) {
    const oldest = validatedByName.keys().next();
    if (!oldest.done) validatedByName.delete(oldest.value);
  }
  validatedByName.set(policy.name, policy);
  return { policy };
}

/**
 * The remembered policy when `input` has exactly its four fields, as own properties with the
 * same values, so the schema would accept it and return an equal policy; otherwise undefined.
 */
function alreadyValidated(input: unknown): { policy: Policy } | undefined {
  if (typeof input !== "object" || input === null) return undefined;
  const fields = input as Record<string, unknown>;
  const known = typeof fields.name === "string" ? validatedByName.get(fields.name) : undefined;
  if (known === undefined || Object.keys(fields).length !== POLICY_FIELDS.length) return undefined;
  for (const field of POLICY_FIELDS) {
    if (!Object.hasOwn(fields, field) || fields[field] !== known[field]) return undefined;
  }
  return { policy: known };
}
