/**
 * The AggregatorCounter Durable Object: many named counters in one object, incremented at a high
 * rate with far fewer storage writes than increments, and no acknowledged increment ever lost.
 */
import { DurableObject } from "cloudflare:workers";
import { Batch, isRemembered, type Remembered } from "./batch";
import {
  addExactly,
  checkAmount,
  checkIdempotencyKey,
  checkKey,
  checkKeys,
  checkListOptions,
  DEFAULT_DEDUPE_WINDOW_MS,
  DEFAULT_MAX_IDEMPOTENCY_KEYS,
  MAX_COUNTERS,
  type InputErrorCode,
  type ListOptions,
} from "./input";

export type CounterErrorCode =
  | InputErrorCode
  | "too_many_counters"
  | "out_of_range"
  | "idempotency_conflict";

/**
 * Why a call did nothing. Returned, never thrown, so a caller's mistake is an answer. A failed
 * commit (storage itself failing) is thrown instead: that increment was not counted, and the
 * caller should retry it with the same idempotency key.
 */
export interface CounterRejection {
  ok: false;
  error: { code: CounterErrorCode; message: string };
}

export interface Counter {
  key: string;
  value: number;
}

/** The result of `increment`. */
export type IncrementOutcome =
  | {
      ok: true;
      key: string;
      /** The counter's value right after this increment (for a duplicate: its value now). */
      value: number;
      /** True when the idempotency key was already counted: this call added nothing. */
      duplicate: boolean;
    }
  | CounterRejection;

export type GetOutcome = ({ ok: true } & Counter) | CounterRejection;
export type GetManyOutcome = { ok: true; counters: Counter[] } | CounterRejection;
export type ListOutcome =
  | {
      ok: true;
      /** In key order; counters at 0 are not listed (a key at 0 holds no row). */
      counters: Counter[];
      /** Pass as `cursor` for the next page; null on the last page. */
      cursor: string | null;
    }
  | CounterRejection;
export type ResetOutcome = { ok: true; key: string; previous: number } | CounterRejection;

/** The bounds one object keeps to. Tests shrink them through `limits()`. */
export interface CounterLimits {
  maxCounters: number;
  dedupeWindowMs: number;
  maxIdempotencyKeys: number;
}

export const DEFAULT_LIMITS: CounterLimits = Object.freeze({
  maxCounters: MAX_COUNTERS,
  dedupeWindowMs: DEFAULT_DEDUPE_WINDOW_MS,
  maxIdempotencyKeys: DEFAULT_MAX_IDEMPOTENCY_KEYS,
});

/**
 * A set of counters (say, every page's views on one site), addressed by a name of your choice:
 * `env.COUNTERS.getByName("site:example.com")`.
 *
 * Group commit: an increment joins the next batch in memory and waits for it. One flush at a
 * time writes a whole batch in one transaction (one row per counter touched, plus one per
 * idempotency key) and, once those writes are durable, answers every caller in it. Increments
 * that arrive while a flush commits form the next batch. So an acknowledged increment is always
 * on disk, and under load many increments share each write. Reads merge what is stored with
 * the batch not yet written.
 *
 * @example
 * const counters = env.COUNTERS.getByName("site:example.com");
 * const outcome = await counters.increment("views:/pricing", 1, requestId);
 * if (outcome.ok) console.log(outcome.value, outcome.duplicate);
 * const { counters: top } = await counters.getMany(["views:/", "views:/pricing"]);
 */
export class AggregatorCounter extends DurableObject<unknown> {
  /** Every stored counter (a cache over the `counters` table, at most `maxCounters`). */
  private readonly stored = new Map<string, number>();
  /** The batch taking increments now; null when nothing waits. */
  private pending: Batch | null = null;
  /** The batch being committed, whose rows are written but maybe not yet durable. */
  private inFlight: Batch | null = null;
  /** True while the flush loop runs: new increments then join `pending` and wait. */
  private flushing = false;
  /** Rows in the `dedupe` table. */
  private dedupeRows: number;
  /**
   * No later than the pruning alarm, or null when none is set. Storage keeps the alarm at or
   * before the oldest idempotency key's expiry, so after a restart that expiry is a safe
   * stand-in, and the object never reads its alarm.
   */
  private alarmAt: number | null;

