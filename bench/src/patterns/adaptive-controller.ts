/**
 * The adaptive controller's row: one tick of the loop (fetch a batch, process it, record it,
 * adapt, schedule the next), with a trivial in-process data plane, beside its floor: the same
 * RPC signature doing only the storage writes a tick's guarantees need.
 */
import {
  AdaptiveController,
  type BreakerState,
  type Downstream,
  type ItemResult,
} from "@do-patterns/adaptive-controller";
import { Ceiling } from "../ceiling.ts";
import { floorRow, hotPath, type Row } from "../rows.ts";

/** What a bench tick answers: enough to check the tick ran. */
export interface TickSummary {
  tick: number;
  batchSize: number;
  breaker: BreakerState;
}

const DAY_MS = 86_400_000;
/**
 * A fixed batch of 10 (no adaptation decisions), a one-day interval so the runtime's own alarm
 * never fires during a run: each bench call moves the object's clock one interval on instead.
 */
const BENCH_CONFIG = {
  minBatchSize: 10,
  maxBatchSize: 10,
  initialBatchSize: 10,
  intervalMs: DAY_MS,
  backoffIntervalMs: DAY_MS,
  windowSize: 100,
};

/** A data plane that does nothing: the tick's own cost, not the work's, is what is measured. */
const TRIVIAL_DOWNSTREAM: Downstream = {
  source: { fetchBatch: async (size) => Array.from({ length: size }, (_, i) => `item-${i}`) },
  processor: {
    process: async (ids): Promise<ItemResult[]> =>
      ids.map((id) => ({ id, ok: true, latencyMs: 1 })),
  },
};

/** The real AdaptiveController, its clock moved one interval per `runTick`, so each tick is due. */
export class TickingController extends AdaptiveController {
  private skewMs = 0;
  private queue: Promise<unknown> = Promise.resolve();

  protected override now(): number {
    return Date.now() + this.skewMs;
  }

  protected override downstream(): Downstream {
    return TRIVIAL_DOWNSTREAM;
  }

  /** Runs one tick as the alarm would. Ticks of one loop run one after another, as alarms do. */
  runTick(): Promise<TickSummary> {
    const run = this.queue.then(async () => {
      this.skewMs += DAY_MS;
      await this.alarm();
      const { tick, batchSize, breaker } = this.status({ history: false });
      return { tick, batchSize, breaker };
    });
    this.queue = run.catch(() => {});
    return run;
  }
}

/**
 * A tick's floor: the same call and result, and the writes a tick's guarantees need: the batch
 * recorded before the fetch and again with its items before processing (so a retried alarm
 * resends rather than fetches anew), the outcome committed with its time-series row (and the
 * oldest row dropped), and the alarm set twice (the watchdog, then the next tick).
 *
 * Each write carries what the issue asks to survive it, and nothing more. The state: whether the
 * loop runs (a pause outlives an eviction), the tuning (batch size, interval, the breaker with
 * its failure count, cool-down end and openings, so an evicted loop "resumes with the same
 * parameters"), the rolling window, the tick and when the next is due (so a retried alarm that
 * is early only re-arms), and the batch in flight with its size, items and attempts (so a batch
 * is retried at most once). The series row: the tick's time, batch size, interval, success rate
 * and latency, the series the page charts. The controller stores more (a run id that
 * fences off a reset, totals, three more series columns), and pays for it against this floor.
 */
export class ControllerTickFloor extends Ceiling {
  private tickCount = 0;
  private queue: Promise<unknown> = Promise.resolve();
  /** The rolling window as the controller stores it: one character per item result. */
  private readonly window = "1".repeat(100);
  private readonly tuning = {
    batchSize: 10,
    intervalMs: DAY_MS,
    breaker: "closed" as const,
    consecutiveFailures: 0,
    openUntil: null,
    openings: 0,
  };

  constructor(ctx: DurableObjectState, env: unknown) {
    super(ctx, env);
    ctx.storage.sql.exec(`CREATE TABLE IF NOT EXISTS series (
      tick INTEGER PRIMARY KEY, at INTEGER NOT NULL, batch_size INTEGER NOT NULL,
      interval_ms INTEGER NOT NULL, success_rate REAL, mean_latency_ms REAL)`);
  }

  runTick(): Promise<TickSummary> {
    const run = this.queue.then(async () => {
      const tick = ++this.tickCount;
      // Its clock moved one interval per tick, as the TickingController's: each tick arms its
      // alarms at new times, as any loop does. On the wall clock, ticks within one millisecond
      // set an unchanged alarm, measurably cheaper than the controller's, which moves each tick.
      const now = Date.now() + tick * DAY_MS;
      const loop = (inflight: unknown) => ({
        status: "running",
        tuning: this.tuning,
        window: this.window,
        tick: inflight === null ? tick : tick - 1,
        nextRunAt: inflight === null ? now + DAY_MS : now,
        inflight,
      });
      const batch = { tick, size: 10, ids: null as string[] | null, attempts: 1 };
      this.ctx.storage.kv.put("state", loop(batch));
      // The watchdog: later than the next tick, as the controller's (timeout + interval).
      await this.ctx.storage.setAlarm(now + DAY_MS + 30_000);
      const ids = await TRIVIAL_DOWNSTREAM.source.fetchBatch(10);
      this.ctx.storage.kv.put("state", loop({ ...batch, ids }));
      await TRIVIAL_DOWNSTREAM.processor.process(ids);
      this.ctx.storage.sql.exec(
        `INSERT INTO series (tick, at, batch_size, interval_ms, success_rate, mean_latency_ms)
         VALUES (?, ?, 10, ?, 1, 1)`,
        tick,
        now,
        DAY_MS,
      );
      this.ctx.storage.sql.exec("DELETE FROM series WHERE tick <= ?", tick - 120);
      this.ctx.storage.kv.put("state", loop(null));
      await this.ctx.storage.setAlarm(now + DAY_MS);
      return { tick, batchSize: 10, breaker: "closed" as const };
    });
    this.queue = run.catch(() => {});
    return run;
  }

  /** The alarm the floor arms, as the controller's: the bench moves time itself, so it never runs. */
  override async alarm(): Promise<void> {}
}

function expectTick(summary: TickSummary): void {
  if (summary.tick < 1 || summary.batchSize !== 10 || summary.breaker !== "closed") {
    throw new Error(`expected a healthy tick, got ${JSON.stringify(summary)}`);
  }
}

const TICK_FLOOR = "adaptive-controller/floor-tick";

export const ADAPTIVE_CONTROLLER_ROWS: Row[] = [
  floorRow({
    name: TICK_FLOOR,
    ceiling: "write",
    namespace: (env) => env.CONTROLLER_TICK_FLOOR,
    op: async (floor) => expectTick(await floor.runTick()),
  }),
  hotPath({
    name: "adaptive-controller/tick",
    ceiling: "write",
    floor: TICK_FLOOR,
    // Three state writes, a series row in and, once full, the oldest out.
    maxRowsWrittenPerOp: 5,
    namespace: (env) => env.ADAPTIVE_CONTROLLER,
    setup: async (controller) => {
      const started = await controller.start(BENCH_CONFIG);
      if (!started.ok) throw new Error(started.error.message);
    },
    op: async (controller) => expectTick(await controller.runTick()),
  }),
];
