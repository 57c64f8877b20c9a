/**
 * The Checkpoint Durable Object: one per run. Each step is a SQL row; the run's own record is
 * one sync KV entry. Thin glue between the pure decisions of `retry.ts`, the validation of
 * `definition.ts`, and the object's storage and alarm.
 */
import { DurableObject } from "cloudflare:workers";
import {
  MAX_OUTPUT_BYTES,
  MAX_PROGRESS_BYTES,
  errorText,
  parseAttempt,
  parseName,
  parseDefinition,
  parseWith,
  runIdSchema,
  stepIdSchema,
  toJson,
  workerSchema,
  type Json,
  type JsonValue,
  type RunOptions,
  type StepDefinition,
} from "./definition";
import { decideFailure } from "./retry";

export type RunStatus = "running" | "completed" | "failed" | "cancelled";

/**
 * A step as `status()` reports it:
 * - `pending`: never started;
 * - `running`: leased to a worker until `leaseExpiresAt`;
 * - `waiting`: a try failed; claimable again from `retryAt`;
 * - `completed`: done, never to run again;
 * - `failed`: its failure failed the run;
 * - `interrupted`: it was running or waiting when the run failed or was cancelled.
 */
export type StepState = "pending" | "running" | "waiting" | "completed" | "failed" | "interrupted";

export type CheckpointErrorCode =
  | "invalid_input"
  | "too_large"
  | "no_run"
  | "run_exists"
  | "not_found"
  | "stale_attempt"
  | "run_not_running";

/** Why an operation did nothing. Returned, never thrown, so a caller's mistake is an answer. */
export interface CheckpointError {
  code: CheckpointErrorCode;
  message: string;
}

export type Refusal = { ok: false; error: CheckpointError };

/** The run as a whole. */
export interface RunSummary {
  runId: string;
  status: RunStatus;
  stepCount: number;
  parallelism: number;
  createdAt: number;
  updatedAt: number;
  /** When it completed, failed or was cancelled; null while running. */
  finishedAt: number | null;
  /** When a finished run deletes itself; null while running. */
  purgeAt: number | null;
  /** The step whose failure failed the run, while it is failed. */
  failedStep: string | null;
  /** How many times the run was resumed after failing. */
  resumes: number;
}

/** A lease on one step: do the work, then `complete` or `fail` it with this `attempt`. */
export interface ClaimedStep {
  id: string;
  position: number;
  /** This lease's number: every call about it must carry it, and a later lease's is larger. */
  attempt: number;
  input: Json;
  /** The last progress a heartbeat recorded, from this step's earlier attempts; null if none. */
  progress: Json;
  /** Heartbeat before then, or the step is handed to someone else. */
  leaseExpiresAt: number;
}

export type ClaimOutcome =
  | { ok: true; step: ClaimedStep }
  | {
      ok: true;
      step: null;
      /** `running` means "not now": another step is running or waiting; ask again later. */
      status: RunStatus;
      /** While running: the earliest a claim could succeed without another step finishing (a retry or a lease expiry); null if that depends on a running step. */
      nextClaimAt: number | null;
    }
  | Refusal;

export type HeartbeatOutcome = { ok: true; leaseExpiresAt: number } | Refusal;

/** The same for every call that completes the same attempt, however often it is repeated. */
export type CompleteOutcome =
  | { ok: true; stepId: string; attempt: number; completedAt: number }
  | Refusal;

export type FailOutcome =
  | {
      ok: true;
      stepId: string;
      attempt: number;
      /** When the step may be claimed again; null when this failure failed the run. */
      retryAt: number | null;
      runStatus: RunStatus;
    }
  | Refusal;

export type CreateOutcome = { ok: true; created: boolean; run: RunSummary } | Refusal;
export type RunOutcome = { ok: true; run: RunSummary } | Refusal;

export interface StepStatus {
  id: string;
  position: number;
  state: StepState;
  /** Attempts ever started (the current or last lease's number). */
  attempts: number;
  /** Attempts counted against maxAttempts since the run started or was last resumed. */
  tries: number;
  maxAttempts: number;
  /** The worker holding or last holding it. */
  worker: string | null;
  firstStartedAt: number | null;
  startedAt: number | null;
  heartbeatAt: number | null;
  leaseExpiresAt: number | null;
  retryAt: number | null;
  /** When it completed or failed. */
  finishedAt: number | null;
  lastError: string | null;
  progress: Json;
}

/** One step with its input and output (`step(id)`). */
export interface StepDetail extends StepStatus {
  input: Json;
  output: Json;
}

