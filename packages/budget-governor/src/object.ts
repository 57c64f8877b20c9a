/**
 * The BudgetGovernor Durable Object: one per budget (a team's LLM spend, a tenant's API quota).
 * Thin glue between the pure accounting of `ledger.ts` and `allocation.ts` and the object's
 * SQLite tables and alarm.
 */
import { DurableObject } from "cloudflare:workers";
import { allocate } from "./allocation";
import {
  DEFAULT_HISTORY,
  DEFAULT_RESERVATION_TTL_SECONDS,
  MAX_HISTORY,
  MAX_OPEN_RESERVATIONS,
  MAX_SETTLED_RESERVATIONS,
  amountSchema,
  commitProblem,
  parseConfig,
  problemWith,
  reserveProblem,
  type GovernorConfig,
  type ProcessorConfig,
  type ReserveRequest,
  type Usage,
} from "./config";
import { available, commitSpend, releaseHold, reserveSpend, type Ledger } from "./ledger";
import { parseUsageReport, type ProcessorRunner, type RunRequest } from "./runner";

/** The binding `processorRunner()` looks for in env unless a subclass overrides it. */
export const DATA_PLANE_BINDING = "GOVERNOR_DATA_PLANE";
/** Open reservations `status()` lists (the soonest to expire first). */
export const STATUS_RESERVATIONS = 50;

export type GovernorErrorCode =
  | "invalid_request"
  | "invalid_config"
  | "not_configured"
  | "no_cycle"
  | "unknown_processor"
  | "processor_disabled"
  | "budget_exhausted"
  | "concurrency_limit"
  | "too_many_reservations"
  | "idempotency_conflict"
  | "not_found"
  | "cycle_closed"
  | "already_settled"
  | "no_data_plane";

export interface GovernorError {
  code: GovernorErrorCode;
  message: string;
}

/** A reservation as callers see it. Amounts are whole money units. */
export interface Reservation {
  id: string;
  cycleId: number;
  processorId: string;
  estimatedCost: number;
  /** `open` holds its estimate until `expiresAt`; `expired` holds nothing but may still commit. */
  status: "open" | "committed" | "released" | "expired";
  createdAt: number;
  expiresAt: number;
  /** Set once committed: what was reported, what the budget was charged, what it could not cover. */
  actualCost: number | null;
  charged: number | null;
  overrun: number | null;
}

export type ReserveOutcome =
  | { ok: true; reservation: Reservation; remaining: number; replayed: boolean }
  | { ok: false; error: GovernorError; remaining: number };

export type SettleOutcome =
  | { ok: true; reservation: Reservation; remaining: number; replayed: boolean }
  | { ok: false; error: GovernorError };

export interface CycleInfo {
  id: number;
  startedAt: number;
  /** When a scheduled cycle rolls over; null for a cycle that runs until the next `start`. */
  endsAt: number | null;
  totalBudget: number;
}

export interface ProcessorSpend {
  id: string;
  phase: number;
  tier: string;
  model: string;
  enabled: boolean;
  weight: number;
  allocated: number;
  committed: number;
  reserved: number;
  overrun: number;
  available: number;
  items: number;
  errors: number;
  openReservations: number;
}

export interface GovernorStatus {
  now: number;
  configured: boolean;
  cycle: CycleInfo | null;
  processors: ProcessorSpend[];
  openReservations: number;
  /** Up to STATUS_RESERVATIONS open reservations, the soonest to expire first. */
  reservations: Reservation[];
}

/** A closed cycle, as kept in the bounded history. */
export interface ClosedCycle extends CycleInfo {
  endedAt: number;
  processors: {
    id: string;
    allocated: number;
    committed: number;
    overrun: number;
    items: number;
    errors: number;
  }[];
}

export type ConfigureOutcome =
  | { ok: true; config: GovernorConfig }
  | { ok: false; error: GovernorError };

export type StartOutcome = { ok: true; cycle: CycleInfo } | { ok: false; error: GovernorError };

export interface DispatchResult {
  processorId: string;
  phase: number;
  /** `ok`: ran and reported; `failed`: threw or reported nonsense (its hold released); `skipped`: not run. */
  outcome: "ok" | "failed" | "skipped";
  budget: number;
  spent: number;
  charged: number;
  overrun: number;
  items: number;
  errors: number;
  reason: string | null;
}

export type ExecuteOutcome =
  | { ok: true; cycleId: number; phases: { phase: number; results: DispatchResult[] }[] }
  | { ok: false; error: GovernorError };

/** The current cycle, stored as one record: it runs under the configuration it started with. */
interface CycleRecord extends CycleInfo {
  config: GovernorConfig;
}

type SpendRow = {
  processor: string;
  allocated: number;
  committed: number;
  overrun: number;
  items: number;
  errors: number;
};