  constructor(ctx: DurableObjectState, env: unknown) {
    super(ctx, env);
    const sql = ctx.storage.sql;
    // WITHOUT ROWID: the key is the table, so writing a counter touches one row (the dedupe
    // table's age index adds one more per idempotency key).
    sql.exec(`CREATE TABLE IF NOT EXISTS counters (
      key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID`);
    sql.exec(`CREATE TABLE IF NOT EXISTS dedupe (
      id TEXT PRIMARY KEY, key TEXT NOT NULL, amount INTEGER NOT NULL, at INTEGER NOT NULL
    ) WITHOUT ROWID`);
    sql.exec(`CREATE INDEX IF NOT EXISTS dedupe_by_age ON dedupe (at)`);
    // Synchronous SQL in the constructor runs before any call is delivered: no gate needed.
    for (const row of sql.exec<{ key: string; value: number }>(`SELECT key, value FROM counters`)) {
      this.stored.set(row.key, row.value);
    }
    const dedupe = sql
      .exec<{ rows: number; oldest: number | null }>(
        `SELECT COUNT(*) AS rows, MIN(at) AS oldest FROM dedupe`,
      )
      .one();
    this.dedupeRows = dedupe.rows;
    this.alarmAt = dedupe.oldest === null ? null : dedupe.oldest + this.limits().dedupeWindowMs;
  }

  /** The one source of time. Tests override it to drive the dedupe window without sleeping. */
  protected now(): number {
    return Date.now();
  }

  /** The bounds this object keeps to. Tests override it to reach them with small numbers. */
  protected limits(): CounterLimits {
    return DEFAULT_LIMITS;
  }

  /**
   * Adds `amount` (default 1; negative counts down) to the counter `key`, and answers once the
   * write holding it is durable. With an `idempotencyKey`, a retry of the same increment within
   * the dedupe window counts once and answers `duplicate: true`.
   */
  async increment(
    key: string,
    amount?: number,
    idempotencyKey?: string,
  ): Promise<IncrementOutcome> {
    const validKey = checkKey(key);
    if (!validKey.ok) return reject(validKey.code, validKey.message);
    const validAmount = checkAmount(amount);
    if (!validAmount.ok) return reject(validAmount.code, validAmount.message);
    const validId = checkIdempotencyKey(idempotencyKey);
    if (!validId.ok) return reject(validId.code, validId.message);
    const by = validAmount.value;
    const id = validId.value;
    const now = this.now();

    if (id !== undefined) {
      const seen = this.recall(id, now);
      if (seen !== undefined) {
        if (seen.key !== key || seen.amount !== by) {
          return reject(
            "idempotency_conflict",
            `idempotencyKey was already used for ${JSON.stringify(seen.key)} by ${seen.amount}`,
          );
        }
        // The first call's batch may still be committing: answer once it is durable.
        await seen.batch?.committed;
        return { ok: true, key, value: this.countOf(key), duplicate: true };
      }
    }

    const value = addExactly(this.countOf(key), by);
    if (value === null) {
      return reject(
        "out_of_range",
        `${JSON.stringify(key)} would leave the range ±${Number.MAX_SAFE_INTEGER}, where counts stop being exact`,
      );
    }
    const isNewKey = !this.stored.has(key);
    if (isNewKey && this.pending?.values.has(key) !== true) {
      // Counters not yet written count too, or a burst of new keys could pass the cap.
      const { maxCounters } = this.limits();
      if (this.stored.size + (this.pending?.newKeys ?? 0) >= maxCounters) {
        return reject(
          "too_many_counters",
          `this object already holds ${maxCounters} counters; reset some or use another object`,
        );
      }
    }
    const batch = (this.pending ??= new Batch());
    batch.set(
      key,
      value,
      isNewKey,
      id === undefined ? undefined : { id, key, amount: by, at: now },
    );
    this.flush();
    await batch.committed;
    return { ok: true, key, value, duplicate: false };
  }

