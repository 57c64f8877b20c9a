import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import type { RunOptions, StepDefinition } from "../src/index";
import { testClock } from "./worker";

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

/** A run id nobody else uses: storage is shared within a test file. */
export const freshRunId = () => `run-${crypto.randomUUID()}`;

export const runObject = (runId: string) => env.CHECKPOINTS.getByName(runId);

/** Steps `s1`..`sN`, each with its number as input. */
export function steps(n: number): StepDefinition[] {
  return Array.from({ length: n }, (_, i) => ({ id: `s${i + 1}`, input: i + 1 }));
}

/** A new run of `n` steps (created at the test clock's time), and its stub. */
export async function newRun(n: number, options: RunOptions = {}) {
  const runId = freshRunId();
  const run = runObject(runId);
  const outcome = await run.create(runId, steps(n), options);
  if (!outcome.ok) throw new Error(`create refused: ${outcome.error.message}`);
  return { runId, run };
}

type Stub = ReturnType<typeof runObject>;

/** Claims a step, failing loudly when none is handed out. */
export async function claimed(run: Stub, worker = "w1") {
  const outcome = await run.claim(worker);
  if (!outcome.ok) throw new Error(`claim refused: ${outcome.error.message}`);
  if (outcome.step === null) throw new Error(`nothing to claim: run ${outcome.status}`);
  return outcome.step;
}

/** Everything the object stores: its tables, step rows, KV entries and alarm. */
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

/** The step rows as stored, in order. */
export function storedSteps(stub: Stub) {
  return runInDurableObject(stub, (_instance, state) =>
    state.storage.sql
      .exec<Record<string, SqlStorageValue>>("SELECT * FROM steps ORDER BY position")
      .toArray(),
  );
}

export function storedAlarm(stub: Stub) {
  return runInDurableObject(stub, (_instance, state) => state.storage.getAlarm());
}
