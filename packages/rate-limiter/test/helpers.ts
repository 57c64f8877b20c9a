import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import type { Algorithm, Policy, RateLimitOutcome, RateLimitResult } from "../src/index";
import { testClock } from "./worker";

export const ALL_ALGORITHMS: Algorithm[] = [
  "fixed-window",
  "sliding-window",
  "token-bucket",
  "gcra",
];

/** A fresh object per test: storage is shared within a file. */
export function freshLimiter() {
  return env.RATE_LIMITER.getByName(`key-${crypto.randomUUID()}`);
}

export function policyFor(algorithm: Algorithm, limit: number, windowSeconds = 60): Policy {
  return { name: `p-${algorithm}`, algorithm, limit, windowSeconds };
}

/**
 * The start of a minute, so windows line up predictably; in the future, so alarms the objects
 * set against the test clock never fire by themselves and only runDurableObjectAlarm runs them.
 */
export const T0 = Date.UTC(2030, 0, 1, 0, 0, 0);

export function setNow(ms: number): void {
  testClock.now = ms;
}

/** Unwraps an outcome the test expects to be a decision, failing loudly on a rejection. */
export function ok(outcome: RateLimitOutcome): RateLimitResult {
  if ("error" in outcome) throw new Error(`unexpected rejection: ${outcome.error.message}`);
  return outcome;
}

/**
 * Starts counting the storage writes a live object makes (sync KV puts and deletes, alarm
 * changes, deleteAll): comparing stored values cannot tell a rewrite of an unchanged row from
 * no write at all. Returns a function that reads the count. The count lives until eviction.
 */
export async function countStorageWrites(stub: DurableObjectStub): Promise<() => number> {
  const counter = { count: 0 };
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
            counter.count++;
            return Reflect.apply(original, target, args);
          },
        });
      }
    }
  });
  return () => counter.count;
}

type Stub = ReturnType<typeof freshLimiter>;

/** Everything the object holds: its user tables, its KV entries (one per policy), its alarm. */
export function storedFootprint(stub: Stub) {
  return runInDurableObject(stub, async (_instance, state) => {
    const tables = state.storage.sql
      .exec<{ name: string }>(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\'",
      )
      .toArray()
      .map((row) => row.name);
    const rows = [...state.storage.kv.list()].length;
    return { tables, rows, alarm: await state.storage.getAlarm() };
  });
}

/** The policy entries the object stores, as stored. */
export function storedEntries(stub: Stub) {
  return runInDurableObject(stub, (_instance, state) => [...state.storage.kv.list()]);
}
