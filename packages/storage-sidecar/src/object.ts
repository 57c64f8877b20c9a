/**
 * The StorageSidecar Durable Object: the bulk state of one entity (one Workflow instance, say),
 * in SQL tables, with an idle timeout that deletes everything once the entity is abandoned.
 */
import { DurableObject } from "cloudflare:workers";
import {
  checkIdempotencyKey,
  checkKey,
  checkLimit,
  checkList,
  checkSeqCursor,
  encodeValue,
  MAX_BATCH_BYTES,
  MAX_BATCH_ITEMS,
  MAX_ENTRIES,
  MAX_KEY_LENGTH,
  MAX_PAGE_BYTES,
  MAX_TOTAL_BYTES,
  reject,
  type EncodedValue,
  type JsonValue,
  type SidecarRejection,
} from "./limits";
import { compareKeys, prefixEnd } from "./prefix";
import {
  alarmAction,
  DEFAULT_TTL_SECONDS,
  MAX_TTL_SECONDS,
  MIN_TTL_SECONDS,
  nextDeadline,
} from "./ttl";

export interface PageOptions<Cursor> {
  /** Where the previous page ended (its `cursor`); absent or null for the first page. */
  cursor?: Cursor | null;
  /** At most this many per page: 1-1,000, default 100. A page also stops at 4 MiB of values. */
  limit?: number;
}

export interface ListOptions extends PageOptions<string> {
  /** Only keys that start with this (default: every key). */
  prefix?: string;
}

export interface AppendOptions {
  /**
   * Names this batch: an append with a key this list has already seen adds nothing and answers
   * as the first one did, so a retried Workflow step cannot append its batch twice.
   */
  idempotencyKey?: string;
}

export type GetResult = { ok: true; found: boolean; value: JsonValue | null } | SidecarRejection;
export type SetResult = { ok: true; created: boolean; bytes: number } | SidecarRejection;
export type DeleteResult = { ok: true; deleted: boolean } | SidecarRejection;
export type ListResult =
  | { ok: true; entries: { key: string; value: JsonValue }[]; cursor: string | null }
  | SidecarRejection;
/** `seq` numbers the list's items from 1, in append order; `length` counts them after this call. */
export type AppendResult =
  | { ok: true; seq: number; length: number; duplicate: boolean }
  | SidecarRejection;
export type AppendManyResult =
  | { ok: true; firstSeq: number; count: number; length: number; duplicate: boolean }
  | SidecarRejection;
export type ItemsResult =
  | { ok: true; items: { seq: number; value: JsonValue }[]; cursor: number | null; length: number }
  | SidecarRejection;
export type DeleteListResult = { ok: true; deleted: number } | SidecarRejection;
export type ConfigureResult =
  | { ok: true; ttlSeconds: number; expiresAt: number }
  | SidecarRejection;

export interface SidecarStats {
  keys: number;
  lists: number;
  items: number;
  /** JSON bytes of every value and item, the figure the 128 MiB cap counts. */
  bytes: number;
  /** Keys + items + remembered idempotency keys, the figure the 100,000-entry cap counts. */
  entries: number;
  ttlSeconds: number;
  /**
   * When the idle timeout deletes everything if nothing touches the sidecar before then; null
   * when it holds nothing. Between the TTL and the TTL plus a tenth after the last touch.
   */
  expiresAt: number | null;
}

export interface ClearResult {
  ok: true;
  keys: number;
  items: number;
  bytes: number;
}

interface ListState {
  /** The seq the next item gets. */
  next: number;
  length: number;
  bytes: number;
}

const DEADLINE = "sidecar:deadline";
const TTL = "sidecar:ttl-ms";

/**
 * The sidecar for one entity. Address it by the entity: `env.SIDECARS.getByName(instanceId)`.
 *
 * Keys live in one SQL table, lists in another with one row per item numbered in append order,
 * so an append writes one row however long the list is. Every call's reads and writes run
 * synchronously before it first yields, so concurrent calls never interleave. Any call that
 * finds data touches the idle timer; an alarm deletes everything once nothing has touched the
 * sidecar for its TTL (default 7 days).
 *
 * @example
 * const sidecar = env.SIDECARS.getByName(event.instanceId);
 * await sidecar.appendMany("records", page, { idempotencyKey: `page-${n}` });
 * const { items, cursor } = await sidecar.items("records", { limit: 500 });
 * await sidecar.clear();
 */