export interface RunStatusView extends RunSummary {
  counts: Record<StepState, number>;
  /** Steps in order, from position `after + 1`, at most `limit` of them. */
  steps: StepStatus[];
  /** Pass as `after` for the next page; null on the last. */
  nextAfter: number | null;
}

export interface StatusOptions {
  /** Steps after this position (default -1: from the first). */
  after?: number;
  /** At most this many steps (default and most: MAX_STATUS_PAGE). */
  limit?: number;
}

/** Steps one `status()` call lists. */
export const MAX_STATUS_PAGE = 1_000;

/** How a step row's `state` column reads. */
type RowState = "queued" | "leased" | "completed" | "failed" | "stopped";

interface RunRecord {
  runId: string;
  status: RunStatus;
  /** SHA-256 of the resolved definition, to tell a retried create from a conflicting one. */
  definition: string;
  stepCount: number;
  parallelism: number;
  retentionMs: number;
  createdAt: number;
  updatedAt: number;
  finishedAt: number | null;
  purgeAt: number | null;
  failedStep: string | null;
  resumes: number;
}

type StepRow = {
  position: number;
  id: string;
  state: RowState;
  due_at: number;
  attempt: number;
  tries: number;
  worker: string | null;
  progress: string | null;
  error: string | null;
  lease_ms: number;
  max_attempts: number;
  initial_backoff_ms: number;
  multiplier: number;
  max_backoff_ms: number;
  first_started_at: number | null;
  started_at: number | null;
  heartbeat_at: number | null;
  finished_at: number | null;
};

const RUN_KEY = "run";
const STEP_COLUMNS =
  "position, id, state, due_at, attempt, tries, worker, progress, error, lease_ms, max_attempts, " +
  "initial_backoff_ms, multiplier, max_backoff_ms, first_started_at, started_at, heartbeat_at, finished_at";

/** Leases a step: the earliest due retry if any (from the index), else pending position ?3. */
const CLAIM_RETRY_OR_PENDING = `
UPDATE steps SET state = 'leased', due_at = ?1 + lease_ms, attempt = attempt + 1,
  tries = tries + 1, worker = ?2, started_at = ?1,
  first_started_at = coalesce(first_started_at, ?1), heartbeat_at = NULL
WHERE state = 'queued' AND position = coalesce(
  (SELECT position FROM steps WHERE due_at > 0 AND state = 'queued' AND due_at <= ?1
   ORDER BY due_at, position LIMIT 1),
  ?3)
RETURNING id, position, attempt, input, progress, due_at`;
/** The same with no retry waiting: pending position ?3, without looking for a retry. */
const CLAIM_PENDING = `
UPDATE steps SET state = 'leased', due_at = ?1 + lease_ms, attempt = attempt + 1,
  tries = tries + 1, worker = ?2, started_at = ?1,
  first_started_at = coalesce(first_started_at, ?1), heartbeat_at = NULL
WHERE state = 'queued' AND position = ?3
RETURNING id, position, attempt, input, progress, due_at`;

/**
 * `due_at` is the one time a row waits for: a leased step's lease expiry, a waiting step's
 * retry time, and 0 for every other row (pending, completed, failed, interrupted). The index
 * holds only the rows with a time (leased and waiting ones, at most `parallelism` of them), so a
 * claim or an alarm finds the earliest due one in O(log n), and a pending step's claim and a
 * leased step's completion each write one index entry (in, then out) instead of moving one.
 * Pending steps need no index: they are never-started positions `nextPending` onwards.
 * Every query meant to use the index repeats its condition, `due_at > 0`, word for word.
 */
const INDEX = `
CREATE INDEX IF NOT EXISTS steps_due ON steps (state, due_at, position) WHERE due_at > 0;
DROP INDEX IF EXISTS steps_by_state;
`;
const SCHEMA = `
CREATE TABLE IF NOT EXISTS steps (
  position INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  state TEXT NOT NULL,
  due_at INTEGER NOT NULL,
  attempt INTEGER NOT NULL,
  tries INTEGER NOT NULL,
  worker TEXT,
  input TEXT NOT NULL,
  output TEXT,
  progress TEXT,
  error TEXT,
  lease_ms INTEGER NOT NULL,
  max_attempts INTEGER NOT NULL,
  initial_backoff_ms INTEGER NOT NULL,
  multiplier REAL NOT NULL,
  max_backoff_ms INTEGER NOT NULL,
  first_started_at INTEGER,
  started_at INTEGER,
  heartbeat_at INTEGER,
  finished_at INTEGER
);
${INDEX}`;

