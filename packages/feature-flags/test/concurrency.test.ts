/** Hundreds of calls at once against one flag set give exactly what the guarantees promise. */
import { describe, expect, it } from "vitest";
import type { FlagEvaluation, FlagWriteOutcome } from "../src/index";
import { ADMIN, checkoutFlag, freshFlagSet, ok, staticFlag, storedFootprint } from "./helpers";

/** A number flag whose one variant is `value`: each update makes a value no other version had. */
function numberFlag(value: number) {
  return staticFlag("limit", {
    type: "number",
    variants: { v: value },
    fallthrough: { variant: "v" },
  });
}

describe("concurrency", () => {
  it("300 concurrent updates from the same version: exactly one wins, the rest conflict", async () => {
    const set = freshFlagSet();
    ok(await set.createFlag(checkoutFlag(), ADMIN));
    const outcomes = await Promise.all(
      Array.from({ length: 300 }, (_, i) =>
        set.updateFlag(checkoutFlag({ description: `edit ${i}` }), {
          actor: `admin-${i}`,
          ifVersion: 1,
        }),
      ),
    );
    const winners = outcomes.filter((outcome) => !("error" in outcome));
    expect(winners).toHaveLength(1);
    expect(
      outcomes.filter((outcome) => "error" in outcome && outcome.error.code === "version_conflict"),
    ).toHaveLength(299);
    const flag = ok(await set.getFlag("new-checkout")).flag;
    expect(flag.version).toBe(2);
    expect(flag.description).toBe(ok(winners[0]!).flag.description);
    expect((await storedFootprint(set)).audit).toBe(2);
  });

  it("200 concurrent creates of the same key: exactly one is created", async () => {
    const set = freshFlagSet();
    const outcomes = await Promise.all(
      Array.from({ length: 200 }, () => set.createFlag(checkoutFlag(), ADMIN)),
    );
    expect(outcomes.filter((outcome) => !("error" in outcome))).toHaveLength(1);
    expect((await set.snapshot()).version).toBe(1);
  });

  it("300 concurrent writes of distinct flags: each its own version, counted exactly", async () => {
    const set = freshFlagSet();
    const outcomes = (
      await Promise.all(
        Array.from({ length: 300 }, (_, i) => set.createFlag(staticFlag(`flag-${i}`), ADMIN)),
      )
    ).map(ok);
    expect(new Set(outcomes.map((outcome) => outcome.version)).size).toBe(300);
    expect(Math.max(...outcomes.map((outcome) => outcome.version))).toBe(300);
    const snapshot = await set.snapshot();
    expect(snapshot).toMatchObject({ version: 300 });
    expect("flags" in snapshot && snapshot.flags).toHaveLength(300);
    const audit = ok(await set.auditLog({ limit: 100 }));
    expect(audit.entries.map((entry) => entry.version)).toEqual(
      Array.from({ length: 100 }, (_, i) => 300 - i),
    );
  });

  it("evaluations racing writes are never torn: each value is the flag's at the version reported", async () => {
    const set = freshFlagSet();
    ok(await set.createFlag(numberFlag(0), ADMIN));
    const writes: Promise<FlagWriteOutcome>[] = [];
    const reads: Promise<FlagEvaluation>[] = [];
    for (let i = 1; i <= 200; i++) {
      writes.push(set.updateFlag(numberFlag(i), ADMIN));
      reads.push(set.evaluate("limit", {}, -1));
    }
    const valueAt = new Map<number, number>([[1, 0]]);
    for (const outcome of await Promise.all(writes)) {
      const { flag, version } = ok(outcome);
      valueAt.set(version, flag.variants.v as number);
    }
    expect(valueAt.size).toBe(201);
    for (const result of await Promise.all(reads)) {
      expect(result.value).toBe(valueAt.get(result.version));
    }
  });
});
