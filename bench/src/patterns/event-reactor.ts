/**
 * The event-reactor rows: a new event that yields one command (the state, the event id, one
 * outbox row and one decision written together, then the command marked sent after a send that
 * costs nothing), and a retried event (a read, no write). Beside them, their floor on a plain Durable
 * Object, and the Agents SDK's own per-call cost: an Agent doing nothing, and an Agent writing
 * one row, against the plain-object ceilings; and, for the layer guide, the source articles'
 * layer: a JSON request and answer over `fetch`.
 */
import {
  EventReactor,
  initialBrandState,
  MAX_DECISIONS,
  MAX_REMEMBERED_EVENTS,
  PRUNE_STEP,
  SENT_HISTORY,
  type BrandState,
  type Command,
  type EventReactorStub,
  type IngestResult,
} from "@do-patterns/event-reactor";
import { Agent } from "agents";
import { DurableObject } from "cloudflare:workers";
import { floorRow, hotPath, type Row } from "../rows.ts";

/** Research confident enough to draft from: one decision and one command. */
const event = (id: string) => ({
  id,
  type: "research.completed",
  at: Date.UTC(2026, 10, 1),
  data: { topic: "pricing", confidence: 0.9 },
});
const REPEATED = event("bench-repeated");

/** A brand's state after one research event: what the reactor's state write carries. */
const BENCH_STATE: BrandState = { ...initialBrandState, since: 1, topics: ["pricing"] };

let sequence = 0;
/** A fresh event id per call, across every row and round of a run. */
const nextEvent = () => event(`bench-${++sequence}`);

/**
 * `ingest`'s signature, with the storage work its guarantee needs and nothing else: a seen id is
 * a read; a new one writes the event id, one outbox row, one decision and the state in one
 * transaction (the state through `setState`, which also sends it to WebSocket clients, as the
 * pattern promises), then marks the command sent. On an Agent, as the package is (the issue builds it
 * on the SDK): the SDK's own per-call cost is shown apart, by the agent-* rows.
 *
 * Each row carries what the issue asks of it, and nothing more: an event id with the time it was
 * seen (ids are remembered for a bounded window); a command with what a retry needs (its attempts
 * and when the next is due) and its sent time; a decision with its time, type (the log is
 * queried by type), reason and facts. Each table is bounded as the reactor's are, the oldest 50
 * rows deleted together once it is full (event ids and decisions by rowid, sent commands by
 * sequence). The reactor stores more (the decision's cause, the command's fields as columns for
 * the outbox view, its last error), and pays for it against this floor.
 */
export class EventReactorSignature extends Agent<Env, BrandState> {
  override initialState = initialBrandState;
  private readonly events: NewestRows;
  private readonly decisions: NewestRows;
  private nextSeq = 1;
  private sentRows = 0;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql
      .exec(`CREATE TABLE IF NOT EXISTS seen (id TEXT PRIMARY KEY, seen_at INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY, body TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at INTEGER NOT NULL, sent_at INTEGER);
      CREATE TABLE IF NOT EXISTS decisions (seq INTEGER PRIMARY KEY, at INTEGER NOT NULL,
        type TEXT NOT NULL, reason TEXT NOT NULL, facts TEXT NOT NULL);`);
    this.events = new NewestRows(ctx.storage.sql, "seen", MAX_REMEMBERED_EVENTS);
    this.decisions = new NewestRows(ctx.storage.sql, "decisions", MAX_DECISIONS);
  }

  ingest(input: { id: string }): IngestResult {
    const sql = this.ctx.storage.sql;
    if (sql.exec("SELECT 1 FROM seen WHERE id = ?", input.id).toArray().length > 0) {
      return { ok: true, duplicate: true, eventId: input.id };
    }
    const now = Date.now();
    const command: Command = {
      id: `${input.id}/0`,
      entity: "bench",
      createdAt: now,
      type: "draft-content",
      payload: { topic: "pricing" },
    };
    const decision = {
      type: "draft-content",
      reason:
        "research on pricing came back with confidence 0.9, at least 0.6: draft content on it",
      facts: { topic: "pricing", confidence: 0.9, threshold: 0.6 },
    };
    const seq = this.nextSeq++;
    this.ctx.storage.transactionSync(() => {
      sql.exec(
        "INSERT INTO seen (rowid, id, seen_at) VALUES (?, ?, ?)",
        this.events.nextRowid(),
        input.id,
        now,
      );
      sql.exec(
        "INSERT INTO outbox (seq, body, next_attempt_at) VALUES (?, ?, ?)",
        seq,
        JSON.stringify(command),
        now,
      );
      sql.exec(
        "INSERT INTO decisions (seq, at, type, reason, facts) VALUES (?, ?, ?, ?, ?)",
        this.decisions.nextRowid(),
        now,
        decision.type,
        decision.reason,
        JSON.stringify(decision.facts),
      );
      // The state through the SDK, as the guarantee needs: stored, and sent to every client.
      this.setState({ ...BENCH_STATE, lastResearchAt: now });
    });
    // The send itself is not measured (see QueuelessReactor): marking it sent is.
    this.ctx.waitUntil(
      Promise.resolve().then(() => {
        sql.exec(
          "UPDATE outbox SET sent_at = ?, attempts = attempts + 1 WHERE seq = ?",
          Date.now(),
          seq,
        );
        if (++this.sentRows > SENT_HISTORY) {
          sql.exec(
            "DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox WHERE sent_at IS NOT NULL ORDER BY seq LIMIT ?)",
            PRUNE_STEP,
          );
          this.sentRows -= PRUNE_STEP;
        }
      }),
    );
    return { ok: true, duplicate: false, commands: [command], decisions: [decision] };
  }
}

