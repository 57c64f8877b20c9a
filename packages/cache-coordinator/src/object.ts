/**
 * The CacheCoordinator Durable Object: one per logical cache (a cache domain, a tenant). It
 * records which stores hold each key and the tags each key is filed under, and turns an
 * invalidation into purge calls written to a durable outbox, which its alarm attempts and
 * retries with backoff until every store acknowledges or the purge's max age passes.
 */
import { DurableObject } from "cloudflare:workers";
import {
  MAX_FINISHED_PURGES,
  MAX_KEYS,
  MAX_OUTBOX_CALLS,
  MAX_TAGS_PER_KEY,
  parse,
  parseKey,
  parseMode,
  parseRegistration,
  purgeIdSchema,
  tagSchema,
  type PurgeMode,
  type PurgeOptions,
  type Registration,
} from "./input";
import {
  DEFAULT_RETRY_POLICY,
  afterFailure,
  batchKeys,
  combineStates,
  type PurgeState,
  type RetryPolicy,
} from "./retry";
import type { PurgeTarget, PurgeTargets } from "./stores";

export type CoordinatorErrorCode =
  | "invalid_request"
  | "unknown_store"
  | "too_many_keys"
  | "too_many_tags"
  | "outbox_full"
  | "not_found";

/** Why a call did nothing. Returned, never thrown, so a caller's mistake is an answer. */
export interface CoordinatorError {
  ok: false;
  error: { code: CoordinatorErrorCode; message: string };
}

export type RegisterOutcome = { ok: true } | CoordinatorError;

/** What an invalidation queued: its purge id (null when nothing was registered), keys and calls. */
export interface Invalidation {
  ok: true;
  /** Ask `status(purgeId)` how it went; null when no store held anything to purge. */
  purgeId: string | null;
  /** Keys the purge covers. */
  keys: number;
  /** Purge calls written to the outbox: one per store per 100 keys. */
  calls: number;
}

export type InvalidateOutcome = Invalidation | CoordinatorError;

/** How one store is doing on one purge. */
export interface StoreStatus {
  status: PurgeState;
  /** Purge calls to this store (one per 100 keys), and how many are acknowledged. */
  calls: number;
  acknowledged: number;
  /** Attempts made across its calls, failures included. */
  attempts: number;
  /** When the next attempt is due (ms since the epoch), null when none is. */
  nextAttemptAt: number | null;
  /** The last failure's message, null if none failed. */
  lastError: string | null;
}

/** A purge request, as `status` reports it. */
export interface PurgeStatus {
  id: string;
  /** What was invalidated: a key or a tag. */
  kind: "key" | "tag";
  target: string;
  mode: PurgeMode;
  status: PurgeState;
  keys: number;
  createdAt: number;
  /** When the last store acknowledged or was given up; null while pending. */
  finishedAt: number | null;
  stores: Record<string, StoreStatus>;
}

export type StatusOutcome = { ok: true; purge: PurgeStatus } | CoordinatorError;

/** Where a key is cached and what it is tagged with. */
export interface KeyLookup {
  key: string;
  stores: string[];
  tags: string[];
}

export type LookupOutcome = ({ ok: true } & KeyLookup) | CoordinatorError;

/** The coordinator at a glance. */
export interface Overview {
  keys: number;
  pendingPurges: number;
  /** Purge calls in the outbox, not yet acknowledged or given up. */
  pendingCalls: number;
  finishedPurges: number;
  nextAttemptAt: number | null;
  stores: string[];
}

interface CallRow extends Record<string, SqlStorageValue> {
  purge_id: string;
  store: string;
  batch: number;
  keys: string;
  mode: string;
  attempts: number;
  created_at: number;
}

interface CallSummaryRow extends Record<string, SqlStorageValue> {
  store: string;
  state: string;
  attempts: number;
  next_at: number;
  error: string | null;
}

interface PurgeRow extends Record<string, SqlStorageValue> {
  id: string;
  kind: string;
  target: string;
  mode: string;
  keys: number;
  created_at: number;
  finished_at: number | null;
  state: string;
  summary: string | null;
}

