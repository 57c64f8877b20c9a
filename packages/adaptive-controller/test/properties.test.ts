/**
 * The promises of `adapt.ts` and `config.ts`, over every configuration the package accepts, any
 * sequence of batch outcomes and clock jumps.
 */
// A property checks each step of a sequence whose path depends on the data: expects in branches.
/* oxlint-disable vitest/no-conditional-expect */
import * as fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  DEFAULT_CONFIG,
  adapt,
  cooldownFor,
  initialTuning,
  mergeConfig,
  planTick,
  type BatchOutcome,
  type ControllerConfig,
  type Decision,
  type Sample,
  type Tuning,
  type Window,
} from "../src/index";

const fraction = fc.integer({ min: 1, max: 99 }).map((n) => n / 100);

const configArb: fc.Arbitrary<ControllerConfig> = fc
  .record({
    min: fc.integer({ min: 1, max: 10 }),
    span: fc.integer({ min: 0, max: 30 }),
    initialAt: fc.double({ min: 0, max: 1, noNaN: true }),
    probe: fc.integer({ min: 1, max: 40 }),
    thresholds: fc.uniqueArray(fraction, { minLength: 3, maxLength: 3 }),
    intervalMs: fc.integer({ min: 100, max: 5_000 }),
    backoffExtra: fc.integer({ min: 0, max: 20_000 }),
    cooldownMs: fc.integer({ min: 100, max: 10_000 }),
    cooldownExtra: fc.integer({ min: 0, max: 50_000 }),
    breakerThreshold: fc.integer({ min: 1, max: 6 }),
    windowSize: fc.integer({ min: 1, max: 30 }),
  })
  .map((r) => {
    const [shrinkAbove, holdAbove, growAbove] = r.thresholds.toSorted((a, b) => a - b) as [
      number,
      number,
      number,
    ];
    const maxBatchSize = r.min + r.span;
    const result = mergeConfig(DEFAULT_CONFIG, {
      minBatchSize: r.min,
      maxBatchSize,
      initialBatchSize: r.min + Math.floor(r.initialAt * r.span),
      probeBatchSize: Math.min(r.probe, maxBatchSize),
      shrinkAbove,
      holdAbove,
      growAbove,
      intervalMs: r.intervalMs,
      backoffIntervalMs: r.intervalMs + r.backoffExtra,
      cooldownMs: r.cooldownMs,
      maxCooldownMs: r.cooldownMs + r.cooldownExtra,
      breakerThreshold: r.breakerThreshold,
      windowSize: r.windowSize,
    });
    if (!result.ok) throw new Error(result.error.message);
    return result.config;
  });

/** What the downstream does with a batch: its share of successes, or a failure of the whole. */
const behaviourArb = fc.oneof(
  fc.record({
    kind: fc.constant("rate" as const),
    rate: fc.double({ min: 0, max: 1, noNaN: true }),
  }),
  fc.constant({ kind: "error" as const }),
  fc.constant({ kind: "empty" as const }),
);
type Behaviour = typeof behaviourArb extends fc.Arbitrary<infer B> ? B : never;

const stepArb = fc.record({
  behaviour: behaviourArb,
  // Small steps, and jumps past any interval or cool-down.
  advanceMs: fc.oneof(fc.integer({ min: 0, max: 2_000 }), fc.integer({ min: 0, max: 200_000 })),
  latencyMs: fc.integer({ min: 0, max: 5_000 }),
});
type Step = typeof stepArb extends fc.Arbitrary<infer S> ? S : never;

function outcomeOf(behaviour: Behaviour, size: number, latencyMs: number): BatchOutcome {
  if (behaviour.kind === "empty") return { samples: [], error: null };
  if (behaviour.kind === "error") {
    return { samples: Array.from({ length: size }, (): Sample => [0, latencyMs]), error: "failed" };
  }
  const rate = behaviour.rate;
  const samples = Array.from({ length: size }, (_, i): Sample => [
    Math.floor((i + 1) * rate) > Math.floor(i * rate) ? 1 : 0,
    latencyMs,
  ]);
  return { samples, error: null };
}

interface Model {
  tuning: Tuning;
  window: Window;
  now: number;
}

type Change = [string, unknown, unknown];
const byKind = (a: Change, b: Change) => a[0].localeCompare(b[0]);

