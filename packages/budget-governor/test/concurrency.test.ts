import { afterEach, describe, expect, it } from "vitest";
import { resetWorld, reserved, setNow, spendOf, startedGovernor, T0 } from "./helpers";

afterEach(resetWorld);

describe("concurrency", () => {
  it("1,000 concurrent reservations never hold more than the allocation", async () => {
    setNow(T0);
    // keywords gets 0.5 x 10,000 = 5,000: room for exactly 500 reservations of 10.
    const governor = await startedGovernor(10_000);
    const outcomes = await Promise.all(
      Array.from({ length: 1_000 }, (_, i) =>
        governor.reserve({ processorId: "keywords", estimatedCost: 10, idempotencyKey: `k${i}` }),
      ),
    );
    const granted = outcomes.filter((o) => o.ok);
    expect(granted).toHaveLength(500);
    for (const refused of outcomes.filter((o) => !o.ok)) {
      expect(refused).toMatchObject({ error: { code: "budget_exhausted" }, remaining: 0 });
    }
    const line = await spendOf(governor, "keywords");
    expect(line).toMatchObject({
      allocated: 5_000,
      reserved: 5_000,
      available: 0,
      openReservations: 500,
    });
  });

  it("under 1,000 concurrent reserves and commits (some above estimate), committed + reserved stays within the allocation", async () => {
    setNow(T0);
    const governor = await startedGovernor(20_000);
    const allocated = (await spendOf(governor, "keywords")).allocated;
    // Mixed estimates; each granted reservation commits at once with 0-2x its estimate.
    const results = await Promise.all(
      Array.from({ length: 1_000 }, async (_, i) => {
        const estimate = 1 + (i % 37);
        const outcome = await governor.reserve({
          processorId: "keywords",
          estimatedCost: estimate,
          idempotencyKey: `mixed-${i}`,
        });
        if (!outcome.ok) return { granted: false as const };
        const actual = (i * 7919) % (2 * estimate + 1);
        const commit = await governor.commit(outcome.reservation.id, actual);
        if (!commit.ok) throw new Error(commit.error.message);
        return { granted: true as const, actual, charged: commit.reservation.charged ?? 0 };
      }),
    );
    const line = await spendOf(governor, "keywords");
    expect(line.reserved).toBe(0);
    expect(line.committed + line.reserved).toBeLessThanOrEqual(allocated);
    const charged = results.reduce((sum, r) => sum + (r.granted ? r.charged : 0), 0);
    const actual = results.reduce((sum, r) => sum + (r.granted ? r.actual : 0), 0);
    expect(line.committed).toBe(charged);
    expect(line.committed + line.overrun).toBe(actual);
  });

  it("interleaved reservations hold while they are open: never more than the allocation at any moment", async () => {
    setNow(T0);
    const governor = await startedGovernor(1_000);
    // summaries: 200. 1,000 attempts of 3 with the status read in between.
    const seen: number[] = [];
    await Promise.all(
      Array.from({ length: 1_000 }, async (_, i) => {
        const outcome = await governor.reserve({
          processorId: "summaries",
          estimatedCost: 3,
          idempotencyKey: `s${i}`,
        });
        if (i % 100 === 0) {
          const line = await spendOf(governor, "summaries");
          seen.push(line.committed + line.reserved);
        }
        if (outcome.ok && i % 2 === 0) await governor.release(outcome.reservation.id);
      }),
    );
    expect(Math.max(...seen)).toBeLessThanOrEqual(200);
    const line = await spendOf(governor, "summaries");
    expect(line.committed + line.reserved).toBeLessThanOrEqual(200);
  });

  it("the same idempotency key sent 200 times at once makes one reservation", async () => {
    setNow(T0);
    const governor = await startedGovernor(10_000);
    const outcomes = await Promise.all(
      Array.from({ length: 200 }, () =>
        governor.reserve({ processorId: "keywords", estimatedCost: 25, idempotencyKey: "once" }),
      ),
    );
    const ids = new Set(outcomes.map((o) => reserved(o).id));
    expect(ids.size).toBe(1);
    expect(outcomes.filter((o) => o.ok && !o.replayed)).toHaveLength(1);
    expect(await spendOf(governor, "keywords")).toMatchObject({
      reserved: 25,
      openReservations: 1,
    });
  });

  it("a tier's maxConcurrency caps its open reservations across processors", async () => {
    setNow(T0);
    const governor = await startedGovernor(1_000_000, {
      processors: [
        { id: "a", weight: 0.5, phase: 1, tier: "tight" },
        { id: "b", weight: 0.5, phase: 1, tier: "tight" },
      ],
      tiers: { tight: { model: "m", costPerCall: 1, maxConcurrency: 3 } },
    });
    const outcomes = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        governor.reserve({
          processorId: i % 2 ? "a" : "b",
          estimatedCost: 1,
          idempotencyKey: `t${i}`,
        }),
      ),
    );
    expect(outcomes.filter((o) => o.ok)).toHaveLength(3);
    expect(outcomes.find((o) => !o.ok)).toMatchObject({ error: { code: "concurrency_limit" } });
    const first = outcomes.find((o) => o.ok);
    await governor.release(reserved(first!).id);
    expect(
      (await governor.reserve({ processorId: "a", estimatedCost: 1, idempotencyKey: "after" })).ok,
    ).toBe(true);
  });
});
