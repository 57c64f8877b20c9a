/**
 * The controller's decisions as pure functions: what the next tick does (`planTick`), and how
 * one batch's outcome moves the batch size, the interval and the circuit breaker (`adapt`).
 * Nothing here touches storage, the clock or the network, so every promise is property-tested
 * with plain numbers.
 *
 *   closed --(breakerThreshold failed batches in a row)--> open
 *   open --(cool-down over)--> half-open: one probe batch of probeBatchSize
 *   half-open --(probe succeeds)--> closed, minimum batch, normal interval
 *   half-open --(probe fails)--> open again, cool-down doubled up to maxCooldownMs
 */
import type { ControllerConfig } from "./config";

export type BreakerState = "closed" | "open" | "half-open";

/** The parameters the loop adapts, and the breaker that guards the downstream. */
export interface Tuning {
  batchSize: number;
  /** Pause after a tick while the breaker is closed: `intervalMs` or `backoffIntervalMs`. */
  intervalMs: number;
  breaker: BreakerState;
  /** Failed batches in a row (closed), reset by any batch that did not fail. */
  consecutiveFailures: number;
  /** When an open breaker lets a probe through; null unless open. */
  openUntil: number | null;
  /** Openings since the breaker was last closed: the cool-down doubles with each. */
  openings: number;
}

/** One item's result: [1 = succeeded / 0 = failed, latency ms]. */
export type Sample = [ok: 0 | 1, latencyMs: number];

/**
 * The rolling window: the newest item results, oldest first, one character each ("1"
 * succeeded, "0" failed). Only success counts here (latency is judged per batch), and a string
 * keeps the state entry that carries it one flat value: that entry is stored three times a
 * tick, and a list of a hundred small arrays took longer to serialise than the rest of a tick.
 */
export type Window = string;

/**
 * What one batch came to. `error` is set when the batch as a whole failed (the source or the
 * processor threw, or the batch timed out); its items are then all counted as failed. No
 * samples and no error is an empty batch: nothing to learn from.
 */
export interface BatchOutcome {
  samples: Sample[];
  error: string | null;
}

export type DecisionKind = "batch-size" | "interval" | "breaker";

/** The numbers a decision was made on. */
export interface DecisionMetrics {
  /** Success rate over the rolling window, after this batch; null when the window is empty. */
  windowSuccessRate: number | null;
  /** Success rate of this batch alone; null when it had no items. */
  batchSuccessRate: number | null;
  items: number;
  /** Mean latency of this batch's items, ms; null when it had no items. */
  meanLatencyMs: number | null;
  consecutiveFailures: number;
}

/** One change of batch size, interval or breaker state, and why. */
export interface Decision {
  kind: DecisionKind;
  from: number | BreakerState;
  to: number | BreakerState;
  reason: string;
  metrics: DecisionMetrics;
}

export interface Adapted {
  tuning: Tuning;
  window: Window;
  decisions: Decision[];
  metrics: DecisionMetrics;
}

/** The parameters of a loop that has just started, or been reset. */
export function initialTuning(config: ControllerConfig): Tuning {
  return {
    batchSize: config.initialBatchSize,
    intervalMs: config.intervalMs,
    breaker: "closed",
    consecutiveFailures: 0,
    openUntil: null,
    openings: 0,
  };
}

/** The next tick: wait (an open breaker still cooling down) or run a batch of `size`. */
export type TickPlan =
  | { run: false; at: number }
  | { run: true; size: number; probe: boolean; tuning: Tuning; decisions: Decision[] };

/**
 * Decides what a tick due at `now` does. An open breaker makes no call until its cool-down is
 * over; then it turns half-open and sends a probe batch. A half-open breaker keeps probing
 * (a probe that found no work decides nothing).
 *
 * @example
 * const plan = planTick(tuning, config, Date.now());
 * if (plan.run) await process(plan.size);
 */
export function planTick(tuning: Tuning, config: ControllerConfig, now: number): TickPlan {
  if (tuning.breaker === "closed") {
    return { run: true, size: tuning.batchSize, probe: false, tuning, decisions: [] };
  }
  if (tuning.breaker === "open") {
    const openUntil = tuning.openUntil ?? now;
    if (now < openUntil) return { run: false, at: openUntil };
    const next: Tuning = { ...tuning, breaker: "half-open", openUntil: null };
    const decision: Decision = {
      kind: "breaker",
      from: "open",
      to: "half-open",
      reason: `cool-down over: probing with ${config.probeBatchSize} item(s)`,
      metrics: emptyMetrics(tuning.consecutiveFailures),
    };
    return {
      run: true,
      size: config.probeBatchSize,
      probe: true,
      tuning: next,
      decisions: [decision],
    };
  }
  return { run: true, size: config.probeBatchSize, probe: true, tuning, decisions: [] };
}

