import { afterEach, describe, expect, it } from "vitest";
import {
  resetWorld,
  reserved,
  setNow,
  settledOk,
  spendOf,
  startedGovernor,
  stored,
  T0,
} from "./helpers";

afterEach(resetWorld);

const hold = (key: string, estimatedCost = 100, processorId = "keywords") => ({
  processorId,
  estimatedCost,
  idempotencyKey: key,
});

describe("reserve, commit and release", () => {
  it("a retried reserve returns the same reservation and holds nothing more", async () => {
    setNow(T0);
    const governor = await startedGovernor(10_000);
    const first = await governor.reserve(hold("job-1"));
    const again = await governor.reserve(hold("job-1"));
    expect(first).toMatchObject({ ok: true, replayed: false, remaining: 4_900 });
    expect(again).toMatchObject({ ok: true, replayed: true, remaining: 4_900 });
    expect(reserved(again).id).toBe(reserved(first).id);
    expect(await spendOf(governor, "keywords")).toMatchObject({
      reserved: 100,
      openReservations: 1,
    });
  });

  it("a retried reserve after the commit returns the committed reservation, and charges nothing more", async () => {
    setNow(T0);
    const governor = await startedGovernor(10_000);
    const { id } = reserved(await governor.reserve(hold("job-2")));
    await governor.commit(id, 80);
    const again = await governor.reserve(hold("job-2"));
    expect(reserved(again)).toMatchObject({ id, status: "committed", actualCost: 80, charged: 80 });
    expect(await spendOf(governor, "keywords")).toMatchObject({ committed: 80, reserved: 0 });
  });

  it("the same key with another processor or estimate is refused and changes nothing", async () => {
    setNow(T0);
    const governor = await startedGovernor(10_000);
    await governor.reserve(hold("job-3"));
    for (const other of [hold("job-3", 101), hold("job-3", 100, "backlinks")]) {
      expect(await governor.reserve(other)).toMatchObject({
        ok: false,
        error: { code: "idempotency_conflict" },
      });
    }
    expect(await spendOf(governor, "keywords")).toMatchObject({ reserved: 100 });
    expect(await spendOf(governor, "backlinks")).toMatchObject({ reserved: 0 });
  });

  it("a retry is answered as a retry even when the budget would now refuse a new hold", async () => {
    setNow(T0);
    const governor = await startedGovernor(10_000); // keywords: 5,000
    const first = reserved(await governor.reserve(hold("all", 5_000)));
    const again = await governor.reserve(hold("all", 5_000));
    expect(again).toMatchObject({ ok: true, replayed: true, remaining: 0 });
    expect(reserved(again).id).toBe(first.id);
    expect(await governor.reserve(hold("all", 5_000, "no-such-processor"))).toMatchObject({
      ok: false,
      error: { code: "idempotency_conflict" },
    });
    expect(await governor.reserve(hold("more", 1))).toMatchObject({
      ok: false,
      error: { code: "budget_exhausted" },
    });
    expect(await spendOf(governor, "keywords")).toMatchObject({
      reserved: 5_000,
      openReservations: 1,
    });
  });

  it("a retried commit with the same cost returns the same result; another cost is refused", async () => {
    setNow(T0);
    const governor = await startedGovernor(10_000);
    const { id } = reserved(await governor.reserve(hold("job-4")));
    const first = await governor.commit(id, 70, { items: 3, errors: 1 });
    const again = await governor.commit(id, 70, { items: 3, errors: 1 });
    expect(first).toMatchObject({ ok: true, replayed: false });
    expect(again).toMatchObject({ ok: true, replayed: true });
    expect(settledOk(again)).toEqual(settledOk(first));
    expect(await governor.commit(id, 71)).toMatchObject({
      ok: false,
      error: { code: "already_settled" },
    });
    expect(await spendOf(governor, "keywords")).toMatchObject({
      committed: 70,
      items: 3,
      errors: 1,
    });
  });

  it("commit charges the actual cost and returns the rest of the hold", async () => {
    setNow(T0);
    const governor = await startedGovernor(10_000);
    const { id } = reserved(await governor.reserve(hold("job-5", 1_000)));
    expect(await governor.commit(id, 400)).toMatchObject({
      ok: true,
      reservation: { status: "committed", actualCost: 400, charged: 400, overrun: 0 },
      remaining: 4_600,
    });
    expect(await spendOf(governor, "keywords")).toMatchObject({
      committed: 400,
      reserved: 0,
      items: 1,
    });
  });

  it("a commit above its estimate is charged from the remainder, and what the budget cannot cover is overrun", async () => {
    setNow(T0);
    const governor = await startedGovernor(10_000); // keywords: 5,000
    const a = reserved(await governor.reserve(hold("a", 2_000)));
    const b = reserved(await governor.reserve(hold("b", 2_500)));
    // 500 unreserved: a's 2,000 + 500 can be charged, the other 700 cannot.
    expect(await governor.commit(a.id, 3_200)).toMatchObject({
      reservation: { charged: 2_500, overrun: 700 },
      remaining: 0,
    });
    expect(await spendOf(governor, "keywords")).toMatchObject({
      allocated: 5_000,
      committed: 2_500,
      reserved: 2_500,
      overrun: 700,
      available: 0,
    });
    // b still holds its 2,500 in full: an overrun never eats another reservation's hold.
    expect(await governor.commit(b.id, 2_500)).toMatchObject({
      reservation: { charged: 2_500, overrun: 0 },
    });
  });

  it("release returns the hold; twice is the same; a failed release counts an error", async () => {
    setNow(T0);
    const governor = await startedGovernor(10_000);
    const { id } = reserved(await governor.reserve(hold("job-6", 700)));
    expect(await governor.release(id, { failed: true })).toMatchObject({
      ok: true,
      replayed: false,
      reservation: { status: "released" },
      remaining: 5_000,
    });
    expect(await governor.release(id, { failed: true })).toMatchObject({
      ok: true,
      replayed: true,
    });
    expect(await spendOf(governor, "keywords")).toMatchObject({ reserved: 0, errors: 1 });
    expect(await governor.commit(id, 10)).toMatchObject({
      ok: false,
      error: { code: "already_settled" },
    });
    const committed = reserved(await governor.reserve(hold("job-7", 1)));
    await governor.commit(committed.id, 1);
    expect(await governor.release(committed.id)).toMatchObject({
      ok: false,
      error: { code: "already_settled" },
    });
  });

  it("refuses what it cannot do, and says why", async () => {
    setNow(T0);
    const governor = await startedGovernor(10_000, {
      processors: [
        { id: "on", weight: 1, phase: 1, tier: "t" },
        { id: "off", weight: 0.4, phase: 1, tier: "t", enabled: false },
      ],
      tiers: { t: { model: "m", costPerCall: 1, maxConcurrency: 10 } },
    });
    expect(await governor.reserve(hold("x", 1, "nobody"))).toMatchObject({
      error: { code: "unknown_processor" },
    });
    expect(await governor.reserve(hold("y", 1, "off"))).toMatchObject({
      error: { code: "processor_disabled" },
    });
    expect(await governor.reserve(hold("z", 10_001, "on"))).toMatchObject({
      error: { code: "budget_exhausted" },
      remaining: 10_000,
    });
    expect(await governor.commit("1-00000000-0000-0000-0000-000000000000", 1)).toMatchObject({
      error: { code: "not_found" },
    });
    expect(await stored(governor)).toMatchObject({ reservations: 0 });
  });

  it("without a cycle there is nothing to reserve", async () => {
    setNow(T0);
    const { freshGovernor } = await import("./helpers");
    const governor = freshGovernor();
    expect(await governor.reserve(hold("n"))).toMatchObject({
      ok: false,
      error: { code: "no_cycle" },
    });
    expect(await governor.start(100)).toMatchObject({
      ok: false,
      error: { code: "not_configured" },
    });
  });
});