/** The checks every step must pass: bounds, and every change logged with its old and new value. */
function checkStep(config: ControllerConfig, before: Tuning, after: Tuning, decisions: Decision[]) {
  expect(after.batchSize).toBeGreaterThanOrEqual(config.minBatchSize);
  expect(after.batchSize).toBeLessThanOrEqual(config.maxBatchSize);
  expect([config.intervalMs, config.backoffIntervalMs]).toContain(after.intervalMs);
  const changes: [string, unknown, unknown][] = [];
  if (before.batchSize !== after.batchSize)
    changes.push(["batch-size", before.batchSize, after.batchSize]);
  if (before.intervalMs !== after.intervalMs)
    changes.push(["interval", before.intervalMs, after.intervalMs]);
  if (before.breaker !== after.breaker) changes.push(["breaker", before.breaker, after.breaker]);
  const logged = decisions.map((d): [string, unknown, unknown] => [d.kind, d.from, d.to]);
  expect(logged.toSorted(byKind)).toEqual(changes.toSorted(byKind));
  for (const d of decisions) expect(d.reason.length).toBeGreaterThan(0);
}

/** Runs one tick against the model; returns whether the downstream was called. */
function step(config: ControllerConfig, model: Model, s: Step): boolean {
  model.now += s.advanceMs;
  const before = model.tuning;
  const plan = planTick(before, config, model.now);
  if (!plan.run) {
    // An open breaker calls nothing until its cool-down is over.
    expect(before.breaker).toBe("open");
    expect(model.now).toBeLessThan(before.openUntil!);
    expect(plan.at).toBe(before.openUntil);
    return false;
  }
  if (before.breaker !== "closed") {
    expect(plan.probe).toBe(true);
    expect(plan.size).toBe(config.probeBatchSize);
    if (before.breaker === "open") expect(model.now).toBeGreaterThanOrEqual(before.openUntil!);
  } else {
    expect(plan.size).toBe(before.batchSize);
  }
  checkStep(config, before, plan.tuning, plan.decisions);
  const outcome = outcomeOf(s.behaviour, plan.size, s.latencyMs);
  const adapted = adapt(plan.tuning, config, model.window, outcome, model.now);
  checkStep(config, plan.tuning, adapted.tuning, adapted.decisions);
  expect(adapted.window.length).toBeLessThanOrEqual(config.windowSize);
  // The window: the newest windowSize results in order ("1" succeeded), restarted from the
  // probe when a probe closes the breaker; its success rate, the share of "1"s.
  const results = outcome.samples.map(([ok]) => String(ok)).join("");
  const restarted = plan.tuning.breaker === "half-open" && adapted.tuning.breaker === "closed";
  expect(adapted.window).toBe(
    (restarted ? results : model.window + results).slice(-config.windowSize),
  );
  const ones = adapted.window.split("").filter((c) => c === "1").length;
  expect(adapted.metrics.windowSuccessRate).toBe(
    adapted.window.length === 0 ? null : ones / adapted.window.length,
  );
  if (plan.tuning.breaker === "half-open" && adapted.tuning.breaker === "closed") {
    // Only a probe that did well enough closes the breaker.
    expect(outcome.error).toBeNull();
    expect(adapted.metrics.batchSuccessRate).toBeGreaterThanOrEqual(config.holdAbove);
  }
  if (plan.tuning.breaker === "closed" && adapted.tuning.breaker === "open") {
    // Opens only on the threshold-th failed batch in a row.
    expect(adapted.tuning.consecutiveFailures).toBeGreaterThanOrEqual(config.breakerThreshold);
  }
  if (adapted.tuning.breaker === "open" && plan.tuning.breaker !== "open") {
    const cooldown = adapted.tuning.openUntil! - model.now;
    expect(cooldown).toBe(cooldownFor(config, adapted.tuning.openings));
    expect(cooldown).toBeGreaterThanOrEqual(config.cooldownMs);
    expect(cooldown).toBeLessThanOrEqual(config.maxCooldownMs);
  }
  model.tuning = adapted.tuning;
  model.window = adapted.window;
  return true;
}

const RUNS = { numRuns: 200 };

