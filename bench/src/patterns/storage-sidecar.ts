/**
 * The storage sidecar's rows: `get` (one row read, nothing written), `set` (one row), and
 * `append` onto a list already holding 1,000 and 10,000 items, each beside the naive sidecar of
 * the source articles, which keeps a list as one array value and reads, extends and rewrites
 * the whole array on every append.
 */
import { DurableObject } from "cloudflare:workers";
import type {
  AppendResult,
  GetResult,
  JsonValue,
  SetResult,
  StorageSidecar,
} from "@do-patterns/storage-sidecar";
import { baselineRow, floorRow, hotPath, type Row } from "../rows.ts";

/** One list item or value: a record as a Workflow step would fetch it (about 60 bytes of JSON). */
const ITEM = { id: 12_345, source: "page-7", score: 0.75, tags: ["a", "b"] };
const LIST = "records";

type Ok<T> = Extract<T, { ok: true }>;

/**
 * The floor: the sidecar's signatures with only the storage work their guarantees need. `get`
 * reads its one row (the bulk lives in SQL, not memory) and parses it; `set` reads the size of
 * the value it replaces (the byte cap needs it) and upserts one row; `append` inserts one row
 * under a sequence kept in memory. No validation, cap checks or idle timer.
 */
export class SidecarSignatureFloor extends DurableObject<unknown> {
  private next: number;

  constructor(ctx: DurableObjectState, env: unknown) {
    super(ctx, env);
    ctx.storage.sql.exec(`
      CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, bytes INTEGER NOT NULL, value TEXT NOT NULL) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS items (list TEXT NOT NULL, seq INTEGER NOT NULL, bytes INTEGER NOT NULL, value TEXT NOT NULL, PRIMARY KEY (list, seq)) WITHOUT ROWID;
    `);
    // Once, on start: an object evicted while the other rows of its group take their turns
    // starts again here, and must go on from its last item, as the sidecar does.
    this.next = ctx.storage.sql
      .exec<{ next: number }>(
        "SELECT coalesce(max(seq), 0) + 1 AS next FROM items WHERE list = ?",
        LIST,
      )
      .one().next;
  }

  get(key: string): Ok<GetResult> {
    const row = this.ctx.storage.sql
      .exec<{ value: string }>("SELECT value FROM kv WHERE key = ?", key)
      .toArray()[0];
    if (row === undefined) return { ok: true, found: false, value: null };
    return { ok: true, found: true, value: JSON.parse(row.value) as JsonValue };
  }

  set(key: string, value: JsonValue): Ok<SetResult> {
    const json = JSON.stringify(value);
    // The size it replaces: the 128 MiB cap needs it, and sizes are not kept in memory.
    const old = this.ctx.storage.sql
      .exec<{ bytes: number }>("SELECT bytes FROM kv WHERE key = ?", key)
      .toArray()[0];
    this.ctx.storage.sql.exec(
      `INSERT INTO kv (key, bytes, value) VALUES (?, ?, ?)
       ON CONFLICT (key) DO UPDATE SET bytes = excluded.bytes, value = excluded.value`,
      key,
      json.length,
      json,
    );
    return { ok: true, created: old === undefined, bytes: json.length };
  }

  append(list: string, value: JsonValue): Ok<AppendResult> {
    const json = JSON.stringify(value);
    const seq = this.next++;
    this.ctx.storage.sql.exec(
      "INSERT INTO items (list, seq, bytes, value) VALUES (?, ?, ?, ?)",
      list,
      seq,
      json.length,
      json,
    );
    return { ok: true, seq, length: seq, duplicate: false };
  }

  /** Untimed setup: `count` items already in the list, as the pattern rows have. */
  fill(list: string, count: number): void {
    for (let i = 0; i < count; i++) this.append(list, ITEM);
  }
}

/**
 * The naive sidecar of the source articles: a list is one value holding an array, and every
 * append reads it, pushes one item and writes the whole array back (async KV API). One row
 * written per append too, but that row is the entire list.
 */
export class NaiveArraySidecar extends DurableObject<unknown> {
  async append(list: string, value: JsonValue): Promise<Ok<AppendResult>> {
    const items = (await this.ctx.storage.get<JsonValue[]>(list)) ?? [];
    items.push(value);
    await this.ctx.storage.put(list, items);
    return { ok: true, seq: items.length, length: items.length, duplicate: false };
  }

