import { runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import type {
  AcquireResult,
  LeaseGrant,
  LeaseRefusal,
  LeaseState,
  ReleaseResult,
  RenewResult,
} from "../src/index";
import { testClock } from "./worker";

/** A fresh group per test: storage is shared within a file. */
export function freshElection() {
  return env.LEADER_ELECTION.getByName(`group-${crypto.randomUUID()}`);
}

export type Election = ReturnType<typeof freshElection>;

/**
 * A round time in the future, so alarms the objects set against the test clock never fire by
 * themselves and only runDurableObjectAlarm runs them.
 */
export const T0 = Date.UTC(2030, 0, 1, 0, 0, 0);

export function setNow(ms: number): void {
  testClock.now = ms;
}

export function advance(ms: number): number {
  testClock.now = (testClock.now ?? T0) + ms;
  return testClock.now;
}

/** Unwraps a grant, failing loudly on a refusal or rejection. */
export function granted(result: AcquireResult): LeaseGrant {
  if (!result.granted) throw new Error(`expected a grant, got ${JSON.stringify(result)}`);
  return result;
}

/** Unwraps a refusal, failing loudly on a grant or rejection. */
export function refused(result: AcquireResult): LeaseRefusal {
  if (result.granted || "error" in result) {
    throw new Error(`expected a refusal, got ${JSON.stringify(result)}`);
  }
  return result;
}

export function expectRenewed(result: RenewResult): Extract<RenewResult, { renewed: true }> {
  if (!result.renewed) throw new Error(`expected a renewal, got ${JSON.stringify(result)}`);
  return result;
}

export function expectReleased(result: ReleaseResult): Extract<ReleaseResult, { released: true }> {
  if (!result.released) throw new Error(`expected a release, got ${JSON.stringify(result)}`);
  return result;
}

/** The group's stored record (what survives eviction), its entry count and its alarm. */
export function storedFootprint(stub: Election) {
  return runInDurableObject(stub, async (_instance, state) => {
    const entries = [...state.storage.kv.list<LeaseState>()];
    return {
      rows: entries.length,
      state: state.storage.kv.get<LeaseState>("lease") ?? null,
      alarm: await state.storage.getAlarm(),
    };
  });
}

/**
 * Starts counting the storage writes a live object makes (sync KV puts and deletes, alarm
 * changes, deleteAll): comparing stored values cannot tell a rewrite of an unchanged record
 * from no write at all. Returns a function that reads the count. The count lives until eviction.
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

export const ADMIN = { Authorization: "Bearer test-admin-token" };

export function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  return exports.default.fetch(
    new Request(`http://example.com${path}`, {
      method: "POST",
      headers: { "Content-Type": "application/json", ...headers },
      body: JSON.stringify(body),
    }),
  );
}

export function get(path: string) {
  return exports.default.fetch(new Request(`http://example.com${path}`));
}
