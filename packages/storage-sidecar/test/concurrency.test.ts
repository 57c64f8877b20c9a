import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { MAX_ENTRIES } from "../src/index";
import { freshSidecar, ok } from "./helpers";

describe("concurrency", () => {
  it("500 concurrent appends from one caller land once each, in the order they were sent", async () => {
    const sidecar = freshSidecar();
    const results = await Promise.all(
      Array.from({ length: 500 }, (_, i) => sidecar.append("log", i)),
    );
    // Each call got its own number, and the numbers are exactly 1..500 in issue order.
    expect(results.map((result) => ok(result).seq)).toEqual(
      Array.from({ length: 500 }, (_, i) => i + 1),
    );
    const read: unknown[] = [];
    let cursor: number | null = null;
    do {
      const page: { items: { value: unknown }[]; cursor: number | null } = ok(
        await sidecar.items("log", { cursor, limit: 1_000 }),
      );
      read.push(...page.items.map((item) => item.value));
      cursor = page.cursor;
    } while (cursor !== null);
    expect(read).toEqual(Array.from({ length: 500 }, (_, i) => i));
  });

  it("concurrent appends from many callers get distinct, gapless numbers matching the items", async () => {
    const name = `shared-${crypto.randomUUID()}`;
    // A stub per caller, as separate Worker requests would have.
    const calls = Array.from({ length: 300 }, (_, i) =>
      env.SIDECARS.getByName(name).appendMany("log", [`${i}-a`, `${i}-b`]),
    );
    const results = (await Promise.all(calls)).map(ok);
    const firsts = results.map((result) => result.firstSeq).toSorted((a, b) => a - b);
    expect(firsts).toEqual(Array.from({ length: 300 }, (_, i) => 1 + 2 * i));
    // Each batch is contiguous: no other append slipped between its two items.
    const page = ok(await env.SIDECARS.getByName(name).items("log", { limit: 1_000 }));
    expect(page.items).toHaveLength(600);
    results.forEach((result, i) => {
      expect(page.items[result.firstSeq - 1]?.value).toBe(`${i}-a`);
      expect(page.items[result.firstSeq]?.value).toBe(`${i}-b`);
    });
  });

  it("a retried batch racing its original lands once", async () => {
    const sidecar = freshSidecar();
    const results = await Promise.all(
      Array.from({ length: 50 }, () =>
        sidecar.appendMany("raw", [1, 2, 3], { idempotencyKey: "page-7" }),
      ),
    );
    expect(results.filter((result) => ok(result).duplicate === false)).toHaveLength(1);
    expect(ok(await sidecar.items("raw")).length).toBe(3);
  });

  it("concurrent appends near the entry cap admit exactly what fits", async () => {
    const sidecar = freshSidecar();
    const filler = Array.from({ length: 1_000 }, () => 0);
    for (let i = 0; i < MAX_ENTRIES / 1_000 - 1; i++) ok(await sidecar.appendMany("fill", filler));
    ok(await sidecar.appendMany("fill", filler.slice(0, 990)));
    const results = await Promise.all(Array.from({ length: 40 }, () => sidecar.append("x", 1)));
    expect(results.filter((result) => result.ok)).toHaveLength(10);
    expect(
      results.filter((result) => !result.ok && result.error.code === "sidecar_full"),
    ).toHaveLength(30);
    expect((await sidecar.stats()).items).toBe(MAX_ENTRIES);
  });
});