/**
 * Checkpoint and resume for one long-running process (a run) made of steps, one object per run:
 * `env.CHECKPOINTS.getByName(runId)`. Workers claim steps as leases, heartbeat while they work,
 * and complete or fail them; failed tries are retried with backoff, expired leases are
 * reclaimed, and a completed step never runs again.
 *
 * Every method decides and writes synchronously (SQLite rows), before its first await, so
 * concurrent calls are serialised by the object's input gate: two claims never get the same
 * step, and a completion is judged against the lease as it is at that moment.
 *
 * @example
 * const run = env.CHECKPOINTS.getByName(runId);
 * await run.create(runId, [{ id: "a", input: 1 }, { id: "b", input: 2 }]);
 * const claim = await run.claim("worker-1");
 * if (claim.ok && claim.step) await run.complete(claim.step.id, claim.step.attempt, { done: true });
 */
export class Checkpoint extends DurableObject<unknown> {
  /** Cache over the one stored run record; null before `create` and after the run is purged. */
  private run: RunRecord | null;
  /** Steps leased or waiting to retry: what `parallelism` limits. Recounted on load and resume. */
  private active = 0;
  /**
   * No later than the stored alarm, or null when none is needed: the stored alarm is kept at or
   * before the earliest lease expiry (or the purge time), so on load the earliest expiry is a
   * safe stand-in and a new object's first claim need not read the alarm.
   */
  private alarmAt: number | null = null;
  /**
   * No later than the earliest lease expiry (Infinity with no lease): until then no lease can
   * have expired, so `settle` need not look. Claims lower it; heartbeats only move leases later.
   */
  private leaseFloor = Number.POSITIVE_INFINITY;
  /** The earliest alarm the current call needs, armed before it returns. */
  private wantAlarm: number | null = null;
  /**
   * The first pending (never started) step's position; `stepCount` when none is left. Claims
   * take pending steps in order and nothing makes a step pending again, so the pending steps are
   * exactly the positions from here on. Rebuilt on load.
   */
  private nextPending = 0;
  /**
   * Whether any step may be waiting to retry. While none is, a claim takes the next pending step
   * without looking for a due retry. True may be stale (the look then finds none); false never is.
   */
  private retriesWaiting = false;
  /**
   * The leased steps' positions by id (at most `parallelism`): a completion finds its row by the
   * table's key instead of through the id index. Rebuilt on load from the due index.
   */
  private readonly leased = new Map<string, number>();

  constructor(ctx: DurableObjectState, env: unknown) {
    super(ctx, env);
    // Synchronous reads, so no call can arrive before them; reading creates no storage.
    this.run = ctx.storage.kv.get<RunRecord>(RUN_KEY) ?? null;
    if (this.run !== null) {
      // Objects created before the index was partial get the new one (and lose the old) here.
      ctx.storage.sql.exec(INDEX);
      this.nextPending = this.firstPending(this.run.stepCount);
      this.active = this.countActive();
      this.retriesWaiting = this.anyWaiting();
      for (const row of ctx.storage.sql.exec<{ id: string; position: number }>(
        "SELECT id, position FROM steps WHERE due_at > 0 AND state = 'leased'",
      )) {
        this.leased.set(row.id, row.position);
      }
      this.alarmAt = this.run.status === "running" ? this.earliestLeaseExpiry() : this.run.purgeAt;
      this.leaseFloor = this.earliestLeaseExpiry() ?? Number.POSITIVE_INFINITY;
    }
  }

  /** The one source of time. Tests override it to drive leases and backoff without sleeping. */
  protected now(): number {
    return Date.now();
  }

