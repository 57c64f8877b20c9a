import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { MAX_FINISHED_PURGES } from "../src/index";
import { footprint, freshCoordinator, purgeOf, queued, setNow, T0 } from "./helpers";
import { testClock } from "./worker";

afterEach(() => {
  testClock.now = null;
});

describe("history of finished purges", () => {
  it(`keeps the last ${MAX_FINISHED_PURGES} finished purges, one row each, and forgets the oldest`, async () => {
    setNow(T0);
    const { stub } = freshCoordinator();
    // Ten purges per alarm run, each run a millisecond later: the first run's ten are the oldest.
    const extra = 10;
    const ids: string[] = [];
    for (let run = 0; run < (MAX_FINISHED_PURGES + extra) / 10; run++) {
      setNow(T0 + run);
      const batch = await runInDurableObject(stub, async (instance) => {
        const queuedIds: string[] = [];
        for (let i = 0; i < 10; i++) {
          const key = `k${run}-${i}`;
          instance.register({ key, store: "a" });
          queuedIds.push(queued(await instance.invalidate(key)).purgeId);
        }
        return queuedIds;
      });
      ids.push(...batch);
      await runDurableObjectAlarm(stub);
    }
    expect(await footprint(stub)).toMatchObject({
      purges: MAX_FINISHED_PURGES,
      calls: 0,
      cached: 0,
      alarm: null,
    });
    for (const id of ids.slice(0, extra)) {
      expect(await stub.status(id)).toMatchObject({ ok: false, error: { code: "not_found" } });
    }
    expect(purgeOf(await stub.status(ids[extra] ?? "")).status).toBe("done");
    expect(purgeOf(await stub.status(ids.at(-1) ?? "")).status).toBe("done");
    expect((await stub.overview()).finishedPurges).toBe(MAX_FINISHED_PURGES);
  });

  it("never forgets a pending purge to make room in the history", async () => {
    setNow(T0);
    const { stub, a } = freshCoordinator();
    a.failNext = Number.POSITIVE_INFINITY;
    await stub.register({ key: "stuck", store: "a" });
    const stuck = queued(await stub.invalidate("stuck"));
    for (let run = 0; run < (MAX_FINISHED_PURGES + 20) / 10; run++) {
      await runInDurableObject(stub, async (instance) => {
        for (let i = 0; i < 10; i++) {
          instance.register({ key: `k${run}-${i}`, store: "b" });
          queued(await instance.invalidate(`k${run}-${i}`));
        }
      });
      await runDurableObjectAlarm(stub);
    }
    for (let i = 0; i < 5; i++) await runDurableObjectAlarm(stub);
    expect(purgeOf(await stub.status(stuck.purgeId)).status).toBe("pending");
    expect(await footprint(stub)).toMatchObject({ purges: MAX_FINISHED_PURGES + 1, calls: 1 });
  });
});
