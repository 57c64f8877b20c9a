import { runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { MAX_OPEN_RESERVATIONS, MAX_SETTLED_RESERVATIONS } from "../src/index";
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

describe("cycles", () => {
  it("start allocates the total by weight, exactly, and disabled processors get nothing", async () => {
    setNow(T0);
    const governor = await startedGovernor(1_001, {
      ...CONFIG,
      processors: [
        { id: "a", weight: 1 / 3, phase: 1, tier: "small" },
        { id: "b", weight: 1 / 3, phase: 1, tier: "small" },
        { id: "c", weight: 1 / 3, phase: 2, tier: "large" },
        { id: "off", weight: 0.9, phase: 2, tier: "large", enabled: false },
      ],
    });
    const status = await governor.status();
    expect(status.processors.map((p) => [p.id, p.allocated])).toEqual([
      ["a", 334],
      ["b", 334],
      ["c", 333],
      ["off", 0],
    ]);
    expect(status.cycle).toEqual({ id: 1, startedAt: T0, endsAt: null, totalBudget: 1_001 });
  });

  it("configure applies from the next cycle: the running one keeps its allocations", async () => {
    setNow(T0);
    const governor = await startedGovernor(10_000);
    const swapped = {
      ...CONFIG,
      processors: [
        { id: "keywords", weight: 0.1, phase: 1, tier: "small" },
        { id: "summaries", weight: 0.9, phase: 2, tier: "large" },
      ],
    };
    expect(await governor.configure(swapped)).toMatchObject({ ok: true });
    expect(await spendOf(governor, "keywords")).toMatchObject({ allocated: 5_000 });
    expect((await governor.status()).processors).toHaveLength(3);
    await governor.start(10_000);
    expect(await spendOf(governor, "keywords")).toMatchObject({ allocated: 1_000 });
    expect((await governor.status()).processors.map((p) => p.id)).toEqual([
      "keywords",
      "summaries",
    ]);
  });

  it("a new cycle releases the old cycle's holds and records its totals", async () => {
    setNow(T0);
    const governor = await startedGovernor(10_000);
    const open = reserved(
      await governor.reserve({ processorId: "keywords", estimatedCost: 999, idempotencyKey: "k" }),
    );
    const spent = reserved(
      await governor.reserve({ processorId: "summaries", estimatedCost: 500, idempotencyKey: "s" }),
    );
    await governor.commit(spent.id, 400, { items: 7, errors: 1 });
    setNow(T0 + 5_000);
    await governor.start(8_000);
    expect(await governor.history()).toEqual([
      {
        id: 1,
        startedAt: T0,
        endedAt: T0 + 5_000,
        endsAt: null,
        totalBudget: 10_000,
        processors: [
          { id: "keywords", allocated: 5_000, committed: 0, overrun: 0, items: 0, errors: 0 },
          { id: "backlinks", allocated: 3_000, committed: 0, overrun: 0, items: 0, errors: 0 },
          { id: "summaries", allocated: 2_000, committed: 400, overrun: 0, items: 7, errors: 1 },
        ],
      },
    ]);
    expect(await stored(governor)).toMatchObject({
      reservations: 0,
      spend: 3,
      history: 1,
      alarm: null,
    });
    expect(await spendOf(governor, "keywords")).toMatchObject({ allocated: 4_000, reserved: 0 });
    // The key is free again in the new cycle.
    const again = reserved(
      await governor.reserve({ processorId: "keywords", estimatedCost: 999, idempotencyKey: "k" }),
    );
    expect(again.id).not.toBe(open.id);
    expect(again.cycleId).toBe(2);
  });
});

describe("bounded storage", () => {
  it(`holds at most ${MAX_OPEN_RESERVATIONS} open reservations`, async () => {
    setNow(T0);
    const governor = await startedGovernor(1_000_000_000, {
      ...CONFIG,
      tiers: {
        small: { ...CONFIG.tiers.small!, maxConcurrency: MAX_OPEN_RESERVATIONS },
        large: { ...CONFIG.tiers.large!, maxConcurrency: MAX_OPEN_RESERVATIONS },
      },
    });
    const outcome = await runInDurableObject(governor, async (instance) => {
      for (let i = 0; i < MAX_OPEN_RESERVATIONS; i++) {
        // Split across the two tiers, each capped at 1,000 open (its maxConcurrency).
        const processorId = i % 2 === 0 ? "keywords" : "summaries";
        const r = await instance.reserve({
          processorId,
          estimatedCost: 1,
          idempotencyKey: `o${i}`,
        });
        if (!r.ok) throw new Error(r.error.message);
      }
      return instance.reserve({
        processorId: "backlinks",
        estimatedCost: 1,
        idempotencyKey: "one-more",
      });
    });
    expect(outcome).toMatchObject({ ok: false, error: { code: "too_many_reservations" } });
    expect(await stored(governor)).toMatchObject({ open: MAX_OPEN_RESERVATIONS });
  });

  it(`remembers at most ${MAX_SETTLED_RESERVATIONS} settled reservations, forgetting the oldest`, async () => {
    setNow(T0);
    const governor = await startedGovernor(1_000_000_000);
    const first = await runInDurableObject(governor, async (instance) => {
      let firstId = "";
      for (let i = 0; i < MAX_SETTLED_RESERVATIONS + 10; i++) {
        const r = await instance.reserve({
          processorId: "keywords",
          estimatedCost: 2,
          idempotencyKey: `s${i}`,
        });
        if (!r.ok) throw new Error(r.error.message);
        if (i === 0) firstId = r.reservation.id;
        if (i % 2 === 0) await instance.commit(r.reservation.id, 1);
        else await instance.release(r.reservation.id);
      }
      return firstId;
    });
    expect(await stored(governor)).toMatchObject({
      reservations: MAX_SETTLED_RESERVATIONS,
      open: 0,
    });
    expect(await governor.getReservation(first)).toMatchObject({
      ok: false,
      error: { code: "not_found" },
    });
    // The totals are unaffected by forgetting rows.
    expect(await spendOf(governor, "keywords")).toMatchObject({
      committed: (MAX_SETTLED_RESERVATIONS + 10) / 2,
    });
  });
});
