/**
 * The budget governor's rows: `reserve` (a hold within budget: one reservation row inserted,
 * with its two index entries) and `commit` (settling an open hold: the reservation row and the
 * processor's spend row updated), each beside a floor with the same signature doing only those writes. The source
 * articles' governor has no reserve/commit (it records spend after the fact, so concurrent
 * spenders can overshoot), so there is no naive baseline to run side by side.
 */
import { DurableObject } from "cloudflare:workers";
import type {
  BudgetGovernor,
  GovernorConfig,
  Reservation,
  ReserveOutcome,
  ReserveRequest,
  SettleOutcome,
} from "@do-patterns/budget-governor";
import { floorRow, hotPath, perObject, type Row, type RunObject } from "../rows.ts";

/** Holds the most calls one run makes (9,984 timed + 16 warm-up), all open at once. */
const HOLDS = 10_000;
const PROCESSOR = "bench";

const BENCH_CONFIG: GovernorConfig = {
  processors: [{ id: PROCESSOR, weight: 1, phase: 1, tier: "bench" }],
  tiers: { bench: { model: "bench-model", costPerCall: 1, maxConcurrency: HOLDS } },
  // Nothing expires during a run.
  reservationTtlSeconds: 86_400,
};

/**
 * The floor: `reserve` and `commit` with only the writes their guarantees need. `reserve`
 * inserts one reservation row, its idempotency key in a unique index (so a retry finds it) and
 * its expiry in the index of open holds (so the alarm finds the due ones); `commit` marks the
 * row committed (leaving the open index, joining the settled order that bounds retention) and
 * adds the cost to the processor's spend row. The same tables and indexes as the governor, and
 * none of its validation, budget checks, caps or alarm.
 */
export class GovernorSignatureFloor extends DurableObject<unknown> {
  private seq = 0;

  constructor(ctx: DurableObjectState, env: unknown) {
    super(ctx, env);
    ctx.storage.sql.exec(`
      CREATE TABLE IF NOT EXISTS reservations (id TEXT PRIMARY KEY, processor TEXT NOT NULL, estimate INTEGER NOT NULL, idem_key TEXT NOT NULL UNIQUE, status TEXT NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, actual INTEGER, charged INTEGER, overrun INTEGER, settled_seq INTEGER) WITHOUT ROWID;
      CREATE INDEX IF NOT EXISTS open_by_expiry ON reservations (expires_at) WHERE status = 'open';
      CREATE INDEX IF NOT EXISTS settled_by_age ON reservations (settled_seq) WHERE status <> 'open';
      CREATE TABLE IF NOT EXISTS spend (processor TEXT PRIMARY KEY, committed INTEGER NOT NULL) WITHOUT ROWID;
      INSERT OR IGNORE INTO spend VALUES ('${PROCESSOR}', 0);
    `);
  }

  reserve(request: ReserveRequest): ReserveOutcome {
    const now = Date.now();
    const reservation: Reservation = {
      id: `1-${crypto.randomUUID()}`,
      cycleId: 1,
      processorId: request.processorId,
      estimatedCost: request.estimatedCost,
      status: "open",
      createdAt: now,
      expiresAt: now + 60_000,
      actualCost: null,
      charged: null,
      overrun: null,
    };
    this.ctx.storage.sql.exec(
      "INSERT INTO reservations (id, processor, estimate, idem_key, status, created_at, expires_at) VALUES (?, ?, ?, ?, 'open', ?, ?)",
      reservation.id,
      request.processorId,
      request.estimatedCost,
      request.idempotencyKey,
      now,
      reservation.expiresAt,
    );
    return { ok: true, reservation, remaining: 1_000_000, replayed: false };
  }

  commit(reservationId: string, actualCost: number): SettleOutcome {
    const row = this.ctx.storage.sql
      .exec<{ processor: string; estimate: number; created_at: number; expires_at: number }>(
        "UPDATE reservations SET status = 'committed', actual = ?, charged = ?, overrun = 0, settled_seq = ? WHERE id = ? RETURNING processor, estimate, created_at, expires_at",
        actualCost,
        actualCost,
        ++this.seq,
        reservationId,
      )
      .one();
    this.ctx.storage.sql.exec(
      "UPDATE spend SET committed = committed + ? WHERE processor = ?",
      actualCost,
      row.processor,
    );
    return {
      ok: true,
      reservation: {
        id: reservationId,
        cycleId: 1,
        processorId: row.processor,
        estimatedCost: row.estimate,
        status: "committed",
        createdAt: row.created_at,
        expiresAt: row.expires_at,
        actualCost,
        charged: actualCost,
        overrun: 0,
      },
      remaining: 1_000_000,
      replayed: false,
    };
  }
}