export class StorageSidecar extends DurableObject<unknown> {
  /** Whether the tables exist: they are created by the first write, and dropped by clear(). */
  private schemaReady: boolean;
  /** Cache over the items table: one entry per non-empty list. */
  private readonly lists = new Map<string, ListState>();
  private keyCount = 0;
  private keyBytes = 0;
  private itemCount = 0;
  private itemBytes = 0;
  private idempotencyKeys = 0;
  /** Stored with the alarm set at it; null exactly when the sidecar holds nothing. */
  private deadline: number | null;
  private ttlMs: number;

  constructor(ctx: DurableObjectState, env: unknown) {
    super(ctx, env);
    // Synchronous SQL in the constructor runs before any call is delivered: no gate needed.
    this.deadline = ctx.storage.kv.get<number>(DEADLINE) ?? null;
    this.ttlMs = ctx.storage.kv.get<number>(TTL) ?? DEFAULT_TTL_SECONDS * 1000;
    this.schemaReady =
      ctx.storage.sql
        .exec("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'items'")
        .toArray().length > 0;
    if (this.schemaReady) this.loadTotals();
  }

  /** The one source of time. Tests override it to drive the idle timeout without sleeping. */
  protected now(): number {
    return Date.now();
  }

  /** The value stored under `key`; `found: false` (and `value: null`) when there is none. */
  get(key: string): GetResult | Promise<GetResult> {
    const bad = checkKey(key);
    if (bad) return bad;
    const row = this.schemaReady
      ? this.sql.exec<{ value: string }>("SELECT value FROM kv WHERE key = ?", key).toArray()[0]
      : undefined;
    return this.answer(
      false,
      row === undefined
        ? { ok: true, found: false, value: null }
        : { ok: true, found: true, value: JSON.parse(row.value) as JsonValue },
    );
  }

  /** Stores `value` (JSON, at most 1 MiB) under `key`, replacing what was there. */
  set(key: string, value: JsonValue): SetResult | Promise<SetResult> {
    const bad = checkKey(key);
    if (bad) return bad;
    const encoded = encodeValue(value);
    if ("ok" in encoded) return encoded;
    const old = this.schemaReady
      ? this.sql.exec<{ bytes: number }>("SELECT bytes FROM kv WHERE key = ?", key).toArray()[0]
      : undefined;
    const full = this.refuseGrowth(old === undefined ? 1 : 0, encoded.bytes - (old?.bytes ?? 0));
    if (full) return full;
    this.ensureSchema();
    this.sql.exec(
      `INSERT INTO kv (key, bytes, value) VALUES (?, ?, ?)
       ON CONFLICT (key) DO UPDATE SET bytes = excluded.bytes, value = excluded.value`,
      key,
      encoded.bytes,
      encoded.json,
    );
    if (old === undefined) this.keyCount++;
    this.keyBytes += encoded.bytes - (old?.bytes ?? 0);
    return this.answer(true, { ok: true, created: old === undefined, bytes: encoded.bytes });
  }

  /** Deletes `key`; `deleted` says whether it was there. */
  async delete(key: string): Promise<DeleteResult> {
    const bad = checkKey(key);
    if (bad) return bad;
    const row = this.schemaReady
      ? this.sql
          .exec<{ bytes: number }>("DELETE FROM kv WHERE key = ? RETURNING bytes", key)
          .toArray()[0]
      : undefined;
    if (row !== undefined) {
      this.keyCount--;
      this.keyBytes -= row.bytes;
    }
    await this.touch(row !== undefined);
    return { ok: true, deleted: row !== undefined };
  }

  /**
   * Keys and values in key order (by UTF-8 bytes), optionally only those under a prefix, a page
   * at a time: pass each page's `cursor` to get the next; it is null after the last.
   */
  async list(options: ListOptions = {}): Promise<ListResult> {
    const limit = checkLimit(options.limit);
    if (typeof limit !== "number") return limit;
    const prefix = options.prefix ?? "";
    if (typeof prefix !== "string" || prefix.length > MAX_KEY_LENGTH || !prefix.isWellFormed()) {
      return reject(
        "invalid_options",
        `prefix must be a well-formed string of at most ${MAX_KEY_LENGTH} characters`,
      );
    }
    const cursor = options.cursor ?? null;
    if (cursor !== null) {
      const bad = checkKey(cursor, "cursor");
      if (bad) return reject("invalid_options", bad.error.message);
    }
    const entries: { key: string; value: JsonValue }[] = [];
    let more = false;
    if (this.schemaReady) {
      // A range on the primary key, so a page reads only the rows it returns (plus one).
      const resume = cursor !== null && compareKeys(cursor, prefix) >= 0;
      const end = prefixEnd(prefix);
      const start = resume ? cursor : prefix;
      const select = `SELECT key, bytes, value FROM kv WHERE key ${resume ? ">" : ">="} ?`;
      type Row = { key: string; bytes: number; value: string };
      const rows =
        end === null
          ? this.sql.exec<Row>(`${select} ORDER BY key LIMIT ?`, start, limit + 1)
          : this.sql.exec<Row>(`${select} AND key < ? ORDER BY key LIMIT ?`, start, end, limit + 1);
      more = collectPage(rows, limit, (row) => {
        entries.push({ key: row.key, value: JSON.parse(row.value) as JsonValue });
      });
    }
    await this.touch(false);
    return { ok: true, entries, cursor: more ? (entries.at(-1)?.key ?? null) : null };
  }

