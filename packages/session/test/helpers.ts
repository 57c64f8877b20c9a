import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { sessionStore, userObjectName, type SessionOutcome, type SessionView } from "../src/index";
import { testClock } from "./worker";

/**
 * A fixed moment in the future, so alarms the objects set against the test clock never fire by
 * themselves and only runDurableObjectAlarm runs them.
 */
export const T0 = Date.UTC(2030, 0, 1, 0, 0, 0);
export const SECOND = 1_000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;

export function setNow(ms: number): void {
  testClock.now = ms;
}

export function resetClock(): void {
  testClock.now = null;
}

export const sessions = () => sessionStore(env.SESSIONS);

export const sessionObject = (id: string) => env.SESSIONS.getByName(id);

export const userObject = (userId: string) => env.SESSIONS.getByName(userObjectName(userId));

/** A user nobody else uses: storage is shared within a test file. */
export const freshUser = () => `user-${crypto.randomUUID()}`;

/** Unwraps an outcome the test expects to succeed, failing loudly on a refusal. */
export function ok(outcome: SessionOutcome): SessionView {
  if (!outcome.ok)
    throw new Error(`unexpected refusal: ${outcome.error.code}: ${outcome.error.message}`);
  return outcome.session;
}

/** A new anonymous session, created at the test clock's time. */
export async function newSession(data: Record<string, string | number> = {}): Promise<SessionView> {
  return ok(await sessions().create({ data }));
}

type Stub = DurableObjectStub;

/** Everything an object stores: its KV entries, its own tables, its alarm. */
export function storedFootprint(stub: Stub) {
  return runInDurableObject(stub, async (_instance, state) => {
    const tables = state.storage.sql
      .exec<{ name: string }>(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\'",
      )
      .toArray()
      .map((row) => row.name);
    const entries = [...state.storage.kv.list()].map(([key]) => key);
    return { tables, entries, alarm: await state.storage.getAlarm() };
  });
}

export const EMPTY = { tables: [], entries: [], alarm: null };

/** Whether the object has ever created any table at all, the KV table included. */
export function hasAnyTable(stub: Stub) {
  return runInDurableObject(
    stub,
    (_instance, state) =>
      state.storage.sql.exec("SELECT name FROM sqlite_master WHERE type = 'table'").toArray()
        .length > 0,
  );
}

/** The record a session object stores, as stored. */
export function storedRecord(id: string) {
  return runInDurableObject(sessionObject(id), (_instance, state) =>
    state.storage.kv.get<{ lastSeenAt: number; data: Record<string, unknown> }>("session"),
  );
}

/**
 * Starts counting the storage writes a live object makes (sync KV puts and deletes, alarm
 * changes, deleteAll): comparing stored values cannot tell a rewrite of an unchanged record from
 * no write at all. Returns a function that reads the count. The count lives until eviction.
 */
export async function countStorageWrites(stub: Stub): Promise<() => number> {
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
