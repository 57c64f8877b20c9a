/** The audit log: who changed what, when, from what to what; paged, filtered and bounded. */
import { afterEach, describe, expect, it } from "vitest";
import { MAX_AUDIT_ENTRIES, type AuditPage } from "../src/index";
import {
  ADMIN,
  T0,
  checkoutFlag,
  freshFlagSet,
  ok,
  setNow,
  staticFlag,
  storedFootprint,
  watchStorage,
} from "./helpers";
import { testClock } from "./worker";

afterEach(() => {
  testClock.now = null;
});

const versions = (page: AuditPage) => page.entries.map((entry) => entry.version);

describe("audit entries", () => {
  it("record each change's version, time, actor, action, and the flag before and after", async () => {
    setNow(T0);
    const set = freshFlagSet();
    const created = ok(await set.createFlag(checkoutFlag(), { actor: "alice" }));
    setNow(T0 + 1_000);
    const updated = ok(await set.setEnabled("new-checkout", false, { actor: "bob" }));
    setNow(T0 + 2_000);
    ok(await set.deleteFlag("new-checkout", { actor: "carol" }));

    expect(ok(await set.auditLog())).toEqual({
      entries: [
        {
          version: 3,
          at: T0 + 2_000,
          actor: "carol",
          action: "delete",
          flag: "new-checkout",
          before: updated.flag,
          after: null,
        },
        {
          version: 2,
          at: T0 + 1_000,
          actor: "bob",
          action: "update",
          flag: "new-checkout",
          before: created.flag,
          after: updated.flag,
        },
        {
          version: 1,
          at: T0,
          actor: "alice",
          action: "create",
          flag: "new-checkout",
          before: null,
          after: created.flag,
        },
      ],
    });
  });

  it("pages newest first with `next`, and filters by flag", async () => {
    const set = freshFlagSet();
    ok(await set.createFlag(checkoutFlag(), ADMIN));
    ok(await set.createFlag(staticFlag("theme"), ADMIN));
    for (const enabled of [false, true, false]) {
      ok(await set.setEnabled("theme", enabled, ADMIN));
    }
    const first = ok(await set.auditLog({ limit: 2 }));
    expect(versions(first)).toEqual([5, 4]);
    expect(first.next).toBe(4);
    const second = ok(await set.auditLog({ limit: 2, before: first.next! }));
    expect(versions(second)).toEqual([3, 2]);
    const last = ok(await set.auditLog({ limit: 2, before: second.next! }));
    expect(versions(last)).toEqual([1]);
    expect(last.next).toBeUndefined();
    // A page that is exactly full is the last one too: no `next` pointing at nothing.
    expect(ok(await set.auditLog({ limit: 5 })).next).toBeUndefined();
    expect(ok(await set.auditLog({ limit: 4 })).next).toBe(2);
    expect(versions(ok(await set.auditLog({ flag: "new-checkout" })))).toEqual([1]);
    expect(versions(ok(await set.auditLog({ flag: "theme", limit: 100 })))).toEqual([5, 4, 3, 2]);
  });

  it("rejects a bad query with the reason", async () => {
    const set = freshFlagSet();
    for (const [query, message] of [
      [{ limit: 0 }, /limit must be a whole number from 1 to 100/],
      [{ limit: 101 }, /limit/],
      [{ limit: 1.5 }, /limit/],
      [{ before: -1 }, /before must be a positive whole number/],
      [{ flag: "no/slashes" }, /flag must be a flag key/],
    ] as const) {
      const page = await set.auditLog(query);
      expect(page).toMatchObject({ error: { code: "invalid_request" } });
      expect("error" in page && page.error.message).toMatch(message);
    }
  });
});

describe("bounded audit log", () => {
  it(`keeps the newest ${MAX_AUDIT_ENTRIES} entries, deleting the oldest as each is added`, async () => {
    const set = freshFlagSet();
    ok(await set.createFlag(checkoutFlag(), ADMIN));
    for (let i = 1; i <= MAX_AUDIT_ENTRIES + 4; i++) {
      ok(await set.setEnabled("new-checkout", i % 2 === 0, ADMIN));
    }
    const total = MAX_AUDIT_ENTRIES + 5;
    expect((await storedFootprint(set)).audit).toBe(MAX_AUDIT_ENTRIES);
    const oldest = ok(await set.auditLog({ before: total - MAX_AUDIT_ENTRIES + 2, limit: 100 }));
    expect(oldest.entries.map((entry) => entry.version)).toEqual([total - MAX_AUDIT_ENTRIES + 1]);
    expect(ok(await set.auditLog({ limit: 1 })).entries[0]?.version).toBe(total);
    // At the cap, a change deletes exactly one old entry: four rows, never more.
    const writes = await watchStorage(set);
    ok(await set.setEnabled("new-checkout", false, ADMIN));
    expect(writes().rowsWritten).toBe(4);
    expect((await storedFootprint(set)).audit).toBe(MAX_AUDIT_ENTRIES);
  });
});
