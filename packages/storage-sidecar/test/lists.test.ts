import { describe, expect, it } from "vitest";
import { freshSidecar, ok } from "./helpers";

describe("append-only lists", () => {
  it("append numbers items from 1 in order, and items reads them back a page at a time", async () => {
    const sidecar = freshSidecar();
    for (let i = 0; i < 25; i++) {
      expect(await sidecar.append("log", { i })).toEqual({
        ok: true,
        seq: i + 1,
        length: i + 1,
        duplicate: false,
      });
    }
    const values: number[] = [];
    const seqs: number[] = [];
    let cursor: number | null = null;
    let pages = 0;
    do {
      const page: {
        items: { seq: number; value: unknown }[];
        cursor: number | null;
        length: number;
      } = ok(await sidecar.items("log", { cursor, limit: 10 }));
      expect(page.length).toBe(25);
      for (const item of page.items) {
        seqs.push(item.seq);
        values.push((item.value as { i: number }).i);
      }
      cursor = page.cursor;
      pages++;
    } while (cursor !== null);
    expect(pages).toBe(3);
    expect(values).toEqual(Array.from({ length: 25 }, (_, i) => i));
    expect(seqs).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
  });

  it("a last page that ends exactly at the list's end says so (no empty extra page)", async () => {
    const sidecar = freshSidecar();
    await sidecar.appendMany("l", [1, 2, 3, 4]);
    const first = ok(await sidecar.items("l", { limit: 2 }));
    expect(first.cursor).toBe(2);
    const second = ok(await sidecar.items("l", { cursor: 2, limit: 2 }));
    expect(second.items.map((item) => item.value)).toEqual([3, 4]);
    expect(second.cursor).toBeNull();
    expect(ok(await sidecar.items("l", { cursor: 4 })).items).toEqual([]);
  });

  it("appendMany adds a batch in order; lists are independent", async () => {
    const sidecar = freshSidecar();
    expect(await sidecar.appendMany("a", ["x", "y", "z"])).toEqual({
      ok: true,
      firstSeq: 1,
      count: 3,
      length: 3,
      duplicate: false,
    });
    expect(ok(await sidecar.append("b", "only")).seq).toBe(1);
    expect(ok(await sidecar.appendMany("a", ["w"])).firstSeq).toBe(4);
    expect(ok(await sidecar.items("a")).items.map((item) => item.value)).toEqual([
      "x",
      "y",
      "z",
      "w",
    ]);
    expect(ok(await sidecar.items("b")).items).toEqual([{ seq: 1, value: "only" }]);
    expect(ok(await sidecar.items("never")).items).toEqual([]);
    expect(await sidecar.stats()).toMatchObject({ lists: 2, items: 5 });
  });

  it("an idempotency key makes a repeated append a no-op that answers as the first did", async () => {
    const sidecar = freshSidecar();
    const first = ok(await sidecar.appendMany("raw", [1, 2, 3], { idempotencyKey: "page-1" }));
    await sidecar.append("raw", 4);
    const again = ok(await sidecar.appendMany("raw", [1, 2, 3], { idempotencyKey: "page-1" }));
    expect(again).toEqual({ ...first, length: 4, duplicate: true });
    expect(ok(await sidecar.items("raw")).items.map((item) => item.value)).toEqual([1, 2, 3, 4]);
    // The same key on another list is another batch.
    expect(ok(await sidecar.append("other", 1, { idempotencyKey: "page-1" })).duplicate).toBe(
      false,
    );
    expect(ok(await sidecar.append("raw", 9, { idempotencyKey: "single" }))).toMatchObject({
      seq: 5,
      duplicate: false,
    });
    expect(ok(await sidecar.append("raw", 9, { idempotencyKey: "single" }))).toMatchObject({
      seq: 5,
      length: 5,
      duplicate: true,
    });
  });

  it("deleteList removes its items and keys; numbering and idempotency start afresh", async () => {
    const sidecar = freshSidecar();
    await sidecar.appendMany("tmp", [1, 2, 3], { idempotencyKey: "k" });
    await sidecar.append("keep", "kept");
    expect(await sidecar.deleteList("tmp")).toEqual({ ok: true, deleted: 3 });
    expect(ok(await sidecar.items("tmp")).items).toEqual([]);
    expect(ok(await sidecar.items("keep")).items).toHaveLength(1);
    expect(await sidecar.stats()).toMatchObject({ lists: 1, items: 1 });
    expect(ok(await sidecar.appendMany("tmp", [7], { idempotencyKey: "k" }))).toMatchObject({
      firstSeq: 1,
      duplicate: false,
    });
    expect(await sidecar.deleteList("never")).toEqual({ ok: true, deleted: 0 });
  });

  it("a page of items stops at 4 MiB of values", async () => {
    const sidecar = freshSidecar();
    const big = "y".repeat(900_000);
    await sidecar.appendMany("big", [big, big, big, big, big, "small"]);
    const first = ok(await sidecar.items("big"));
    expect(first.items).toHaveLength(4);
    expect(first.cursor).toBe(4);
    const second = ok(await sidecar.items("big", { cursor: first.cursor }));
    expect(second.items.map((item) => item.seq)).toEqual([5, 6]);
    expect(second.cursor).toBeNull();
  });

  it("clear deletes keys and lists and reports what it removed", async () => {
    const sidecar = freshSidecar();
    await sidecar.set("k", "v");
    await sidecar.appendMany("l", [1, 2]);
    expect(await sidecar.clear()).toEqual({ ok: true, keys: 1, items: 2, bytes: 5 });
    expect(await sidecar.stats()).toMatchObject({ keys: 0, lists: 0, items: 0, bytes: 0 });
    expect(ok(await sidecar.append("l", 3)).seq).toBe(1);
  });
});
