import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import type { ConfigInput, ControllerStatus } from "../src/index";
import { ScriptedDownstream, scripts, testClock } from "./worker";

/**
 * A fixed moment in the future, so alarms the objects set against the test clock never fire by
 * themselves and only runDurableObjectAlarm runs them.
 */
export const T0 = Date.UTC(2030, 0, 1, 0, 0, 0);
export const SECOND = 1_000;

export function setNow(ms: number): void {
  testClock.now = ms;
}

export function resetClock(): void {
  testClock.now = null;
}

/** Settings small enough to read in a test: interval 1 s, backoff 5 s, cool-down 10 s. */
export const TEST_CONFIG = {
  minBatchSize: 2,
  maxBatchSize: 20,
  initialBatchSize: 4,
  intervalMs: 1_000,
  backoffIntervalMs: 5_000,
  cooldownMs: 10_000,
  maxCooldownMs: 40_000,
  breakerThreshold: 3,
  probeBatchSize: 1,
  windowSize: 20,
  timeoutMs: 5_000,
} satisfies ConfigInput;

export const controller = (name: string) => env.ADAPTIVE_CONTROLLER.getByName(name);

/** A new loop with a scripted downstream, not started yet. */
export function newLoop() {
  const name = `loop-${crypto.randomUUID()}`;
  const downstream = new ScriptedDownstream();
  scripts.set(name, downstream);
  return { name, stub: controller(name), downstream };
}

/** A new loop with a scripted downstream, started at T0 with TEST_CONFIG (and `config`). */
export async function startedLoop(config: ConfigInput = {}) {
  setNow(T0);
  const loop = newLoop();
  const started = await loop.stub.start({ ...TEST_CONFIG, ...config });
  if (!started.ok) throw new Error(`start refused: ${started.error.message}`);
  return loop;
}

type Stub = ReturnType<typeof controller>;

/** Moves the clock to the next due tick and runs the alarm, as the runtime would. */
export async function tick(stub: Stub): Promise<ControllerStatus> {
  const { nextRunAt } = await stub.status();
  if (nextRunAt === null) throw new Error("the loop has no tick scheduled");
  setNow(Math.max(testClock.now ?? T0, nextRunAt));
  if (!(await runDurableObjectAlarm(stub))) throw new Error("no alarm was scheduled");
  return stub.status();
}

/** Runs `count` ticks, returning the status after each. */
export async function ticks(stub: Stub, count: number): Promise<ControllerStatus[]> {
  const statuses: ControllerStatus[] = [];
  for (let i = 0; i < count; i++) statuses.push(await tick(stub));
  return statuses;
}

/** The alarm the object has scheduled, or null. */
export function scheduledAlarm(stub: Stub): Promise<number | null> {
  return runInDurableObject(stub, (_instance, state) => state.storage.getAlarm());
}

/** Everything an object stores: its KV entries, its own tables, its alarm. */
export function storedFootprint(stub: Stub) {
  return runInDurableObject(stub, async (_instance, state) => {
    const tables = state.storage.sql
      .exec<{ name: string }>(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\' AND name != 'sqlite_sequence'",
      )
      .toArray()
      .map((row) => row.name)
      .toSorted();
    const entries = [...state.storage.kv.list()].map(([key]) => key).toSorted();
    return { tables, entries, alarm: await state.storage.getAlarm() };
  });
}