/**
 * Every table has the index its lookups need, so a tag's keys cost O(matches) and a key's stores
 * O(stores); nothing is an array inside one value that grows with use.
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS cached (
  key TEXT NOT NULL, store TEXT NOT NULL, PRIMARY KEY (key, store)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tagged (
  tag TEXT NOT NULL, key TEXT NOT NULL, PRIMARY KEY (tag, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS tagged_by_key ON tagged (key);
CREATE TABLE IF NOT EXISTS purges (
  id TEXT PRIMARY KEY, kind TEXT NOT NULL, target TEXT NOT NULL, mode TEXT NOT NULL,
  keys INTEGER NOT NULL, created_at INTEGER NOT NULL, finished_at INTEGER,
  state TEXT NOT NULL, summary TEXT
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS purges_finished ON purges (finished_at) WHERE finished_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS calls (
  purge_id TEXT NOT NULL, store TEXT NOT NULL, batch INTEGER NOT NULL, keys TEXT NOT NULL,
  attempts INTEGER NOT NULL, next_at INTEGER NOT NULL, state TEXT NOT NULL, error TEXT,
  PRIMARY KEY (purge_id, store, batch)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS calls_due ON calls (next_at) WHERE state = 'pending';
`;

/** Failure messages kept per call, so a store's error text cannot grow a row without bound. */
const MAX_ERROR_LENGTH = 200;

/**
 * One logical cache's invalidation coordinator. Name it by the cache domain or tenant:
 * `env.CACHE_COORDINATOR.getByName("tenant-42")`. Subclass it to name the stores it purges:
 * `stores(env)` returns them, and `register` refuses a store it does not return.
 *
 * `invalidate` and `invalidateTag` only write the purge calls to the outbox (one SQLite
 * transaction) and schedule the alarm; they never wait for a store. The alarm attempts due calls
 * and retries failures with exponential backoff and jitter until each store acknowledges, or
 * reports the call failed once the purge is older than `retryPolicy.maxAgeMs`.
 *
 * @example
 * export class PageCache extends CacheCoordinator<Env> {
 *   protected override stores(env: Env) {
 *     return { kv: kvStore(env.PAGES_KV), edge: cacheApiStore({ cacheName: "pages" }) };
 *   }
 * }
 * const pages = env.CACHE_COORDINATOR.getByName("tenant-42");
 * await pages.register({ key: "/products/7", store: "kv", tags: ["product:7"] });
 * const { purgeId } = await pages.invalidateTag("product:7"); // returns at once
 */
export class CacheCoordinator<Env = unknown> extends DurableObject<Env> {
  /** How purge calls are retried. Override the field in a subclass to change it. */
  protected readonly retryPolicy: RetryPolicy = DEFAULT_RETRY_POLICY;