/** The cool-down after the `openings`-th opening in a row: doubled each time, capped. */
export function cooldownFor(config: ControllerConfig, openings: number): number {
  const doublings = Math.min(Math.max(openings - 1, 0), 30);
  return Math.min(config.maxCooldownMs, config.cooldownMs * 2 ** doublings);
}

/** Success rate of a list of samples, or null when it is empty. */
export function successRate(samples: readonly Sample[]): number | null {
  if (samples.length === 0) return null;
  let ok = 0;
  for (const [succeeded] of samples) ok += succeeded;
  return ok / samples.length;
}

/**
 * Folds one batch's outcome into the tuning and the rolling window at `now`, and lists each
 * change with its reason. The batch size always stays within [minBatchSize, maxBatchSize] and
 * the interval is `intervalMs` or `backoffIntervalMs`.
 *
 * - A batch *failed* when it threw or timed out, or its own success rate is below `shrinkAbove`.
 * - Closed: `breakerThreshold` failed batches in a row open the breaker; otherwise the window's
 *   success rate r decides: r > growAbove grows x1.5 (rounded up), r >= holdAbove holds,
 *   r >= shrinkAbove halves (rounded down), below that the minimum batch and the backoff
 *   interval. Any r >= shrinkAbove returns the interval to normal.
 * - Half-open: a probe with success rate >= holdAbove closes the breaker (minimum batch, normal
 *   interval, the window restarted from the probe); any other probe reopens it.
 * - An empty batch changes nothing.
 *
 * @example
 * const { tuning, window, decisions } = adapt(tuning, config, window, outcome, Date.now());
 */
export function adapt(
  tuning: Tuning,
  config: ControllerConfig,
  window: Window,
  outcome: BatchOutcome,
  now: number,
): Adapted {
  const batchRate = successRate(outcome.samples);
  const empty = outcome.samples.length === 0 && outcome.error === null;
  const failed =
    !empty && (outcome.error !== null || batchRate === null || batchRate < config.shrinkAbove);
  const nextWindow = trimWindow(window + resultsOf(outcome.samples), config.windowSize);
  const consecutiveFailures =
    tuning.breaker === "closed" && !empty
      ? failed
        ? tuning.consecutiveFailures + 1
        : 0
      : tuning.consecutiveFailures;
  const metrics: DecisionMetrics = {
    windowSuccessRate: windowRate(nextWindow),
    batchSuccessRate: batchRate,
    items: outcome.samples.length,
    meanLatencyMs: meanLatency(outcome.samples),
    consecutiveFailures,
  };
  const decisions: Decision[] = [];
  const change = (
    kind: DecisionKind,
    from: Decision["from"],
    to: Decision["to"],
    reason: string,
  ) => {
    if (from !== to) decisions.push({ kind, from, to, reason, metrics });
  };
  const why = (detail: string) =>
    outcome.error === null ? detail : `${detail} (${outcome.error})`;

  if (empty) return { tuning, window: nextWindow, decisions, metrics };

  if (tuning.breaker !== "closed") {
    // A probe (half-open): the one batch that decides whether the downstream is back.
    const passed = outcome.error === null && batchRate !== null && batchRate >= config.holdAbove;
    if (passed) {
      const next: Tuning = {
        batchSize: config.minBatchSize,
        intervalMs: config.intervalMs,
        breaker: "closed",
        consecutiveFailures: 0,
        openUntil: null,
        openings: 0,
      };
      const reason = `probe succeeded (${percent(batchRate)}): downstream is back`;
      change("breaker", tuning.breaker, "closed", reason);
      change("batch-size", tuning.batchSize, next.batchSize, `${reason}, restart from the minimum`);
      change("interval", tuning.intervalMs, next.intervalMs, `${reason}, normal interval`);
      // The window described the outage; start it again from what the probe saw.
      const fresh = trimWindow(resultsOf(outcome.samples), config.windowSize);
      return {
        tuning: next,
        window: fresh,
        decisions,
        metrics: { ...metrics, windowSuccessRate: windowRate(fresh), consecutiveFailures: 0 },
      };
    }
    const openings = tuning.openings + 1;
    const cooldown = cooldownFor(config, openings);
    const next: Tuning = {
      ...tuning,
      breaker: "open",
      openUntil: now + cooldown,
      openings,
    };
    change(
      "breaker",
      tuning.breaker,
      "open",
      why(`probe failed (${percent(batchRate)}): open again for ${cooldown} ms`),
    );
    return { tuning: next, window: nextWindow, decisions, metrics };
  }

  if (consecutiveFailures >= config.breakerThreshold) {
    const openings = tuning.openings + 1;
    const cooldown = cooldownFor(config, openings);
    const next: Tuning = {
      batchSize: config.minBatchSize,
      intervalMs: config.backoffIntervalMs,
      breaker: "open",
      consecutiveFailures,
      openUntil: now + cooldown,
      openings,
    };
    const reason = why(`${consecutiveFailures} failed batches in a row`);
    change("breaker", "closed", "open", `${reason}: no calls for ${cooldown} ms`);
    change("batch-size", tuning.batchSize, next.batchSize, `${reason}: minimum batch`);
    change("interval", tuning.intervalMs, next.intervalMs, `${reason}: backoff interval`);
    return { tuning: next, window: nextWindow, decisions, metrics };
  }

  const rate = metrics.windowSuccessRate ?? 1;
  let batchSize = tuning.batchSize;
  let intervalMs = config.intervalMs;
  // The reason is only spelled out when something changes: most ticks change nothing.
  let rule: () => string;
  if (rate > config.growAbove) {
    batchSize = Math.ceil(tuning.batchSize * 1.5);
    rule = () => `above ${percent(config.growAbove)}: grow x1.5`;
  } else if (rate >= config.holdAbove) {
    rule = () => `within ${percent(config.holdAbove)}-${percent(config.growAbove)}: hold`;
  } else if (rate >= config.shrinkAbove) {
    batchSize = Math.floor(tuning.batchSize / 2);
    rule = () => `within ${percent(config.shrinkAbove)}-${percent(config.holdAbove)}: halve`;
  } else {
    batchSize = config.minBatchSize;
    intervalMs = config.backoffIntervalMs;
    rule = () => `below ${percent(config.shrinkAbove)}: minimum batch, backoff interval`;
  }
  batchSize = clamp(batchSize, config.minBatchSize, config.maxBatchSize);
  if (batchSize !== tuning.batchSize || intervalMs !== tuning.intervalMs) {
    const reason = why(`success rate ${percent(rate)} ${rule()}`);
    change("batch-size", tuning.batchSize, batchSize, reason);
    change("interval", tuning.intervalMs, intervalMs, reason);
  }
  return {
    tuning: { ...tuning, batchSize, intervalMs, consecutiveFailures },
    window: nextWindow,
    decisions,
    metrics,
  };
}

