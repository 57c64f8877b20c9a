import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { MAX_KEYS, MAX_OUTBOX_CALLS, MAX_TAGS_PER_KEY } from "../src/index";
import { footprint, freshCoordinator, queued, setNow, T0 } from "./helpers";
import { testClock } from "./worker";

afterEach(() => {
  testClock.now = null;
});

/** Counts SQL rows written by the live object from here on (its statements' own counts). */
async function countRowsWritten(stub: ReturnType<typeof freshCoordinator>["stub"]) {
  const cursors: SqlStorageCursor<Record<string, SqlStorageValue>>[] = [];
  await runInDurableObject(stub, (_instance, state) => {
    const sql = state.storage.sql;
    const exec = sql.exec.bind(sql);
    Object.defineProperty(sql, "exec", {
      configurable: true,
      value: (query: string, ...bindings: SqlStorageValue[]) => {
        const cursor = exec(query, ...bindings);
        cursors.push(cursor);
        return cursor;
      },
    });
  });
  // Read once the statements have run: a cursor counts the rows it wrote as it is consumed.
  return () => cursors.reduce((sum, cursor) => sum + cursor.rowsWritten, 0);
}

describe("registration", () => {
  it("a key invalidated and cached again is registered and purged again", async () => {
    setNow(T0);
    const { stub, a } = freshCoordinator();
    a.held.add("k");
    await stub.register({ key: "k", store: "a", tags: ["t"] });
    queued(await stub.invalidateTag("t"));
    await runDurableObjectAlarm(stub);
    expect(a.held.has("k")).toBe(false);

    a.held.add("k");
    await stub.register({ key: "k", store: "a", tags: ["t"] });
    expect(await stub.lookup("k")).toMatchObject({ stores: ["a"], tags: ["t"] });
    const again = queued(await stub.invalidateTag("t"));
    expect(again.keys).toBe(1);
    await runDurableObjectAlarm(stub);
    expect(a.held.has("k")).toBe(false);
    expect(a.acknowledged).toHaveLength(2);
  });

  it("a registration made while a purge of its key waits is kept, and purged by the next one", async () => {
    setNow(T0);
    const { stub } = freshCoordinator();
    await stub.register({ key: "k", store: "a" });
    queued(await stub.invalidate("k"));
    await stub.register({ key: "k", store: "a" });
    await runDurableObjectAlarm(stub);
    expect(await stub.lookup("k")).toMatchObject({ stores: ["a"] });
    expect(queued(await stub.invalidate("k")).keys).toBe(1);
  });

  it("adds tags to a key's existing tags, and re-registering writes nothing", async () => {
    setNow(T0);
    const { stub } = freshCoordinator();
    await stub.register({ key: "k", store: "a", tags: ["t1"] });
    await stub.register({ key: "k", store: "b", tags: ["t2", "t1", "t2"] });
    expect(await stub.lookup("k")).toMatchObject({ stores: ["a", "b"], tags: ["t1", "t2"] });
    const written = await countRowsWritten(stub);
    expect(await stub.register({ key: "k", store: "a", tags: ["t2"] })).toEqual({ ok: true });
    expect(await stub.register({ key: "k", store: "b" })).toEqual({ ok: true });
    expect(written()).toBe(0);
    // The counter does count: a new store is one row.
    await stub.register({ key: "k", store: "cache-api" });
    expect(written()).toBe(1);
  });

  it("refuses a store the coordinator does not know, naming the ones it does", async () => {
    const { stub } = freshCoordinator();
    const outcome = await stub.register({ key: "k", store: "nope" });
    expect(outcome).toMatchObject({
      ok: false,
      error: { code: "unknown_store", message: expect.stringContaining("a, b, cache-api, flaky") },
    });
    expect(await footprint(stub)).toMatchObject({ cached: 0, tagged: 0 });
  });

  it(`caps a key at ${MAX_TAGS_PER_KEY} tags across registrations, changing nothing past it`, async () => {
    const { stub } = freshCoordinator();
    const tags = Array.from({ length: MAX_TAGS_PER_KEY - 1 }, (_, i) => `t${i}`);
    expect(await stub.register({ key: "k", store: "a", tags })).toEqual({ ok: true });
    expect(await stub.register({ key: "k", store: "b", tags: ["x", "y"] })).toMatchObject({
      ok: false,
      error: { code: "too_many_tags" },
    });
    expect(await stub.lookup("k")).toMatchObject({ stores: ["a"] });
    expect(await stub.register({ key: "k", store: "b", tags: ["t0", "x"] })).toEqual({ ok: true });
    expect(((await stub.lookup("k")) as { tags: string[] }).tags).toHaveLength(MAX_TAGS_PER_KEY);
  });

  it(`caps a coordinator at ${MAX_KEYS} keys; known keys still register, and invalidation frees room`, async () => {
    const { stub } = freshCoordinator();
    await stub.register({ key: "seed", store: "a" });
    await runInDurableObject(stub, (_instance, state) => {
      state.storage.sql.exec(
        `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${MAX_KEYS - 1})
         INSERT INTO cached (key, store) SELECT 'filler-' || i, 'a' FROM n`,
      );
    });
    await evictDurableObject(stub);
    expect((await stub.overview()).keys).toBe(MAX_KEYS);
    expect(await stub.register({ key: "one-more", store: "a" })).toMatchObject({
      ok: false,
      error: { code: "too_many_keys" },
    });
    expect(await stub.register({ key: "seed", store: "b", tags: ["t"] })).toEqual({ ok: true });
    queued(await stub.invalidate("seed"));
    expect(await stub.register({ key: "one-more", store: "a" })).toEqual({ ok: true });
    expect((await stub.overview()).keys).toBe(MAX_KEYS);
  });

  it(`refuses a purge that would take the outbox past ${MAX_OUTBOX_CALLS} calls, writing none of it`, async () => {
    setNow(T0);
    const { stub } = freshCoordinator();
    await stub.register({ key: "k", store: "a", tags: ["t"] });
    await stub.register({ key: "k", store: "b" });
    await runInDurableObject(stub, (_instance, state) => {
      state.storage.sql.exec(
        `INSERT INTO purges (id, kind, target, mode, keys, created_at, state)
         VALUES ('filler', 'key', 'x', 'hard', 1, ${T0}, 'pending')`,
      );
      state.storage.sql.exec(
        `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${MAX_OUTBOX_CALLS - 1})
         INSERT INTO calls (purge_id, store, batch, keys, attempts, next_at, state)
         SELECT 'filler', 'a', i, '["x"]', 0, ${T0 + 3_600_000}, 'pending' FROM n`,
      );
    });
    await evictDurableObject(stub);
    const before = await footprint(stub);
    expect(await stub.invalidateTag("t")).toMatchObject({
      ok: false,
      error: { code: "outbox_full" },
    });
    expect(await footprint(stub)).toEqual(before);
    expect(await stub.invalidate("k")).toMatchObject({ ok: false, error: { code: "outbox_full" } });
    expect(await footprint(stub)).toEqual(before);
    expect(await stub.lookup("k")).toMatchObject({ stores: ["a", "b"], tags: ["t"] });
  });
});