/**
 * A table kept to its newest `max` rows, as the reactor keeps its own: rowids handed out in
 * order, and once the table is full the oldest PRUNE_STEP deleted together.
 */
class NewestRows {
  private next = 1;
  private oldest = 1;

  constructor(
    private readonly sql: SqlStorage,
    private readonly table: string,
    private readonly max: number,
  ) {}

  nextRowid(): number {
    if (this.next - this.oldest >= this.max) {
      this.oldest += PRUNE_STEP;
      this.sql.exec(`DELETE FROM ${this.table} WHERE rowid < ?`, this.oldest);
    }
    return this.next++;
  }
}

/**
 * The real reactor, its commands "sent" to a Queue that accepts at once. The local Queue's
 * latency under 64 calls in flight is Miniflare's, not the pattern's (on a loaded machine it
 * fell behind and the reactor refused events as backlogged, as it should); delivery's own
 * work, waiting for the record to be on disk, taking the due commands and marking them sent, is
 * still measured. Not `async`, as the package's own send is not.
 */
export class QueuelessReactor extends EventReactor {
  protected override sendCommands(): Promise<void> {
    return Promise.resolve();
  }
}

/** The Agents SDK's per-call cost: the plain ceilings' work, on an Agent. */
export class AgentCeiling extends Agent<Env> {
  private writes = 0;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec(
      `CREATE TABLE IF NOT EXISTS ceiling (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID`,
    );
  }

  noop(): void {}

  writeRow(): void {
    this.writes++;
    this.ctx.storage.sql.exec(
      `INSERT INTO ceiling (key, value) VALUES ('k', ?)
       ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
      this.writes,
    );
  }
}

/**
 * The layer the source articles use: a Durable Object reached by `fetch`, its request routed by
 * URL and its body and answer carried as JSON. Beside the RPC ceiling, it shows what a call
 * costs before any work is done.
 */
export class FetchCeiling extends DurableObject<Env> {
  override async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname !== "/evaluate") return new Response("not found", { status: 404 });
    const { flag } = await request.json<{ flag: string; entityId: string }>();
    return Response.json({ flag, enabled: false, reason: "rollout-excluded", rolloutPercent: 30 });
  }
}

interface Env {}

/**
 * The stubs' types are too deep for TypeScript to map (the Agent's many members, and the
 * recursive JSON type in results): their methods, typed by hand.
 */
const asReactor = (stub: unknown) => stub as EventReactorStub;
const asFloor = (stub: unknown) => stub as Pick<EventReactorStub, "ingest">;

function expectNew(result: IngestResult): void {
  if (!result.ok || result.duplicate || result.commands.length !== 1) {
    throw new Error(`expected one new command, got ${JSON.stringify(result)}`);
  }
}
function expectDuplicate(result: IngestResult): void {
  if (!result.ok || !result.duplicate)
    throw new Error(`expected a duplicate, got ${JSON.stringify(result)}`);
}

const INGEST_FLOOR = "event-reactor/floor-ingest";
const DUPLICATE_FLOOR = "event-reactor/floor-ingest-duplicate";

export const EVENT_REACTOR_ROWS: Row[] = [
  floorRow({
    name: "layers/fetch-json",
    ceiling: "noop",
    namespace: (env) => env.FETCH_CEILING,
    op: async (object) => {
      const response = await object.fetch("https://object/evaluate", {
        method: "POST",
        body: JSON.stringify({ flag: "new-checkout", entityId: "user-42" }),
      });
      await response.json();
    },
  }),
  floorRow({
    name: "event-reactor/agent-noop",
    ceiling: "noop",
    namespace: (env) => env.AGENT_CEILING,
    op: (agent) => agent.noop(),
  }),
  floorRow({
    name: "event-reactor/agent-write-row",
    ceiling: "write",
    namespace: (env) => env.AGENT_CEILING,
    op: (agent) => agent.writeRow(),
  }),
  floorRow({
    name: INGEST_FLOOR,
    ceiling: "write",
    namespace: (env) => env.EVENT_REACTOR_SIGNATURE,
    op: async (floor) => expectNew(await asFloor(floor).ingest(nextEvent())),
  }),
  floorRow({
    name: DUPLICATE_FLOOR,
    ceiling: "noop",
    namespace: (env) => env.EVENT_REACTOR_SIGNATURE,
    setup: (floor) => asFloor(floor).ingest(REPEATED),
    op: async (floor) => expectDuplicate(await asFloor(floor).ingest(REPEATED)),
  }),
  hotPath({
    name: "event-reactor/ingest",
    ceiling: "write",
    floor: INGEST_FLOOR,
    // The event id, the state, the outbox row, the decision, the sent mark, and the indexes
    // and schedule bookkeeping SQLite counts as rows.
    maxRowsWrittenPerOp: 14,
    namespace: (env) => env.EVENT_REACTOR,
    op: async (reactor) => expectNew(await asReactor(reactor).ingest(nextEvent())),
  }),
  hotPath({
    name: "event-reactor/ingest-duplicate",
    ceiling: "noop",
    floor: DUPLICATE_FLOOR,
    maxRowsWrittenPerOp: 0,
    namespace: (env) => env.EVENT_REACTOR,
    setup: (reactor) => asReactor(reactor).ingest(REPEATED),
    op: async (reactor) => expectDuplicate(await asReactor(reactor).ingest(REPEATED)),
  }),
];
