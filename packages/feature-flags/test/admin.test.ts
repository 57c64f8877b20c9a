/** Creating, updating, toggling and deleting flags over RPC: versions, conflicts and caps. */
import { evictDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { MAX_FLAGS, MAX_FLAG_SET_BYTES, type FlagDefinition } from "../src/index";
import {
  ADMIN,
  T0,
  checkoutFlag,
  definitionOf,
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

const bytesOf = (flag: FlagDefinition) => new TextEncoder().encode(JSON.stringify(flag)).length;

/** A flag whose definition is exactly `bytes` long as stored. */
function sized(key: string, bytes: number): FlagDefinition {
  const flag = (value: string) =>
    staticFlag(key, { variants: { a: value }, fallthrough: { variant: "a" } });
  return flag("x".repeat(bytes - bytesOf(flag(""))));
}

describe("create", () => {
  it("stores the flag at the set's next version, and evaluation sees it at once", async () => {
    setNow(T0);
    const set = freshFlagSet();
    const created = ok(await set.createFlag(checkoutFlag(), ADMIN));
    expect(created).toEqual({
      flag: { ...checkoutFlag(), version: 1, updatedAt: T0 },
      version: 1,
    });
    expect(ok(await set.getFlag("new-checkout")).flag).toEqual(created.flag);
    expect(await set.evaluate("new-checkout", { plan: "beta" }, false)).toMatchObject({
      value: true,
      reason: "TARGETING_MATCH",
      version: 1,
    });
  });

  it("refuses a key that exists, changing nothing", async () => {
    const set = freshFlagSet();
    ok(await set.createFlag(checkoutFlag(), ADMIN));
    const again = await set.createFlag(checkoutFlag({ enabled: false }), ADMIN);
    expect(again).toMatchObject({ error: { code: "flag_exists" } });
    expect(ok(await set.getFlag("new-checkout")).flag.enabled).toBe(true);
    expect((await set.snapshot()).version).toBe(1);
  });

  it("refuses an invalid flag with the reason, changing nothing and creating no storage", async () => {
    const set = freshFlagSet();
    const outcome = await set.createFlag(
      checkoutFlag({ fallthrough: { variant: "maybe" } }),
      ADMIN,
    );
    expect(outcome).toEqual({
      error: { code: "invalid_flag", message: 'fallthrough: no variant named "maybe"' },
    });
    expect(await storedFootprint(set)).toEqual({ tables: [], flags: 0, audit: 0, alarm: null });
  });
});

describe("update", () => {
  it("replaces the definition, bumps the set's version and stamps the flag with it", async () => {
    setNow(T0);
    const set = freshFlagSet();
    ok(await set.createFlag(checkoutFlag(), ADMIN));
    ok(await set.createFlag(staticFlag("theme"), ADMIN));
    setNow(T0 + 5_000);
    const updated = ok(
      await set.updateFlag(checkoutFlag({ fallthrough: { variant: "on" } }), ADMIN),
    );
    expect(updated.version).toBe(3);
    expect(updated.flag).toMatchObject({ version: 3, updatedAt: T0 + 5_000 });
    // The other flag keeps the version of its own last change.
    expect(ok(await set.getFlag("theme")).flag.version).toBe(2);
    expect((await set.evaluate("new-checkout", { targetingKey: "user-42" })).value).toBe(true);
  });

  it("with ifVersion, applies only to the version the writer read", async () => {
    const set = freshFlagSet();
    const { flag } = ok(await set.createFlag(checkoutFlag(), ADMIN));
    ok(await set.setEnabled("new-checkout", false, { actor: "bob", ifVersion: flag.version }));
    // Alice read version 1 too; her write would undo Bob's kill switch.
    const stale = await set.updateFlag(checkoutFlag({ description: "alice's edit" }), {
      ...ADMIN,
      ifVersion: flag.version,
    });
    expect(stale).toMatchObject({ error: { code: "version_conflict" } });
    expect("error" in stale && stale.error.message).toMatch(/at version 2, not 1/);
    expect(ok(await set.getFlag("new-checkout")).flag).toMatchObject({
      enabled: false,
      version: 2,
    });
    expect(
      ok(
        await set.updateFlag(checkoutFlag({ enabled: false, description: "x" }), {
          ...ADMIN,
          ifVersion: 2,
        }),
      ).version,
    ).toBe(3);
  });

  it("of a flag exactly as it is stores nothing: no version, no audit entry, no row", async () => {
    const set = freshFlagSet();
    ok(await set.createFlag(checkoutFlag(), ADMIN));
    const writes = await watchStorage(set);
    // Even with a stale ifVersion: a retried write that already applied is a success.
    const again = ok(await set.updateFlag(checkoutFlag(), { ...ADMIN, ifVersion: 0 }));
    expect(again.version).toBe(1);
    ok(await set.setEnabled("new-checkout", true, ADMIN));
    expect(writes().calls).toBe(0);
    expect((await storedFootprint(set)).audit).toBe(1);
  });

  it("of a missing flag fails with flag_not_found", async () => {
    const set = freshFlagSet();
    expect(await set.updateFlag(checkoutFlag(), ADMIN)).toMatchObject({
      error: { code: "flag_not_found" },
    });
    expect(await set.setEnabled("nope", false, ADMIN)).toMatchObject({
      error: { code: "flag_not_found" },
    });
  });

  it("writes three rows per change: the flag, the set's version and the audit entry", async () => {
    const set = freshFlagSet();
    ok(await set.createFlag(checkoutFlag(), ADMIN));
    const writes = await watchStorage(set);
    ok(await set.setEnabled("new-checkout", false, ADMIN));
    expect(writes().rowsWritten).toBe(3);
    ok(await set.createFlag(staticFlag("theme"), ADMIN));
    ok(await set.deleteFlag("theme", ADMIN));
    expect(writes().rowsWritten).toBe(9);
  });
});

describe("setEnabled: the kill switch", () => {
  it("turns a flag off for everyone at once, and back on with its rules intact", async () => {
    const set = freshFlagSet();
    ok(await set.createFlag(checkoutFlag(), ADMIN));
    const off = ok(await set.setEnabled("new-checkout", false, ADMIN));
    expect(definitionOf(off.flag)).toEqual(checkoutFlag({ enabled: false }));
    expect(await set.evaluate("new-checkout", { plan: "beta" }, false)).toMatchObject({
      value: false,
      reason: "DISABLED",
    });
    ok(await set.setEnabled("new-checkout", true, ADMIN));
    expect((await set.evaluate("new-checkout", { plan: "beta" }, false)).value).toBe(true);
  });
});

describe("delete", () => {
  it("removes the flag and its row; evaluating it answers FLAG_NOT_FOUND", async () => {
    const set = freshFlagSet();
    ok(await set.createFlag(checkoutFlag(), ADMIN));
    ok(await set.createFlag(staticFlag("theme"), ADMIN));
    expect(await set.deleteFlag("new-checkout", ADMIN)).toEqual({
      deleted: "new-checkout",
      version: 3,
    });
    expect(await set.evaluate("new-checkout", {}, false)).toMatchObject({
      value: false,
      reason: "ERROR",
      errorCode: "FLAG_NOT_FOUND",
      version: 3,
    });
    expect((await storedFootprint(set)).flags).toBe(1);
    expect(await set.deleteFlag("new-checkout", ADMIN)).toMatchObject({
      error: { code: "flag_not_found" },
    });
  });

  it("with a stale ifVersion fails with version_conflict and keeps the flag", async () => {
    const set = freshFlagSet();
    ok(await set.createFlag(checkoutFlag(), ADMIN));
    ok(await set.setEnabled("new-checkout", false, ADMIN));
    expect(await set.deleteFlag("new-checkout", { ...ADMIN, ifVersion: 1 })).toMatchObject({
      error: { code: "version_conflict" },
    });
    expect(ok(await set.getFlag("new-checkout")).flag.version).toBe(2);
    ok(await set.deleteFlag("new-checkout", { ...ADMIN, ifVersion: 2 }));
  });

  it("keeps the set's version counting after every flag is gone", async () => {
    const set = freshFlagSet();
    ok(await set.createFlag(checkoutFlag(), ADMIN));
    ok(await set.deleteFlag("new-checkout", ADMIN));
    expect(ok(await set.createFlag(checkoutFlag(), ADMIN)).version).toBe(3);
  });
});

describe("bounded state", () => {
  it(`holds at most ${MAX_FLAGS} flags, and frees a slot when one is deleted`, async () => {
    const set = freshFlagSet();
    for (let i = 0; i < MAX_FLAGS; i += 50) {
      await Promise.all(
        Array.from({ length: 50 }, (_, j) => set.createFlag(staticFlag(`f${i + j}`), ADMIN)).map(
          async (outcome) => ok(await outcome),
        ),
      );
    }
    expect(await set.createFlag(staticFlag("one-more"), ADMIN)).toMatchObject({
      error: { code: "too_many_flags" },
    });
    ok(await set.deleteFlag("f0", ADMIN));
    ok(await set.createFlag(staticFlag("one-more"), ADMIN));
    expect((await storedFootprint(set)).flags).toBe(MAX_FLAGS);
  });

  it(`holds at most ${MAX_FLAG_SET_BYTES} bytes of definitions, to the byte`, async () => {
    const set = freshFlagSet();
    let created = 0;
    let refused: object | undefined;
    while (refused === undefined) {
      const outcome = await set.createFlag(sized(`big-${created}`, 15_000), ADMIN);
      if ("error" in outcome) refused = outcome;
      else created++;
    }
    expect(refused).toMatchObject({ error: { code: "flag_set_full" } });
    expect(created).toBe(Math.floor(MAX_FLAG_SET_BYTES / 15_000));
    // Fill all but 10 bytes; then replacing a flag counts its new size instead of its old one.
    ok(await set.createFlag(sized("filler", MAX_FLAG_SET_BYTES - created * 15_000 - 10), ADMIN));
    expect(await set.updateFlag(sized("big-0", 15_011), ADMIN)).toMatchObject({
      error: { code: "flag_set_full" },
    });
    ok(await set.updateFlag(sized("big-0", 15_010), ADMIN));
    expect(await set.createFlag(staticFlag("tiny"), ADMIN)).toMatchObject({
      error: { code: "flag_set_full" },
    });
    // The count is rebuilt from storage when the object starts again.
    await evictDurableObject(set);
    expect(await set.createFlag(staticFlag("tiny"), ADMIN)).toMatchObject({
      error: { code: "flag_set_full" },
    });
    ok(await set.deleteFlag("big-1", ADMIN));
    ok(await set.createFlag(staticFlag("tiny"), ADMIN));
  });
});
