import { describe, expect, it } from "vitest";
import {
  MAX_REMEMBERED_POLICIES,
  parsePolicyAndCost,
  rememberedPolicyCount,
  type Policy,
} from "../src/policy";

// A name no other test uses: the remembered policies are shared by the whole isolate.
const policy: Policy = { name: "policy-test", algorithm: "gcra", limit: 10, windowSeconds: 60 };

describe("parsePolicyAndCost remembers valid policies without weakening validation", () => {
  it("accepts a policy equal to one already validated, and returns its fields", () => {
    expect(parsePolicyAndCost(policy, undefined)).toEqual({ ok: true, policy, cost: 1 });
    expect(parsePolicyAndCost({ ...policy }, 3)).toEqual({ ok: true, policy, cost: 3 });
  });

  it("validates a changed policy under a known name in full, and uses its new values", () => {
    parsePolicyAndCost(policy, undefined);
    expect(parsePolicyAndCost({ ...policy, limit: 20 }, undefined)).toEqual({
      ok: true,
      policy: { ...policy, limit: 20 },
      cost: 1,
    });
    expect(parsePolicyAndCost({ ...policy, limit: 0 }, undefined)).toMatchObject({
      ok: false,
      code: "invalid_policy",
    });
    expect(parsePolicyAndCost({ ...policy, windowSeconds: "60" }, undefined)).toMatchObject({
      ok: false,
      code: "invalid_policy",
    });
  });

  it("rejects near-copies of a known policy: an extra field, a missing one, an inherited one", () => {
    parsePolicyAndCost(policy, undefined);
    const { limit, ...withoutLimit } = policy;
    const inherited = Object.assign(Object.create({ limit }) as object, withoutLimit, { extra: 1 });
    for (const nearCopy of [{ ...policy, extra: 1 }, withoutLimit, inherited]) {
      expect(parsePolicyAndCost(nearCopy, undefined)).toMatchObject({
        ok: false,
        code: "invalid_policy",
      });
    }
  });

  it("still checks the cost against a known policy", () => {
    parsePolicyAndCost(policy, undefined);
    for (const cost of [0, -1, 1.5, Number.NaN, "1", 11]) {
      expect(parsePolicyAndCost(policy, cost)).toMatchObject({ ok: false, code: "invalid_cost" });
    }
  });

  it("hands out a policy that callers cannot change for later calls", () => {
    const first = parsePolicyAndCost({ ...policy }, undefined);
    if (!first.ok) throw new Error(first.message);
    expect(() => {
      (first.policy as { limit: number }).limit = 1_000;
    }).toThrow(TypeError);
    expect(parsePolicyAndCost(policy, undefined)).toMatchObject({ ok: true, policy });
  });

  it("remembers at most MAX_REMEMBERED_POLICIES policies, however many names it sees", () => {
    for (let i = 0; i < MAX_REMEMBERED_POLICIES + 50; i++) {
      const named = { ...policy, name: `policy-test-${i}` };
      expect(parsePolicyAndCost(named, undefined)).toMatchObject({ ok: true, policy: named });
    }
    expect(rememberedPolicyCount()).toBe(MAX_REMEMBERED_POLICIES);
  });
});
