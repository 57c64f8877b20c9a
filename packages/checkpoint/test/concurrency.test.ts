/**
 * Hundreds of calls at once on one run: no step is handed out twice, the parallelism limit
 * holds exactly, and racing completions of one attempt all answer the same.
 */
import { afterEach, describe, expect, it } from "vitest";
import { claimed, newRun, resetClock, setNow, T0 } from "./helpers";

afterEach(resetClock);

describe("concurrency", () => {
  it("300 concurrent claims on 200 steps with parallelism 50: exactly 50 leases, all different", async () => {
    setNow(T0);
    const { run } = await newRun(200, { parallelism: 50 });
    const outcomes = await Promise.all(Array.from({ length: 300 }, (_, i) => run.claim(`w${i}`)));
    const ids = outcomes.flatMap((o) => (o.ok && o.step ? [o.step.id] : []));
    expect(ids.length).toBe(50);
    expect(new Set(ids).size).toBe(50);
  });

  it("workers racing through a run complete every step exactly once", async () => {
    setNow(T0);
    const { run } = await newRun(100, { parallelism: 10 });
    const completions: string[] = [];
    const worker = async (name: string) => {
      for (;;) {
        const claim = await run.claim(name);
        if (!claim.ok) throw new Error(claim.error.message);
        if (claim.step === null) {
          if (claim.status !== "running") return;
          await new Promise((resolve) => setTimeout(resolve, 1));
          continue;
        }
        const done = await run.complete(claim.step.id, claim.step.attempt, name);
        if (done.ok) completions.push(done.stepId);
      }
    };
    await Promise.all(Array.from({ length: 20 }, (_, i) => worker(`w${i}`)));
    expect(completions.length).toBe(100);
    expect(new Set(completions).size).toBe(100);
    expect(await run.status()).toMatchObject({ status: "completed", counts: { completed: 100 } });
  });

  it("200 concurrent completions of one attempt all answer the same, and one output is kept", async () => {
    setNow(T0);
    const { run } = await newRun(2);
    const step = await claimed(run);
    const outcomes = await Promise.all(
      Array.from({ length: 200 }, (_, i) => run.complete(step.id, step.attempt, i)),
    );
    for (const outcome of outcomes) expect(outcome).toEqual(outcomes[0]);
    expect((await run.step(step.id))?.output).toBe(0);
    expect((await claimed(run)).id).toBe("s2");
  });
});