  /**
   * Starts the run: its steps, in order, each `pending`. `runId` must be this object's name.
   * Repeating the same create (a retry after a lost answer) changes nothing and answers
   * `created: false`; a different definition under a live run's id is refused.
   */
  async create(
    runId: string,
    steps: StepDefinition[],
    options: RunOptions = {},
  ): Promise<CreateOutcome> {
    const id = parseWith(runIdSchema, runId);
    if (!id.ok) return refuse("invalid_input", id.message);
    const name = this.ctx.id.name;
    if (name !== undefined && name !== id.value) {
      return refuse(
        "invalid_input",
        `runId must be this object's name ("${name}"): one object per run`,
      );
    }
    const definition = parseDefinition(steps, options);
    if (!definition.ok) return refuseInput(definition);
    // Hashed before anything is read: the check and the write below happen with no await between.
    const digest = await sha256(definition.value.canonical);

    const now = this.now();
    this.settle(now);
    const existing = this.run;
    if (existing !== null) {
      if (existing.definition === digest)
        return { ok: true, created: false, run: summary(existing) };
      return refuse("run_exists", `run "${existing.runId}" already exists with another definition`);
    }
    const { sql } = this.ctx.storage;
    this.ctx.storage.transactionSync(() => {
      sql.exec(SCHEMA);
      definition.value.steps.forEach((step, position) => {
        sql.exec(
          `INSERT INTO steps (position, id, state, due_at, attempt, tries, input, lease_ms, max_attempts,
             initial_backoff_ms, multiplier, max_backoff_ms) VALUES (?, ?, 'queued', 0, 0, 0, ?, ?, ?, ?, ?, ?)`,
          position,
          step.id,
          step.inputJson,
          step.leaseTimeoutMs,
          step.retry.maxAttempts,
          step.retry.initialBackoffMs,
          step.retry.multiplier,
          step.retry.maxBackoffMs,
        );
      });
      this.storeRun({
        runId: id.value,
        status: "running",
        definition: digest,
        stepCount: definition.value.steps.length,
        parallelism: definition.value.parallelism,
        retentionMs: definition.value.retentionMs,
        createdAt: now,
        updatedAt: now,
        finishedAt: null,
        purgeAt: null,
        failedStep: null,
        resumes: 0,
      });
    });
    this.active = 0;
    this.nextPending = 0;
    return { ok: true, created: true, run: summary(this.runRecord()) };
  }

  /**
   * Leases the next step to `worker`: a step whose retry is due first, else the next pending
   * step in order if fewer than `parallelism` steps are started and not completed. With nothing
   * to hand out it answers `step: null` with the run's status and when to ask again.
   */
  claim(worker: string): ClaimOutcome | Promise<ClaimOutcome> {
    const who = parseName(workerSchema, worker);
    if (!who.ok) return refuse("invalid_input", who.message);
    const now = this.now();
    this.settle(now);
    const run = this.run;
    if (run === null) return noRun();
    if (run.status !== "running")
      return this.done({ ok: true, step: null, status: run.status, nextClaimAt: null });

    // One statement picks and leases the step: a due retry first (oldest due first, from the
    // index), else, with a slot free, the first pending step, whose position is known.
    const row = this.ctx.storage.sql
      .exec<{
        id: string;
        position: number;
        attempt: number;
        input: string;
        progress: string | null;
        due_at: number;
      }>(
        this.retriesWaiting ? CLAIM_RETRY_OR_PENDING : CLAIM_PENDING,
        now,
        who.value,
        this.active < run.parallelism && this.nextPending < run.stepCount ? this.nextPending : null,
      )
      .toArray()[0];
    if (row === undefined) {
      return this.done({
        ok: true,
        step: null,
        status: "running",
        nextClaimAt: this.nextClaimAt(now),
      });
    }
    this.leased.set(row.id, row.position);
    // A step's first attempt is the next pending step starting: one more started step.
    if (row.attempt === 1) {
      this.active++;
      this.nextPending = row.position + 1;
    } else {
      // A retry was taken: maybe the last one waiting.
      this.retriesWaiting = this.anyWaiting();
    }
    const { attempt, due_at: leaseExpiresAt } = row;
    this.wake(leaseExpiresAt);
    if (leaseExpiresAt < this.leaseFloor) this.leaseFloor = leaseExpiresAt;
    return this.done({
      ok: true,
      step: {
        id: row.id,
        position: row.position,
        attempt,
        input: JSON.parse(row.input) as Json,
        progress: parseNullable(row.progress),
        leaseExpiresAt,
      },
    });
  }

  /**
   * Extends the lease of `attempt` by the step's lease timeout from now, and records `progress`
   * when given (a later attempt of the step receives it with its claim).
   */
  async heartbeat(
    stepId: string,
    attempt: number,
    progress?: JsonValue,
  ): Promise<HeartbeatOutcome> {
    const ids = parseStepAndAttempt(stepId, attempt);
    if (!ids.ok) return ids;
    let progressJson: string | undefined;
    if (progress !== undefined) {
      const parsed = toJson(progress, "progress", MAX_PROGRESS_BYTES);
      if (!parsed.ok) return refuseInput(parsed);
      progressJson = parsed.value;
    }
    const now = this.now();
    this.settle(now);
    const lease = this.currentLease(ids.value.stepId, ids.value.attempt);
    if (!lease.ok) return this.done(lease);
    const leaseExpiresAt = now + lease.row.lease_ms;
    this.ctx.storage.sql.exec(
      "UPDATE steps SET due_at = ?, heartbeat_at = ?, progress = coalesce(?, progress) WHERE position = ?",
      leaseExpiresAt,
      now,
      progressJson ?? null,
      lease.row.position,
    );
    return this.done({ ok: true, leaseExpiresAt });
  }

