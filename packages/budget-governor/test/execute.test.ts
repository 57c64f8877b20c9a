import { runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import type { RunRequest, UsageReport } from "../src/index";
import { CONFIG, resetWorld, setNow, spendOf, startedGovernor, stored, T0 } from "./helpers";
import { dataPlane } from "./worker";

afterEach(resetWorld);

const PHASED = {
  ...CONFIG,
  processors: [
    // Listed out of phase order on purpose: dispatch sorts phases, not the list.
    { id: "report", weight: 0.1, phase: 7, tier: "large" },
    { id: "fetch", weight: 0.25, phase: 1, tier: "small" },
    { id: "parse", weight: 0.25, phase: 1, tier: "small" },
    { id: "enrich", weight: 0.2, phase: 2, tier: "large" },
    { id: "rank", weight: 0.2, phase: 2, tier: "small" },
    { id: "idle", weight: 0.4, phase: 0, tier: "small", enabled: false },
  ],
};

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Waits, polling, until `ready()` or `ms` pass. Runs are separate requests, and a promise of one
 * request cannot be resolved from another, so they coordinate through shared flags instead.
 */
async function until(ready: () => boolean, ms = 3_000): Promise<void> {
  for (let waited = 0; !ready() && waited < ms; waited += 5) await wait(5);
}

describe("executeCycle", () => {
  it("runs phases in ascending order and the processors of a phase in parallel", async () => {
    setNow(T0);
    const governor = await startedGovernor(100_000, PHASED);
    const started = new Map<number, number>();
    const size = (phase: number) =>
      PHASED.processors.filter((p) => p.phase === phase && p.enabled !== false).length;
    dataPlane.behaviour = async (request: RunRequest) => {
      const phase = request.phase;
      started.set(phase, (started.get(phase) ?? 0) + 1);
      // Each run waits for the rest of its phase to start (bounded, so a bug fails, not hangs).
      await until(() => started.get(phase) === size(phase));
      return { spent: request.costPerCall, items: 1, errors: 0 };
    };
    const outcome = await governor.executeCycle();
    if (!outcome.ok) throw new Error(outcome.error.message);
    expect(outcome.phases.map((p) => p.phase)).toEqual([1, 2, 7]);
    expect(outcome.phases.map((p) => p.results.map((r) => r.processorId))).toEqual([
      ["fetch", "parse"],
      ["enrich", "rank"],
      ["report"],
    ]);

    const runs = dataPlane.runs;
    expect(runs.map((r) => r.request.processorId).toSorted()).toEqual([
      "enrich",
      "fetch",
      "parse",
      "rank",
      "report",
    ]);
    for (const phase of [1, 2]) {
      const mine = runs.filter((r) => r.request.phase === phase);
      const lastStart = Math.max(...mine.map((r) => r.started));
      const firstEnd = Math.min(...mine.map((r) => r.ended ?? Infinity));
      // In parallel: every run of the phase started before any of them ended.
      expect(lastStart).toBeLessThan(firstEnd);
    }
    // In order: no run of a later phase started before every run of an earlier one ended.
    for (const early of runs) {
      for (const late of runs.filter((r) => r.request.phase > early.request.phase)) {
        expect(late.started).toBeGreaterThan(early.ended ?? Infinity);
      }
    }
  });

  it("gives each processor what remains of its allocation, with its tier's route, and records the usage reported", async () => {
    setNow(T0);
    const governor = await startedGovernor(10_000);
    const hold = await governor.reserve({
      processorId: "keywords",
      estimatedCost: 1_000,
      idempotencyKey: "own",
    });
    dataPlane.behaviour = async (request) => ({ spent: request.budget - 1, items: 4, errors: 2 });
    const outcome = await governor.executeCycle();
    if (!outcome.ok) throw new Error(outcome.error.message);
    const requests = Object.fromEntries(
      dataPlane.runs.map((r) => [r.request.processorId, r.request]),
    );
    expect(requests.keywords).toMatchObject({
      budget: 4_000,
      tier: "small",
      model: "@cf/meta/llama-3.1-8b-instruct",
      costPerCall: 200,
      maxConcurrency: 1_000,
      cycleId: 1,
      phase: 1,
    });
    expect(requests.summaries).toMatchObject({ budget: 2_000, tier: "large", costPerCall: 2_000 });
    expect(await spendOf(governor, "keywords")).toMatchObject({
      committed: 3_999,
      reserved: 1_000,
      items: 4,
      errors: 2,
    });
    expect(hold.ok).toBe(true);
    // Run again: keywords has 1 unit unreserved, backlinks 1.
    dataPlane.runs = [];
    await governor.executeCycle();
    expect(dataPlane.runs.map((r) => [r.request.processorId, r.request.budget])).toEqual([
      ["keywords", 1],
      ["backlinks", 1],
      ["summaries", 1],
    ]);
  });

  it("a run that throws or reports nonsense releases its hold and counts an error; the next phase still runs", async () => {
    setNow(T0);
    const governor = await startedGovernor(10_000);
    dataPlane.behaviour = async (request): Promise<UsageReport> => {
      if (request.processorId === "keywords") throw new Error("model overloaded");
      if (request.processorId === "backlinks") return { spent: -5, items: 1, errors: 0 };
      return { spent: 1_500, items: 1, errors: 0 };
    };
    const outcome = await governor.executeCycle();
    if (!outcome.ok) throw new Error(outcome.error.message);
    const [phase1, phase2] = outcome.phases;
    expect(phase1?.results).toMatchObject([
      {
        processorId: "keywords",
        outcome: "failed",
        reason: expect.stringContaining("model overloaded"),
      },
      {
        processorId: "backlinks",
        outcome: "failed",
        reason: expect.stringContaining("no valid usage report"),
      },
    ]);
    expect(phase2?.results).toMatchObject([
      { processorId: "summaries", outcome: "ok", charged: 1_500 },
    ]);
    expect(await spendOf(governor, "keywords")).toMatchObject({
      committed: 0,
      reserved: 0,
      errors: 1,
    });
    expect(await spendOf(governor, "backlinks")).toMatchObject({
      committed: 0,
      reserved: 0,
      errors: 1,
    });
    expect((await stored(governor)).open).toBe(0);
  });

  it("a report above the budget is charged up to the allocation and the rest recorded as overrun", async () => {
    setNow(T0);
    const governor = await startedGovernor(10_000);
    dataPlane.behaviour = async (request) => ({ spent: request.budget + 250, items: 1, errors: 0 });
    await governor.executeCycle();
    expect(await spendOf(governor, "summaries")).toMatchObject({
      allocated: 2_000,
      committed: 2_000,
      overrun: 250,
      available: 0,
    });
  });

  it("skips a processor with nothing left, and refuses without a cycle or a data plane", async () => {
    setNow(T0);
    const governor = await startedGovernor(10_000);
    await governor.reserve({
      processorId: "summaries",
      estimatedCost: 2_000,
      idempotencyKey: "all",
    });
    const outcome = await governor.executeCycle();
    if (!outcome.ok) throw new Error(outcome.error.message);
    expect(outcome.phases[1]?.results[0]).toMatchObject({
      processorId: "summaries",
      outcome: "skipped",
    });
    expect(dataPlane.runs.map((r) => r.request.processorId)).not.toContain("summaries");

    const { freshGovernor } = await import("./helpers");
    expect(await freshGovernor().executeCycle()).toMatchObject({
      ok: false,
      error: { code: "no_cycle" },
    });
    const unplugged = await runInDurableObject(governor, (instance) => {
      Object.defineProperty(instance, "processorRunner", { value: () => undefined });
      return instance.executeCycle();
    });
    expect(unplugged).toMatchObject({ ok: false, error: { code: "no_data_plane" } });
  });
});
