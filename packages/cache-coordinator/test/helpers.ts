import { runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import type { InvalidateOutcome, Invalidation, PurgeStatus, StatusOutcome } from "../src/index";
import { ScriptedStore, scripted, testClock } from "./worker";

/**
 * In the future, so alarms the objects set against the test clock never fire by themselves and
 * only runDurableObjectAlarm runs them.
 */
export const T0 = Date.UTC(2030, 0, 1, 0, 0, 0);

export function setNow(ms: number): void {
  testClock.now = ms;
}

/** A fresh coordinator per test (storage is shared within a file), with its scripted stores. */
export function freshCoordinator() {
  const name = `cache-${crypto.randomUUID()}`;
  const stub = env.CACHE_COORDINATOR.getByName(name);
  const stores = { a: new ScriptedStore(), b: new ScriptedStore() };
  scripted.set(name, stores);
  return { name, stub, ...stores };
}

export type Stub = ReturnType<typeof freshCoordinator>["stub"];

/** Unwraps an invalidation the test expects to succeed, failing loudly on a rejection. */
export function queued(outcome: InvalidateOutcome): Invalidation & { purgeId: string } {
  if (!outcome.ok) throw new Error(`unexpected rejection: ${outcome.error.message}`);
  if (outcome.purgeId === null) throw new Error("expected a purge, got nothing to purge");
  return { ...outcome, purgeId: outcome.purgeId };
}

export function purgeOf(outcome: StatusOutcome): PurgeStatus {
  if (!outcome.ok) throw new Error(`unexpected rejection: ${outcome.error.message}`);
  return outcome.purge;
}

/** The rows of each table and the alarm, as stored. */
export function footprint(stub: Stub) {
  return runInDurableObject(stub, async (_instance, state) => {
    const rows = (table: string) =>
      state.storage.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table}`).one().n;
    return {
      cached: rows("cached"),
      tagged: rows("tagged"),
      purges: rows("purges"),
      calls: rows("calls"),
      alarm: await state.storage.getAlarm(),
    };
  });
}

const ADMIN = { Authorization: "Bearer test-admin-token" };

/** One request to the test Worker, with the admin token unless other headers are given. */
export async function send(
  method: "GET" | "POST",
  path: string,
  body?: unknown,
  headers: Record<string, string> = ADMIN,
) {
  const response = await exports.default.fetch(
    new Request(`http://localhost${path}`, {
      method,
      headers: { "Content-Type": "application/json", ...headers },
      ...(body === undefined
        ? {}
        : { body: typeof body === "string" ? body : JSON.stringify(body) }),
    }),
  );
  return {
    status: response.status,
    headers: response.headers,
    body: await response.json<Record<string, unknown>>(),
  };
}
