import * as fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  MAX_AMOUNT,
  MAX_USAGE_COUNT,
  amountSchema,
  commitProblem,
  problemWith,
  reserveProblem,
  reserveSchema,
  usageSchema,
} from "../src/config";

// Values near each bound, of each wrong type, and plain garbage.
const amount = fc.oneof(
  fc.integer({ min: -3, max: 3 }),
  fc.constantFrom(MAX_AMOUNT - 1, MAX_AMOUNT, MAX_AMOUNT + 1, MAX_USAGE_COUNT, MAX_USAGE_COUNT + 1),
  fc.constantFrom(0.5, -0, Number.NaN, Infinity, 2 ** 53, "10", null, true),
  fc.anything(),
);
const text = fc.oneof(
  fc.constantFrom(
    "keywords",
    "a",
    "x".repeat(64),
    "x".repeat(65),
    "k".repeat(128),
    "k".repeat(129),
  ),
  fc.constantFrom("", "has space", "semi;colon", "ü"),
  fc.string({ maxLength: 130 }),
  fc.anything(),
);
const request = fc.oneof(
  fc.record(
    { processorId: text, estimatedCost: amount, idempotencyKey: text, extra: fc.anything() },
    { requiredKeys: ["processorId", "estimatedCost", "idempotencyKey"] },
  ),
  fc.record(
    { processorId: text, estimatedCost: amount, idempotencyKey: text },
    { requiredKeys: [] },
  ),
  fc.anything(),
);
const usage = fc.oneof(
  fc.record({ items: amount, errors: amount }, { requiredKeys: [] }),
  fc.record({ items: amount, other: amount }, { requiredKeys: [] }),
  fc.constantFrom({}, [], null, "usage", { items: undefined }),
  fc.anything(),
);

describe("the hot path's hand-written checks agree with the schemas", () => {
  it("property: reserveProblem gives exactly reserveSchema's answer", () => {
    fc.assert(
      fc.property(request, (value) => {
        expect(reserveProblem(value)).toBe(problemWith(reserveSchema, value));
      }),
      { numRuns: 2_000 },
    );
  });

  it("property: commitProblem gives exactly the actual cost's, then usageSchema's answer", () => {
    const actualCost = amountSchema("actualCost");
    fc.assert(
      fc.property(amount, usage, (cost, use) => {
        expect(commitProblem(cost, use)).toBe(
          problemWith(actualCost, cost) ?? problemWith(usageSchema, use),
        );
      }),
      { numRuns: 2_000 },
    );
  });
});