  private targets: PurgeTargets | undefined;
  /** Counts kept in memory over storage (read once at start), so caps cost no query per call. */
  private keyCount: number;
  private pendingCalls: number;
  /** No later than the next alarm, or null when none is set. */
  private alarmAt: number | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const sql = ctx.storage.sql;
    sql.exec(SCHEMA);
    this.keyCount = count(sql, "SELECT COUNT(*) AS n FROM (SELECT DISTINCT key FROM cached)");
    this.pendingCalls = count(sql, "SELECT COUNT(*) AS n FROM calls WHERE state = 'pending'");
    // The outbox is the source of truth: if calls are pending, make sure an alarm is too (an
    // alarm that exhausted its platform retries would otherwise leave them stranded).
    void ctx.blockConcurrencyWhile(async () => {
      const due = this.earliestDue();
      const alarm = await ctx.storage.getAlarm();
      if (due !== null && (alarm === null || alarm > due)) await ctx.storage.setAlarm(due);
      this.alarmAt = due === null ? alarm : Math.min(due, alarm ?? due);
    });
  }

  /** The one source of time. Tests override it to drive backoff without sleeping. */
  protected now(): number {
    return Date.now();
  }

  /** The one source of jitter, in [0, 1). Tests override it to make backoff exact. */
  protected random(): number {
    return Math.random();
  }

  /**
   * The stores this coordinator purges, by name. Called once per object instance with its env.
   * The base class has none; subclass it and return yours.
   */
  protected stores(_env: Env): PurgeTargets {
    return {};
  }

  /**
   * Records that `store` holds `key`, filed under `tags` (added to the key's existing tags).
   * Registering what is already registered writes nothing.
   */
  register(registration: Registration): RegisterOutcome {
    const valid = parseRegistration(registration);
    if (!valid.ok) return reject("invalid_request", valid.message);
    const { key, store } = valid.data;
    const tags = [...new Set(valid.data.tags ?? [])];
    if (!(store in this.purgeTargets())) {
      return reject(
        "unknown_store",
        `store "${store}" is not one of this coordinator's stores: ${this.storeNames().join(", ") || "(none configured)"}`,
      );
    }
    const sql = this.ctx.storage.sql;
    const known = sql
      .exec<{ store: string }>("SELECT store FROM cached WHERE key = ?", key)
      .toArray();
    if (known.length === 0 && this.keyCount >= MAX_KEYS) {
      return reject(
        "too_many_keys",
        `this coordinator already tracks ${MAX_KEYS} keys; invalidate some, or split the cache across coordinators`,
      );
    }
    if (tags.length > 0) {
      // A key's tags live and die with its store rows, so a key no store holds has none.
      const existing = new Set(
        known.length === 0
          ? []
          : sql
              .exec<{ tag: string }>("SELECT tag FROM tagged WHERE key = ?", key)
              .toArray()
              .map((row) => row.tag),
      );
      const added = tags.filter((tag) => !existing.has(tag));
      if (existing.size + added.length > MAX_TAGS_PER_KEY) {
        return reject(
          "too_many_tags",
          `a key carries at most ${MAX_TAGS_PER_KEY} tags; "${key}" has ${existing.size} and this adds ${added.length}`,
        );
      }
      for (const tag of added) sql.exec("INSERT INTO tagged (tag, key) VALUES (?, ?)", tag, key);
    }
    if (!known.some((row) => row.store === store)) {
      sql.exec("INSERT INTO cached (key, store) VALUES (?, ?)", key, store);
      if (known.length === 0) this.keyCount++;
    }
    return { ok: true };
  }

  /**
   * Purges one key from every store that holds it. Writes the purge calls to the outbox and
   * returns at once; `status(purgeId)` follows them. A hard purge forgets the key's registrations
   * (the outbox now owes the purge), so a store that caches it again registers it again.
   */
  invalidate(
    key: string,
    options: PurgeOptions = {},
  ): InvalidateOutcome | Promise<InvalidateOutcome> {
    const validKey = parseKey(key);
    if (!validKey.ok) return reject("invalid_request", validKey.message);
    const mode = parseMode(options);
    if (!mode.ok) return reject("invalid_request", mode.message);
    // A hard purge lists the key's stores and takes its store rows out in one statement;
    // `enqueue` puts them back if the outbox cannot take the purge.
    const hard = mode.data === "hard";
    const stores = this.ctx.storage.sql
      .exec<{ store: string }>(
        hard
          ? "DELETE FROM cached WHERE key = ? RETURNING store"
          : "SELECT store FROM cached WHERE key = ?",
        key,
      )
      .toArray();
    const byStore = new Map(stores.map(({ store }) => [store, [key]]));
    return this.enqueue("key", key, mode.data, [key], byStore, hard);
  }

  /**
   * Purges every key filed under `tag` from every store that holds it, in calls of at most 100
   * keys per store. Finding the keys costs O(matches), by the tag index.
   */
  async invalidateTag(tag: string, options: PurgeOptions = {}): Promise<InvalidateOutcome> {
    const validTag = parse(tagSchema, tag);
    if (!validTag.ok) return reject("invalid_request", validTag.message);
    const mode = parseMode(options);
    if (!mode.ok) return reject("invalid_request", mode.message);
    const rows = this.ctx.storage.sql
      .exec<{ key: string; store: string }>(
        "SELECT t.key AS key, c.store AS store FROM tagged t JOIN cached c ON c.key = t.key WHERE t.tag = ? ORDER BY c.store, t.key",
        tag,
      )
      .toArray();
    const keys = new Set<string>();
    const byStore = new Map<string, string[]>();
    for (const { key, store } of rows) {
      keys.add(key);
      const list = byStore.get(store);
      if (list === undefined) byStore.set(store, [key]);
      else list.push(key);
    }
    return this.enqueue("tag", tag, mode.data, [...keys], byStore);
  }

  /** A purge's status overall and per store, while pending and for the last 1,000 finished. */
  status(purgeId: string): StatusOutcome {
    const valid = parse(purgeIdSchema, purgeId);
    if (!valid.ok) return reject("invalid_request", valid.message);
    const sql = this.ctx.storage.sql;
    const purge = sql.exec<PurgeRow>("SELECT * FROM purges WHERE id = ?", purgeId).toArray()[0];
    if (purge === undefined) {
      return reject(
        "not_found",
        `no purge "${purgeId}" here: never requested, or finished and past the last ${MAX_FINISHED_PURGES} kept`,
      );
    }
    const stores =
      purge.summary === null
        ? summarize(
            sql
              .exec<CallSummaryRow>(
                "SELECT store, state, attempts, next_at, error FROM calls WHERE purge_id = ? ORDER BY store, batch",
                purgeId,
              )
              .toArray(),
          )
        : (JSON.parse(purge.summary) as Record<string, StoreStatus>);
    return {
      ok: true,
      purge: {
        id: purge.id,
        kind: purge.kind as PurgeStatus["kind"],
        target: purge.target,
        mode: purge.mode as PurgeMode,
        status: purge.state as PurgeState,
        keys: purge.keys,
        createdAt: purge.created_at,
        finishedAt: purge.finished_at,
        stores,
      },
    };
  }

  /** The stores holding `key` and its tags, as registered. */
  lookup(key: string): LookupOutcome {
    const valid = parseKey(key);
    if (!valid.ok) return reject("invalid_request", valid.message);
    const sql = this.ctx.storage.sql;
    const stores = sql
      .exec<{ store: string }>("SELECT store FROM cached WHERE key = ? ORDER BY store", key)
      .toArray()
      .map((row) => row.store);
    const tags = sql
      .exec<{ tag: string }>("SELECT tag FROM tagged WHERE key = ? ORDER BY tag", key)
      .toArray()
      .map((row) => row.tag);
    return { ok: true, key, stores, tags };
  }

  /** Counts and the next attempt's time. */
  overview(): Overview {
    const sql = this.ctx.storage.sql;
    return {
      keys: this.keyCount,
      pendingPurges: count(sql, "SELECT COUNT(*) AS n FROM purges WHERE finished_at IS NULL"),
      pendingCalls: this.pendingCalls,
      finishedPurges: count(sql, "SELECT COUNT(*) AS n FROM purges WHERE finished_at IS NOT NULL"),
      nextAttemptAt: this.earliestDue(),
      stores: this.storeNames(),
    };
  }

  /**
   * Attempts the purge calls that are due (at most `callsPerAlarm`, at once), records each
   * outcome, finishes purges with no call left pending, and re-arms for the next due call. Safe
   * to run early, late or twice: it only attempts calls still pending and due, and a purge that
   * repeats is harmless (stores' purges are idempotent).
   */
  override async alarm(): Promise<void> {
    this.alarmAt = null;
    try {
      const now = this.now();
      const due = this.ctx.storage.sql
        .exec<CallRow>(
          `SELECT c.purge_id AS purge_id, c.store AS store, c.batch AS batch, c.keys AS keys,
                  c.attempts AS attempts, p.mode AS mode, p.created_at AS created_at
           FROM calls c JOIN purges p ON p.id = c.purge_id
           WHERE c.state = 'pending' AND c.next_at <= ? ORDER BY c.next_at LIMIT ?`,
          now,
          this.retryPolicy.callsPerAlarm,
        )
        .toArray();
      const outcomes = await Promise.all(due.map((call) => this.attempt(call)));
      // Recorded together after every attempt settled, in one transaction.
      const finished = new Set<string>();
      const settledAt = this.now();
      due.forEach((call, i) => {
        if (this.record(call, outcomes[i] ?? null, settledAt)) finished.add(call.purge_id);
      });
      for (const purgeId of finished) this.finishIfSettled(purgeId, settledAt);
      this.pruneHistory();
    } finally {
      await this.rearm();
    }
  }

  private async attempt(call: CallRow): Promise<string | null> {
    const target: PurgeTarget | undefined = this.purgeTargets()[call.store];
    if (target === undefined) return `store "${call.store}" is no longer configured`;
    const keys = JSON.parse(call.keys) as string[];
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const work =
        call.mode === "soft" && target.markStale !== undefined
          ? target.markStale(keys)
          : target.purge(keys);
      const timeout = new Promise<never>((_, fail) => {
        timer = setTimeout(
          () => fail(new Error(`no answer within ${this.retryPolicy.attemptTimeoutMs} ms`)),
          this.retryPolicy.attemptTimeoutMs,
        );
      });
      await Promise.race([work, timeout]);
      return null;
    } catch (error) {
      return (error instanceof Error ? error.message : String(error)).slice(0, MAX_ERROR_LENGTH);
    } finally {
      if (timer !== undefined) clearTimeout(timer);
    }
  }

  /**
   * Records one attempt's outcome (null: acknowledged). Returns whether the call left the
   * pending state, so its purge may be finished.
   */
  private record(call: CallRow, error: string | null, now: number): boolean {
    const sql = this.ctx.storage.sql;
    const attempts = call.attempts + 1;
    const where = [call.purge_id, call.store, call.batch] as const;
    if (error === null) {
      sql.exec(
        "UPDATE calls SET state = 'done', attempts = ?, error = NULL WHERE purge_id = ? AND store = ? AND batch = ? AND state = 'pending'",
        attempts,
        ...where,
      );
      this.pendingCalls--;
      return true;
    }
    const next = afterFailure(now, call.created_at, attempts, this.retryPolicy, this.random());
    if (next.retry) {
      sql.exec(
        "UPDATE calls SET attempts = ?, next_at = ?, error = ? WHERE purge_id = ? AND store = ? AND batch = ? AND state = 'pending'",
        attempts,
        next.at,
        error,
        ...where,
      );
      return false;
    }
    sql.exec(
      "UPDATE calls SET state = 'failed', attempts = ?, error = ? WHERE purge_id = ? AND store = ? AND batch = ? AND state = 'pending'",
      attempts,
      `gave up after ${attempts} attempts: ${error}`.slice(0, MAX_ERROR_LENGTH),
      ...where,
    );
    this.pendingCalls--;
    return true;
  }

  /**
   * Once no call of a purge is pending, folds its calls into a per-store summary on the purge's
   * row and deletes them, so a finished purge costs one row however many calls it took.
   */
  private finishIfSettled(purgeId: string, now: number): void {
    const sql = this.ctx.storage.sql;
    const calls = sql
      .exec<CallSummaryRow>(
        "SELECT store, state, attempts, next_at, error FROM calls WHERE purge_id = ?",
        purgeId,
      )
      .toArray();
    if (calls.some((call) => call.state === "pending")) return;
    const stores = summarize(calls);
    const state = combineStates(Object.values(stores).map((store) => store.status));
    sql.exec(
      "UPDATE purges SET state = ?, finished_at = ?, summary = ? WHERE id = ?",
      state,
      now,
      JSON.stringify(stores),
      purgeId,
    );
    sql.exec("DELETE FROM calls WHERE purge_id = ?", purgeId);
  }

  /** Forgets the oldest finished purges past MAX_FINISHED_PURGES. */
  private pruneHistory(): void {
    const sql = this.ctx.storage.sql;
    const excess =
      count(sql, "SELECT COUNT(*) AS n FROM purges WHERE finished_at IS NOT NULL") -
      MAX_FINISHED_PURGES;
    if (excess <= 0) return;
    sql.exec(
      "DELETE FROM purges WHERE id IN (SELECT id FROM purges WHERE finished_at IS NOT NULL ORDER BY finished_at, id LIMIT ?)",
      excess,
    );
  }

  /**
   * Writes one purge and its calls (one per store per 100 keys) in one transaction: everything
   * here runs before the first await, so the purge is in the outbox entirely or not at all. A
   * hard purge also forgets the purged keys' registrations. `storeRowsTaken`: the caller has
   * already deleted the keys' store rows (the ones `byStore` lists), to be put back if refused.
   */
  private enqueue(
    kind: PurgeStatus["kind"],
    target: string,
    mode: PurgeMode,
    keys: string[],
    byStore: Map<string, string[]>,
    storeRowsTaken = false,
  ): InvalidateOutcome | Promise<InvalidateOutcome> {
    if (byStore.size === 0) return { ok: true, purgeId: null, keys: 0, calls: 0 };
    const sql = this.ctx.storage.sql;
    const batches = [...byStore].map(
      ([store, storeKeys]) => [store, batchKeys(storeKeys)] as const,
    );
    const calls = batches.reduce((sum, [, list]) => sum + list.length, 0);
    if (this.pendingCalls + calls > MAX_OUTBOX_CALLS) {
      // Still the same transaction as the delete: nothing awaited in between.
      if (storeRowsTaken) {
        for (const [store, storeKeys] of byStore) {
          for (const key of storeKeys) {
            sql.exec("INSERT INTO cached (key, store) VALUES (?, ?)", key, store);
          }
        }
      }
      return reject(
        "outbox_full",
        `the outbox holds ${this.pendingCalls} pending purge calls and this needs ${calls}, past its cap of ${MAX_OUTBOX_CALLS}; try again once stores catch up`,
      );
    }
    const now = this.now();
    const id = crypto.randomUUID();
    const dueAt = now + this.retryPolicy.firstAttemptDelayMs;
    sql.exec(
      "INSERT INTO purges (id, kind, target, mode, keys, created_at, state) VALUES (?, ?, ?, ?, ?, ?, 'pending')",
      id,
      kind,
      target,
      mode,
      keys.length,
      now,
    );
    for (const [store, list] of batches) {
      list.forEach((batch, i) => {
        sql.exec(
          "INSERT INTO calls (purge_id, store, batch, keys, attempts, next_at, state) VALUES (?, ?, ?, ?, 0, ?, 'pending')",
          id,
          store,
          i,
          JSON.stringify(batch),
          dueAt,
        );
      });
    }
    this.pendingCalls += calls;
    if (mode === "hard") {
      for (const key of keys) {
        if (!storeRowsTaken) sql.exec("DELETE FROM cached WHERE key = ?", key);
        sql.exec("DELETE FROM tagged WHERE key = ?", key);
      }
      this.keyCount -= keys.length;
    }
    const queued: InvalidateOutcome = { ok: true, purgeId: id, keys: keys.length, calls };
    if (this.alarmAt === null || dueAt < this.alarmAt) {
      this.alarmAt = dueAt;
      return this.ctx.storage.setAlarm(dueAt).then(() => queued);
    }
    // No alarm to move: answered at once, without a promise for the RPC layer to wait on.
    return queued;
  }

  /** Arms the alarm for the earliest pending call, or clears it when none is pending. */
  private async rearm(): Promise<void> {
    const due = this.earliestDue();
    this.alarmAt = due;
    if (due === null) await this.ctx.storage.deleteAlarm();
    else await this.ctx.storage.setAlarm(due);
  }

  private earliestDue(): number | null {
    const row = this.ctx.storage.sql
      .exec<{ at: number | null }>("SELECT MIN(next_at) AS at FROM calls WHERE state = 'pending'")
      .one();
    return row.at;
  }

  private purgeTargets(): PurgeTargets {
    this.targets ??= this.stores(this.env);
    return this.targets;
  }

  private storeNames(): string[] {
    return Object.keys(this.purgeTargets()).toSorted();
  }
}