  /** The counter's value: stored plus not yet written. A key never incremented is 0. */
  get(key: string): GetOutcome {
    const valid = checkKey(key);
    if (!valid.ok) return reject(valid.code, valid.message);
    return { ok: true, key, value: this.countOf(key) };
  }

  /** Up to 100 counters at once, in the order asked. */
  getMany(keys: string[]): GetManyOutcome {
    const valid = checkKeys(keys);
    if (!valid.ok) return reject(valid.code, valid.message);
    return { ok: true, counters: valid.value.map((key) => ({ key, value: this.countOf(key) })) };
  }

  /** Counters whose key starts with `prefix`, in key order, a page at a time. */
  list(options?: ListOptions): ListOutcome {
    const valid = checkListOptions(options);
    if (!valid.ok) return reject(valid.code, valid.message);
    const { prefix, limit, cursor } = valid.value;
    const keys = new Set(this.stored.keys());
    for (const key of this.pending?.values.keys() ?? []) keys.add(key);
    const matching = [...keys]
      .filter((key) => key.startsWith(prefix) && (cursor === undefined || key > cursor))
      .toSorted()
      .map((key) => ({ key, value: this.countOf(key) }))
      .filter((counter) => counter.value !== 0);
    const page = matching.slice(0, limit);
    const more = matching.length > limit;
    return { ok: true, counters: page, cursor: more ? (page.at(-1)?.key ?? null) : null };
  }

  /**
   * Sets a counter back to 0 (deleting its row), in order with the increments around it: it
   * joins the next batch like one. Idempotency keys already used stay used.
   */
  async reset(key: string): Promise<ResetOutcome> {
    const valid = checkKey(key);
    if (!valid.ok) return reject(valid.code, valid.message);
    const previous = this.countOf(key);
    if (previous === 0) return { ok: true, key, previous };
    const batch = (this.pending ??= new Batch());
    batch.set(key, 0, false);
    this.flush();
    await batch.committed;
    return { ok: true, key, previous };
  }

  /**
   * Deletes idempotency keys past the dedupe window and re-arms for the next expiry. Counts are
   * untouched. Safe to run early, late or twice: it deletes only what has expired when it runs.
   */
  override async alarm(): Promise<void> {
    const { dedupeWindowMs } = this.limits();
    const sql = this.ctx.storage.sql;
    const deleted = sql
      .exec(`DELETE FROM dedupe WHERE at <= ? RETURNING 1`, this.now() - dedupeWindowMs)
      .toArray().length;
    this.dedupeRows -= deleted;
    const { oldest } = sql
      .exec<{ oldest: number | null }>(`SELECT MIN(at) AS oldest FROM dedupe`)
      .one();
    this.alarmAt = oldest === null ? null : oldest + dedupeWindowMs;
    if (this.alarmAt !== null) await this.ctx.storage.setAlarm(this.alarmAt);
  }

  private countOf(key: string): number {
    return this.pending?.values.get(key) ?? this.stored.get(key) ?? 0;
  }

  /**
   * What an idempotency key was used for, if it still dedupes: from the waiting batch, the one
   * committing, or storage. An expired row found here is deleted, so the key starts afresh.
   */
  private recall(id: string, now: number): (Remembered & { batch?: Batch }) | undefined {
    for (const batch of [this.pending, this.inFlight]) {
      const seen = batch?.ids.get(id);
      if (seen !== undefined && batch !== null) return { ...seen, batch };
    }
    const row = this.ctx.storage.sql
      .exec<{ key: string; amount: number; at: number }>(
        `SELECT key, amount, at FROM dedupe WHERE id = ?`,
        id,
      )
      .toArray()[0];
    if (row === undefined) return undefined;
    if (isRemembered(row.at, now, this.limits().dedupeWindowMs)) return row;
    this.ctx.storage.sql.exec(`DELETE FROM dedupe WHERE id = ?`, id);
    this.dedupeRows--;
    return undefined;
  }