  /**
   * Completes the step with `output` (any JSON value up to MAX_OUTPUT_BYTES; default null) if
   * `attempt` holds its lease. Completing the same attempt again changes nothing and answers the
   * same; any other attempt is refused (`stale_attempt`). The last step completes the run.
   */
  complete(
    stepId: string,
    attempt: number,
    output?: JsonValue,
  ): CompleteOutcome | Promise<CompleteOutcome> {
    const ids = parseStepAndAttempt(stepId, attempt);
    if (!ids.ok) return ids;
    // Measured before anything is read or written: a refused output leaves no trace.
    const outputJson = toJson(output ?? null, "output", MAX_OUTPUT_BYTES);
    if (!outputJson.ok) return refuseInput(outputJson);
    const now = this.now();
    this.settle(now);
    if (this.run === null) return noRun();
    const { sql } = this.ctx.storage;
    // The usual case in one statement: the attempt holds the lease (an expired lease was settled
    // above, and a run that is not running has no leases), so it completes. The row is found by
    // the table's key: from memory while leased, else through the id index.
    const position = this.leased.get(ids.value.stepId) ?? this.stepRow(ids.value.stepId)?.position;
    const completed =
      position !== undefined &&
      sql.exec(
        `UPDATE steps SET state = 'completed', due_at = 0, output = ?, finished_at = ?
         WHERE position = ? AND id = ? AND state = 'leased' AND attempt = ?`,
        outputJson.value,
        now,
        position,
        ids.value.stepId,
        ids.value.attempt,
      ).rowsWritten > 0;
    if (!completed) {
      // Why not: a repeat of a completion (answered as the first was), or a refusal.
      const row = this.stepRow(ids.value.stepId);
      if (row === undefined) return this.done(noStep(ids.value.stepId));
      if (row.state === "completed" && row.attempt === ids.value.attempt) {
        return this.done({
          ok: true,
          stepId: row.id,
          attempt: row.attempt,
          completedAt: row.finished_at ?? 0,
        });
      }
      const lease = this.leaseOf(row, ids.value.attempt);
      return this.done(lease.ok ? refuse("stale_attempt", "no lease") : lease);
    }
    this.leased.delete(ids.value.stepId);
    this.active--;
    // Unfinished steps are the started ones (leased or waiting) and the pending ones.
    if (this.active === 0 && this.nextPending >= this.runRecord().stepCount) {
      this.finishRun("completed", now, null);
    }
    return this.done({
      ok: true,
      stepId: ids.value.stepId,
      attempt: ids.value.attempt,
      completedAt: now,
    });
  }

  /**
   * Ends `attempt` as a failure. A retryable one (the default) with tries left makes the step
   * claimable again after its backoff; a non-retryable one, or the last try, fails the run.
   * `error` is kept to its first MAX_ERROR_LENGTH characters.
   */
  async fail(
    stepId: string,
    attempt: number,
    error: string,
    retryable = true,
  ): Promise<FailOutcome> {
    const ids = parseStepAndAttempt(stepId, attempt);
    if (!ids.ok) return ids;
    if (typeof retryable !== "boolean")
      return refuse("invalid_input", "retryable must be a boolean");
    const message = errorText(error);
    const now = this.now();
    this.settle(now);
    const lease = this.currentLease(ids.value.stepId, ids.value.attempt);
    if (!lease.ok) return this.done(lease);
    const retryAt = this.failTry(lease.row, now, message, retryable);
    return this.done({
      ok: true,
      stepId: lease.row.id,
      attempt: lease.row.attempt,
      retryAt,
      runStatus: this.runRecord().status,
    });
  }

  /**
   * Stops the run for good: leases are revoked (their workers' calls are refused from now on)
   * and nothing more is handed out. Cancelling a cancelled run changes nothing; a completed run
   * cannot be cancelled.
   */
  async cancel(): Promise<RunOutcome> {
    const now = this.now();
    this.settle(now);
    const run = this.run;
    if (run === null) return noRun();
    if (run.status === "completed") return this.done(notRunning(run));
    if (run.status !== "cancelled") this.finishRun("cancelled", now, run.failedStep);
    return this.done({ ok: true, run: summary(this.runRecord()) });
  }