/** Folds a purge's calls into one status per store. */
function summarize(calls: CallSummaryRow[]): Record<string, StoreStatus> {
  const stores: Record<string, StoreStatus & { states: PurgeState[] }> = {};
  for (const call of calls) {
    const store = (stores[call.store] ??= {
      status: "pending",
      calls: 0,
      acknowledged: 0,
      attempts: 0,
      nextAttemptAt: null,
      lastError: null,
      states: [],
    });
    const state = call.state as PurgeState;
    store.states.push(state);
    store.calls++;
    store.attempts += call.attempts;
    if (state === "done") store.acknowledged++;
    if (
      state === "pending" &&
      (store.nextAttemptAt === null || call.next_at < store.nextAttemptAt)
    ) {
      store.nextAttemptAt = call.next_at;
    }
    if (call.error !== null) store.lastError = call.error;
  }
  const result: Record<string, StoreStatus> = {};
  for (const [name, { states, ...store }] of Object.entries(stores)) {
    result[name] = { ...store, status: combineStates(states) };
  }
  return result;
}

function count(sql: SqlStorage, query: string): number {
  return sql.exec<{ n: number }>(query).one().n;
}

function reject(code: CoordinatorErrorCode, message: string): CoordinatorError {
  return { ok: false, error: { code, message } };
}
