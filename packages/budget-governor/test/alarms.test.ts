import { runDurableObjectAlarm } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import {
  CONFIG,
  resetWorld,
  reserved,
  setNow,
  spendOf,
  startedGovernor,
  stored,
  T0,
} from "./helpers";

afterEach(resetWorld);

const hold = (key: string, estimatedCost = 100) => ({
  processorId: "keywords",
  estimatedCost,
  idempotencyKey: key,
});

describe("reservation expiry", () => {
  it("an expired reservation returns to the pool by alarm; a retried alarm changes nothing", async () => {
    setNow(T0);
    const governor = await startedGovernor(10_000);
    const early = reserved(await governor.reserve(hold("early", 1_000)));
    setNow(T0 + 30_000);
    const late = reserved(await governor.reserve(hold("late", 2_000)));
    expect((await stored(governor)).alarm).toBe(early.expiresAt);

    // Early: nothing due yet, the alarm re-arms at the same time.
    setNow(T0 + 10_000);
    expect(await runDurableObjectAlarm(governor)).toBe(true);
    expect(await spendOf(governor, "keywords")).toMatchObject({ reserved: 3_000 });
    expect((await stored(governor)).alarm).toBe(early.expiresAt);

    setNow(early.expiresAt);
    expect(await runDurableObjectAlarm(governor)).toBe(true);
    expect(await spendOf(governor, "keywords")).toMatchObject({
      reserved: 2_000,
      available: 3_000,
    });
    expect(await governor.getReservation(early.id)).toMatchObject({
      reservation: { status: "expired" },
    });
    // Re-armed for the one still open.
    expect((await stored(governor)).alarm).toBe(late.expiresAt);

    // A retried alarm (the same one run again) must not return the hold twice.
    await runInObjectAlarmAgain(governor);
    expect(await spendOf(governor, "keywords")).toMatchObject({
      reserved: 2_000,
      available: 3_000,
    });

    setNow(late.expiresAt + 5);
    expect(await runDurableObjectAlarm(governor)).toBe(true);
    expect(await spendOf(governor, "keywords")).toMatchObject({ reserved: 0, available: 5_000 });
    expect((await stored(governor)).alarm).toBeNull();
  });

  it("an expired reservation can still commit: charged from the remainder, the rest overrun", async () => {
    setNow(T0);
    const governor = await startedGovernor(10_000);
    const lapsed = reserved(await governor.reserve(hold("lapsed", 1_000)));
    setNow(lapsed.expiresAt);
    await runDurableObjectAlarm(governor);
    reserved(await governor.reserve(hold("big", 4_500)));
    // 500 unreserved remain: a late commit of 800 charges 500, 300 is overrun.
    expect(await governor.commit(lapsed.id, 800)).toMatchObject({
      ok: true,
      reservation: { status: "committed", charged: 500, overrun: 300 },
    });
    expect(await spendOf(governor, "keywords")).toMatchObject({
      committed: 500,
      reserved: 4_500,
      overrun: 300,
    });
  });

  it("holds past their TTL are expired on the spot when a reserve would otherwise be refused", async () => {
    setNow(T0);
    const governor = await startedGovernor(10_000);
    reserved(await governor.reserve(hold("all", 5_000)));
    setNow(T0 + 61_000);
    // The alarm has not run yet; the reserve still succeeds.
    expect(await governor.reserve(hold("next", 5_000))).toMatchObject({ ok: true });
  });
});

describe("scheduled cycles", () => {
  const scheduled = { ...CONFIG, schedule: { periodSeconds: 3_600, totalBudget: 10_000 } };

  it("rolls over by alarm into history, once, even when the alarm is retried", async () => {
    setNow(T0);
    const governor = await startedGovernor(10_000, scheduled);
    const { id } = reserved(await governor.reserve(hold("spend", 1_000)));
    await governor.commit(id, 600, { items: 2 });
    const open = reserved(await governor.reserve(hold("open", 50)));
    expect((await stored(governor)).alarm).toBe(open.expiresAt);
    setNow(open.expiresAt);
    await runDurableObjectAlarm(governor);
    expect((await stored(governor)).alarm).toBe(T0 + 3_600_000);

    setNow(T0 + 3_600_000);
    expect(await runDurableObjectAlarm(governor)).toBe(true);
    await runInObjectAlarmAgain(governor);
    const status = await governor.status();
    expect(status.cycle).toEqual({
      id: 2,
      startedAt: T0 + 3_600_000,
      endsAt: T0 + 7_200_000,
      totalBudget: 10_000,
    });
    expect(status.processors.find((p) => p.id === "keywords")).toMatchObject({
      allocated: 5_000,
      committed: 0,
      items: 0,
    });
    const history = await governor.history();
    expect(history).toHaveLength(1);
    expect(history[0]).toMatchObject({ id: 1, startedAt: T0, endedAt: T0 + 3_600_000 });
    expect(history[0]?.processors.find((p) => p.id === "keywords")).toEqual({
      id: "keywords",
      allocated: 5_000,
      committed: 600,
      overrun: 0,
      items: 2,
      errors: 0,
    });
    expect((await stored(governor)).alarm).toBe(T0 + 7_200_000);
    // The old cycle's reservations are gone with it: a commit is refused as cycle_closed.
    expect(await governor.commit(open.id, 1)).toMatchObject({ error: { code: "cycle_closed" } });
  });

  it("after sleeping through several periods, rolls over once into the current period", async () => {
    setNow(T0);
    const governor = await startedGovernor(10_000, scheduled);
    setNow(T0 + 3 * 3_600_000 + 5);
    await runDurableObjectAlarm(governor);
    expect((await governor.status()).cycle).toMatchObject({
      id: 2,
      startedAt: T0 + 3 * 3_600_000,
      endsAt: T0 + 4 * 3_600_000,
    });
    expect(await governor.history()).toHaveLength(1);
  });

  it("a due rollover happens on the next call even before the alarm runs", async () => {
    setNow(T0);
    const governor = await startedGovernor(10_000, scheduled);
    setNow(T0 + 3_600_000);
    expect(reserved(await governor.reserve(hold("new-cycle", 10))).cycleId).toBe(2);
    expect((await stored(governor)).alarm).toBe(T0 + 3_600_000 + 60_000);
  });

  it("keeps at most historyLimit closed cycles", async () => {
    setNow(T0);
    const governor = await startedGovernor(100, { ...CONFIG, historyLimit: 3 });
    for (let i = 0; i < 6; i++) await governor.start(100 + i);
    const history = await governor.history();
    expect(history.map((c) => c.id)).toEqual([6, 5, 4]);
    expect((await stored(governor)).history).toBe(3);
  });
});

/** Runs the object's alarm handler again, as a retry would, whether or not one is scheduled. */
async function runInObjectAlarmAgain(governor: Parameters<typeof stored>[0]) {
  const { runInDurableObject } = await import("cloudflare:test");
  await runInDurableObject(governor, (instance) => instance.alarm());
}