  /**
   * Resumes a failed run: the failed step and the interrupted ones are claimable at once, and
   * every unfinished step gets a fresh count of tries. Completed steps stay completed. Resuming a
   * running run changes nothing.
   */
  async resume(): Promise<RunOutcome> {
    const now = this.now();
    this.settle(now);
    const run = this.run;
    if (run === null) return noRun();
    if (run.status === "running") return this.done({ ok: true, run: summary(run) });
    if (run.status !== "failed") return this.done(notRunning(run));
    const { sql } = this.ctx.storage;
    sql.exec(
      "UPDATE steps SET state = 'queued', due_at = ?, tries = 0 WHERE state IN ('failed', 'stopped')",
      now,
    );
    this.storeRun({
      ...run,
      status: "running",
      updatedAt: now,
      finishedAt: null,
      purgeAt: null,
      failedStep: null,
      resumes: run.resumes + 1,
    });
    this.active = this.countActive();
    this.retriesWaiting = this.anyWaiting();
    return this.done({ ok: true, run: summary(this.runRecord()) });
  }

  /** The run and a page of its steps (state, attempts, timings; no inputs or outputs), or null. */
  async status(options: StatusOptions = {}): Promise<RunStatusView | null> {
    const after = options.after ?? -1;
    const limit = options.limit ?? MAX_STATUS_PAGE;
    if (
      !Number.isSafeInteger(after) ||
      !Number.isSafeInteger(limit) ||
      limit < 1 ||
      limit > MAX_STATUS_PAGE
    ) {
      throw new RangeError(`after must be a whole number, limit 1 to ${MAX_STATUS_PAGE}`);
    }
    const now = this.now();
    this.settle(now);
    const run = this.run;
    if (run === null) return this.done(null);
    const { sql } = this.ctx.storage;
    const counts: Record<StepState, number> = {
      pending: 0,
      running: 0,
      waiting: 0,
      completed: 0,
      failed: 0,
      interrupted: 0,
    };
    for (const group of sql.exec<{ state: RowState; started: number; n: number }>(
      "SELECT state, due_at > 0 AS started, count(*) AS n FROM steps GROUP BY state, started",
    )) {
      counts[displayState(group.state, group.started)] += group.n;
    }
    const rows = sql
      .exec<StepRow>(
        `SELECT ${STEP_COLUMNS} FROM steps WHERE position > ? ORDER BY position LIMIT ?`,
        after,
        limit,
      )
      .toArray();
    const last = rows.at(-1);
    return this.done({
      ...summary(run),
      counts,
      steps: rows.map(stepStatus),
      nextAfter: last !== undefined && last.position < run.stepCount - 1 ? last.position : null,
    });
  }

  /** One step with its input and output, or null when there is no such step. */
  async step(stepId: string): Promise<StepDetail | null> {
    const id = parseWith(stepIdSchema, stepId);
    if (!id.ok) return null;
    this.settle(this.now());
    if (this.run === null) return this.done(null);
    const row = this.ctx.storage.sql
      .exec<StepRow & { input: string; output: string | null }>(
        `SELECT ${STEP_COLUMNS}, input, output FROM steps WHERE id = ?`,
        id.value,
      )
      .toArray()[0];
    if (row === undefined) return this.done(null);
    return this.done({
      ...stepStatus(row),
      input: JSON.parse(row.input) as Json,
      output: parseNullable(row.output),
    });
  }

  /**
   * Reclaims expired leases (each a failed try: retried after its backoff, or the end of the
   * run), and deletes a finished run once its retention has passed. Safe to run early, late or
   * twice: what it does depends only on the time, and it re-arms itself while work remains.
   */
  override async alarm(): Promise<void> {
    this.alarmAt = null;
    const now = this.now();
    this.settle(now);
    const run = this.run;
    if (run === null) {
      await this.ctx.storage.deleteAll();
      return;
    }
    if (run.status !== "running" && run.purgeAt !== null && run.purgeAt <= now) {
      this.run = null;
      this.active = 0;
      this.wantAlarm = null;
      await this.ctx.storage.deleteAll();
      return;
    }
    const next = run.status === "running" ? this.earliestLeaseExpiry() : run.purgeAt;
    if (next !== null) this.wake(next);
    await this.done(undefined);
  }

  // ---- internals ----

