import { describe, expect, it } from "vitest";
import {
  DEFAULT_CONFIG,
  adapt,
  cooldownFor,
  initialTuning,
  planTick,
  type Sample,
  type Tuning,
  type Window,
} from "../src/index";

const config = { ...DEFAULT_CONFIG, windowSize: 100 };

/** A window of 100 results with `ok` successes. */
function windowOf(ok: number): Window {
  return "1".repeat(ok) + "0".repeat(100 - ok);
}

/** One successful item on top of 99 results, so the window of 100 holds `ok` successes. */
function afterOneSuccess(tuning: Tuning, ok: number) {
  return adapt(tuning, config, windowOf(ok).slice(1), { samples: [[1, 10]], error: null }, 0);
}

const at = (ok: number, batchSize = 20) =>
  afterOneSuccess({ ...initialTuning(config), batchSize }, ok).tuning;

describe("the catalog's thresholds, at their edges", () => {
  it("above 95% grows x1.5 (rounded up) up to the maximum", () => {
    expect(at(96).batchSize).toBe(30);
    expect(at(100, 40).batchSize).toBe(50);
    expect(at(100, 50).batchSize).toBe(50);
  });
  it("95% itself and down to 80% hold", () => {
    expect(at(95).batchSize).toBe(20);
    expect(at(80).batchSize).toBe(20);
  });
  it("below 80% and down to 50% halve (rounded down) to the minimum", () => {
    expect(at(79).batchSize).toBe(10);
    expect(at(50, 9).batchSize).toBe(5);
    expect(at(60, 5).batchSize).toBe(5);
  });
  it("below 50%: the minimum batch and the backoff interval", () => {
    expect(at(49)).toMatchObject({ batchSize: 5, intervalMs: 300_000 });
  });
  it("grow, hold or halve bring a backed-off interval back to normal", () => {
    const backedOff = { ...initialTuning(config), intervalMs: config.backoffIntervalMs };
    expect(afterOneSuccess(backedOff, 85).tuning.intervalMs).toBe(60_000);
  });
});

describe("decisions carry their reason and metrics", () => {
  it("names the rule and the numbers", () => {
    const { decisions } = afterOneSuccess({ ...initialTuning(config), batchSize: 20 }, 70);
    expect(decisions).toEqual([
      {
        kind: "batch-size",
        from: 20,
        to: 10,
        reason: "success rate 70% within 50%-80%: halve",
        metrics: {
          windowSuccessRate: 0.7,
          batchSuccessRate: 1,
          items: 1,
          meanLatencyMs: 10,
          consecutiveFailures: 0,
        },
      },
    ]);
  });

  it("a failed batch's error is part of the reason", () => {
    const { decisions } = adapt(
      initialTuning(config),
      config,
      "",
      { samples: [[0, 5]], error: "timed out after 5 ms" },
      0,
    );
    expect(decisions[0]?.reason).toContain("(timed out after 5 ms)");
  });
});

describe("the breaker's cool-down", () => {
  it("doubles per opening in a row, capped", () => {
    expect([1, 2, 3, 4, 5, 50].map((n) => cooldownFor(config, n))).toEqual([
      60_000, 120_000, 240_000, 480_000, 600_000, 600_000,
    ]);
  });

  it("open -> half-open is itself a logged decision", () => {
    const open: Tuning = { ...initialTuning(config), breaker: "open", openUntil: 100, openings: 1 };
    expect(planTick(open, config, 99)).toEqual({ run: false, at: 100 });
    const plan = planTick(open, config, 100);
    expect(plan).toMatchObject({
      run: true,
      size: 1,
      probe: true,
      tuning: { breaker: "half-open" },
    });
    expect(plan).toMatchObject({ decisions: [{ kind: "breaker", from: "open", to: "half-open" }] });
  });
});

describe("the half-open probe", () => {
  const halfOpen: Tuning = { ...initialTuning(config), breaker: "half-open", openings: 1 };
  const probe = (ok: number, of: number) =>
    adapt(
      halfOpen,
      config,
      windowOf(0),
      { samples: Array.from({ length: of }, (_, i): Sample => [i < ok ? 1 : 0, 10]), error: null },
      1_000,
    ).tuning;

  it("closes at holdAbove or better: minimum batch, normal interval", () => {
    expect(probe(8, 10)).toMatchObject({ breaker: "closed", batchSize: 5, intervalMs: 60_000 });
  });

  it("reopens below holdAbove, even above shrinkAbove, with the cool-down doubled", () => {
    expect(probe(7, 10)).toMatchObject({
      breaker: "open",
      openings: 2,
      openUntil: 1_000 + 120_000,
    });
  });
});
