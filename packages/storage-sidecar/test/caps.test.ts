import { describe, expect, it } from "vitest";
import { MAX_BATCH_BYTES, MAX_BATCH_ITEMS, MAX_TOTAL_BYTES, MAX_VALUE_BYTES } from "../src/index";
import { EMPTY, freshSidecar, ok, storedFootprint } from "./helpers";

/** A string whose JSON text (quotes included) is exactly `bytes` long. */
const jsonOfSize = (bytes: number) => "v".repeat(bytes - 2);

describe("caps: rejected before anything is written", () => {
  it("a value of exactly 1 MiB is stored; one byte more is refused and stores nothing", async () => {
    const sidecar = freshSidecar();
    const over = await sidecar.set("k", jsonOfSize(MAX_VALUE_BYTES + 1));
    expect(over).toMatchObject({ ok: false, error: { code: "value_too_large" } });
    expect(await sidecar.append("l", jsonOfSize(MAX_VALUE_BYTES + 1))).toMatchObject({
      ok: false,
      error: { code: "value_too_large" },
    });
    // Nothing at all: no table, no timer.
    expect(await storedFootprint(sidecar)).toEqual(EMPTY);

    expect(ok(await sidecar.set("k", jsonOfSize(MAX_VALUE_BYTES))).bytes).toBe(MAX_VALUE_BYTES);
    // Multi-byte characters count as their UTF-8 bytes: 349,526 x "é" is 699,052 + 2 bytes.
    expect(ok(await sidecar.set("e", "é".repeat(349_526))).bytes).toBe(699_054);
    const tooManyBytes = await sidecar.set("e2", "€".repeat(349_525));
    expect(tooManyBytes).toMatchObject({ ok: false, error: { code: "value_too_large" } });
    const before = await sidecar.stats();
    // A rejected replacement keeps the old value.
    expect((await sidecar.set("k", jsonOfSize(MAX_VALUE_BYTES + 1))).ok).toBe(false);
    expect(ok(await sidecar.get("k")).value).toBe(jsonOfSize(MAX_VALUE_BYTES));
    expect(await sidecar.stats()).toEqual(before);
  });

  it("a batch is all or nothing: one oversized value, too many values or too many bytes", async () => {
    const sidecar = freshSidecar();
    await sidecar.append("l", "first");
    const before = await storedFootprint(sidecar);
    const cases = [
      [1, 2, jsonOfSize(MAX_VALUE_BYTES + 1)],
      Array.from({ length: MAX_BATCH_ITEMS + 1 }, () => 0),
      Array.from({ length: MAX_BATCH_BYTES / MAX_VALUE_BYTES + 1 }, () =>
        jsonOfSize(MAX_VALUE_BYTES),
      ),
    ];
    for (const values of cases) {
      const result = await sidecar.appendMany("l", values);
      expect(result.ok).toBe(false);
    }
    expect(await storedFootprint(sidecar)).toEqual(before);
    expect(ok(await sidecar.items("l")).items).toEqual([{ seq: 1, value: "first" }]);
    // Exactly at the caps is fine.
    expect(
      ok(
        await sidecar.appendMany(
          "l",
          Array.from({ length: MAX_BATCH_ITEMS }, () => 0),
        ),
      ).count,
    ).toBe(MAX_BATCH_ITEMS);
  });

  it("total bytes stop at 128 MiB: the write that would pass it is refused whole", async () => {
    const sidecar = freshSidecar();
    const batch = Array.from({ length: 8 }, () => jsonOfSize(MAX_VALUE_BYTES));
    for (let i = 0; i < MAX_TOTAL_BYTES / MAX_BATCH_BYTES; i++) {
      ok(await sidecar.appendMany("bulk", batch));
    }
    expect((await sidecar.stats()).bytes).toBe(MAX_TOTAL_BYTES);
    expect(await sidecar.set("one-more", 1)).toMatchObject({
      ok: false,
      error: { code: "sidecar_full" },
    });
    expect(await sidecar.append("bulk", 1)).toMatchObject({ ok: false });
    // Deleting frees room.
    expect(ok(await sidecar.deleteList("bulk")).deleted).toBe(128);
    expect(ok(await sidecar.set("one-more", 1)).created).toBe(true);
  });

  it("replacing a value counts only the difference against the cap", async () => {
    const sidecar = freshSidecar();
    const batch = Array.from({ length: 8 }, () => jsonOfSize(MAX_VALUE_BYTES));
    for (let i = 0; i < MAX_TOTAL_BYTES / MAX_BATCH_BYTES - 1; i++) {
      ok(await sidecar.appendMany("bulk", batch));
    }
    ok(await sidecar.appendMany("bulk", batch.slice(1)));
    ok(await sidecar.set("k", jsonOfSize(MAX_VALUE_BYTES)));
    // Full to the byte; the same size again fits, one byte more does not.
    expect(ok(await sidecar.set("k", jsonOfSize(MAX_VALUE_BYTES))).created).toBe(false);
    expect((await sidecar.set("k2", 1)).ok).toBe(false);
    ok(await sidecar.set("k", jsonOfSize(MAX_VALUE_BYTES - 10)));
    expect(ok(await sidecar.set("k2", jsonOfSize(10))).bytes).toBe(10);
  });
});