  async fill(list: string, count: number): Promise<void> {
    await this.ctx.storage.put(
      list,
      Array.from({ length: count }, () => ITEM),
    );
  }
}

/** Fills a real sidecar's list with `count` items, a full batch at a time. */
async function fillSidecar(sidecar: DurableObjectStub<StorageSidecar>, count: number) {
  for (let done = 0; done < count; done += 1_000) {
    const batch = Array.from({ length: Math.min(1_000, count - done) }, () => ITEM);
    const result = await sidecar.appendMany(LIST, batch);
    if (!result.ok) throw new Error(`fill failed: ${result.error.message}`);
  }
}

function expectOk(outcome: { ok: boolean }): void {
  if (!outcome.ok) throw new Error(`expected ok, got ${JSON.stringify(outcome)}`);
}
function expectAppended(outcome: AppendResult, atLeast: number): void {
  if (!outcome.ok || outcome.duplicate || outcome.seq <= atLeast) {
    throw new Error(`expected a new item after ${atLeast}, got ${JSON.stringify(outcome)}`);
  }
}

const GET_FLOOR = "storage-sidecar/floor-get";
const SET_FLOOR = "storage-sidecar/floor-set";
/** Calls per run of the naive appends: a few seconds of them, in 8 slices. */
const NAIVE_APPEND_CALLS = 1_000;

const appendFloor = (n: number) => `storage-sidecar/floor-append-${n}`;
const appendBaseline = (n: number) => `baseline/sidecar-array-append-${n}`;

const appendRows = (existing: number): Row[] => [
  floorRow({
    name: appendFloor(existing),
    ceiling: "write",
    namespace: (env) => env.SIDECAR_SIGNATURE,
    setup: (floor) => floor.fill(LIST, existing),
    op: async (floor) => expectAppended(await floor.append(LIST, ITEM), existing),
  }),
  baselineRow({
    name: appendBaseline(existing),
    ceiling: "write",
    namespace: (env) => env.SIDECAR_BASELINE,
    // It rewrites the whole list per append (about 150/s): all N calls took a minute a row, in
    // which the other rows' objects, waiting their turn, were evicted.
    maxCalls: NAIVE_APPEND_CALLS,
    setup: (naive) => naive.fill(LIST, existing),
    op: async (naive) => expectAppended(await naive.append(LIST, ITEM), existing),
  }),
  hotPath({
    name: `storage-sidecar/append-${existing}`,
    ceiling: "write",
    floor: appendFloor(existing),
    baseline: appendBaseline(existing),
    maxRowsWrittenPerOp: 1,
    namespace: (env) => env.SIDECARS,
    setup: (sidecar) => fillSidecar(sidecar, existing),
    op: async (sidecar) => expectAppended(await sidecar.append(LIST, ITEM), existing),
  }),
];

export const STORAGE_SIDECAR_ROWS: Row[] = [
  floorRow({
    name: GET_FLOOR,
    ceiling: "noop",
    namespace: (env) => env.SIDECAR_SIGNATURE,
    setup: async (floor) => floor.set("status", ITEM),
    op: async (floor) => {
      if (!(await floor.get("status")).found) throw new Error("expected a value");
    },
  }),
  floorRow({
    name: SET_FLOOR,
    ceiling: "write",
    namespace: (env) => env.SIDECAR_SIGNATURE,
    op: async (floor) => expectOk(await floor.set("status", ITEM)),
  }),
  hotPath({
    name: "storage-sidecar/get",
    ceiling: "noop",
    floor: GET_FLOOR,
    maxRowsWrittenPerOp: 0,
    namespace: (env) => env.SIDECARS,
    setup: async (sidecar) => expectOk(await sidecar.set("status", ITEM)),
    op: async (sidecar) => {
      const result = await sidecar.get("status");
      if (!result.ok || !result.found)
        throw new Error(`expected a value, got ${JSON.stringify(result)}`);
    },
  }),
  hotPath({
    name: "storage-sidecar/set",
    ceiling: "write",
    floor: SET_FLOOR,
    maxRowsWrittenPerOp: 1,
    namespace: (env) => env.SIDECARS,
    // The first write creates the tables and starts the idle timer; the timed ones only write.
    setup: async (sidecar) => expectOk(await sidecar.set("status", ITEM)),
    op: async (sidecar) => expectOk(await sidecar.set("status", ITEM)),
  }),
  ...appendRows(1_000),
  ...appendRows(10_000),
];