type ReservationRow = {
  id: string;
  processor: string;
  estimate: number;
  idem_key: string;
  status: Reservation["status"];
  created_at: number;
  expires_at: number;
  actual: number | null;
  charged: number | null;
  overrun: number | null;
};

const SCHEMA = `
CREATE TABLE IF NOT EXISTS spend (
  processor TEXT PRIMARY KEY,
  allocated INTEGER NOT NULL, committed INTEGER NOT NULL, overrun INTEGER NOT NULL,
  items INTEGER NOT NULL, errors INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS reservations (
  id TEXT PRIMARY KEY,
  processor TEXT NOT NULL,
  estimate INTEGER NOT NULL,
  idem_key TEXT NOT NULL UNIQUE,
  status TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  actual INTEGER, charged INTEGER, overrun INTEGER,
  settled_seq INTEGER
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS open_by_expiry ON reservations (expires_at) WHERE status = 'open';
CREATE INDEX IF NOT EXISTS settled_by_age ON reservations (settled_seq) WHERE status <> 'open';
CREATE TABLE IF NOT EXISTS history (
  id INTEGER PRIMARY KEY,
  started_at INTEGER NOT NULL, ended_at INTEGER NOT NULL, ends_at INTEGER,
  total_budget INTEGER NOT NULL, processors TEXT NOT NULL
);`;

/** The default usage of a commit: one item, no errors. */
const NO_USAGE: Usage = Object.freeze({});

const RESERVATION_COLUMNS =
  "id, processor, estimate, idem_key, status, created_at, expires_at, actual, charged, overrun";

/**
 * A budget governor: allocates each cycle's budget across weighted processors, grants spend by
 * reserve-then-commit so concurrent spenders never overshoot, and dispatches processors phase by
 * phase to a data plane. Address it by the budget's name: `env.BUDGET_GOVERNOR.getByName("llm")`.
 *
 * Every decision runs synchronously against in-memory totals and writes its rows before the
 * method first yields, so the object's input gate serialises concurrent calls: committed plus
 * reserved never exceeds a processor's allocation, whatever the interleaving.
 *
 * @example
 * const governor = env.BUDGET_GOVERNOR.getByName("llm-spend");
 * const hold = await governor.reserve({ processorId: "summaries", estimatedCost: 2_000, idempotencyKey: jobId });
 * if (!hold.ok) return new Response(`over budget: ${hold.remaining} left`, { status: 429 });
 * const spent = await callTheModel();
 * await governor.commit(hold.reservation.id, spent);
 */