  /**
   * Adds `value` (JSON, at most 1 MiB) to the end of `list`: one row, however long the list.
   */
  async append(list: string, value: JsonValue, options: AppendOptions = {}): Promise<AppendResult> {
    const result = await this.appendMany(list, [value], options);
    if (!result.ok) return result;
    return { ok: true, seq: result.firstSeq, length: result.length, duplicate: result.duplicate };
  }

  /**
   * Adds `values` (1-1,000 of them, at most 8 MiB together) to the end of `list` in order, all
   * or none: one row each.
   */
  async appendMany(
    list: string,
    values: JsonValue[],
    options: AppendOptions = {},
  ): Promise<AppendManyResult> {
    const bad = checkList(list) ?? checkIdempotencyKey(options.idempotencyKey);
    if (bad) return bad;
    if (!Array.isArray(values) || values.length === 0 || values.length > MAX_BATCH_ITEMS) {
      return reject("invalid_value", `values must be an array of 1-${MAX_BATCH_ITEMS} values`);
    }
    const encoded: EncodedValue[] = [];
    let batchBytes = 0;
    for (const value of values) {
      const item = encodeValue(value);
      if ("ok" in item) return item;
      encoded.push(item);
      batchBytes += item.bytes;
    }
    if (batchBytes > MAX_BATCH_BYTES) {
      return reject(
        "value_too_large",
        `values take ${batchBytes} bytes as JSON; one append may add at most ${MAX_BATCH_BYTES} (8 MiB)`,
      );
    }
    const key = options.idempotencyKey;
    const state = this.lists.get(list);
    if (key !== undefined && this.schemaReady) {
      const prior = this.sql
        .exec<{ first_seq: number; count: number }>(
          "SELECT first_seq, count FROM appends WHERE list = ? AND key = ?",
          list,
          key,
        )
        .toArray()[0];
      if (prior !== undefined) {
        await this.touch(false);
        return {
          ok: true,
          firstSeq: prior.first_seq,
          count: prior.count,
          length: state?.length ?? 0,
          duplicate: true,
        };
      }
    }
    const full = this.refuseGrowth(encoded.length + (key === undefined ? 0 : 1), batchBytes);
    if (full) return full;

    this.ensureSchema();
    const firstSeq = state?.next ?? 1;
    let seq = firstSeq;
    for (const item of encoded) {
      this.sql.exec(
        "INSERT INTO items (list, seq, bytes, value) VALUES (?, ?, ?, ?)",
        list,
        seq++,
        item.bytes,
        item.json,
      );
    }
    if (key !== undefined) {
      this.sql.exec(
        "INSERT INTO appends (list, key, first_seq, count) VALUES (?, ?, ?, ?)",
        list,
        key,
        firstSeq,
        encoded.length,
      );
      this.idempotencyKeys++;
    }
    const next: ListState = {
      next: seq,
      length: (state?.length ?? 0) + encoded.length,
      bytes: (state?.bytes ?? 0) + batchBytes,
    };
    this.lists.set(list, next);
    this.itemCount += encoded.length;
    this.itemBytes += batchBytes;
    await this.touch(true);
    return { ok: true, firstSeq, count: encoded.length, length: next.length, duplicate: false };
  }