type Reserving = Pick<BudgetGovernor, "reserve"> | Pick<GovernorSignatureFloor, "reserve">;

/** Per run's object: the next idempotency key, and the open holds a commit row settles one by one. */
const runs = perObject(() => ({ key: 0, holds: [] as string[] }));

function nextHold(object: RunObject): ReserveRequest {
  return { processorId: PROCESSOR, estimatedCost: 1, idempotencyKey: `k${runs.of(object).key++}` };
}

function expectNew(outcome: ReserveOutcome | SettleOutcome): void {
  if (!outcome.ok || outcome.replayed)
    throw new Error(`expected a new grant, got ${JSON.stringify(outcome)}`);
}

async function startGovernor(governor: DurableObjectStub<BudgetGovernor>): Promise<void> {
  runs.start(governor);
  expectOk(await governor.configure(BENCH_CONFIG));
  expectOk(await governor.start(1_000_000_000_000));
}

/** Untimed: HOLDS open reservations, 64 requests at a time, for the commit rows to settle. */
async function openHolds(object: DurableObjectStub<Reserving & Rpc.DurableObjectBranded>) {
  const { holds } = runs.of(object);
  for (let done = 0; done < HOLDS; done += 64) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(64, HOLDS - done) }, () =>
        (object as unknown as Reserving).reserve(nextHold(object)),
      ),
    );
    for (const outcome of batch) {
      if (!outcome.ok) throw new Error(`setup: ${outcome.error.message}`);
      holds.push(outcome.reservation.id);
    }
  }
}

function nextOpenHold(object: RunObject): string {
  const id = runs.of(object).holds.pop();
  if (id === undefined) throw new Error("no open hold left: raise HOLDS");
  return id;
}

function expectOk(outcome: { ok: boolean }): void {
  if (!outcome.ok) throw new Error(`expected ok, got ${JSON.stringify(outcome)}`);
}

const RESERVE_FLOOR = "budget-governor/floor-reserve";
const COMMIT_FLOOR = "budget-governor/floor-commit";

export const BUDGET_GOVERNOR_ROWS: Row[] = [
  floorRow({
    name: RESERVE_FLOOR,
    ceiling: "write",
    namespace: (env) => env.GOVERNOR_SIGNATURE,
    setup: async (floor) => {
      runs.start(floor);
    },
    op: async (floor) => expectNew(await floor.reserve(nextHold(floor))),
  }),
  hotPath({
    name: "budget-governor/reserve",
    ceiling: "write",
    floor: RESERVE_FLOOR,
    // The reservation row, its idempotency key's index entry, its entry among the open holds.
    maxRowsWrittenPerOp: 3,
    namespace: (env) => env.BUDGET_GOVERNORS,
    setup: (governor) => startGovernor(governor),
    op: async (governor) => expectNew(await governor.reserve(nextHold(governor))),
  }),
  floorRow({
    name: COMMIT_FLOOR,
    ceiling: "write",
    namespace: (env) => env.GOVERNOR_SIGNATURE,
    setup: async (floor) => {
      runs.start(floor);
      await openHolds(floor);
    },
    op: async (floor) => expectNew(await floor.commit(nextOpenHold(floor), 1)),
  }),
  hotPath({
    name: "budget-governor/commit",
    ceiling: "write",
    floor: COMMIT_FLOOR,
    // The reservation row (and its move from the open index to the settled order), the spend row.
    maxRowsWrittenPerOp: 3,
    namespace: (env) => env.BUDGET_GOVERNORS,
    setup: async (governor) => {
      await startGovernor(governor);
      await openHolds(governor);
    },
    op: async (governor) => expectNew(await governor.commit(nextOpenHold(governor), 1)),
  }),
];
