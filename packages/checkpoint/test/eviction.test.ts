/**
 * Acknowledged means durable: evictions between any two calls lose no lease, completion,
 * progress or retry, and a completed step never runs again.
 */
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { claimed, newRun, resetClock, SECOND, setNow, T0 } from "./helpers";

afterEach(resetClock);

describe("eviction", () => {
  it("completed steps never run again, and leases, progress and retries survive", async () => {
    setNow(T0);
    const { run } = await newRun(3, { parallelism: 2, retry: { initialBackoffMs: 2_000 } });
    const a = await claimed(run, "wa");
    const b = await claimed(run, "wb");
    await run.complete(a.id, a.attempt, { done: "a" });
    await run.heartbeat(b.id, b.attempt, { page: 7 });
    await evictDurableObject(run);

    // The lease on b still holds: nobody else gets it, and its worker can finish.
    const c = await claimed(run, "wc");
    expect(c.id).toBe("s3");
    expect(await run.claim("wd")).toMatchObject({ step: null });
    await run.fail(c.id, c.attempt, "flaky");
    await evictDurableObject(run);

    expect(await run.complete(a.id, a.attempt, "again")).toEqual({
      ok: true,
      stepId: "s1",
      attempt: 1,
      completedAt: T0,
    });
    expect((await run.step("s1"))?.output).toEqual({ done: "a" });
    expect((await run.step("s2"))?.progress).toEqual({ page: 7 });
    setNow(T0 + 2 * SECOND);
    const retry = await claimed(run, "we");
    expect(retry).toMatchObject({ id: "s3", attempt: 2 });
    await run.complete(b.id, b.attempt);
    await evictDurableObject(run);
    await run.complete(retry.id, retry.attempt);
    await evictDurableObject(run);
    expect(await run.status()).toMatchObject({
      status: "completed",
      counts: { completed: 3 },
    });
    expect(await run.claim("wf")).toMatchObject({ step: null, status: "completed" });
  });

  it("the next pending step is found again after eviction, at every point of a run", async () => {
    setNow(T0);
    const { run } = await newRun(5, { parallelism: 5 });
    const started = [];
    for (const id of ["s1", "s2", "s3", "s4", "s5"]) {
      await evictDurableObject(run);
      const step = await claimed(run);
      expect(step.id).toBe(id);
      started.push(step);
    }
    // Every step started: after eviction nothing is pending, and the last completion ends the run.
    await evictDurableObject(run);
    expect(await run.claim("w")).toMatchObject({ step: null, status: "running" });
    for (const step of started) {
      await evictDurableObject(run);
      await run.complete(step.id, step.attempt);
    }
    expect(await run.status()).toMatchObject({ status: "completed", counts: { completed: 5 } });
  });

  it("a run stored with the old full state index keeps working, on the new partial index", async () => {
    setNow(T0);
    const { run } = await newRun(3, { parallelism: 2 });
    const a = await claimed(run);
    // The index as the first version of this package created it.
    await runInDurableObject(run, (_instance, state) => {
      state.storage.sql.exec(
        "DROP INDEX steps_due; CREATE INDEX steps_by_state ON steps (state, due_at, position)",
      );
    });
    await evictDurableObject(run);
    expect(await claimed(run)).toMatchObject({ id: "s2" });
    const indexes = await runInDurableObject(run, (_instance, state) =>
      state.storage.sql
        .exec<{ name: string }>(
          "SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'steps\\_%' ESCAPE '\\'",
        )
        .toArray()
        .map((row) => row.name),
    );
    expect(indexes).toEqual(["steps_due"]);
    await run.complete(a.id, a.attempt);
    expect(await claimed(run)).toMatchObject({ id: "s3" });
  });

  it("the parallelism limit holds across eviction (started steps are recounted)", async () => {
    setNow(T0);
    const { run } = await newRun(4, { parallelism: 2 });
    const a = await claimed(run);
    await claimed(run);
    await run.fail(a.id, a.attempt, "later");
    await evictDurableObject(run);
    // One leased, one waiting to retry: both slots taken.
    expect(await run.claim("w")).toMatchObject({ step: null });
  });
});