  /**
   * Applies every lease that expired by `now`, oldest first, as a failed try at its expiry time,
   * so the outcome is the same whether the alarm, a claim or a read notices it first.
   */
  private settle(now: number): void {
    if (now < this.leaseFloor) return;
    const { sql } = this.ctx.storage;
    while (this.run?.status === "running") {
      const row = sql
        .exec<StepRow>(
          `SELECT ${STEP_COLUMNS} FROM steps WHERE due_at > 0 AND state = 'leased' AND due_at <= ?
           ORDER BY due_at, position LIMIT 1`,
          now,
        )
        .toArray()[0];
      if (row === undefined) break;
      this.failTry(
        row,
        row.due_at,
        `lease expired: no heartbeat from ${row.worker ?? "the worker"}`,
        true,
      );
    }
    this.leaseFloor = this.earliestLeaseExpiry() ?? Number.POSITIVE_INFINITY;
  }

  /** Ends a leased try as failed at `at`; returns when the step may be claimed again, or null. */
  private failTry(row: StepRow, at: number, message: string, retryable: boolean): number | null {
    const outcome = decideFailure(policyOf(row), row.tries, at, retryable);
    const { sql } = this.ctx.storage;
    this.leased.delete(row.id);
    if (outcome.kind === "retry") {
      this.retriesWaiting = true;
      sql.exec(
        "UPDATE steps SET state = 'queued', due_at = ?, error = ? WHERE position = ?",
        outcome.retryAt,
        message,
        row.position,
      );
      return outcome.retryAt;
    }
    sql.exec(
      "UPDATE steps SET state = 'failed', due_at = 0, error = ?, finished_at = ? WHERE position = ?",
      message,
      at,
      row.position,
    );
    this.finishRun("failed", at, row.id);
    return null;
  }

  /** The run ends: leases still out are revoked, and its deletion is scheduled. */
  private finishRun(
    status: Exclude<RunStatus, "running">,
    at: number,
    failedStep: string | null,
  ): void {
    const run = this.runRecord();
    this.ctx.storage.sql.exec(
      "UPDATE steps SET state = 'stopped', due_at = 0 WHERE due_at > 0 AND state IN ('leased', 'queued')",
    );
    this.leased.clear();
    const purgeAt = at + run.retentionMs;
    this.storeRun({ ...run, status, updatedAt: at, finishedAt: at, purgeAt, failedStep });
    this.wake(purgeAt);
  }

  /** The lease `attempt` holds on the step, or why it holds none. */
  private currentLease(stepId: string, attempt: number): { ok: true; row: StepRow } | Refusal {
    if (this.run === null) return noRun();
    const row = this.stepRow(stepId);
    if (row === undefined) return noStep(stepId);
    return this.leaseOf(row, attempt);
  }

  private leaseOf(row: StepRow, attempt: number): { ok: true; row: StepRow } | Refusal {
    const run = this.runRecord();
    const current = row.attempt === attempt && row.state !== "completed";
    if (current && run.status !== "running") return notRunning(run);
    if (current && row.state === "leased") return { ok: true, row };
    const why =
      attempt > row.attempt
        ? "was never handed out"
        : attempt < row.attempt
          ? `was superseded by attempt ${row.attempt}`
          : row.state === "completed"
            ? "already completed the step"
            : `is over (${row.error ?? "ended"})`;
    return refuse("stale_attempt", `attempt ${attempt} of step "${row.id}" ${why}`);
  }

  private stepRow(stepId: string): StepRow | undefined {
    return this.ctx.storage.sql
      .exec<StepRow>(`SELECT ${STEP_COLUMNS} FROM steps WHERE id = ?`, stepId)
      .toArray()[0];
  }

  /**
   * The first pending step's position, by binary search on the primary key (about 14 row reads
   * for 10,000 steps): pending steps are exactly the positions from some point on, and a pending
   * step is one never claimed (`attempt` 0).
   */
  private firstPending(stepCount: number): number {
    const { sql } = this.ctx.storage;
    let low = 0;
    let high = stepCount;
    while (low < high) {
      const middle = low + Math.floor((high - low) / 2);
      const pending =
        sql.exec("SELECT 1 FROM steps WHERE position = ? AND attempt = 0", middle).toArray()
          .length > 0;
      if (pending) high = middle;
      else low = middle + 1;
    }
    return low;
  }

  /** Whether a step waits to retry (queued with a due time), from the index. */
  private anyWaiting(): boolean {
    return (
      this.ctx.storage.sql
        .exec("SELECT 1 FROM steps WHERE due_at > 0 AND state = 'queued' LIMIT 1")
        .toArray().length > 0
    );
  }

  private countActive(): number {
    const row = this.ctx.storage.sql
      .exec<{ n: number }>(
        "SELECT count(*) AS n FROM steps WHERE due_at > 0 AND state IN ('leased', 'queued')",
      )
      .one();
    return row.n;
  }