/**
 * Brings a tuning within a new configuration: the batch size into [min, max], a closed
 * breaker's interval to the new normal or backoff interval, a cool-down to its new cap.
 */
export function retune(
  tuning: Tuning,
  previous: ControllerConfig,
  config: ControllerConfig,
): Tuning {
  const backedOff =
    tuning.intervalMs === previous.backoffIntervalMs && tuning.intervalMs !== previous.intervalMs;
  return {
    ...tuning,
    batchSize: clamp(tuning.batchSize, config.minBatchSize, config.maxBatchSize),
    intervalMs:
      backedOff || tuning.breaker === "open" ? config.backoffIntervalMs : config.intervalMs,
  };
}

/** Success rate of a window, or null when it is empty. */
export function windowRate(window: Window): number | null {
  if (window.length === 0) return null;
  let ok = 0;
  for (let i = 0; i < window.length; i++) if (window.charCodeAt(i) === SUCCEEDED) ok++;
  return ok / window.length;
}

/** The newest `size` results of a window. */
export function trimWindow(window: Window, size: number): Window {
  return window.length <= size ? window : window.slice(window.length - size);
}

const SUCCEEDED = "1".charCodeAt(0);

/** A batch's samples as window results. */
function resultsOf(samples: readonly Sample[]): Window {
  let results = "";
  for (const [ok] of samples) results += ok === 1 ? "1" : "0";
  return results;
}

function meanLatency(samples: readonly Sample[]): number | null {
  if (samples.length === 0) return null;
  let total = 0;
  for (const [, latency] of samples) total += latency;
  return Math.round(total / samples.length);
}

function emptyMetrics(consecutiveFailures: number): DecisionMetrics {
  return {
    windowSuccessRate: null,
    batchSuccessRate: null,
    items: 0,
    meanLatencyMs: null,
    consecutiveFailures,
  };
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}

function percent(rate: number | null): string {
  return rate === null ? "no items" : `${Math.round(rate * 1000) / 10}%`;
}
