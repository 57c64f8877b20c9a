/**
 * The checkpoint rows: one step claimed and completed (two calls: `claim`, then `complete`), on
 * a run of 10,000 steps with up to 100 leased at once, beside its floor: the same two
 * signatures writing the lease and the completion into the step's stored row, with the due-time
 * index entry each needs.
 */
import type { ClaimOutcome, CompleteOutcome, Json } from "@do-patterns/checkpoint";
import { Ceiling } from "../ceiling.ts";
import { WARMUP_CALLS } from "../config.ts";
import { floorRow, hotPath, type Row } from "../rows.ts";

/**
 * `claim` and `complete`'s signatures with the storage work their guarantees need and nothing
 * else. A run's steps and their inputs are stored when it is created (untimed, in `create`), so
 * a claim's answer carries the step's input as stored, as any checkpoint's must: the claim
 * writes its lease (the attempt and expiry) into the step's row, where a wake finds it by expiry
 * in O(log n) through a due-time index, and reads the input back in the same statement. A
 * completion stores the step as done with its output, which is the row again and its entry out
 * of the index. Without that index, finding an expired lease after an eviction means reading
 * every step. No validation, no retries, no run record, no alarm.
 */
export class CheckpointSignature extends Ceiling {
  private claims = 0;

  constructor(ctx: DurableObjectState, env: unknown) {
    super(ctx, env);
    ctx.storage.sql.exec(`CREATE TABLE IF NOT EXISTS steps (
        position INTEGER PRIMARY KEY, input TEXT NOT NULL, attempt INTEGER NOT NULL,
        due_at INTEGER NOT NULL, output TEXT);
      CREATE INDEX IF NOT EXISTS steps_due ON steps (due_at) WHERE due_at > 0;`);
  }

  create(_runId: string, steps: { id: string; input: Json }[], _options: unknown): { ok: true } {
    steps.forEach((step, position) => {
      this.ctx.storage.sql.exec(
        "INSERT INTO steps (position, input, attempt, due_at) VALUES (?, ?, 0, 0)",
        position,
        JSON.stringify(step.input),
      );
    });
    return { ok: true };
  }

  claim(_worker: string): ClaimOutcome {
    const position = this.claims++;
    const leaseExpiresAt = Date.now() + LEASE_MS;
    const row = this.ctx.storage.sql
      .exec<{ input: string; attempt: number }>(
        "UPDATE steps SET attempt = attempt + 1, due_at = ? WHERE position = ? RETURNING input, attempt",
        leaseExpiresAt,
        position,
      )
      .one();
    return {
      ok: true,
      step: {
        id: `s${position}`,
        position,
        attempt: row.attempt,
        input: JSON.parse(row.input) as Json,
        progress: null,
        leaseExpiresAt,
      },
    };
  }

  complete(stepId: string, attempt: number, output?: Json): CompleteOutcome {
    this.ctx.storage.sql.exec(
      "UPDATE steps SET due_at = 0, output = ? WHERE position = ?",
      JSON.stringify(output ?? null),
      Number(stepId.slice(1)),
    );
    return { ok: true, stepId, attempt, completedAt: Date.now() };
  }
}

/** Ten minutes: no lease expires, and so no alarm fires, during a run. */
const LEASE_MS = 600_000;
/** The most steps a run may have: one per call. */
const BENCH_STEPS = 10_000;
/**
 * Timed calls per run: the steps after the warm-up's 16, less one, so the run is still going
 * after the last call. Completing a run's last step also stores the run as completed, a write
 * the steady state never makes.
 */
const BENCH_CALLS = BENCH_STEPS - WARMUP_CALLS - 1;
const BENCH_RUN = {
  steps: Array.from({ length: BENCH_STEPS }, (_, i) => ({ id: `s${i}`, input: i })),
  options: { parallelism: 100, leaseTimeoutMs: LEASE_MS },
};

interface Claimable {
  claim(worker: string): Promise<ClaimOutcome>;
  complete(stepId: string, attempt: number, output?: Json): Promise<CompleteOutcome>;
}

interface Creatable {
  readonly id: DurableObjectId;
  create(
    runId: string,
    steps: typeof BENCH_RUN.steps,
    options: typeof BENCH_RUN.options,
  ): Promise<{ ok: true } | { ok: false; error: { message: string } }>;
}

/** Untimed: the run the timed calls claim and complete steps of. */
async function createRun(run: Creatable): Promise<void> {
  const created = await run.create(run.id.name ?? "bench", BENCH_RUN.steps, BENCH_RUN.options);
  if (!created.ok) throw new Error(created.error.message);
}

/** One op: claim a step, then complete it; throws unless both did what they say. */
async function claimAndComplete(run: Claimable): Promise<void> {
  const claim = await run.claim("bench");
  if (!claim.ok || claim.step === null)
    throw new Error(`expected a step, got ${JSON.stringify(claim)}`);
  const done = await run.complete(claim.step.id, claim.step.attempt, { ok: 1 });
  if (!done.ok) throw new Error(`expected a completion, got ${JSON.stringify(done)}`);
}

const FLOOR = "checkpoint/floor-claim-complete";

export const CHECKPOINT_ROWS: Row[] = [
  floorRow({
    name: FLOOR,
    ceiling: "write",
    namespace: (env) => env.CHECKPOINT_SIGNATURE,
    maxCalls: BENCH_CALLS,
    setup: (floor) => createRun(floor as unknown as Creatable),
    op: (floor) => claimAndComplete(floor as unknown as Claimable),
  }),
  hotPath({
    name: "checkpoint/claim-complete",
    ceiling: "write",
    floor: FLOOR,
    maxRowsWrittenPerOp: 3,
    namespace: (env) => env.CHECKPOINTS,
    maxCalls: BENCH_CALLS,
    setup: (run) => createRun(run as unknown as Creatable),
    op: (run) => claimAndComplete(run as unknown as Claimable),
  }),
];
