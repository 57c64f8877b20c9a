/**
 * The AdaptiveController Durable Object: one per batch loop. Thin glue between the pure
 * decisions of `adapt.ts`, the object's storage, its alarm and the data plane.
 */
import { DurableObject } from "cloudflare:workers";
import {
  adapt,
  initialTuning,
  planTick,
  retune,
  windowRate,
  type BatchOutcome,
  type BreakerState,
  type Decision,
  type DecisionKind,
  type DecisionMetrics,
  type Tuning,
  type Window,
} from "./adapt";
import { DEFAULT_CONFIG, mergeConfig, type ConfigInput, type ControllerConfig } from "./config";
import {
  checkBatch,
  downstreamFromEnv,
  failedBatch,
  samplesFrom,
  type Downstream,
} from "./downstream";

export type LoopStatus = "idle" | "running" | "paused";

/** Ticks kept in the time series (the newest; older ones are deleted as new ones arrive). */
export const SERIES_CAP = 120;
/** Decisions kept in the decision log. */
export const DECISION_LOG_CAP = 50;
/**
 * Attempts at one recorded batch. A batch is recorded before it is sent; if the object restarts
 * before its outcome is recorded, the next alarm sends the same items again, once. A batch that
 * interrupts the object twice is recorded as failed and the loop moves on.
 */
export const MAX_BATCH_ATTEMPTS = 2;

/** One tick of the time series. */
export interface SeriesPoint {
  tick: number;
  at: number;
  /** Items the batch held (0 for an empty batch). */
  items: number;
  /** The batch size the loop adapted to after this tick. */
  batchSize: number;
  intervalMs: number;
  breaker: BreakerState;
  /** This batch's success rate; null when it had no items. */
  successRate: number | null;
  windowSuccessRate: number | null;
  meanLatencyMs: number | null;
}

/** One entry of the decision log. */
export interface DecisionEntry {
  seq: number;
  at: number;
  /** The tick whose outcome (or, for open -> half-open, whose start) caused it. */
  tick: number;
  kind: DecisionKind;
  from: number | BreakerState;
  to: number | BreakerState;
  reason: string;
  metrics: DecisionMetrics;
}

/** Everything `status()` reports. */
export interface ControllerStatus {
  status: LoopStatus;
  config: ControllerConfig;
  batchSize: number;
  intervalMs: number;
  breaker: BreakerState;
  consecutiveFailures: number;
  /** When an open breaker lets a probe through; null unless open. */
  openUntil: number | null;
  /** Ticks completed since start or reset. */
  tick: number;
  /** When the next tick is due; null unless running. */
  nextRunAt: number | null;
  lastTickAt: number | null;
  /** The batch recorded and not yet finished, if any. */
  inflight: { tick: number; size: number; attempts: number; probe: boolean } | null;
  window: { items: number; successRate: number | null };
  totals: { batches: number; items: number; succeeded: number };
  /** Newest first, at most DECISION_LOG_CAP. */
  decisions: DecisionEntry[];
  /** Oldest first, at most SERIES_CAP. */
  series: SeriesPoint[];
}

export interface StatusOptions {
  /** Include the decision log and the time series (default true); false reads no storage. */
  history?: boolean;
}

export type ControllerErrorCode = "invalid_config" | "not_started";

export type ControllerOutcome =
  | { ok: true; status: ControllerStatus }
  | { ok: false; error: { code: ControllerErrorCode; message: string } };

/** A batch recorded before it is sent, so a retried alarm knows it was started. */
interface Inflight {
  tick: number;
  size: number;
  probe: boolean;
  /** The items, once the source has handed them out. */
  ids: string[] | null;
  attempts: number;
  startedAt: number;
}

/** The loop's state: one stored value, rewritten twice per tick. */
interface LoopState {
  /** Changes on reset, so a batch that was in flight then cannot write into the new loop. */
  runId: string;
  status: "running" | "paused";
  tuning: Tuning;
  window: Window;
  tick: number;
  nextRunAt: number;
  lastTickAt: number | null;
  inflight: Inflight | null;
  totals: { batches: number; items: number; succeeded: number };
}

