/**
 * The cache coordinator's rows: `register` (a new key held by one store, with one tag) and
 * `invalidate` (the durable enqueue of one key's purge, not the purge itself), each beside its
 * floor, and `register` beside the naive coordinator of the source articles, which keeps a key's
 * stores and each tag's keys as arrays rewritten on every registration.
 */
import { DurableObject } from "cloudflare:workers";
import {
  CacheCoordinator,
  DEFAULT_RETRY_POLICY,
  type InvalidateOutcome,
  type PurgeOptions,
  type PurgeTargets,
  type RegisterOutcome,
  type Registration,
  type RetryPolicy,
} from "@do-patterns/cache-coordinator";
import { baselineRow, floorRow, hotPath, perObject, type Row, type RunObject } from "../rows.ts";

/** Keys seeded before an invalidate run: more than its warm-up and timed calls together. */
const SEEDED_KEYS = 10_100;
const STORE = "origin";
const TAG = "bench";

/** The same tables and indexes the coordinator keeps, so the floors write what it writes. */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS cached (key TEXT NOT NULL, store TEXT NOT NULL, PRIMARY KEY (key, store)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tagged (tag TEXT NOT NULL, key TEXT NOT NULL, PRIMARY KEY (tag, key)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS tagged_by_key ON tagged (key);
CREATE TABLE IF NOT EXISTS purges (id TEXT PRIMARY KEY, kind TEXT NOT NULL, target TEXT NOT NULL, mode TEXT NOT NULL, keys INTEGER NOT NULL, created_at INTEGER NOT NULL, finished_at INTEGER, state TEXT NOT NULL, summary TEXT) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS purges_finished ON purges (finished_at) WHERE finished_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS calls (purge_id TEXT NOT NULL, store TEXT NOT NULL, batch INTEGER NOT NULL, keys TEXT NOT NULL, attempts INTEGER NOT NULL, next_at INTEGER NOT NULL, state TEXT NOT NULL, error TEXT, PRIMARY KEY (purge_id, store, batch)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS calls_due ON calls (next_at) WHERE state = 'pending';
`;

/**
 * The real coordinator with one store that acknowledges at once, its first attempt an hour
 * away, so an invalidate row times the durable enqueue and no alarm competes with it.
 */
export class BenchCoordinator extends CacheCoordinator<unknown> {
  protected override readonly retryPolicy: RetryPolicy = {
    ...DEFAULT_RETRY_POLICY,
    firstAttemptDelayMs: 3_600_000,
  };

  protected override stores(): PurgeTargets {
    return { [STORE]: { purge: () => Promise.resolve() } };
  }

  /** Untimed: registers `count` keys, `inv-<i>`, each held by one store under one tag. */
  benchSeed(count: number): void {
    for (let i = 0; i < count; i++) this.register({ key: `inv-${i}`, store: STORE, tags: [TAG] });
  }
}

/**
 * The floor of both paths: their exact signatures doing only the storage work their guarantees
 * need, with no validation. `register` looks up the stores already holding the key (the key cap
 * needs to know whether the key is new, as the storage sidecar's `set` floor reads the size the
 * byte cap needs) and inserts the key's store row and its tag row; `invalidate` takes the key's
 * registrations out and writes the purge and its one call to the outbox, arming the alarm once.
 */
export class CoordinatorFloor extends DurableObject<unknown> {
  private alarmSet = false;

  constructor(ctx: DurableObjectState, env: unknown) {
    super(ctx, env);
    ctx.storage.sql.exec(SCHEMA);
  }

  register(registration: Registration): RegisterOutcome {
    const sql = this.ctx.storage.sql;
    sql.exec("SELECT store FROM cached WHERE key = ?", registration.key).toArray();
    sql.exec(
      "INSERT OR IGNORE INTO cached (key, store) VALUES (?, ?)",
      registration.key,
      registration.store,
    );
    for (const tag of registration.tags ?? []) {
      sql.exec("INSERT OR IGNORE INTO tagged (tag, key) VALUES (?, ?)", tag, registration.key);
    }
    return { ok: true };
  }

  invalidate(
    key: string,
    _options: PurgeOptions = {},
  ): InvalidateOutcome | Promise<InvalidateOutcome> {
    const sql = this.ctx.storage.sql;
    const stores = sql
      .exec<{ store: string }>("DELETE FROM cached WHERE key = ? RETURNING store", key)
      .toArray();
    sql.exec("DELETE FROM tagged WHERE key = ?", key);
    const id = crypto.randomUUID();
    const now = Date.now();
    sql.exec(
      "INSERT INTO purges (id, kind, target, mode, keys, created_at, state) VALUES (?, 'key', ?, 'hard', 1, ?, 'pending')",
      id,
      key,
      now,
    );
    stores.forEach(({ store }) => {
      sql.exec(
        "INSERT INTO calls (purge_id, store, batch, keys, attempts, next_at, state) VALUES (?, ?, 0, ?, 0, ?, 'pending')",
        id,
        store,
        JSON.stringify([key]),
        now + 3_600_000,
      );
    });
    const queued = { ok: true, purgeId: id, keys: 1, calls: stores.length } as const;
    if (!this.alarmSet) {
      this.alarmSet = true;
      return this.ctx.storage.setAlarm(now + 3_600_000).then(() => queued);
    }
    return queued;
  }

  override alarm(): void {}

  benchSeed(count: number): void {
    for (let i = 0; i < count; i++) this.register({ key: `inv-${i}`, store: STORE, tags: [TAG] });
  }
}

interface NaiveEntry {
  key: string;
  stores: string[];
  tags: string[];
}

/**
 * The coordinator of the source articles, kept naive on purpose: a key's entry and each tag's
 * list of keys are values read and rewritten whole with the async storage API, so registering
 * under a tag rewrites every key that tag already has.
 */
export class NaiveCoordinator extends DurableObject<unknown> {
  async register(registration: Registration): Promise<RegisterOutcome> {
    const { key, store } = registration;
    const tags = registration.tags ?? [];
    const entry = (await this.ctx.storage.get<NaiveEntry>(`entry:${key}`)) ?? {
      key,
      stores: [],
      tags: [],
    };
    if (!entry.stores.includes(store)) entry.stores.push(store);
    entry.tags = [...new Set([...entry.tags, ...tags])];
    await this.ctx.storage.put(`entry:${key}`, entry);
    for (const tag of tags) {
      const keys = (await this.ctx.storage.get<string[]>(`tag:${tag}`)) ?? [];
      if (!keys.includes(key)) {
        keys.push(key);
        await this.ctx.storage.put(`tag:${tag}`, keys);
      }
    }
    return { ok: true };
  }
}

/** Each run's object counts its own keys, from 0 after its setup. */
const keys = perObject(() => ({ next: 0 }));
const startKeys = (object: RunObject): void => void keys.start(object);
const nextKey = (object: RunObject): number => keys.of(object).next++;

async function expectRegistered(outcome: Promise<RegisterOutcome>): Promise<void> {
  const result = await outcome;
  if (!result.ok) throw new Error(`expected a registration, got ${JSON.stringify(result)}`);
}

async function expectQueued(outcome: Promise<InvalidateOutcome>): Promise<void> {
  const result = await outcome;
  if (!result.ok || result.purgeId === null || result.calls !== 1) {
    throw new Error(`expected one purge call queued, got ${JSON.stringify(result)}`);
  }
}

const newRegistration = (object: RunObject): Registration => ({
  key: `key-${nextKey(object)}`,
  store: STORE,
  tags: [TAG],
});

const REGISTER_FLOOR = "cache-coordinator/floor-register";
const INVALIDATE_FLOOR = "cache-coordinator/floor-invalidate";
const REGISTER_BASELINE = "baseline/cache-coordinator-arrays";

export const CACHE_COORDINATOR_ROWS: Row[] = [
  floorRow({
    name: REGISTER_FLOOR,
    ceiling: "write",
    namespace: (env) => env.CACHE_COORDINATOR_FLOOR,
    setup: async (floor) => startKeys(floor),
    op: (floor) => expectRegistered(floor.register(newRegistration(floor))),
  }),
  baselineRow({
    name: REGISTER_BASELINE,
    ceiling: "write",
    namespace: (env) => env.CACHE_COORDINATOR_BASELINE,
    setup: async (naive) => startKeys(naive),
    op: (naive) => expectRegistered(naive.register(newRegistration(naive))),
  }),
  hotPath({
    name: "cache-coordinator/register",
    ceiling: "write",
    floor: REGISTER_FLOOR,
    baseline: REGISTER_BASELINE,
    // The key's store row, its tag row and the tag's by-key index entry.
    maxRowsWrittenPerOp: 3,
    namespace: (env) => env.CACHE_COORDINATOR,
    setup: async (coordinator) => startKeys(coordinator),
    op: (coordinator) => expectRegistered(coordinator.register(newRegistration(coordinator))),
  }),
  floorRow({
    name: INVALIDATE_FLOOR,
    ceiling: "write",
    namespace: (env) => env.CACHE_COORDINATOR_FLOOR,
    setup: async (floor) => {
      await floor.benchSeed(SEEDED_KEYS);
      startKeys(floor);
    },
    op: (floor) => expectQueued(floor.invalidate(`inv-${nextKey(floor)}`)),
  }),
  hotPath({
    name: "cache-coordinator/invalidate",
    ceiling: "write",
    floor: INVALIDATE_FLOOR,
    // The purge row, its one call (and its due index entry), the key's store row and its tag
    // row with that row's index entry taken out.
    maxRowsWrittenPerOp: 6,
    namespace: (env) => env.CACHE_COORDINATOR,
    setup: async (coordinator) => {
      await coordinator.benchSeed(SEEDED_KEYS);
      startKeys(coordinator);
    },
    op: (coordinator) => expectQueued(coordinator.invalidate(`inv-${nextKey(coordinator)}`)),
  }),
];
