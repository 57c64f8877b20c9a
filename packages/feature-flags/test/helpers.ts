import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import {
  compileFlag,
  parseFlag,
  type CompiledFlag,
  type FlagDefinition,
  type FlagRejection,
  type StoredFlag,
} from "../src/index";
import { testClock } from "./worker";

/** A fresh flag set per test: storage is shared within a file. */
export function freshFlagSet() {
  return env.FEATURE_FLAGS.getByName(`set-${crypto.randomUUID()}`);
}

export type FlagSetStub = ReturnType<typeof freshFlagSet>;

export const T0 = Date.UTC(2030, 0, 1, 0, 0, 0);

export function setNow(ms: number): void {
  testClock.now = ms;
}

export const ADMIN = { actor: "alice@example.com" };

/**
 * A boolean flag: "on" for the beta plan, 30% of everyone else by targeting key.
 */
export function checkoutFlag(overrides: Partial<FlagDefinition> = {}): FlagDefinition {
  return {
    key: "new-checkout",
    type: "boolean",
    enabled: true,
    variants: { on: true, off: false },
    rules: [
      {
        conditions: [{ attribute: "plan", op: "equals", value: "beta" }],
        serve: { variant: "on" },
      },
    ],
    fallthrough: {
      split: [
        { variant: "on", percent: 30 },
        { variant: "off", percent: 70 },
      ],
    },
    ...overrides,
  };
}

/** A flag with no rules and one variant for everyone. */
export function staticFlag(key: string, overrides: Partial<FlagDefinition> = {}): FlagDefinition {
  return {
    key,
    type: "string",
    enabled: true,
    variants: { blue: "blue", green: "green" },
    rules: [],
    fallthrough: { variant: "blue" },
    ...overrides,
  };
}

/** Validates and compiles a definition, as the object does when it loads a flag. */
export function compiled(definition: FlagDefinition): CompiledFlag {
  const parsed = parseFlag(definition);
  if (!parsed.ok) throw new Error(`test flag is invalid: ${parsed.message}`);
  return compileFlag({ ...parsed.flag, version: 1, updatedAt: T0 });
}

/** Unwraps an outcome the test expects to succeed, failing loudly on a rejection. */
export function ok<T extends object>(outcome: T): Exclude<T, FlagRejection> {
  if ("error" in outcome) {
    throw new Error(`unexpected rejection: ${(outcome as FlagRejection).error.message}`);
  }
  return outcome as Exclude<T, FlagRejection>;
}

/** Drops the fields the object adds, to compare a stored flag with its definition. */
export function definitionOf(flag: StoredFlag): FlagDefinition {
  const { version: _version, updatedAt: _updatedAt, ...definition } = flag;
  return definition;
}

export interface StorageActivity {
  /** Calls to any storage method: SQL, key-value, alarms, transactions. */
  calls: number;
  rowsRead: number;
  rowsWritten: number;
}

/**
 * Starts counting what a live object does with its storage (every SQL statement, key-value and
 * alarm call) and the rows SQLite reports read and written. Returns a function that reads the
 * counts. The counting lives until eviction.
 */
export async function watchStorage(stub: DurableObjectStub): Promise<() => StorageActivity> {
  const activity = { calls: 0, rowsRead: 0, rowsWritten: 0 };
  const cursors: SqlStorageCursor<Record<string, SqlStorageValue>>[] = [];
  await runInDurableObject(stub, (_instance, state) => {
    const { storage } = state;
    const targets: [object, string[]][] = [
      [storage.sql, ["exec"]],
      [storage.kv, ["get", "put", "delete", "list"]],
      [
        storage,
        ["get", "put", "delete", "list", "deleteAll", "getAlarm", "setAlarm", "deleteAlarm"],
      ],
    ];
    for (const [target, methods] of targets) {
      for (const method of methods) {
        const original = Reflect.get(target, method) as (...args: unknown[]) => unknown;
        Object.defineProperty(target, method, {
          configurable: true,
          writable: true,
          value: (...args: unknown[]) => {
            activity.calls++;
            const result = Reflect.apply(original, target, args);
            if (target === storage.sql) {
              cursors.push(result as SqlStorageCursor<Record<string, SqlStorageValue>>);
            }
            return result;
          },
        });
      }
    }
  });
  return () => ({
    calls: activity.calls,
    rowsRead: cursors.reduce((sum, cursor) => sum + cursor.rowsRead, 0),
    rowsWritten: cursors.reduce((sum, cursor) => sum + cursor.rowsWritten, 0),
  });
}

/** The user tables an object's database holds, and its row counts. */
export function storedFootprint(stub: FlagSetStub) {
  return runInDurableObject(stub, async (_instance, state) => {
    const tables = state.storage.sql
      .exec<{ name: string }>(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\'",
      )
      .toArray()
      .map((row) => row.name)
      .toSorted();
    const count = (table: string) =>
      tables.includes(table)
        ? state.storage.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table}`).one().n
        : 0;
    return {
      tables,
      flags: count("flags"),
      audit: count("audit"),
      alarm: await state.storage.getAlarm(),
    };
  });
}
