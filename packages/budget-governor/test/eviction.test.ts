import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
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
  type Governor,
} from "./helpers";
import { dataPlane } from "./worker";

afterEach(resetWorld);

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("eviction", () => {
  it("configuration, cycle, holds, commits, idempotency keys and history survive eviction", async () => {
    setNow(T0);
    const governor = await startedGovernor(10_000, { ...CONFIG, historyLimit: 5 });
    await governor.start(20_000);
    const open = reserved(
      await governor.reserve({
        processorId: "keywords",
        estimatedCost: 700,
        idempotencyKey: "open",
      }),
    );
    const done = reserved(
      await governor.reserve({
        processorId: "keywords",
        estimatedCost: 300,
        idempotencyKey: "done",
      }),
    );
    await governor.commit(done.id, 450, { items: 2 });
    const before = await governor.status();

    await evictDurableObject(governor);

    expect(await governor.status()).toEqual(before);
    expect(await governor.getConfig()).toEqual({ ...CONFIG, historyLimit: 5 });
    expect(await governor.history()).toHaveLength(1);
    // The open hold still holds, the commit is still replayable, the key still deduplicates.
    expect(
      await governor.reserve({
        processorId: "keywords",
        estimatedCost: 700,
        idempotencyKey: "open",
      }),
    ).toMatchObject({ ok: true, replayed: true, reservation: { id: open.id } });
    expect(await governor.commit(done.id, 450)).toMatchObject({ ok: true, replayed: true });
    expect(await spendOf(governor, "keywords")).toMatchObject({
      allocated: 10_000,
      committed: 450,
      reserved: 700,
      items: 2,
    });
    expect((await stored(governor)).alarm).toBe(open.expiresAt);
    setNow(open.expiresAt);
    await runDurableObjectAlarm(governor);
    expect(await spendOf(governor, "keywords")).toMatchObject({ reserved: 0, available: 9_550 });
  });

  it("an object that dies mid-cycle keeps the in-flight holds, which expire back to the pool; later phases never ran", async () => {
    setNow(T0);
    const governor = await startedGovernor(10_000);
    const gate = { open: false };
    dataPlane.behaviour = async (request) => {
      for (let waited = 0; !gate.open && waited < 5_000; waited += 5) await wait(5);
      return { spent: request.budget, items: 1, errors: 0 };
    };
    const running = governor.executeCycle().catch((error: unknown) => error);
    for (let i = 0; i < 300 && dataPlane.runs.length < 2; i++) await wait(10);
    expect(dataPlane.runs.map((r) => r.request.processorId).toSorted()).toEqual([
      "backlinks",
      "keywords",
    ]);

    // A crash while phase 1 runs on the data plane (graceful eviction would wait for it).
    await runInDurableObject(governor, (_instance, state) => state.abort("simulated crash")).catch(
      () => undefined,
    );
    expect(await running).toBeInstanceOf(Error);
    gate.open = true;

    const restarted: Governor = env.BUDGET_GOVERNOR.get(governor.id);
    expect(await spendOf(restarted, "keywords")).toMatchObject({
      reserved: 5_000,
      committed: 0,
      openReservations: 1,
    });
    expect(await spendOf(restarted, "backlinks")).toMatchObject({ reserved: 3_000 });
    expect(dataPlane.runs.map((r) => r.request.processorId).toSorted()).toEqual([
      "backlinks",
      "keywords",
    ]);
    expect((await stored(restarted)).alarm).toBe(T0 + 60_000);

    setNow(T0 + 60_000);
    await runDurableObjectAlarm(restarted);
    expect(await spendOf(restarted, "keywords")).toMatchObject({ reserved: 0, available: 5_000 });
    expect((await stored(restarted)).alarm).toBeNull();
  });
});