  /**
   * The items of `list` in append order, a page at a time: pass each page's `cursor` to get the
   * next; it is null after the last.
   */
  async items(list: string, options: PageOptions<number> = {}): Promise<ItemsResult> {
    const bad = checkList(list);
    if (bad) return bad;
    const limit = checkLimit(options.limit);
    if (typeof limit !== "number") return limit;
    const after = checkSeqCursor(options.cursor);
    if (typeof after !== "number") return after;
    const state = this.lists.get(list);
    const items: { seq: number; value: JsonValue }[] = [];
    let more = false;
    if (state !== undefined) {
      const rows = this.sql.exec<{ seq: number; bytes: number; value: string }>(
        "SELECT seq, bytes, value FROM items WHERE list = ? AND seq > ? ORDER BY seq LIMIT ?",
        list,
        after,
        limit + 1,
      );
      more = collectPage(rows, limit, (row) => {
        items.push({ seq: row.seq, value: JSON.parse(row.value) as JsonValue });
      });
    }
    await this.touch(false);
    return {
      ok: true,
      items,
      cursor: more ? (items.at(-1)?.seq ?? null) : null,
      length: state?.length ?? 0,
    };
  }

  /** Deletes every item of `list` and the idempotency keys it remembers. Numbering restarts at 1. */
  async deleteList(list: string): Promise<DeleteListResult> {
    const bad = checkList(list);
    if (bad) return bad;
    const state = this.lists.get(list);
    let forgotten = 0;
    if (this.schemaReady) {
      this.sql.exec("DELETE FROM items WHERE list = ?", list);
      forgotten = this.sql.exec("DELETE FROM appends WHERE list = ?", list).rowsWritten;
    }
    this.lists.delete(list);
    this.itemCount -= state?.length ?? 0;
    this.itemBytes -= state?.bytes ?? 0;
    this.idempotencyKeys -= forgotten;
    await this.touch(state !== undefined || forgotten > 0);
    return { ok: true, deleted: state?.length ?? 0 };
  }

  /** Sizes, the idle timeout and when it would strike. Does not touch the idle timer. */
  stats(): SidecarStats {
    return {
      keys: this.keyCount,
      lists: this.lists.size,
      items: this.itemCount,
      bytes: this.keyBytes + this.itemBytes,
      entries: this.keyCount + this.itemCount + this.idempotencyKeys,
      ttlSeconds: this.ttlMs / 1000,
      expiresAt: this.deadline,
    };
  }

  /**
   * Sets the idle timeout: 60 s to 365 days (default 7 days). Keep it longer than the longest
   * gap between your Workflow's calls (its sleeps and retry delays included).
   */
  async configure(options: { ttlSeconds: number }): Promise<ConfigureResult> {
    const ttlSeconds = (options as { ttlSeconds?: unknown } | undefined)?.ttlSeconds;
    if (
      typeof ttlSeconds !== "number" ||
      !Number.isInteger(ttlSeconds) ||
      ttlSeconds < MIN_TTL_SECONDS ||
      ttlSeconds > MAX_TTL_SECONDS
    ) {
      return reject(
        "invalid_options",
        `ttlSeconds must be a whole number from ${MIN_TTL_SECONDS} to ${MAX_TTL_SECONDS}`,
      );
    }
    this.ttlMs = ttlSeconds * 1000;
    this.ctx.storage.kv.put(TTL, this.ttlMs);
    // A shorter TTL must pull the deadline in, so it is set afresh rather than only pushed out.
    await this.moveDeadline(nextDeadline(null, this.now(), this.ttlMs) ?? 0);
    return { ok: true, ttlSeconds, expiresAt: this.deadline ?? 0 };
  }

  /** Deletes everything: keys, lists, settings and the alarm. Call it when the Workflow is done. */
  async clear(): Promise<ClearResult> {
    const cleared: ClearResult = {
      ok: true,
      keys: this.keyCount,
      items: this.itemCount,
      bytes: this.keyBytes + this.itemBytes,
    };
    await this.deleteEverything();
    return cleared;
  }

  /**
   * Deletes everything once the deadline has passed; before it (an early or repeated run),
   * re-arms for it. Safe to run any number of times.
   */
  override async alarm(): Promise<void> {
    const { deadline } = this;
    const action = alarmAction(deadline, this.now());
    if (action === "expire") await this.deleteEverything();
    else if (action === "rearm" && deadline !== null) await this.ctx.storage.setAlarm(deadline);
  }

  private get sql(): SqlStorage {
    return this.ctx.storage.sql;
  }

  /**
   * Keeps `deadline >= now + ttl` for a call at `now`. Reads of an empty sidecar (`changed`
   * false, no deadline) leave it empty rather than start a timer for nothing.
   */
  /**
   * Moves the idle deadline on if this call's use of the sidecar needs it; null when it need not
   * move, so the call has nothing to wait for.
   */
  private touch(changed: boolean): Promise<void> | null {
    if (!changed && this.deadline === null) return null;
    const next = nextDeadline(this.deadline, this.now(), this.ttlMs);
    return next === null ? null : this.moveDeadline(next);
  }

