/**
 * The checkpoint rows: one step claimed and completed (two calls: `claim`, then `complete`), on
 * a run of 10,000 steps with up to 100 leased at once, beside its floor: the same two
 * signatures writing the lease and the completion, with the due-time index entry each needs.
 */
import type { ClaimOutcome, CompleteOutcome, Json } from "@do-patterns/checkpoint";
import { Ceiling } from "../ceiling.ts";
import { WARMUP_CALLS } from "../config.ts";
import { floorRow, hotPath, type Row } from "../rows.ts";

/**
 * `claim` and `complete`'s signatures with the writes their guarantees need and nothing else:
 * a claim stores its lease (the step's attempt and expiry) where a wake finds it by expiry in
 * O(log n), which is a row and its entry in a due-time index; a completion stores the step as
 * done, which is the row again and its entry out of the index. Without that index, finding
 * an expired lease after an eviction means reading every step. No validation, no retries, no
 * run record, no alarm.
 */
export class CheckpointSignature extends Ceiling {
  private claims = 0;

  constructor(ctx: DurableObjectState, env: unknown) {
    super(ctx, env);
    ctx.storage.sql.exec(`CREATE TABLE IF NOT EXISTS leases (
        position INTEGER PRIMARY KEY, attempt INTEGER NOT NULL, due_at INTEGER NOT NULL);
      CREATE INDEX IF NOT EXISTS leases_due ON leases (due_at) WHERE due_at > 0;`);
  }

  claim(_worker: string): ClaimOutcome {
    const position = this.claims++;
    const leaseExpiresAt = Date.now() + LEASE_MS;
    this.ctx.storage.sql.exec(
      "INSERT INTO leases (position, attempt, due_at) VALUES (?, 1, ?)",
      position,
      leaseExpiresAt,
    );
    return {
      ok: true,
      step: {
        id: `s${position}`,
        position,
        attempt: 1,
        input: position,
        progress: null,
        leaseExpiresAt,
      },
    };
  }

  complete(stepId: string, attempt: number, _output?: Json): CompleteOutcome {
    this.ctx.storage.sql.exec(
      "UPDATE leases SET due_at = 0 WHERE position = ?",
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
    op: (floor) => claimAndComplete(floor as unknown as Claimable),
  }),
  hotPath({
    name: "checkpoint/claim-complete",
    ceiling: "write",
    floor: FLOOR,
    maxRowsWrittenPerOp: 3,
    namespace: (env) => env.CHECKPOINTS,
    maxCalls: BENCH_CALLS,
    setup: async (run) => {
      const created = await run.create(run.id.name ?? "bench", BENCH_RUN.steps, BENCH_RUN.options);
      if (!created.ok) throw new Error(created.error.message);
    },
    op: (run) => claimAndComplete(run as unknown as Claimable),
  }),
];
