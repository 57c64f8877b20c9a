/**
 * The aggregator counter's rows: `increment` with and without an idempotency key, against the
 * floor of a group-committed increment (its exact signature, sharing one flush per batch and
 * writing only the rows that batch needs), the same signature writing one row per call (the
 * write ceiling's shape, for reference), and the naive counter of the source articles, which
 * reads and writes its value with the async storage API on every increment.
 */
import { DurableObject } from "cloudflare:workers";
import type { IncrementOutcome } from "@do-patterns/aggregator-counter";
import { baselineRow, floorRow, hotPath, type Row } from "../rows.ts";

type Accepted = Extract<IncrementOutcome, { ok: true }>;

/**
 * The floor: `increment(key, amount, idempotencyKey?)` as a bare group commit. Each call adds to
 * an in-memory total and waits for the next flush; one flush at a time writes one row for the
 * counter (and one per idempotency key, with its age index), in one transaction when there is
 * more than one statement, then waits until the writes are durable and answers every caller in
 * the batch. An idempotency key is looked up, as counting once needs; no validation, no cache,
 * one key.
 */
export class SharedFlushCounterFloor extends DurableObject<unknown> {
  private value = 0;
  private pending: { ids: string[]; done: PromiseWithResolvers<void> } | null = null;
  private flushing = false;

  constructor(ctx: DurableObjectState, env: unknown) {
    super(ctx, env);
    ctx.storage.sql.exec(
      `CREATE TABLE IF NOT EXISTS counters (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID`,
    );
    ctx.storage.sql.exec(
      `CREATE TABLE IF NOT EXISTS dedupe (id TEXT PRIMARY KEY, key TEXT NOT NULL, amount INTEGER NOT NULL, at INTEGER NOT NULL) WITHOUT ROWID`,
    );
    ctx.storage.sql.exec(`CREATE INDEX IF NOT EXISTS dedupe_by_age ON dedupe (at)`);
  }

  async increment(key: string, amount = 1, idempotencyKey?: string): Promise<Accepted> {
    this.value += amount;
    const value = this.value;
    const batch = (this.pending ??= { ids: [], done: Promise.withResolvers<void>() });
    if (idempotencyKey !== undefined) {
      // Counting once needs a look for the key first; the floor keeps that one read.
      this.ctx.storage.sql.exec(`SELECT at FROM dedupe WHERE id = ?`, idempotencyKey).toArray();
      batch.ids.push(idempotencyKey);
    }
    if (!this.flushing) void this.flush(key);
    await batch.done.promise;
    return { ok: true, key, value, duplicate: false };
  }

  private async flush(key: string): Promise<void> {
    this.flushing = true;
    while (this.pending !== null) {
      const batch = this.pending;
      this.pending = null;
      const sql = this.ctx.storage.sql;
      const at = Date.now();
      const write = () => {
        sql.exec(
          `INSERT INTO counters (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
          key,
          this.value,
        );
        for (const id of batch.ids) {
          sql.exec(`INSERT INTO dedupe (id, key, amount, at) VALUES (?, ?, 1, ?)`, id, key, at);
        }
      };
      // One statement is atomic by itself. More need a transaction: without one, a statement
      // that fails part-way leaves the ones before it to commit, say the count without its
      // keys, and a caller told the batch failed retries it and counts twice.
      if (batch.ids.length === 0) write();
      else this.ctx.storage.transactionSync(write);
      await this.ctx.storage.sync();
      batch.done.resolve();
    }
    this.flushing = false;
  }
}

/** The same signature writing one row per call, answered once that write is durable. */
export class WritePerCallCounterFloor extends DurableObject<unknown> {
  private value = 0;

  constructor(ctx: DurableObjectState, env: unknown) {
    super(ctx, env);
    ctx.storage.sql.exec(
      `CREATE TABLE IF NOT EXISTS counters (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID`,
    );
  }

  increment(key: string, amount = 1, _idempotencyKey?: string): Accepted {
    this.value += amount;
    this.ctx.storage.sql.exec(
      `INSERT INTO counters (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
      key,
      this.value,
    );
    return { ok: true, key, value: this.value, duplicate: false };
  }
}

/**
 * The counter of the source articles, kept naive on purpose: every increment reads the value
 * with the async storage API and writes it back, one write per increment.
 */
export class NaiveWritePerIncrementCounter extends DurableObject<unknown> {
  async increment(key: string, amount = 1): Promise<Accepted> {
    const value = ((await this.ctx.storage.get<number>(key)) ?? 0) + amount;
    await this.ctx.storage.put(key, value);
    return { ok: true, key, value, duplicate: false };
  }
}

/** Fails the row, rather than timing the wrong path, if an increment was not counted. */
async function expectCounted(outcome: Promise<IncrementOutcome>): Promise<void> {
  const result = await outcome;
  if (!result.ok || result.duplicate) {
    throw new Error(`expected a counted increment, got ${JSON.stringify(result)}`);
  }
}

const FLOOR = "aggregator-counter/floor-increment-shared-flush";
const IDEMPOTENT_FLOOR = "aggregator-counter/floor-increment-shared-flush-idempotent";
const WRITE_PER_CALL = "aggregator-counter/floor-increment-write-per-call";
const BASELINE = "baseline/counter-write-per-increment";

export const AGGREGATOR_COUNTER_ROWS: Row[] = [
  floorRow({
    name: FLOOR,
    ceiling: "noop",
    namespace: (env) => env.COUNTER_FLOOR,
    op: (floor) => expectCounted(floor.increment("hits", 1)),
  }),
  floorRow({
    name: IDEMPOTENT_FLOOR,
    // Every call writes its key's rows, but a batch shares one commit, so under load it outran
    // the one-commit-per-call write ceiling (1.26-1.33x): only a bare call bounds it.
    ceiling: "noop",
    namespace: (env) => env.COUNTER_FLOOR,
    op: (floor) => expectCounted(floor.increment("hits", 1, crypto.randomUUID())),
  }),
  floorRow({
    name: WRITE_PER_CALL,
    ceiling: "write",
    namespace: (env) => env.COUNTER_WRITE_PER_CALL,
    op: (floor) => expectCounted(floor.increment("hits", 1)),
  }),
  baselineRow({
    name: BASELINE,
    ceiling: "write",
    namespace: (env) => env.COUNTER_BASELINE,
    op: (naive) => expectCounted(naive.increment("hits", 1)),
  }),
  hotPath({
    name: "aggregator-counter/increment",
    // A group commit shares its writes, so under load it can outrun the one-row-per-call write
    // ceiling (the write-per-call floor below shows that shape); only a bare call bounds it.
    ceiling: "noop",
    floor: FLOOR,
    baseline: BASELINE,
    // One row when nothing shares the flush (1 in flight); far below under load.
    maxRowsWrittenPerOp: 1,
    namespace: (env) => env.COUNTERS,
    op: (counters) => expectCounted(counters.increment("hits", 1)),
  }),
  hotPath({
    name: "aggregator-counter/increment-idempotent",
    ceiling: "noop",
    floor: IDEMPOTENT_FLOOR,
    // No baseline: the naive counter remembers no keys, and with a new key on every call each
    // call writes that key's rows, so the 2x bar applies to plain increments only.
    // Alone: the counter's row, the idempotency key's row and its age index.
    maxRowsWrittenPerOp: 3,
    namespace: (env) => env.COUNTERS,
    op: (counters) => expectCounted(counters.increment("hits", 1, crypto.randomUUID())),
  }),
];
