import { describe, expect, it } from "vitest";
import { freshSidecar, ok } from "./helpers";

describe("keys and values", () => {
  it("get, set, replace and delete a value", async () => {
    const sidecar = freshSidecar();
    expect(await sidecar.get("status")).toEqual({ ok: true, found: false, value: null });
    expect(await sidecar.set("status", { phase: "started", n: 1 })).toEqual({
      ok: true,
      created: true,
      bytes: 25,
    });
    expect(await sidecar.get("status")).toEqual({
      ok: true,
      found: true,
      value: { phase: "started", n: 1 },
    });
    expect(ok(await sidecar.set("status", "done")).created).toBe(false);
    expect(ok(await sidecar.get("status")).value).toBe("done");
    expect(await sidecar.stats()).toMatchObject({ keys: 1, bytes: 6 });

    expect(await sidecar.delete("status")).toEqual({ ok: true, deleted: true });
    expect(await sidecar.delete("status")).toEqual({ ok: true, deleted: false });
    expect(ok(await sidecar.get("status")).found).toBe(false);
    expect(await sidecar.stats()).toMatchObject({ keys: 0, bytes: 0 });
  });

  it("stores JSON: null is a value, and what comes back is what JSON keeps", async () => {
    const sidecar = freshSidecar();
    await sidecar.set("nothing", null);
    expect(await sidecar.get("nothing")).toEqual({ ok: true, found: true, value: null });
    await sidecar.set("nested", { a: [1, "two", { three: true }], b: "é😀" });
    expect(ok(await sidecar.get("nested")).value).toEqual({
      a: [1, "two", { three: true }],
      b: "é😀",
    });
    // "é" is 2 bytes and "😀" 4 in UTF-8: sizes count bytes, not characters.
    expect(ok(await sidecar.set("accents", "é😀")).bytes).toBe(8);
  });

  it("lists by prefix, in key order, a page at a time", async () => {
    const sidecar = freshSidecar();
    const keys = ["page:1", "page:10", "page:2", "page:3", "page;", "pag", "other", "page:"];
    for (const key of keys) await sidecar.set(key, key.length);

    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: { entries: { key: string }[]; cursor: string | null } = ok(
        await sidecar.list({ prefix: "page:", cursor, limit: 2 }),
      );
      expect(page.entries.length).toBeLessThanOrEqual(2);
      seen.push(...page.entries.map((entry) => entry.key));
      cursor = page.cursor;
      pages++;
    } while (cursor !== null);
    expect(seen).toEqual(["page:", "page:1", "page:10", "page:2", "page:3"]);
    expect(pages).toBe(3);

    const all = ok(await sidecar.list());
    expect(all.entries.map((entry) => entry.key)).toEqual(keys.toSorted());
    expect(all.entries.find((entry) => entry.key === "other")?.value).toBe(5);
    expect(all.cursor).toBeNull();
    expect(ok(await sidecar.list({ prefix: "zzz" }))).toEqual({
      ok: true,
      entries: [],
      cursor: null,
    });
  });

  it("orders keys by code point (SQLite's order), prefixes included", async () => {
    const sidecar = freshSidecar();
    // JavaScript's sort would put "😀" (a surrogate pair) before "\uffff"; UTF-8 does not.
    const keys = ["a\uffff", "a😀", "a\ue000", "a", "ab"];
    for (const key of keys) await sidecar.set(key, 1);
    const listed = ok(await sidecar.list({ prefix: "a", limit: 1 }));
    expect(listed.entries.map((entry) => entry.key)).toEqual(["a"]);
    const rest: string[] = [];
    let cursor = listed.cursor;
    while (cursor !== null) {
      const page = ok(await sidecar.list({ prefix: "a", cursor, limit: 1 }));
      rest.push(...page.entries.map((entry) => entry.key));
      cursor = page.cursor;
    }
    expect(rest).toEqual(["ab", "a\ue000", "a\uffff", "a😀"]);
    expect(ok(await sidecar.list({ prefix: "a\uffff" })).entries.map((e) => e.key)).toEqual([
      "a\uffff",
    ]);
  });

  it("a cursor before the prefix starts at the prefix, one after it ends the listing", async () => {
    const sidecar = freshSidecar();
    for (const key of ["a", "b1", "b2", "c"]) await sidecar.set(key, 0);
    const keysOf = async (cursor: string) =>
      ok(await sidecar.list({ prefix: "b", cursor })).entries.map((entry) => entry.key);
    expect(await keysOf("a")).toEqual(["b1", "b2"]);
    expect(await keysOf("b1")).toEqual(["b2"]);
    expect(await keysOf("c")).toEqual([]);
  });

  it("a page stops at 4 MiB of values, always holding at least one", async () => {
    const sidecar = freshSidecar();
    const big = "x".repeat(1_000_000);
    for (let i = 0; i < 6; i++) await sidecar.set(`big:${i}`, big);
    const first = ok(await sidecar.list({ prefix: "big:" }));
    expect(first.entries).toHaveLength(4);
    expect(first.cursor).toBe("big:3");
    const second = ok(await sidecar.list({ prefix: "big:", cursor: first.cursor }));
    expect(second.entries.map((entry) => entry.key)).toEqual(["big:4", "big:5"]);
    expect(second.cursor).toBeNull();
  });
});