export class BudgetGovernor<Env = unknown> extends DurableObject<Env> {
  private config: GovernorConfig | null;
  private cycle: CycleRecord | null;
  /** Cache over the spend table: the current cycle's totals per processor. */
  private readonly spend = new Map<string, SpendRow>();
  /** Derived from the open reservation rows: held per processor, open count per processor. */
  private readonly reserved = new Map<string, number>();
  private readonly openByProcessor = new Map<string, number>();
  private openCount = 0;
  private settledCount = 0;
  private settledSeq = 0;
  /** No later than the stored alarm's time, or null when none is set (see `armAlarm`). */
  private alarmAt: number | null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    // Synchronous storage in the constructor: loaded before any call can run.
    ctx.storage.sql.exec(SCHEMA);
    this.config = ctx.storage.kv.get<GovernorConfig>("config") ?? null;
    this.cycle = ctx.storage.kv.get<CycleRecord>("cycle") ?? null;
    for (const row of ctx.storage.sql.exec<SpendRow>("SELECT * FROM spend")) {
      this.spend.set(row.processor, row);
    }
    for (const row of ctx.storage.sql.exec<{ processor: string; held: number; n: number }>(
      "SELECT processor, SUM(estimate) AS held, COUNT(*) AS n FROM reservations WHERE status = 'open' GROUP BY processor",
    )) {
      this.reserved.set(row.processor, row.held);
      this.openByProcessor.set(row.processor, row.n);
      this.openCount += row.n;
    }
    const settled = ctx.storage.sql
      .exec<{ n: number; seq: number | null }>(
        "SELECT COUNT(*) AS n, MAX(settled_seq) AS seq FROM reservations WHERE status <> 'open'",
      )
      .one();
    this.settledCount = settled.n;
    this.settledSeq = settled.seq ?? 0;
    this.alarmAt = this.nextAlarmTime();
  }

  /** The one source of time. Tests override it to drive expiry and rollover without sleeping. */
  protected now(): number {
    return Date.now();
  }

  /**
   * The data plane `executeCycle` dispatches to. By default the `GOVERNOR_DATA_PLANE` binding
   * in env (a service binding to a WorkerEntrypoint with a `run` method); override to plug in
   * any other.
   */
  protected processorRunner(): ProcessorRunner | undefined {
    const candidate = (this.env as Record<string, unknown> | undefined)?.[DATA_PLANE_BINDING];
    if (typeof candidate !== "object" || candidate === null || !("run" in candidate)) {
      return undefined;
    }
    return candidate as ProcessorRunner;
  }

  /**
   * Replaces the configuration: processors (id, weight, phase, tier, enabled) and the model
   * routing table. It applies from the next cycle (`start`, or a scheduled rollover); the
   * current cycle keeps the configuration it started with, so its allocations never shift
   * under reservations already granted.
   */
  configure(input: GovernorConfig): ConfigureOutcome {
    const parsed = parseConfig(input);
    if (!parsed.ok)
      return { ok: false, error: { code: "invalid_config", message: parsed.message } };
    this.ctx.storage.kv.put("config", parsed.config);
    this.config = parsed.config;
    return { ok: true, config: parsed.config };
  }

  getConfig(): GovernorConfig | null {
    return this.config;
  }

  /**
   * Closes the current cycle into history (its open reservations are released) and starts a new
   * one with `totalBudget` money units, allocated by weight. With a schedule configured, the new
   * cycle rolls over by itself after `periodSeconds`; `totalBudget` then defaults to the
   * schedule's.
   */
  async start(totalBudget?: number): Promise<StartOutcome> {
    const config = this.config;
    if (config === null) {
      return {
        ok: false,
        error: { code: "not_configured", message: "configure the governor first" },
      };
    }
    const budget = totalBudget ?? config.schedule?.totalBudget;
    if (budget === undefined) {
      return {
        ok: false,
        error: {
          code: "invalid_request",
          message: "totalBudget is required (no schedule.totalBudget is configured)",
        },
      };
    }
    const problem = problemWith(amountSchema("totalBudget"), budget);
    if (problem !== undefined)
      return { ok: false, error: { code: "invalid_request", message: problem } };
    const now = this.now();
    this.openCycle(config, budget, now);
    await this.settleAlarm();
    return { ok: true, cycle: cycleInfo(this.requireCycle()) };
  }

  /**
   * Holds `estimatedCost` of a processor's allocation until `commit`, `release` or the
   * reservation's TTL. Refused, with what remains, when it does not fit. A retry with the same
   * idempotency key returns the reservation it made (in whatever state it is now) and holds
   * nothing more; the same key with a different processor or estimate is refused.
   */
  reserve(request: ReserveRequest): ReserveOutcome | Promise<ReserveOutcome> {
    // Not `async`: a grant that needs no alarm change returns without a promise or an await.
    const problem = reserveProblem(request);
    if (problem !== undefined) {
      return { ok: false, error: { code: "invalid_request", message: problem }, remaining: 0 };
    }
    const now = this.now();
    this.rollOverIfDue(now);
    const outcome = this.reserveNow(request, now);
    if (this.rolledOver) return this.settleAlarm().then(() => outcome);
    if (outcome.ok && !outcome.replayed) {
      const at = outcome.reservation.expiresAt;
      // The stored alarm already runs at or before this hold expires: nothing to change.
      if (this.alarmAt !== null && this.alarmAt <= at) return outcome;
      return this.armAlarm(at).then(() => outcome);
    }
    return outcome;
  }

  /**
   * Records the spend of a reservation and returns the rest of its hold to the pool. Above its
   * estimate, the excess is charged from the processor's unreserved remainder as far as that
   * goes; what the budget cannot cover is recorded as overrun, never charged (see README). A
   * reservation that expired can still commit: nothing is held for it, so it is charged from the
   * remainder by the same rule. A retry with the same actual cost returns the same result.
   */
  commit(
    reservationId: string,
    actualCost: number,
    usage: Usage = NO_USAGE,
  ): SettleOutcome | Promise<SettleOutcome> {
    // Not `async`: a commit that needs no alarm change returns without a promise or an await.
    const problem = commitProblem(actualCost, usage);
    if (problem !== undefined)
      return { ok: false, error: { code: "invalid_request", message: problem } };
    const now = this.now();
    this.rollOverIfDue(now);
    const found = this.findReservation(reservationId);
    if (!found.ok) return this.afterSettle(found);
    const row = found.row;
    if (row.status === "committed") {
      if (row.actual === actualCost) return this.afterSettle(this.settled(row, true));
      return this.afterSettle(
        fail("already_settled", `reservation ${row.id} was already committed with ${row.actual}`),
      );
    }
    if (row.status === "released") {
      return this.afterSettle(
        fail("already_settled", `reservation ${row.id} was released; reserve again to spend`),
      );
    }
    const wasOpen = row.status === "open";
    const held = wasOpen ? row.estimate : 0;
    const spend = this.spendRow(row.processor);
    const result = commitSpend(this.ledgerOf(row.processor), held, actualCost);
    spend.committed = result.ledger.committed;
    spend.overrun = result.ledger.overrun;
    spend.items += usage.items ?? 1;
    spend.errors += usage.errors ?? 0;
    this.writeSpend(spend);
    if (wasOpen) this.closeHold(row);
    this.ctx.storage.sql.exec(
      "UPDATE reservations SET status = 'committed', actual = ?, charged = ?, overrun = ?, settled_seq = COALESCE(?, settled_seq) WHERE id = ?",
      actualCost,
      result.charged,
      result.overrun,
      wasOpen ? this.nextSettledSeq() : null,
      row.id,
    );
    if (wasOpen) this.forgetOldestSettled();
    const committed: ReservationRow = {
      ...row,
      status: "committed",
      actual: actualCost,
      charged: result.charged,
      overrun: result.overrun,
    };
    return this.afterSettle(this.settled(committed, false));
  }

  /**
   * Returns an open reservation's hold to the pool (the work failed or was not needed); with
   * `failed`, it counts as one error of the processor. Releasing twice, or an expired
   * reservation, changes nothing.
   */
  async release(reservationId: string, options: { failed?: boolean } = {}): Promise<SettleOutcome> {
    if (options.failed !== undefined && typeof options.failed !== "boolean") {
      return fail("invalid_request", "failed must be true or false");
    }
    this.rollOverIfDue(this.now());
    const found = this.findReservation(reservationId);
    if (!found.ok) return await this.afterSettle(found);
    const row = found.row;
    if (row.status === "committed") {
      return await this.afterSettle(
        fail("already_settled", `reservation ${row.id} was already committed`),
      );
    }
    if (row.status !== "open") return await this.afterSettle(this.settled(row, true));
    this.closeHold(row);
    if (options.failed === true) {
      const spend = this.spendRow(row.processor);
      spend.errors += 1;
      this.writeSpend(spend);
    }
    this.ctx.storage.sql.exec(
      "UPDATE reservations SET status = 'released', settled_seq = ? WHERE id = ?",
      this.nextSettledSeq(),
      row.id,
    );
    this.forgetOldestSettled();
    return await this.afterSettle(this.settled({ ...row, status: "released" }, false));
  }

  /** One reservation by id, in the current cycle. */
  getReservation(reservationId: string): SettleOutcome {
    const found = this.findReservation(reservationId);
    return found.ok ? this.settled(found.row, true) : found;
  }

  /** The current cycle, spend per processor, and the open reservations. Reads only. */
  status(): GovernorStatus {
    const now = this.now();
    const cycle = this.cycle;
    const processors: ProcessorSpend[] = [];
    for (const processor of cycle?.config.processors ?? []) {
      const tier = cycle?.config.tiers[processor.tier];
      const ledger = this.ledgerOf(processor.id);
      const spend = this.spend.get(processor.id);
      processors.push({
        id: processor.id,
        phase: processor.phase,
        tier: processor.tier,
        model: tier?.model ?? "",
        enabled: processor.enabled !== false,
        weight: processor.weight,
        allocated: ledger.allocated,
        committed: ledger.committed,
        reserved: ledger.reserved,
        overrun: ledger.overrun,
        available: available(ledger),
        items: spend?.items ?? 0,
        errors: spend?.errors ?? 0,
        openReservations: this.openByProcessor.get(processor.id) ?? 0,
      });
    }
    const reservations = this.ctx.storage.sql
      .exec<ReservationRow>(
        `SELECT ${RESERVATION_COLUMNS} FROM reservations WHERE status = 'open' ORDER BY expires_at LIMIT ?`,
        STATUS_RESERVATIONS,
      )
      .toArray()
      .map((row) => this.toReservation(row));
    return {
      now,
      configured: this.config !== null,
      cycle: cycle === null ? null : cycleInfo(cycle),
      processors,
      openReservations: this.openCount,
      reservations,
    };
  }

  /** Closed cycles, newest first: at most the configured historyLimit (default 50) are kept. */
  history(limit = MAX_HISTORY): ClosedCycle[] {
    const bounded = Number.isSafeInteger(limit)
      ? Math.min(Math.max(limit, 1), MAX_HISTORY)
      : MAX_HISTORY;
    return this.ctx.storage.sql
      .exec<{
        id: number;
        started_at: number;
        ended_at: number;
        ends_at: number | null;
        total_budget: number;
        processors: string;
      }>("SELECT * FROM history ORDER BY id DESC LIMIT ?", bounded)
      .toArray()
      .map((row) => ({
        id: row.id,
        startedAt: row.started_at,
        endedAt: row.ended_at,
        endsAt: row.ends_at,
        totalBudget: row.total_budget,
        processors: JSON.parse(row.processors) as ClosedCycle["processors"],
      }));
  }

  /**
   * Runs the current cycle on the data plane: phases in ascending order, the enabled processors
   * of a phase in parallel, each with what remains of its allocation, held by a reservation
   * while it runs. A usage report commits the spend it names; a run that throws or reports
   * nonsense releases its hold and counts an error. A phase starts only when the one before has
   * finished; if the cycle closes meanwhile, the phases left are not run.
   */
  async executeCycle(): Promise<ExecuteOutcome> {
    this.rollOverIfDue(this.now());
    const cycle = this.cycle;
    if (cycle === null) return fail("no_cycle", "no cycle has started: start one first");
    const runner = this.processorRunner();
    if (runner === undefined) {
      return fail(
        "no_data_plane",
        `no data plane: bind ${DATA_PLANE_BINDING} or override processorRunner()`,
      );
    }
    const run = crypto.randomUUID();
    const phases = new Map<number, ProcessorConfig[]>();
    for (const processor of cycle.config.processors) {
      if (processor.enabled === false) continue;
      phases.set(processor.phase, [...(phases.get(processor.phase) ?? []), processor]);
    }
    const results: { phase: number; results: DispatchResult[] }[] = [];
    for (const phase of [...phases.keys()].toSorted((a, b) => a - b)) {
      const processors = phases.get(phase) ?? [];
      if (this.cycle?.id !== cycle.id) {
        results.push({
          phase,
          results: processors.map((p) => skipped(p, "the cycle closed before this phase")),
        });
        continue;
      }
      results.push({
        phase,
        results: await Promise.all(
          processors.map((processor) => this.dispatch(runner, cycle, processor, run)),
        ),
      });
    }
    return { ok: true, cycleId: cycle.id, phases: results };
  }

  /**
   * Expires open reservations whose TTL has passed (their holds return to the pool), rolls a
   * scheduled cycle over when it is due, and re-arms itself while anything is pending. Safe to
   * run early, late or twice: it only acts on what is due at the time it runs.
   */
  override async alarm(): Promise<void> {
    // The alarm that is running is no longer stored: whatever is pending must be set again.
    this.alarmAt = null;
    const now = this.now();
    this.rollOverIfDue(now);
    this.expireDue(now);
    await this.settleAlarm();
  }

  // --- internals -------------------------------------------------------------------------------

  /** Set by a rollover during the current call, so the call re-arms the alarm afterwards. */
  private rolledOver = false;

  private reserveNow(request: ReserveRequest, now: number): ReserveOutcome {
    const cycle = this.cycle;
    if (cycle === null) {
      return {
        ok: false,
        error: { code: "no_cycle", message: "no cycle has started" },
        remaining: 0,
      };
    }
    const { processorId, estimatedCost, idempotencyKey } = request;
    // A retry is answered from its reservation before any refusal. A call that will be granted
    // skips that lookup: its insert finds the key taken instead (see below).
    const processor = cycle.config.processors.find((p) => p.id === processorId);
    if (processor === undefined) {
      return (
        this.replay(request) ??
        refuse("unknown_processor", `no processor "${processorId}" in this cycle`, 0)
      );
    }
    if (processor.enabled === false) {
      return (
        this.replay(request) ??
        refuse("processor_disabled", `processor "${processorId}" is disabled this cycle`, 0)
      );
    }
    let ledger = this.ledgerOf(processorId);
    let next = reserveSpend(ledger, estimatedCost);
    const tier = cycle.config.tiers[processor.tier];
    const maxConcurrency = tier?.maxConcurrency ?? MAX_OPEN_RESERVATIONS;
    let tierOpen = this.openOnTier(cycle, processor.tier);
    if (
      next === undefined ||
      this.openCount >= MAX_OPEN_RESERVATIONS ||
      tierOpen >= maxConcurrency
    ) {
      const replayed = this.replay(request);
      if (replayed !== undefined) return replayed;
      // Holds past their TTL may still wait for the alarm: expire them before refusing.
      if (this.expireDue(now) > 0) {
        ledger = this.ledgerOf(processorId);
        next = reserveSpend(ledger, estimatedCost);
        tierOpen = this.openOnTier(cycle, processor.tier);
      }
    }
    if (next === undefined) {
      return refuse(
        "budget_exhausted",
        `processor "${processorId}" has ${available(ledger)} left of ${ledger.allocated} this cycle`,
        available(ledger),
      );
    }
    if (this.openCount >= MAX_OPEN_RESERVATIONS) {
      return refuse(
        "too_many_reservations",
        `this governor already holds ${MAX_OPEN_RESERVATIONS} open reservations; commit or release some`,
        available(ledger),
      );
    }
    if (tierOpen >= maxConcurrency) {
      return refuse(
        "concurrency_limit",
        `tier "${processor.tier}" already has ${maxConcurrency} reservations open (its maxConcurrency)`,
        available(ledger),
      );
    }
    const ttl = (cycle.config.reservationTtlSeconds ?? DEFAULT_RESERVATION_TTL_SECONDS) * 1000;
    const row: ReservationRow = {
      id: `${cycle.id}-${crypto.randomUUID()}`,
      processor: processorId,
      estimate: estimatedCost,
      idem_key: idempotencyKey,
      status: "open",
      created_at: now,
      expires_at: now + ttl,
      actual: null,
      charged: null,
      overrun: null,
    };
    const inserted = this.ctx.storage.sql.exec(
      "INSERT INTO reservations (id, processor, estimate, idem_key, status, created_at, expires_at) VALUES (?, ?, ?, ?, 'open', ?, ?) ON CONFLICT (idem_key) DO NOTHING",
      row.id,
      row.processor,
      row.estimate,
      row.idem_key,
      row.created_at,
      row.expires_at,
    ).rowsWritten;
    // The key is taken: a retry. Nothing was written or counted; answer from its reservation.
    if (inserted === 0) return this.replay(request) ?? refuse("not_found", "lost reservation", 0);
    this.reserved.set(processorId, next.reserved);
    this.openByProcessor.set(processorId, (this.openByProcessor.get(processorId) ?? 0) + 1);
    this.openCount++;
    return {
      ok: true,
      reservation: this.toReservation(row),
      remaining: available(next),
      replayed: false,
    };
  }

  /**
   * The answer to a reserve whose idempotency key already names a reservation: that
   * reservation, or a conflict when the key was used for another processor or estimate.
   * Undefined when the key is new.
   */
  private replay(request: ReserveRequest): ReserveOutcome | undefined {
    const existing = this.ctx.storage.sql
      .exec<ReservationRow>(
        `SELECT ${RESERVATION_COLUMNS} FROM reservations WHERE idem_key = ?`,
        request.idempotencyKey,
      )
      .toArray()[0];
    if (existing === undefined) return undefined;
    const remaining = available(this.ledgerOf(existing.processor));
    if (existing.processor !== request.processorId || existing.estimate !== request.estimatedCost) {
      return refuse(
        "idempotency_conflict",
        `idempotencyKey was already used for ${existing.estimate} on processor "${existing.processor}"`,
        remaining,
      );
    }
    return { ok: true, reservation: this.toReservation(existing), remaining, replayed: true };
  }

  private async dispatch(
    runner: ProcessorRunner,
    cycle: CycleRecord,
    processor: ProcessorConfig,
    run: string,
  ): Promise<DispatchResult> {
    const budget = available(this.ledgerOf(processor.id));
    if (budget === 0) return skipped(processor, "no budget left this cycle");
    const hold = await this.reserve({
      processorId: processor.id,
      estimatedCost: budget,
      idempotencyKey: `execute:${run}:${processor.id}`,
    });
    if (!hold.ok) return skipped(processor, hold.error.message);
    const tier = cycle.config.tiers[processor.tier];
    const request: RunRequest = {
      cycleId: cycle.id,
      processorId: processor.id,
      phase: processor.phase,
      tier: processor.tier,
      model: tier?.model ?? "",
      costPerCall: tier?.costPerCall ?? 0,
      maxConcurrency: tier?.maxConcurrency ?? 1,
      budget,
      reservationId: hold.reservation.id,
    };
    let report;
    let reason: string;
    try {
      report = parseUsageReport(await runner.run(request));
      reason = "the data plane returned no valid usage report ({ spent, items, errors })";
    } catch (error) {
      reason = `the data plane failed: ${error instanceof Error ? error.message : String(error)}`;
    }
    if (report === undefined) {
      await this.release(hold.reservation.id, { failed: true });
      return { ...skipped(processor, reason), outcome: "failed", budget, errors: 1 };
    }
    const committed = await this.commit(hold.reservation.id, report.spent, {
      items: report.items,
      errors: report.errors,
    });
    return {
      processorId: processor.id,
      phase: processor.phase,
      outcome: "ok",
      budget,
      spent: report.spent,
      charged: committed.ok ? (committed.reservation.charged ?? 0) : 0,
      overrun: committed.ok ? (committed.reservation.overrun ?? 0) : 0,
      items: report.items,
      errors: report.errors,
      reason: committed.ok ? null : committed.error.message,
    };
  }

  private requireCycle(): CycleRecord {
    if (this.cycle === null) throw new Error("no cycle");
    return this.cycle;
  }

  /** Closes the current cycle (if any) into history and opens the next one. Synchronous. */
  private openCycle(
    config: GovernorConfig,
    totalBudget: number,
    startedAt: number,
    previousEndedAt = startedAt,
  ): void {
    const previous = this.cycle;
    if (previous !== null) this.closeCycle(previous, previousEndedAt);
    const period = config.schedule?.periodSeconds;
    const cycle: CycleRecord = {
      id: (previous?.id ?? 0) + 1,
      startedAt,
      endsAt: period === undefined ? null : startedAt + period * 1000,
      totalBudget,
      config,
    };
    const enabled = config.processors.filter((p) => p.enabled !== false);
    const allocations = allocate(totalBudget, enabled);
    for (const processor of config.processors) {
      const row: SpendRow = {
        processor: processor.id,
        allocated: allocations.get(processor.id) ?? 0,
        committed: 0,
        overrun: 0,
        items: 0,
        errors: 0,
      };
      this.writeSpend(row);
    }
    this.ctx.storage.kv.put("cycle", cycle);
    this.cycle = cycle;
    this.rolledOver = true;
  }

  /**
   * Writes the cycle's totals to history, then forgets its spend rows and every reservation of
   * it: open holds are released with the cycle, and idempotency keys are scoped to one cycle.
   */
  private closeCycle(cycle: CycleRecord, endedAt: number): void {
    const processors = cycle.config.processors.map((processor) => {
      const spend = this.spendRow(processor.id);
      return {
        id: processor.id,
        allocated: spend.allocated,
        committed: spend.committed,
        overrun: spend.overrun,
        items: spend.items,
        errors: spend.errors,
      };
    });
    const sql = this.ctx.storage.sql;
    sql.exec(
      "INSERT INTO history (id, started_at, ended_at, ends_at, total_budget, processors) VALUES (?, ?, ?, ?, ?, ?)",
      cycle.id,
      cycle.startedAt,
      endedAt,
      cycle.endsAt,
      cycle.totalBudget,
      JSON.stringify(processors),
    );
    const keep = cycle.config.historyLimit ?? DEFAULT_HISTORY;
    sql.exec("DELETE FROM history WHERE id <= ?", cycle.id - keep);
    sql.exec("DELETE FROM spend");
    sql.exec("DELETE FROM reservations");
    this.spend.clear();
    this.reserved.clear();
    this.openByProcessor.clear();
    this.openCount = 0;
    this.settledCount = 0;
  }

  /** A scheduled cycle whose end has passed rolls over into the period that holds `now`. */
  private rollOverIfDue(now: number): void {
    const cycle = this.cycle;
    if (cycle === null || cycle.endsAt === null || now < cycle.endsAt) return;
    const config = this.config ?? cycle.config;
    const period = Math.max(1, cycle.endsAt - cycle.startedAt);
    // Asleep for several periods: start at the boundary of the current one, not the first missed.
    const startedAt = cycle.endsAt + Math.floor((now - cycle.endsAt) / period) * period;
    this.openCycle(
      config,
      config.schedule?.totalBudget ?? cycle.totalBudget,
      startedAt,
      cycle.endsAt,
    );
  }

  /** Expires every open reservation whose TTL has passed; returns how many. */
  private expireDue(now: number): number {
    const due = this.ctx.storage.sql
      .exec<ReservationRow>(
        `SELECT ${RESERVATION_COLUMNS} FROM reservations WHERE status = 'open' AND expires_at <= ?`,
        now,
      )
      .toArray();
    for (const row of due) {
      this.closeHold(row);
      this.ctx.storage.sql.exec(
        "UPDATE reservations SET status = 'expired', settled_seq = ? WHERE id = ?",
        this.nextSettledSeq(),
        row.id,
      );
      this.forgetOldestSettled();
    }
    return due.length;
  }

  /** An open reservation stops holding: its estimate goes back to its processor's pool. */
  private closeHold(row: ReservationRow): void {
    const ledger = releaseHold(this.ledgerOf(row.processor), row.estimate);
    this.reserved.set(row.processor, ledger.reserved);
    this.openByProcessor.set(row.processor, (this.openByProcessor.get(row.processor) ?? 1) - 1);
    this.openCount--;
  }

  private nextSettledSeq(): number {
    this.settledCount++;
    return ++this.settledSeq;
  }

  /** Keeps at most MAX_SETTLED_RESERVATIONS settled rows: the oldest go first. */
  private forgetOldestSettled(): void {
    while (this.settledCount > MAX_SETTLED_RESERVATIONS) {
      this.ctx.storage.sql.exec(
        "DELETE FROM reservations WHERE id = (SELECT id FROM reservations WHERE status <> 'open' ORDER BY settled_seq LIMIT 1)",
      );
      this.settledCount--;
    }
  }

  private findReservation(
    reservationId: string,
  ): { ok: true; row: ReservationRow } | { ok: false; error: GovernorError } {
    if (
      typeof reservationId !== "string" ||
      reservationId.length === 0 ||
      reservationId.length > 128
    ) {
      return fail("invalid_request", "reservationId must be a string of 1-128 characters");
    }
    const row = this.ctx.storage.sql
      .exec<ReservationRow>(
        `SELECT ${RESERVATION_COLUMNS} FROM reservations WHERE id = ?`,
        reservationId,
      )
      .toArray()[0];
    if (row !== undefined) return { ok: true, row };
    const cycleId = cycleOf(reservationId);
    if (
      this.cycle !== null &&
      Number.isSafeInteger(cycleId) &&
      cycleId > 0 &&
      cycleId < this.cycle.id
    ) {
      return fail(
        "cycle_closed",
        `reservation ${reservationId} belonged to cycle ${cycleId}, which has closed; its hold was released`,
      );
    }
    return fail("not_found", `no reservation ${reservationId} in the current cycle`);
  }

  private settled(row: ReservationRow, replayed: boolean): SettleOutcome {
    return {
      ok: true,
      reservation: this.toReservation(row),
      remaining: available(this.ledgerOf(row.processor)),
      replayed,
    };
  }

  /** Re-arms the alarm when this call rolled the cycle over; otherwise returns at once. */
  private afterSettle<T>(outcome: T): T | Promise<T> {
    if (this.rolledOver) return this.settleAlarm().then(() => outcome);
    return outcome;
  }

  private toReservation(row: ReservationRow): Reservation {
    return {
      id: row.id,
      cycleId: cycleOf(row.id),
      processorId: row.processor,
      estimatedCost: row.estimate,
      status: row.status,
      createdAt: row.created_at,
      expiresAt: row.expires_at,
      actualCost: row.actual,
      charged: row.charged,
      overrun: row.overrun,
    };
  }

  private ledgerOf(processorId: string): Ledger {
    const spend = this.spend.get(processorId);
    return {
      allocated: spend?.allocated ?? 0,
      committed: spend?.committed ?? 0,
      reserved: this.reserved.get(processorId) ?? 0,
      overrun: spend?.overrun ?? 0,
    };
  }

  private spendRow(processorId: string): SpendRow {
    let row = this.spend.get(processorId);
    if (row === undefined) {
      row = { processor: processorId, allocated: 0, committed: 0, overrun: 0, items: 0, errors: 0 };
      this.spend.set(processorId, row);
    }
    return row;
  }

  private writeSpend(row: SpendRow): void {
    this.ctx.storage.sql.exec(
      `INSERT INTO spend (processor, allocated, committed, overrun, items, errors) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (processor) DO UPDATE SET allocated = excluded.allocated, committed = excluded.committed,
         overrun = excluded.overrun, items = excluded.items, errors = excluded.errors`,
      row.processor,
      row.allocated,
      row.committed,
      row.overrun,
      row.items,
      row.errors,
    );
    this.spend.set(row.processor, row);
  }

  private openOnTier(cycle: CycleRecord, tier: string): number {
    let open = 0;
    for (const processor of cycle.config.processors) {
      if (processor.tier === tier) open += this.openByProcessor.get(processor.id) ?? 0;
    }
    return open;
  }

  /** When the alarm must next run: the soonest open expiry or the scheduled rollover. */
  private nextAlarmTime(): number | null {
    const soonest = this.ctx.storage.sql
      .exec<{ at: number | null }>(
        "SELECT MIN(expires_at) AS at FROM reservations WHERE status = 'open'",
      )
      .one().at;
    const endsAt = this.cycle?.endsAt ?? null;
    if (soonest === null) return endsAt;
    return endsAt === null ? soonest : Math.min(soonest, endsAt);
  }

  /**
   * Keeps the stored alarm at or before `at`. A later time needs no change: the alarm re-arms
   * itself for whatever is pending when it runs.
   */
  private async armAlarm(at: number): Promise<void> {
    if (this.alarmAt !== null && this.alarmAt <= at) return;
    this.alarmAt = at;
    await this.ctx.storage.setAlarm(at);
  }

  /** Sets the alarm to exactly what is pending now, or deletes it when nothing is. */
  private async settleAlarm(): Promise<void> {
    this.rolledOver = false;
    const next = this.nextAlarmTime();
    if (next === this.alarmAt) return;
    this.alarmAt = next;
    if (next === null) await this.ctx.storage.deleteAlarm();
    else await this.ctx.storage.setAlarm(next);
  }
}

/** The cycle a reservation id names: ids are `<cycle>-<uuid>`. */
function cycleOf(reservationId: string): number {
  const dash = reservationId.indexOf("-");
  return Number(dash < 0 ? reservationId : reservationId.slice(0, dash));
}

function cycleInfo(cycle: CycleRecord): CycleInfo {
  return {
    id: cycle.id,
    startedAt: cycle.startedAt,
    endsAt: cycle.endsAt,
    totalBudget: cycle.totalBudget,
  };
}

function fail(code: GovernorErrorCode, message: string): { ok: false; error: GovernorError } {
  return { ok: false, error: { code, message } };
}

function refuse(code: GovernorErrorCode, message: string, remaining: number): ReserveOutcome {
  return { ok: false, error: { code, message }, remaining };
}

function skipped(processor: ProcessorConfig, reason: string): DispatchResult {
  return {
    processorId: processor.id,
    phase: processor.phase,
    outcome: "skipped",
    budget: 0,
    spent: 0,
    charged: 0,
    overrun: 0,
    items: 0,
    errors: 0,
    reason,
  };
}
