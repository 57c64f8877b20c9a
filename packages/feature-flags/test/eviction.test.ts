/** Every acknowledged change survives eviction; a row this code cannot read is kept and reported. */
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { ADMIN, checkoutFlag, freshFlagSet, ok, staticFlag, type FlagSetStub } from "./helpers";

/** Rewrites a flag's stored definition behind the object's back, as an older schema might have. */
function corruptRow(set: FlagSetStub, key: string, definition: string) {
  return runInDurableObject(set, (_instance, state) => {
    state.storage.sql.exec("UPDATE flags SET definition = ? WHERE key = ?", definition, key);
  });
}

describe("eviction", () => {
  it("keeps every flag, the set's version, each flag's version and the audit log", async () => {
    const set = freshFlagSet();
    ok(await set.createFlag(checkoutFlag(), ADMIN));
    ok(await set.createFlag(staticFlag("theme"), ADMIN));
    ok(await set.setEnabled("theme", false, ADMIN));
    ok(await set.createFlag(staticFlag("gone"), ADMIN));
    ok(await set.deleteFlag("gone", ADMIN));
    const contexts = [{ plan: "beta" }, { targetingKey: "user-1" }, { targetingKey: "user-9" }, {}];
    const before = {
      snapshot: await set.snapshot(),
      evaluations: await Promise.all(contexts.map((context) => set.evaluateAll(context))),
      audit: await set.auditLog({ limit: 100 }),
    };

    await evictDurableObject(set);

    expect(await set.snapshot()).toEqual(before.snapshot);
    expect(await Promise.all(contexts.map((context) => set.evaluateAll(context)))).toEqual(
      before.evaluations,
    );
    expect(await set.auditLog({ limit: 100 })).toEqual(before.audit);
    expect((await set.evaluate("gone", {}, false)).errorCode).toBe("FLAG_NOT_FOUND");
    // Versions keep counting from where they were.
    expect(ok(await set.setEnabled("theme", true, ADMIN)).version).toBe(6);
  });

  it("serves the same values after eviction as before, even where JSON differs from memory", async () => {
    const set = freshFlagSet();
    // JSON has no -0: were -0 kept in memory, the value served would change on reload.
    const zero = staticFlag("zero", {
      type: "number",
      variants: { z: -0 },
      fallthrough: { variant: "z" },
    });
    ok(await set.createFlag(zero, ADMIN));
    const before = await set.evaluate("zero", {}, 1);
    await evictDurableObject(set);
    expect(await set.evaluate("zero", {}, 1)).toEqual(before);
    expect(Object.is(before.value, 0)).toBe(true);
  });

  it("a change acknowledged just before eviction is there after it", async () => {
    const set = freshFlagSet();
    ok(await set.createFlag(checkoutFlag(), ADMIN));
    const writes = await Promise.all(
      Array.from({ length: 20 }, (_, i) => set.createFlag(staticFlag(`f-${i}`), ADMIN)),
    );
    ok(await set.setEnabled("new-checkout", false, ADMIN));
    await evictDurableObject(set);
    for (const outcome of writes) {
      const { flag } = ok(outcome);
      expect(ok(await set.getFlag(flag.key)).flag).toEqual(flag);
    }
    expect((await set.evaluate("new-checkout", { plan: "beta" }, false)).reason).toBe("DISABLED");
  });
});

describe("a write that fails in storage", () => {
  it("changes nothing, in memory or on disk: the flag, the version and the audit log go together", async () => {
    const set = freshFlagSet();
    ok(await set.createFlag(checkoutFlag(), ADMIN));
    // Make the audit insert, the last statement of a change, fail once; call the method on the
    // instance itself, so the failure is caught here rather than reported by the runtime.
    await runInDurableObject(set, (instance, state) => {
      const sql = state.storage.sql;
      const exec = sql.exec.bind(sql);
      Object.defineProperty(sql, "exec", {
        configurable: true,
        value: (query: string, ...bindings: SqlStorageValue[]) => {
          if (query.startsWith("INSERT INTO audit")) throw new Error("simulated: disk full");
          return exec(query, ...bindings);
        },
      });
      try {
        expect(() => instance.setEnabled("new-checkout", false, ADMIN)).toThrow(/disk full/);
      } finally {
        Object.defineProperty(sql, "exec", { configurable: true, value: exec });
      }
    });
    const unchanged = { version: 1, flags: [{ ...checkoutFlag(), version: 1 }] };
    expect(await set.snapshot()).toMatchObject(unchanged);
    expect((await set.evaluate("new-checkout", { plan: "beta" }, false)).value).toBe(true);
    await evictDurableObject(set);
    expect(await set.snapshot()).toMatchObject(unchanged);
    expect(ok(await set.auditLog()).entries).toHaveLength(1);
    // And the object carries on.
    expect(ok(await set.setEnabled("new-checkout", false, ADMIN)).version).toBe(2);
  });
});

describe("a stored flag this code cannot read", () => {
  it("answers PARSE_ERROR, is listed as unreadable, and the rest of the set still works", async () => {
    const set = freshFlagSet();
    ok(await set.createFlag(checkoutFlag(), ADMIN));
    ok(await set.createFlag(staticFlag("theme"), ADMIN));
    await corruptRow(set, "new-checkout", JSON.stringify({ ...checkoutFlag(), type: "date" }));
    await evictDurableObject(set);

    expect(await set.evaluate("new-checkout", {}, false)).toMatchObject({
      value: false,
      reason: "ERROR",
      errorCode: "PARSE_ERROR",
    });
    expect((await set.evaluate("new-checkout", {}, false)).errorMessage).toMatch(
      /type must be one of/,
    );
    expect((await set.evaluate("theme", {}, "red")).value).toBe("blue");
    expect(await set.snapshot()).toMatchObject({
      unreadable: [{ key: "new-checkout", version: 1, message: expect.stringMatching(/type/) }],
    });
    expect(await set.getFlag("new-checkout")).toMatchObject({ error: { code: "flag_unreadable" } });
    expect(await set.setEnabled("new-checkout", false, ADMIN)).toMatchObject({
      error: { code: "flag_unreadable" },
    });
  });

  it("can be repaired by an update, which records what storage held", async () => {
    const set = freshFlagSet();
    ok(await set.createFlag(checkoutFlag(), ADMIN));
    await corruptRow(set, "new-checkout", "{ not json");
    await evictDurableObject(set);
    expect((await set.evaluate("new-checkout", {}, false)).errorMessage).toMatch(/not valid JSON/);

    const repaired = ok(await set.updateFlag(checkoutFlag(), { ...ADMIN, ifVersion: 1 }));
    expect(repaired.version).toBe(2);
    expect((await set.evaluate("new-checkout", { plan: "beta" }, false)).value).toBe(true);
    const [entry] = ok(await set.auditLog({ limit: 1 })).entries;
    expect(entry?.before).toEqual({ key: "new-checkout", unreadable: "{ not json" });
  });

  it("can be deleted", async () => {
    const set = freshFlagSet();
    ok(await set.createFlag(checkoutFlag(), ADMIN));
    await corruptRow(set, "new-checkout", JSON.stringify({ ...checkoutFlag(), key: "other" }));
    await evictDurableObject(set);
    expect((await set.evaluate("new-checkout", {}, false)).errorCode).toBe("PARSE_ERROR");
    ok(await set.deleteFlag("new-checkout", ADMIN));
    await evictDurableObject(set);
    expect(await set.snapshot()).toEqual({ version: 2, flags: [], unreadable: [] });
  });
});