  /** Starts the flush loop unless it is running; it drains every batch that arrives meanwhile. */
  private flush(): void {
    if (this.flushing) return;
    this.flushing = true;
    // Callers await their batch's `committed`, not this loop, which never rejects.
    void this.flushLoop();
  }

  private async flushLoop(): Promise<void> {
    try {
      while (this.pending !== null) {
        const batch = this.pending;
        this.pending = null;
        this.inFlight = batch;
        try {
          this.write(batch);
          const alarmAt = this.alarmNeededFor(batch);
          if (alarmAt !== null) {
            this.alarmAt = alarmAt;
            await this.ctx.storage.setAlarm(alarmAt);
          }
          // The batch's rows are written; this waits until they are durable. Increments that
          // arrive meanwhile gather in `pending` and share the next flush.
          await this.ctx.storage.sync();
          batch.resolve();
        } catch (error) {
          batch.reject(error);
        } finally {
          this.inFlight = null;
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  /**
   * Writes one batch atomically: a row per counter touched, a row per new idempotency key, the
   * key cap kept. One statement is atomic by itself; more run in one transaction, so a failure
   * part-way writes none of them. (The transaction's SAVEPOINT and RELEASE are two statements
   * more per flush, which the busiest case, one counter and no keys, does without.)
   */
  private write(batch: Batch): void {
    const { maxIdempotencyKeys } = this.limits();
    const excess = this.dedupeRows + batch.ids.size - maxIdempotencyKeys;
    if (batch.values.size === 1 && batch.ids.size === 0) this.writeRows(batch, excess);
    else this.ctx.storage.transactionSync(() => this.writeRows(batch, excess));
    // Only once the writes have succeeded does the cache follow them.
    for (const [key, value] of batch.values) {
      if (value === 0) this.stored.delete(key);
      else this.stored.set(key, value);
    }
    this.dedupeRows = Math.min(this.dedupeRows + batch.ids.size, maxIdempotencyKeys);
  }

  private writeRows(batch: Batch, excessKeys: number): void {
    const sql = this.ctx.storage.sql;
    for (const [key, value] of batch.values) {
      if (value === 0) sql.exec(`DELETE FROM counters WHERE key = ?`, key);
      else {
        sql.exec(
          `INSERT INTO counters (key, value) VALUES (?, ?)
           ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
          key,
          value,
        );
      }
    }
    for (const [id, { key, amount, at }] of batch.ids) {
      sql.exec(`INSERT INTO dedupe (id, key, amount, at) VALUES (?, ?, ?, ?)`, id, key, amount, at);
    }
    if (excessKeys > 0) {
      sql.exec(
        `DELETE FROM dedupe WHERE id IN (SELECT id FROM dedupe ORDER BY at, id LIMIT ?)`,
        excessKeys,
      );
    }
  }

  /**
   * The pruning alarm time this batch needs, or null: the alarm stays at or before the oldest
   * idempotency key's expiry, so only a key expiring sooner than the alarm moves it.
   */
  private alarmNeededFor(batch: Batch): number | null {
    let oldest: number | null = null;
    for (const { at } of batch.ids.values()) if (oldest === null || at < oldest) oldest = at;
    if (oldest === null) return null;
    const expiry = oldest + this.limits().dedupeWindowMs;
    return this.alarmAt !== null && this.alarmAt <= expiry ? null : expiry;
  }
}

function reject(code: CounterErrorCode, message: string): CounterRejection {
  return { ok: false, error: { code, message } };
}
