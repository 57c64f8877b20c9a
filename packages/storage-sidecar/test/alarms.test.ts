import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import {
  countStorageWrites,
  EMPTY,
  freshSidecar,
  ok,
  resetClock,
  setNow,
  storedFootprint,
  T0,
  WEEK,
} from "./helpers";

afterEach(resetClock);

const alarmOf = (stub: ReturnType<typeof freshSidecar>) =>
  runInDurableObject(stub, (_instance, state) => state.storage.getAlarm());

describe("the idle timeout", () => {
  it("an untouched sidecar deletes everything by alarm after its TTL, and not before", async () => {
    setNow(T0);
    const sidecar = freshSidecar();
    await sidecar.set("status", "fetching");
    await sidecar.appendMany("raw", [1, 2, 3], { idempotencyKey: "p1" });
    // Default TTL a week, set with a tenth to spare.
    const deadline = T0 + WEEK + WEEK / 10;
    expect(await alarmOf(sidecar)).toBe(deadline);
    expect((await sidecar.stats()).expiresAt).toBe(deadline);

    // An early run (the runtime may deliver one, tests can) keeps everything and re-arms.
    setNow(deadline - 1);
    expect(await runDurableObjectAlarm(sidecar)).toBe(true);
    expect(await alarmOf(sidecar)).toBe(deadline);
    // stats() does not touch: a monitor looking at a sidecar does not keep it alive.
    expect(await sidecar.stats()).toMatchObject({ keys: 1, items: 3, expiresAt: deadline });
    setNow(deadline);
    expect(await runDurableObjectAlarm(sidecar)).toBe(true);
    expect(await storedFootprint(sidecar)).toEqual(EMPTY);
    expect(await sidecar.stats()).toMatchObject({ keys: 0, items: 0, expiresAt: null });
  });

  it("never deletes a sidecar touched within its TTL: a touch past the slack moves the deadline", async () => {
    setNow(T0);
    const sidecar = freshSidecar();
    ok(await sidecar.configure({ ttlSeconds: 600 }));
    await sidecar.append("l", 1);
    expect(await alarmOf(sidecar)).toBe(T0 + 660_000);
    // A read 61 s later leaves the old deadline less than a TTL away: it moves.
    setNow(T0 + 61_000);
    ok(await sidecar.get("anything"));
    expect(await alarmOf(sidecar)).toBe(T0 + 61_000 + 660_000);
    // The old deadline passes: the alarm (if it ran) finds the sidecar alive and re-arms.
    setNow(T0 + 660_000);
    await runDurableObjectAlarm(sidecar);
    expect(await sidecar.stats()).toMatchObject({ items: 1, expiresAt: T0 + 721_000 });
    expect(await alarmOf(sidecar)).toBe(T0 + 721_000);
    setNow(T0 + 61_000 + 660_000);
    await runDurableObjectAlarm(sidecar);
    expect(await storedFootprint(sidecar)).toEqual(EMPTY);
  });

  it("a read touches too: a Workflow that only reads keeps its sidecar", async () => {
    setNow(T0);
    const sidecar = freshSidecar();
    ok(await sidecar.configure({ ttlSeconds: 600 }));
    await sidecar.append("l", 1);
    for (const at of [500_000, 1_000_000, 1_500_000]) {
      setNow(T0 + at);
      ok(await sidecar.items("l"));
      expect(await alarmOf(sidecar)).toBe(T0 + at + 660_000);
      // An alarm at any earlier deadline finds it alive.
      await runDurableObjectAlarm(sidecar);
      expect((await sidecar.stats()).items).toBe(1);
    }
  });

  it("touches within a tenth of the TTL write nothing beyond the data itself", async () => {
    setNow(T0);
    const sidecar = freshSidecar();
    ok(await sidecar.configure({ ttlSeconds: 600 }));
    await sidecar.set("k", 0);
    const writes = await countStorageWrites(sidecar);
    for (let s = 1; s <= 60; s++) {
      setNow(T0 + s * 1_000);
      await sidecar.get("k");
      await sidecar.items("l");
      await sidecar.list({ prefix: "k" });
      await sidecar.append("l", s);
    }
    // 60 appends: 60 rows, and no alarm or deadline write.
    expect(writes()).toEqual({ rowsWritten: 60, calls: 0 });
    setNow(T0 + 61_000);
    await sidecar.get("k");
    // Past the slack: one deadline row and one alarm.
    expect(writes()).toEqual({ rowsWritten: 60, calls: 2 });
  });

  it("get and set answer without a promise while the deadline stays, and wait for the alarm when it moves", async () => {
    setNow(T0);
    const sidecar = freshSidecar();
    ok(await sidecar.configure({ ttlSeconds: 600 }));
    await sidecar.set("k", 0);
    await runInDurableObject(sidecar, async (instance) => {
      setNow(T0 + 1_000);
      const read = instance.get("k");
      const write = instance.set("k", 1);
      expect(read).not.toBeInstanceOf(Promise);
      expect(write).not.toBeInstanceOf(Promise);
      expect(read).toEqual({ ok: true, found: true, value: 0 });
      expect(write).toEqual({ ok: true, created: false, bytes: 1 });
      // Past the slack the deadline moves: the answer waits for its alarm.
      setNow(T0 + 61_000);
      const moving = instance.get("k");
      expect(moving).toBeInstanceOf(Promise);
      expect(await moving).toEqual({ ok: true, found: true, value: 1 });
    });
    expect(await alarmOf(sidecar)).toBe(T0 + 61_000 + 660_000);
  });

  it("reads of an empty sidecar leave nothing behind (no timer for nothing)", async () => {
    setNow(T0);
    const sidecar = freshSidecar();
    await sidecar.get("k");
    await sidecar.list();
    await sidecar.items("l");
    await sidecar.delete("k");
    await sidecar.deleteList("l");
    await sidecar.stats();
    expect(await storedFootprint(sidecar)).toEqual(EMPTY);
  });

  it("a shorter TTL pulls the deadline in; a longer one pushes it out", async () => {
    setNow(T0);
    const sidecar = freshSidecar();
    await sidecar.set("k", 1);
    expect(await alarmOf(sidecar)).toBe(T0 + WEEK + WEEK / 10);
    expect(await sidecar.configure({ ttlSeconds: 3_600 })).toEqual({
      ok: true,
      ttlSeconds: 3_600,
      expiresAt: T0 + 3_960_000,
    });
    expect(await alarmOf(sidecar)).toBe(T0 + 3_960_000);
    ok(await sidecar.configure({ ttlSeconds: 86_400 }));
    expect(await alarmOf(sidecar)).toBe(T0 + 86_400_000 + 8_640_000);
    expect((await sidecar.stats()).ttlSeconds).toBe(86_400);
  });

  it("a retried alarm is harmless, and a sidecar used again after expiry starts afresh", async () => {
    setNow(T0);
    const sidecar = freshSidecar();
    ok(await sidecar.configure({ ttlSeconds: 60 }));
    await sidecar.append("l", 1);
    setNow(T0 + 66_000);
    expect(await runDurableObjectAlarm(sidecar)).toBe(true);
    // The same alarm again, as the runtime may after a failure.
    await runInDurableObject(sidecar, (instance) => instance.alarm());
    expect(await storedFootprint(sidecar)).toEqual(EMPTY);
    expect(await runDurableObjectAlarm(sidecar)).toBe(false);

    // The settings went with the data: the default TTL again.
    expect(ok(await sidecar.append("l", 2)).seq).toBe(1);
    expect(await sidecar.stats()).toMatchObject({ ttlSeconds: 604_800, items: 1 });
    expect(await alarmOf(sidecar)).toBe(T0 + 66_000 + WEEK + WEEK / 10);
  });

  it("clear deletes everything at once: rows, settings and the alarm", async () => {
    setNow(T0);
    const sidecar = freshSidecar();
    ok(await sidecar.configure({ ttlSeconds: 600 }));
    await sidecar.set("k", "v");
    await sidecar.appendMany("l", [1, 2], { idempotencyKey: "x" });
    await sidecar.clear();
    expect(await storedFootprint(sidecar)).toEqual(EMPTY);
    await evictDurableObject(sidecar);
    expect(await sidecar.stats()).toMatchObject({ keys: 0, items: 0, ttlSeconds: 604_800 });
  });

  it("the deadline survives eviction: the alarm still deletes the abandoned sidecar", async () => {
    setNow(T0);
    const sidecar = freshSidecar();
    ok(await sidecar.configure({ ttlSeconds: 600 }));
    await sidecar.append("l", 1);
    await evictDurableObject(sidecar);
    // After eviction a touch within the slack still writes nothing: the deadline was reloaded.
    setNow(T0 + 30_000);
    const writes = await countStorageWrites(sidecar);
    await sidecar.get("k");
    expect(writes().calls).toBe(0);
    expect((await sidecar.stats()).expiresAt).toBe(T0 + 660_000);
    await evictDurableObject(sidecar);
    setNow(T0 + 660_000);
    expect(await runDurableObjectAlarm(sidecar)).toBe(true);
    expect(await storedFootprint(sidecar)).toEqual(EMPTY);
  });
});