  private earliestLeaseExpiry(): number | null {
    const row = this.ctx.storage.sql
      .exec<{ due_at: number }>(
        "SELECT due_at FROM steps WHERE due_at > 0 AND state = 'leased' ORDER BY due_at LIMIT 1",
      )
      .toArray()[0];
    return row?.due_at ?? null;
  }

  /** The earliest retry or lease expiry after `now`: when a claim might next succeed. */
  private nextClaimAt(now: number): number | null {
    const row = this.ctx.storage.sql
      .exec<{ at: number | null }>(
        `SELECT min(due_at) AS at FROM steps
         WHERE due_at > 0 AND ((state = 'queued' AND due_at > ?) OR state = 'leased')`,
        now,
      )
      .one();
    return row.at;
  }

  private runRecord(): RunRecord {
    if (this.run === null) throw new Error("no run");
    return this.run;
  }

  private storeRun(run: RunRecord): void {
    this.ctx.storage.kv.put(RUN_KEY, run);
    this.run = run;
  }

  /** Notes that an alarm is needed by `at`. */
  private wake(at: number): void {
    if (this.wantAlarm === null || at < this.wantAlarm) this.wantAlarm = at;
  }

  /**
   * Every method ends here: the decisions and row writes are done, synchronously; only now may
   * it await, to move the alarm earlier when it needs to be.
   */
  private done<T>(result: T): T | Promise<T> {
    const at = this.wantAlarm;
    this.wantAlarm = null;
    if (at !== null && (this.alarmAt === null || at < this.alarmAt)) {
      this.alarmAt = at;
      return this.ctx.storage.setAlarm(at).then(() => result);
    }
    // Nothing to await: answered at once, without a promise for the RPC layer to wait on.
    return result;
  }
}

async function sha256(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

function policyOf(row: StepRow) {
  return {
    maxAttempts: row.max_attempts,
    initialBackoffMs: row.initial_backoff_ms,
    multiplier: row.multiplier,
    maxBackoffMs: row.max_backoff_ms,
  };
}

function displayState(state: RowState, started: number | boolean): StepState {
  switch (state) {
    case "queued":
      return started ? "waiting" : "pending";
    case "leased":
      return "running";
    case "stopped":
      return "interrupted";
    default:
      return state;
  }
}

function stepStatus(row: StepRow): StepStatus {
  const state = displayState(row.state, row.due_at > 0);
  return {
    id: row.id,
    position: row.position,
    state,
    attempts: row.attempt,
    tries: row.tries,
    maxAttempts: row.max_attempts,
    worker: row.worker,
    firstStartedAt: row.first_started_at,
    startedAt: row.started_at,
    heartbeatAt: row.heartbeat_at,
    leaseExpiresAt: state === "running" ? row.due_at : null,
    retryAt: state === "waiting" ? row.due_at : null,
    finishedAt: row.finished_at,
    lastError: row.error,
    progress: parseNullable(row.progress),
  };
}

function summary(run: RunRecord): RunSummary {
  return {
    runId: run.runId,
    status: run.status,
    stepCount: run.stepCount,
    parallelism: run.parallelism,
    createdAt: run.createdAt,
    updatedAt: run.updatedAt,
    finishedAt: run.finishedAt,
    purgeAt: run.purgeAt,
    failedStep: run.failedStep,
    resumes: run.resumes,
  };
}

function parseNullable(json: string | null): Json {
  return json === null ? null : (JSON.parse(json) as Json);
}

function parseStepAndAttempt(
  stepId: unknown,
  attempt: unknown,
): { ok: true; value: { stepId: string; attempt: number } } | Refusal {
  const id = parseName(stepIdSchema, stepId);
  if (!id.ok) return refuse("invalid_input", id.message);
  const n = parseAttempt(attempt);
  if (!n.ok) return refuse("invalid_input", n.message);
  return { ok: true, value: { stepId: id.value, attempt: n.value } };
}

function refuse(code: CheckpointErrorCode, message: string): Refusal {
  return { ok: false, error: { code, message } };
}

function refuseInput(parsed: { message: string; tooLarge?: true }): Refusal {
  return refuse(parsed.tooLarge === true ? "too_large" : "invalid_input", parsed.message);
}

function noRun(): Refusal {
  return refuse("no_run", "no run here: it was never created, or it finished and was deleted");
}

function noStep(stepId: string): Refusal {
  return refuse("not_found", `the run has no step "${stepId}"`);
}

function notRunning(run: RunRecord): Refusal {
  return refuse("run_not_running", `the run is ${run.status}`);
}
