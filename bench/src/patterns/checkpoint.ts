/**
 * The checkpoint rows: one step claimed and completed (two calls: `claim`, then `complete`), on
 * a run of 10,000 steps with up to 100 leased at once, beside its floor: the same two
 * signatures writing one row each and nothing else.
 */
import type { ClaimOutcome, CompleteOutcome, Json } from "@do-patterns/checkpoint";
import { Ceiling } from "../ceiling.ts";
import { floorRow, hotPath, type Row } from "../rows.ts";

/** `claim` and `complete`'s signatures, each writing one row (the lease; the completion). */
export class CheckpointSignature extends Ceiling {
  private claims = 0;

  claim(_worker: string): ClaimOutcome {
    this.writeRow();
    const position = this.claims++;
    return {
      ok: true,
      step: {
        id: `s${position}`,
        position,
        attempt: 1,
        input: position,
        progress: null,
        leaseExpiresAt: Date.now() + LEASE_MS,
      },
    };
  }

  complete(stepId: string, attempt: number, _output?: Json): CompleteOutcome {
    this.writeRow();
    return { ok: true, stepId, attempt, completedAt: Date.now() };
  }
}

/** Ten minutes: no lease expires, and so no alarm fires, during a run. */
const LEASE_MS = 600_000;
/** Warm-up plus the most calls a run makes (16 + 9,984): one step per call. */
const BENCH_STEPS = 10_000;
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
    op: (floor) => claimAndComplete(floor as unknown as Claimable),
  }),
  hotPath({
    name: "checkpoint/claim-complete",
    ceiling: "write",
    floor: FLOOR,
    maxRowsWrittenPerOp: 3,
    namespace: (env) => env.CHECKPOINTS,
    setup: async (run) => {
      const created = await run.create(run.id.name ?? "bench", BENCH_RUN.steps, BENCH_RUN.options);
      if (!created.ok) throw new Error(created.error.message);
    },
    op: (run) => claimAndComplete(run as unknown as Claimable),
  }),
];