const CONFIG_KEY = "config";
const STATE_KEY = "state";

/**
 * A self-tuning batch loop driven by its own alarm. Each tick fetches a batch from the work
 * source, processes it, records each item's success and latency in a rolling window, adapts the
 * batch size, interval and circuit breaker (`adapt.ts`), and schedules the next tick. Address one
 * loop by name: `env.ADAPTIVE_CONTROLLER.getByName("enrichment")`.
 *
 * The data plane comes from `downstream()`: by default the service binding CONTROLLER_DATA_PLANE
 * as both work source and processor; override it to wire anything else.
 *
 * @example
 * const loop = env.ADAPTIVE_CONTROLLER.getByName("enrichment");
 * await loop.start({ intervalMs: 5_000, maxBatchSize: 100 });
 * const { batchSize, breaker, decisions } = await loop.status();
 */
export class AdaptiveController<Env = unknown> extends DurableObject<Env> {
  private config: ControllerConfig;
  /** Cache over the stored state; null when the loop is idle (never started, or reset). */
  private state: LoopState | null;
  /** In memory only: an alarm that arrives while a tick runs leaves it to that tick. */
  private ticking = false;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    // Synchronous reads in the constructor: no call can run before them.
    this.config = ctx.storage.kv.get<ControllerConfig>(CONFIG_KEY) ?? { ...DEFAULT_CONFIG };
    const stored = ctx.storage.kv.get<LoopState>(STATE_KEY) ?? null;
    // A loop saved before the window became a string (a list of pairs) starts a fresh window.
    this.state =
      stored !== null && typeof stored.window !== "string" ? { ...stored, window: "" } : stored;
  }

  /** The one source of time. Tests override it to drive intervals and cool-downs without sleeping. */
  protected now(): number {
    return Date.now();
  }

  /** Where work comes from and what does it. Override to wire another data plane. */
  protected downstream(): Downstream {
    return downstreamFromEnv(this.env);
  }

  /**
   * Starts the loop (the first tick runs at once), or resumes a paused one. `config` is merged
   * over the current configuration and validated first: an invalid one changes nothing.
   */
  async start(config?: ConfigInput): Promise<ControllerOutcome> {
    const merged = mergeConfig(this.config, config);
    if (!merged.ok) return merged;
    const now = this.now();
    this.applyConfig(merged.config);
    if (this.state === null) {
      this.state = {
        runId: crypto.randomUUID(),
        status: "running",
        tuning: initialTuning(this.config),
        window: "",
        tick: 0,
        nextRunAt: now,
        lastTickAt: null,
        inflight: null,
        totals: { batches: 0, items: 0, succeeded: 0 },
      };
      this.createTables();
    } else if (this.state.status === "paused") {
      this.state = { ...this.state, status: "running", nextRunAt: now };
    }
    this.saveState(this.state);
    await this.ctx.storage.setAlarm(this.state.nextRunAt);
    return { ok: true, status: this.status() };
  }

  /**
   * Changes the configuration without starting or stopping anything. The batch size is clamped
   * into the new range at once; thresholds apply from the next tick.
   */
  configure(config: ConfigInput): ControllerOutcome {
    const merged = mergeConfig(this.config, config);
    if (!merged.ok) return merged;
    this.applyConfig(merged.config);
    if (this.state !== null) this.saveState(this.state);
    return { ok: true, status: this.status() };
  }

  /** Stops scheduling ticks; a batch in flight finishes and is recorded. Keeps every parameter. */
  async pause(): Promise<ControllerOutcome> {
    if (this.state === null) return notStarted();
    if (this.state.status === "running") {
      this.state = { ...this.state, status: "paused" };
      this.saveState(this.state);
      await this.ctx.storage.deleteAlarm();
    }
    return { ok: true, status: this.status() };
  }

  /** Runs a paused loop again from its parameters as they were; the next tick runs at once. */
  async resume(): Promise<ControllerOutcome> {
    if (this.state === null) return notStarted();
    return this.start();
  }

  /**
   * Forgets everything: configuration, parameters, window, logs and alarm. A batch in flight is
   * discarded when it returns.
   */
  async reset(): Promise<{ reset: true }> {
    this.state = null;
    this.config = { ...DEFAULT_CONFIG };
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
    return { reset: true };
  }

  /**
   * The loop as it is: parameters, breaker, window, totals, decision log and time series. With
   * `history: false`, the log and the series come back empty and nothing is read from storage.
   */
  status(options: StatusOptions = {}): ControllerStatus {
    const history = options.history ?? true;
    const state = this.state;
    const tuning = state?.tuning ?? initialTuning(this.config);
    return {
      status: state?.status ?? "idle",
      config: { ...this.config },
      batchSize: tuning.batchSize,
      intervalMs: tuning.intervalMs,
      breaker: tuning.breaker,
      consecutiveFailures: tuning.consecutiveFailures,
      openUntil: tuning.openUntil,
      tick: state?.tick ?? 0,
      nextRunAt: state?.status === "running" ? state.nextRunAt : null,
      lastTickAt: state?.lastTickAt ?? null,
      inflight:
        state === null || state.inflight === null
          ? null
          : {
              tick: state.inflight.tick,
              size: state.inflight.size,
              attempts: state.inflight.attempts,
              probe: state.inflight.probe,
            },
      window: { items: state?.window.length ?? 0, successRate: windowRate(state?.window ?? "") },
      totals: state?.totals ?? { batches: 0, items: 0, succeeded: 0 },
      decisions: state === null || !history ? [] : this.readDecisions(),
      series: state === null || !history ? [] : this.readSeries(),
    };
  }

  /**
   * One tick. Runs at least once per scheduled time and may be retried: a tick that is not due
   * yet only re-arms, and a batch recorded by an attempt that never finished is sent again
   * (at most MAX_BATCH_ATTEMPTS times) instead of a new one. Whatever the downstream does
   * (throws, hangs past `timeoutMs`, answers nonsense), the outcome is recorded and the next
   * tick scheduled.
   */
  override async alarm(): Promise<void> {
    if (this.ticking || this.state === null || this.state.status !== "running") return;
    this.ticking = true;
    try {
      await this.tick(this.state);
    } finally {
      this.ticking = false;
    }
  }

  private async tick(state: LoopState): Promise<void> {
    const now = this.now();
    let inflight = state.inflight;
    let tuning = state.tuning;
    if (inflight === null) {
      if (now < state.nextRunAt) {
        // Early, or a repeat of a tick already recorded: nothing is due.
        await this.ctx.storage.setAlarm(state.nextRunAt);
        return;
      }
      const plan = planTick(tuning, this.config, now);
      if (!plan.run) {
        this.state = { ...state, nextRunAt: plan.at };
        this.saveState(this.state);
        await this.ctx.storage.setAlarm(plan.at);
        return;
      }
      tuning = plan.tuning;
      this.logDecisions(plan.decisions, state.tick + 1, now);
      inflight = {
        tick: state.tick + 1,
        size: plan.size,
        probe: plan.probe,
        ids: null,
        attempts: 1,
        startedAt: now,
      };
    } else {
      inflight = { ...inflight, attempts: inflight.attempts + 1 };
      if (inflight.attempts > MAX_BATCH_ATTEMPTS) {
        const items = inflight.ids?.length ?? inflight.size;
        const error = `batch interrupted ${MAX_BATCH_ATTEMPTS} times, recorded as failed`;
        this.commit(state.runId, inflight, failedBatch(items, 0, error));
        await this.armNext();
        return;
      }
    }
    // Recorded before anything is sent, with an alarm in case this attempt never finishes.
    this.state = { ...state, tuning, inflight };
    this.saveState(this.state);
    await this.ctx.storage.setAlarm(now + this.config.timeoutMs + this.config.intervalMs);

    const outcome = await this.runBatch(state.runId, inflight);
    if (this.state?.runId !== state.runId) {
      // Reset meanwhile: this batch belonged to a loop that is gone. Arm whatever runs now.
      await this.armNext();
      return;
    }
    this.commit(state.runId, inflight, outcome);
    await this.armNext();
  }

  /** Fetches (unless the batch already has its items) and processes one batch, within the timeout. */
  private async runBatch(runId: string, batch: Inflight): Promise<BatchOutcome> {
    const started = this.now();
    const elapsed = () => Math.max(0, this.now() - started);
    let ids = batch.ids;
    const work = (async (): Promise<BatchOutcome> => {
      const downstream = this.downstream();
      if (ids === null) {
        const checked = checkBatch(await downstream.source.fetchBatch(batch.size), batch.size);
        if (typeof checked === "string") return failedBatch(1, elapsed(), checked);
        ids = checked;
        this.recordItems(runId, batch.tick, checked);
      }
      if (ids.length === 0) return { samples: [], error: null };
      return samplesFrom(ids, await downstream.processor.process(ids), elapsed());
    })();
    // A data plane in this isolate answers within a few microtask turns, and what has answered
    // needs no timeout: the timer (otherwise the costliest step of a tick) is armed only for
    // work still pending after them, a few microseconds late at most.
    const settled = await settlesSoon(work);
    let timer: ReturnType<typeof setTimeout> | null = null;
    try {
      const result = settled
        ? await work
        : await Promise.race([
            work,
            new Promise<typeof TIMED_OUT>((resolve) => {
              timer = setTimeout(() => resolve(TIMED_OUT), this.config.timeoutMs);
            }),
          ]);
      if (result !== TIMED_OUT) return result;
      const items = ids?.length ?? batch.size;
      return failedBatch(
        items,
        this.config.timeoutMs,
        `timed out after ${this.config.timeoutMs} ms`,
      );
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return failedBatch(ids?.length ?? 1, elapsed(), `downstream failed: ${message}`);
    } finally {
      if (timer !== null) clearTimeout(timer);
    }
  }

  /** Remembers the items the source handed out, so a retried attempt sends the same ones. */
  private recordItems(runId: string, tick: number, ids: string[]): void {
    const state = this.state;
    if (state?.runId !== runId || state.inflight?.tick !== tick) return;
    this.state = { ...state, inflight: { ...state.inflight, ids } };
    this.saveState(this.state);
  }

  /**
   * Records a batch's outcome, the decisions it caused and its point in the time series, and
   * clears the recorded batch: one synchronous block, so storage commits it all or none of it.
   */
  private commit(runId: string, batch: Inflight, outcome: BatchOutcome): void {
    const state = this.state;
    if (state?.runId !== runId) return;
    const now = this.now();
    const adapted = adapt(state.tuning, this.config, state.window, outcome, now);
    const tuning = adapted.tuning;
    this.logDecisions(adapted.decisions, batch.tick, now);
    const succeeded = outcome.samples.filter(([ok]) => ok === 1).length;
    this.ctx.storage.sql.exec(
      `INSERT OR REPLACE INTO series
         (tick, at, items, batch_size, interval_ms, breaker, success_rate, window_success_rate, mean_latency_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      batch.tick,
      now,
      outcome.samples.length,
      tuning.batchSize,
      tuning.intervalMs,
      tuning.breaker,
      adapted.metrics.batchSuccessRate,
      adapted.metrics.windowSuccessRate,
      adapted.metrics.meanLatencyMs,
    );
    this.ctx.storage.sql.exec("DELETE FROM series WHERE tick <= ?", batch.tick - SERIES_CAP);
    this.state = {
      ...state,
      tuning,
      window: adapted.window,
      tick: batch.tick,
      lastTickAt: now,
      nextRunAt: tuning.breaker === "open" ? (tuning.openUntil ?? now) : now + tuning.intervalMs,
      inflight: null,
      totals: {
        batches: state.totals.batches + 1,
        items: state.totals.items + outcome.samples.length,
        succeeded: state.totals.succeeded + succeeded,
      },
    };
    this.saveState(this.state);
  }

  /** The next tick's alarm while running; none once paused. */
  private async armNext(): Promise<void> {
    if (this.state?.status === "running") await this.ctx.storage.setAlarm(this.state.nextRunAt);
    else await this.ctx.storage.deleteAlarm();
  }

  private applyConfig(config: ControllerConfig): void {
    if (this.state !== null) {
      this.state = { ...this.state, tuning: retune(this.state.tuning, this.config, config) };
    }
    this.config = config;
    this.ctx.storage.kv.put(CONFIG_KEY, config);
  }

  private saveState(state: LoopState): void {
    this.ctx.storage.kv.put(STATE_KEY, state);
  }

  private createTables(): void {
    this.ctx.storage.sql.exec(`
      CREATE TABLE IF NOT EXISTS series (
        tick INTEGER PRIMARY KEY, at INTEGER NOT NULL, items INTEGER NOT NULL,
        batch_size INTEGER NOT NULL, interval_ms INTEGER NOT NULL, breaker TEXT NOT NULL,
        success_rate REAL, window_success_rate REAL, mean_latency_ms REAL);
      CREATE TABLE IF NOT EXISTS decisions (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, tick INTEGER NOT NULL,
        kind TEXT NOT NULL, from_value TEXT NOT NULL, to_value TEXT NOT NULL,
        reason TEXT NOT NULL, metrics TEXT NOT NULL);
    `);
  }

  private logDecisions(decisions: Decision[], tick: number, now: number): void {
    if (decisions.length === 0) return;
    for (const d of decisions) {
      this.ctx.storage.sql.exec(
        "INSERT INTO decisions (at, tick, kind, from_value, to_value, reason, metrics) VALUES (?, ?, ?, ?, ?, ?, ?)",
        now,
        tick,
        d.kind,
        JSON.stringify(d.from),
        JSON.stringify(d.to),
        d.reason,
        JSON.stringify(d.metrics),
      );
    }
    this.ctx.storage.sql.exec(
      "DELETE FROM decisions WHERE seq <= (SELECT MAX(seq) FROM decisions) - ?",
      DECISION_LOG_CAP,
    );
  }

  private readDecisions(): DecisionEntry[] {
    return this.ctx.storage.sql
      .exec<{
        seq: number;
        at: number;
        tick: number;
        kind: string;
        from_value: string;
        to_value: string;
        reason: string;
        metrics: string;
      }>("SELECT * FROM decisions ORDER BY seq DESC")
      .toArray()
      .map((row) => ({
        seq: row.seq,
        at: row.at,
        tick: row.tick,
        kind: row.kind as DecisionKind,
        from: JSON.parse(row.from_value) as number | BreakerState,
        to: JSON.parse(row.to_value) as number | BreakerState,
        reason: row.reason,
        metrics: JSON.parse(row.metrics) as DecisionMetrics,
      }));
  }

  private readSeries(): SeriesPoint[] {
    return this.ctx.storage.sql
      .exec<{
        tick: number;
        at: number;
        items: number;
        batch_size: number;
        interval_ms: number;
        breaker: string;
        success_rate: number | null;
        window_success_rate: number | null;
        mean_latency_ms: number | null;
      }>("SELECT * FROM series ORDER BY tick")
      .toArray()
      .map((row) => ({
        tick: row.tick,
        at: row.at,
        items: row.items,
        batchSize: row.batch_size,
        intervalMs: row.interval_ms,
        breaker: row.breaker as BreakerState,
        successRate: row.success_rate,
        windowSuccessRate: row.window_success_rate,
        meanLatencyMs: row.mean_latency_ms,
      }));
  }
}

const TIMED_OUT = Symbol("timed out");
/** Microtask turns a batch may take to answer before its timeout timer is armed. */
const SETTLE_TURNS = 16;

/**
 * Whether `work` settles within SETTLE_TURNS microtask turns. Also marks its rejection as
 * handled, so a late failure of work abandoned to the timeout does not surface.
 */
async function settlesSoon(work: Promise<unknown>): Promise<boolean> {
  const seen = { settled: false };
  const settle = () => {
    seen.settled = true;
  };
  work.then(settle, settle);
  for (let turn = 0; turn < SETTLE_TURNS && !seen.settled; turn++) await undefined;
  return seen.settled;
}

function notStarted(): ControllerOutcome {
  return {
    ok: false,
    error: { code: "not_started", message: "the loop has not been started; call start first" },
  };
}
