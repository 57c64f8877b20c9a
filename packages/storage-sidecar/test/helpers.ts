import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { testClock } from "./worker";

/** A fresh sidecar per test: storage is shared within a file. */
export function freshSidecar() {
  return env.SIDECARS.getByName(`sidecar-${crypto.randomUUID()}`);
}

export type Sidecar = ReturnType<typeof freshSidecar>;

/** In the future, so alarms set against the test clock never fire on their own. */
export const T0 = Date.UTC(2030, 0, 1, 0, 0, 0);
export const HOUR = 3_600_000;
export const WEEK = 7 * 24 * HOUR;

export function setNow(ms: number): void {
  testClock.now = ms;
}

export function resetClock(): void {
  testClock.now = null;
}

/** Unwraps an RPC outcome the test expects to succeed, failing loudly on a rejection. */
export function ok<T extends { ok: boolean }>(outcome: T): Extract<T, { ok: true }> {
  if (!outcome.ok) {
    throw new Error(`unexpected rejection: ${JSON.stringify(outcome)}`);
  }
  return outcome as Extract<T, { ok: true }>;
}

/** Everything the object holds: its user tables and their rows, its KV entries, its alarm. */
export function storedFootprint(stub: Sidecar) {
  return runInDurableObject(stub, async (_instance, state) => {
    const tables = state.storage.sql
      .exec<{ name: string }>(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\' ORDER BY name",
      )
      .toArray()
      .map((row) => row.name);
    let rows = 0;
    for (const table of tables) {
      rows += state.storage.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table}`).one().n;
    }
    const kv = [...state.storage.kv.list()].length;
    return { tables, rows, kv, alarm: await state.storage.getAlarm() };
  });
}

export const EMPTY = { tables: [], rows: 0, kv: 0, alarm: null };

/**
 * Starts counting the storage writes a live object makes (SQL statements that write, KV puts
 * and deletes, alarm changes, deleteAll). Returns a function that reads the counts. The count
 * lives until eviction.
 */
export async function countStorageWrites(
  stub: Sidecar,
): Promise<() => { rowsWritten: number; calls: number }> {
  const counter = { rowsWritten: 0, calls: 0 };
  await runInDurableObject(stub, (_instance, state) => {
    const { storage } = state;
    const targets: [object, string[]][] = [
      [storage.kv, ["put", "delete"]],
      [storage, ["put", "delete", "deleteAll", "setAlarm", "deleteAlarm"]],
    ];
    for (const [target, methods] of targets) {
      for (const method of methods) {
        const original = Reflect.get(target, method) as (...args: unknown[]) => unknown;
        Object.defineProperty(target, method, {
          configurable: true,
          writable: true,
          value: (...args: unknown[]) => {
            counter.calls++;
            return Reflect.apply(original, target, args);
          },
        });
      }
    }
    const sql = storage.sql;
    const exec = sql.exec.bind(sql);
    Object.defineProperty(sql, "exec", {
      configurable: true,
      writable: true,
      value: (query: string, ...bindings: unknown[]) => {
        const cursor = exec(query, ...bindings);
        // Consumed here so rowsWritten is final; the caller gets the rows it would have.
        const rows = cursor.toArray();
        counter.rowsWritten += cursor.rowsWritten;
        return Object.assign(rows[Symbol.iterator](), {
          toArray: () => rows,
          one: () => rows[0],
          rowsWritten: cursor.rowsWritten,
          [Symbol.iterator]: () => rows[Symbol.iterator](),
        });
      },
    });
  });
  return () => ({ ...counter });
}