  /**
   * `result`, after the touch this call makes: answered at once, without a promise for the RPC
   * layer to wait on, unless the deadline moved and its alarm must be set first.
   */
  private answer<T>(changed: boolean, result: T): T | Promise<T> {
    const moving = this.touch(changed);
    return moving === null ? result : moving.then(() => result);
  }

  private async moveDeadline(deadline: number): Promise<void> {
    this.deadline = deadline;
    this.ctx.storage.kv.put(DEADLINE, deadline);
    await this.ctx.storage.setAlarm(deadline);
  }

  /** The rejection for a write that would pass the entry or byte cap, or null if it fits. */
  private refuseGrowth(entries: number, bytes: number): SidecarRejection | null {
    const held = this.keyCount + this.itemCount + this.idempotencyKeys;
    if (held + entries > MAX_ENTRIES) {
      return reject(
        "sidecar_full",
        `this sidecar holds ${held} entries and may hold at most ${MAX_ENTRIES}; delete some or clear it`,
      );
    }
    const total = this.keyBytes + this.itemBytes;
    if (total + bytes > MAX_TOTAL_BYTES) {
      return reject(
        "sidecar_full",
        `this sidecar holds ${total} bytes and may hold at most ${MAX_TOTAL_BYTES} (128 MiB); delete some or clear it`,
      );
    }
    return null;
  }

  private ensureSchema(): void {
    if (this.schemaReady) return;
    // `bytes` before `value`: reading a row's size never walks a large value's overflow pages.
    this.sql.exec(`
      CREATE TABLE IF NOT EXISTS kv (
        key TEXT PRIMARY KEY, bytes INTEGER NOT NULL, value TEXT NOT NULL
      ) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS items (
        list TEXT NOT NULL, seq INTEGER NOT NULL, bytes INTEGER NOT NULL, value TEXT NOT NULL,
        PRIMARY KEY (list, seq)
      ) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS appends (
        list TEXT NOT NULL, key TEXT NOT NULL, first_seq INTEGER NOT NULL, count INTEGER NOT NULL,
        PRIMARY KEY (list, key)
      ) WITHOUT ROWID;
    `);
    this.schemaReady = true;
  }

  /** Rebuilds the in-memory totals from the tables: one pass over the rows, once per start. */
  private loadTotals(): void {
    for (const row of this.sql.exec<{ list: string; last: number; length: number; bytes: number }>(
      "SELECT list, MAX(seq) AS last, COUNT(*) AS length, SUM(bytes) AS bytes FROM items GROUP BY list",
    )) {
      this.lists.set(row.list, { next: row.last + 1, length: row.length, bytes: row.bytes });
      this.itemCount += row.length;
      this.itemBytes += row.bytes;
    }
    const keys = this.sql
      .exec<{ count: number; bytes: number }>(
        "SELECT COUNT(*) AS count, COALESCE(SUM(bytes), 0) AS bytes FROM kv",
      )
      .one();
    this.keyCount = keys.count;
    this.keyBytes = keys.bytes;
    this.idempotencyKeys = this.sql
      .exec<{ count: number }>("SELECT COUNT(*) AS count FROM appends")
      .one().count;
  }

  /** Leaves nothing behind: no table, no setting, no alarm. */
  private async deleteEverything(): Promise<void> {
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
    this.schemaReady = false;
    this.lists.clear();
    this.keyCount = 0;
    this.keyBytes = 0;
    this.itemCount = 0;
    this.itemBytes = 0;
    this.idempotencyKeys = 0;
    this.deadline = null;
    this.ttlMs = DEFAULT_TTL_SECONDS * 1000;
  }
}

/**
 * Takes up to `limit` rows (read with one more, to see whether any remain), stopping early once
 * the page holds MAX_PAGE_BYTES. Returns whether rows remain after the page.
 */
function collectPage<Row extends { bytes: number }>(
  rows: Iterable<Row>,
  limit: number,
  take: (row: Row) => void,
): boolean {
  let count = 0;
  let bytes = 0;
  for (const row of rows) {
    if (count === limit || (count > 0 && bytes + row.bytes > MAX_PAGE_BYTES)) return true;
    take(row);
    count++;
    bytes += row.bytes;
  }
  return false;
}