describe("adapt and planTick", () => {
  it("keep the batch within [min, max], the interval normal or backoff, and log every change", () => {
    fc.assert(
      fc.property(configArb, fc.array(stepArb, { maxLength: 60 }), (config, steps) => {
        const model: Model = { tuning: initialTuning(config), window: "", now: 1_000_000 };
        for (const s of steps) step(config, model, s);
        expect(model.window.length).toBeLessThanOrEqual(config.windowSize);
      }),
      RUNS,
    );
  });

  it("from any state, healthy batches return to closed, the normal interval and the maximum batch", () => {
    fc.assert(
      fc.property(configArb, fc.array(stepArb, { maxLength: 60 }), (config, steps) => {
        const model: Model = { tuning: initialTuning(config), window: "", now: 1_000_000 };
        for (const s of steps) step(config, model, s);
        // Then the downstream is healthy, and each tick runs when it is due.
        const healthy: Step = { behaviour: { kind: "rate", rate: 1 }, advanceMs: 0, latencyMs: 5 };
        const bound = 3 + config.windowSize + 20;
        for (let i = 0; i < bound; i++) {
          const due = model.tuning.breaker === "open" ? model.tuning.openUntil! : model.now;
          step(config, model, { ...healthy, advanceMs: due - model.now });
        }
        expect(model.tuning).toMatchObject({
          breaker: "closed",
          intervalMs: config.intervalMs,
          batchSize: config.maxBatchSize,
          consecutiveFailures: 0,
        });
      }),
      RUNS,
    );
  });

  it("an open breaker never lets a call through before its cool-down, however the clock moves", () => {
    fc.assert(
      fc.property(
        configArb,
        fc.integer({ min: 1, max: 10 }),
        fc.array(fc.integer({ min: -100_000, max: 100_000 }), { maxLength: 20 }),
        (config, openings, offsets) => {
          const now = 5_000_000;
          const cooldown = cooldownFor(config, openings);
          const tuning: Tuning = {
            ...initialTuning(config),
            breaker: "open",
            openUntil: now + cooldown,
            openings,
          };
          for (const offset of offsets) {
            const plan = planTick(tuning, config, now + offset);
            expect(plan.run).toBe(now + offset >= now + cooldown);
          }
        },
      ),
      RUNS,
    );
  });

  it("the breaker opens after exactly breakerThreshold failed batches in a row from closed", () => {
    fc.assert(
      fc.property(configArb, (config) => {
        let tuning = initialTuning(config);
        let window: Window = "";
        for (let i = 1; i <= config.breakerThreshold; i++) {
          const outcome = outcomeOf({ kind: "error" }, tuning.batchSize, 1);
          ({ tuning, window } = adapt(tuning, config, window, outcome, 0));
          expect(tuning.breaker).toBe(i < config.breakerThreshold ? "closed" : "open");
        }
      }),
      RUNS,
    );
  });
});

describe("mergeConfig", () => {
  const anyValue = fc.oneof(
    fc.integer({ min: -10, max: 2_000 }),
    fc.double({ min: -1, max: 2 }),
    fc.constantFrom(0, 1, 0.5, Number.NaN, Number.POSITIVE_INFINITY, "5", null, true),
  );
  const fields = Object.keys(DEFAULT_CONFIG) as (keyof ControllerConfig)[];

  it("accepts only configurations whose fields are in bounds and in order", () => {
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom(...fields), anyValue, { maxKeys: 6 }), (input) => {
        const result = mergeConfig(DEFAULT_CONFIG, input);
        if (!result.ok) {
          expect(result.error.code).toBe("invalid_config");
          expect(result.error.message.length).toBeGreaterThan(0);
          return;
        }
        const c = result.config;
        for (const field of fields) expect(Number.isFinite(c[field])).toBe(true);
        expect(c.minBatchSize).toBeGreaterThanOrEqual(1);
        expect(c.minBatchSize).toBeLessThanOrEqual(c.initialBatchSize);
        expect(c.initialBatchSize).toBeLessThanOrEqual(c.maxBatchSize);
        expect(c.probeBatchSize).toBeLessThanOrEqual(c.maxBatchSize);
        expect(
          0 < c.shrinkAbove &&
            c.shrinkAbove < c.holdAbove &&
            c.holdAbove < c.growAbove &&
            c.growAbove < 1,
        ).toBe(true);
        expect(c.intervalMs).toBeLessThanOrEqual(c.backoffIntervalMs);
        expect(c.cooldownMs).toBeLessThanOrEqual(c.maxCooldownMs);
        for (const [field, value] of Object.entries(input)) {
          expect(c[field as keyof ControllerConfig]).toBe(value);
        }
      }),
      { numRuns: 500 },
    );
  });
});
