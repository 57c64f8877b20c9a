/**
 * The test Worker: the package's routes, and an AggregatorCounter whose clock and bounds the
 * tests control.
 */
import { Hono } from "hono";
import { internalError, notFound } from "../src/http";
import {
  AggregatorCounter as BaseCounter,
  aggregatorCounterRoutes,
  DEFAULT_LIMITS,
  type CounterLimits,
} from "../src/index";

/** Tests set this to freeze time; null means the real clock. */
export const testClock: { now: number | null } = { now: null };
/** Tests shrink the bounds here to reach them; reset to the defaults after each test. */
export const testLimits: { current: CounterLimits } = { current: DEFAULT_LIMITS };

export class AggregatorCounter extends BaseCounter {
  protected override now(): number {
    return testClock.now ?? Date.now();
  }

  protected override limits(): CounterLimits {
    return testLimits.current;
  }

  /**
   * Test-only: makes the `nth` flush from now fail as storage would, at its first idempotency
   * key's row, after its counter rows are written, while the object lives on.
   */
  failFlush(nth: number): void {
    const storage = this.ctx.storage;
    const sql = storage.sql;
    const exec = sql.exec.bind(sql);
    const sync = storage.sync.bind(storage);
    let flushes = 0;
    let failed = false;
    Object.defineProperty(storage, "sync", {
      configurable: true,
      value: () => {
        flushes++;
        return sync();
      },
    });
    Object.defineProperty(sql, "exec", {
      configurable: true,
      value: (query: string, ...bindings: SqlStorageValue[]) => {
        if (!failed && flushes === nth - 1 && query.startsWith("INSERT INTO dedupe")) {
          failed = true;
          throw new Error("simulated: the disk is full");
        }
        return exec(query, ...bindings);
      },
    });
  }

  /**
   * Test-only: crashes the object (`ctx.abort()`) when a flush has written its batch and starts
   * waiting for it to be durable, on the `nth` such wait from now. Every call not yet answered
   * then fails, as in a machine failure.
   */
  crashOnFlush(nth: number): void {
    const storage = this.ctx.storage;
    const sync = storage.sync.bind(storage);
    let calls = 0;
    Object.defineProperty(storage, "sync", {
      configurable: true,
      value: () => {
        if (++calls === nth) this.ctx.abort("simulated crash");
        return sync();
      },
    });
  }
}

const app = new Hono<{ Bindings: Env }>();
app.route("/", aggregatorCounterRoutes());
app.notFound(notFound);
app.onError(internalError);

export default app;
