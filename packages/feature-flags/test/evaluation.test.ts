/** Evaluation in the object: from memory, never from storage, one flag or all of them. */
import { describe, expect, it } from "vitest";
import {
  ADMIN,
  checkoutFlag,
  freshFlagSet,
  ok,
  staticFlag,
  storedFootprint,
  watchStorage,
} from "./helpers";

describe("evaluate", () => {
  it("answers OpenFeature's details with the flag key and the set's version", async () => {
    const set = freshFlagSet();
    ok(await set.createFlag(checkoutFlag(), ADMIN));
    expect(await set.evaluate("new-checkout", { targetingKey: "user-42" }, true)).toEqual({
      flagKey: "new-checkout",
      value: false,
      variant: "off",
      reason: "SPLIT",
      version: 1,
    });
  });

  it("answers ERROR with the default for an unknown flag, a mismatched type, a missing key", async () => {
    const set = freshFlagSet();
    ok(await set.createFlag(checkoutFlag(), ADMIN));
    expect(await set.evaluate("nope", {}, "fallback")).toMatchObject({
      value: "fallback",
      reason: "ERROR",
      errorCode: "FLAG_NOT_FOUND",
    });
    expect(await set.evaluate("new-checkout", {}, 0)).toMatchObject({
      value: 0,
      errorCode: "TYPE_MISMATCH",
    });
    expect(await set.evaluate("new-checkout", {}, false)).toMatchObject({
      value: false,
      errorCode: "TARGETING_KEY_MISSING",
    });
    // Without a default, errors serve null and any type of flag is fine.
    expect(await set.evaluate("new-checkout", { plan: "beta" })).toMatchObject({ value: true });
    expect(await set.evaluate("nope")).toMatchObject({ value: null, errorCode: "FLAG_NOT_FOUND" });
  });

  it("passes Dates through RPC to numeric rules", async () => {
    const set = freshFlagSet();
    const cutoff = Date.UTC(2030, 0, 1);
    ok(
      await set.createFlag(
        checkoutFlag({
          rules: [
            {
              conditions: [{ attribute: "signedUpAt", op: "gte", value: cutoff }],
              serve: { variant: "on" },
            },
          ],
          fallthrough: { variant: "off" },
        }),
        ADMIN,
      ),
    );
    const at = (ms: number) => set.evaluate("new-checkout", { signedUpAt: new Date(ms) }, false);
    expect((await at(cutoff)).value).toBe(true);
    expect((await at(cutoff - 1)).value).toBe(false);
  });
});

describe("evaluateAll", () => {
  it("evaluates every flag for one context at one version", async () => {
    const set = freshFlagSet();
    ok(await set.createFlag(checkoutFlag(), ADMIN));
    ok(await set.createFlag(staticFlag("theme"), ADMIN));
    ok(await set.createFlag(staticFlag("banner", { enabled: false }), ADMIN));
    expect(await set.evaluateAll({ plan: "beta" })).toEqual({
      version: 3,
      flags: {
        "new-checkout": { value: true, variant: "on", reason: "TARGETING_MATCH" },
        theme: { value: "blue", variant: "blue", reason: "STATIC" },
        banner: { value: null, reason: "DISABLED" },
      },
    });
  });

  it("answers an empty set with no flags at version 0", async () => {
    expect(await freshFlagSet().evaluateAll({})).toEqual({ version: 0, flags: {} });
  });
});

describe("evaluation reads no storage", () => {
  it("makes no storage call at all, for any flag, any answer, one or all", async () => {
    const set = freshFlagSet();
    ok(await set.createFlag(checkoutFlag(), ADMIN));
    ok(await set.createFlag(staticFlag("theme"), ADMIN));
    const storage = await watchStorage(set);
    await set.evaluate("new-checkout", { plan: "beta" }, false);
    await set.evaluate("new-checkout", { targetingKey: "u" }, false);
    await set.evaluate("theme", {}, "red");
    await set.evaluate("missing", {}, false);
    await set.evaluate("new-checkout", {}, "wrong type");
    await set.evaluateAll({ targetingKey: "u" });
    await set.snapshot();
    await set.snapshot(2);
    expect(storage()).toEqual({ calls: 0, rowsRead: 0, rowsWritten: 0 });
  });

  it("a flag set that is only read leaves no storage behind: no tables, no alarm", async () => {
    const set = freshFlagSet();
    await set.evaluate("anything", {}, false);
    await set.evaluateAll({});
    await set.snapshot();
    await set.getFlag("anything");
    await set.auditLog();
    expect(await storedFootprint(set)).toEqual({ tables: [], flags: 0, audit: 0, alarm: null });
  });

  it("never sets an alarm: nothing in a flag set expires", async () => {
    const set = freshFlagSet();
    ok(await set.createFlag(checkoutFlag(), ADMIN));
    ok(await set.setEnabled("new-checkout", false, ADMIN));
    ok(await set.deleteFlag("new-checkout", ADMIN));
    expect((await storedFootprint(set)).alarm).toBeNull();
  });
});

describe("snapshot", () => {
  it("carries every flag at the current version, or says unchanged for the version you hold", async () => {
    const set = freshFlagSet();
    const first = ok(await set.createFlag(checkoutFlag(), ADMIN));
    expect(await set.snapshot()).toEqual({ version: 1, flags: [first.flag], unreadable: [] });
    expect(await set.snapshot(1)).toEqual({ version: 1, unchanged: true });
    const second = ok(await set.createFlag(staticFlag("theme"), ADMIN));
    expect(await set.snapshot(1)).toEqual({
      version: 2,
      flags: [first.flag, second.flag],
      unreadable: [],
    });
    // A version the object never had (storage reset, say) gets the full set too.
    expect(await set.snapshot(99)).toMatchObject({ version: 2, flags: [first.flag, second.flag] });
  });
});
