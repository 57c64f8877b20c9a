import { evictDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { freshSidecar, ok } from "./helpers";

describe("eviction", () => {
  it("every acknowledged write survives, and numbering continues where it stopped", async () => {
    const sidecar = freshSidecar();
    await sidecar.set("status", { phase: "fetching" });
    await sidecar.set("gone", 1);
    await sidecar.delete("gone");
    const appended = await Promise.all(
      Array.from({ length: 100 }, (_, i) => sidecar.append("log", i)),
    );
    expect(appended.every((result) => result.ok)).toBe(true);
    await sidecar.appendMany("other", ["a", "b"], { idempotencyKey: "batch-1" });
    const before = await sidecar.stats();

    await evictDurableObject(sidecar);

    expect(await sidecar.stats()).toEqual(before);
    expect(ok(await sidecar.get("status")).value).toEqual({ phase: "fetching" });
    expect(ok(await sidecar.get("gone")).found).toBe(false);
    const items = ok(await sidecar.items("log", { limit: 1_000 }));
    expect(items.items.map((item) => item.value)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(ok(await sidecar.append("log", 100)).seq).toBe(101);
    // The idempotency key is remembered across eviction.
    expect(
      ok(await sidecar.appendMany("other", ["a", "b"], { idempotencyKey: "batch-1" })).duplicate,
    ).toBe(true);
    expect(ok(await sidecar.items("other")).length).toBe(2);
  });

  it("the caps count what was stored before eviction", async () => {
    const sidecar = freshSidecar();
    const big = "z".repeat(1_000_000);
    await sidecar.appendMany("l", [big, big, big]);
    await sidecar.set("k", big);
    await evictDurableObject(sidecar);
    expect(await sidecar.stats()).toMatchObject({
      keys: 1,
      lists: 1,
      items: 3,
      bytes: 4 * 1_000_002,
    });
  });
});
