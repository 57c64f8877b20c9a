import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import type { IncrementOutcome } from "../src/index";
import { DEFAULT_LIMITS, type CounterLimits } from "../src/index";
import { testClock, testLimits } from "./worker";

/** A fresh object per test: storage is shared within a file. */
export function freshCounters() {
  return env.COUNTERS.getByName(`counters-${crypto.randomUUID()}`);
}

export type Stub = ReturnType<typeof freshCounters>;

/** In the future, so alarms set against the test clock never fire by themselves. */
export const T0 = Date.UTC(2030, 0, 1, 0, 0, 0);

export function setNow(ms: number): void {
  testClock.now = ms;
}

export function setLimits(limits: Partial<CounterLimits>): void {
  testLimits.current = { ...DEFAULT_LIMITS, ...limits };
}

/** Restores the real clock and the default bounds. */
export function resetTestState(): void {
  testClock.now = null;
  testLimits.current = DEFAULT_LIMITS;
}

/** Unwraps an outcome the test expects to be accepted, failing loudly on a rejection. */
export function ok(outcome: IncrementOutcome): Extract<IncrementOutcome, { ok: true }> {
  if (!outcome.ok) throw new Error(`unexpected rejection: ${outcome.error.message}`);
  return outcome;
}

/**
 * Starts counting what a live object writes: SQL rows written (as SQLite counts them, indexes
 * included), flushes (each waits once for durability), and alarm changes. The count lives
 * until eviction.
 */
export async function countWrites(stub: Stub) {
  const counter = { rows: 0, flushes: 0, alarms: 0 };
  await runInDurableObject(stub, (_instance, state) => {
    const { storage } = state;
    const exec = storage.sql.exec.bind(storage.sql);
    Object.defineProperty(storage.sql, "exec", {
      configurable: true,
      value: (query: string, ...bindings: unknown[]) => {
        const cursor = exec(query, ...bindings);
        // Statements this package writes with return no rows, or are read to the end at once.
        if (cursor.columnNames.length === 0) counter.rows += cursor.rowsWritten;
        else {
          const rows = cursor.toArray();
          counter.rows += cursor.rowsWritten;
          return Object.assign([...rows], {
            toArray: () => rows,
            one: () => rows[0],
            rowsWritten: cursor.rowsWritten,
          });
        }
        return cursor;
      },
    });
    const sync = storage.sync.bind(storage);
    Object.defineProperty(storage, "sync", {
      configurable: true,
      value: () => {
        counter.flushes++;
        return sync();
      },
    });
    const setAlarm = storage.setAlarm.bind(storage);
    Object.defineProperty(storage, "setAlarm", {
      configurable: true,
      value: (...args: Parameters<typeof storage.setAlarm>) => {
        counter.alarms++;
        return setAlarm(...args);
      },
    });
  });
  return () => ({ ...counter });
}

/** What the object's tables hold, and its alarm. */
export function stored(stub: Stub) {
  return runInDurableObject(stub, async (_instance, state) => {
    const sql = state.storage.sql;
    return {
      counters: Object.fromEntries(
        sql
          .exec<{ key: string; value: number }>(`SELECT key, value FROM counters ORDER BY key`)
          .toArray()
          .map((row) => [row.key, row.value]),
      ),
      dedupe: sql
        .exec<{ id: string; at: number }>(`SELECT id, at FROM dedupe ORDER BY at, id`)
        .toArray(),
      alarm: await state.storage.getAlarm(),
    };
  });
}

/** Every counter's value through the object's own reads (stored merged with pending). */
export async function valueOf(stub: Stub, key: string): Promise<number> {
  const outcome = await stub.get(key);
  if (!outcome.ok) throw new Error(outcome.error.message);
  return outcome.value;
}
