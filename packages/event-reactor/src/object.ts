/**
 * The reactor: an Agent (Agents SDK) per entity. It checks and dedupes each event, runs the
 * domain's pure `decide`, and records the new state, the commands (in an outbox) and the
 * decisions in one storage transaction; then it delivers the outbox to a Cloudflare Queue,
 * marking a command sent only after the send succeeded, and retrying with backoff until it does.
 *
 * The SDK brings what a plain Durable Object would have to build: state synced to every
 * WebSocket client (`setState`), and durable scheduling with cron (`schedule`), which drives
 * the staleness review and the delivery retries.
 */
import { Agent } from "agents";
import { brandDomain, initialBrandState, type BrandEvent, type BrandState } from "./brand";
import { parseEnvelope } from "./envelope";
import {
  commandId,
  type Command,
  type Decision,
  type Domain,
  type DomainEvent,
  type Outcome,
} from "./reactor";

/** Commands waiting to be sent, at most; past it, events are refused until the queue drains. */
export const MAX_PENDING_COMMANDS = 1_000;
/**
 * Sent commands kept for the outbox view, at most. Once full, the oldest PRUNE_STEP are deleted
 * together (and so with the decisions and event ids below): one statement per that many
 * writes instead of one per write.
 */
export const SENT_HISTORY = 500;
/** Decisions kept in the log, at most. */
export const MAX_DECISIONS = 1_000;
/** Rows one prune deletes from a full table (of sent commands, decisions or event ids). */
export const PRUNE_STEP = 50;
/** Decisions one `decisionLog` call returns at most. */
export const MAX_DECISION_PAGE = 100;
/** Event ids remembered for dedupe: for 7 days, and at most this many (the oldest drop first). */
export const DEDUPE_WINDOW_MS = 7 * 24 * 3_600_000;
export const MAX_REMEMBERED_EVENTS = 10_000;
/** A command's JSON, at most (a Queue message may be 128 KB; a batch, 256 KB). */
export const MAX_COMMAND_BYTES = 8 * 1024;
/** At most this many commands from one event or review. */
export const MAX_COMMANDS_PER_OUTCOME = 20;
/** Commands per `sendBatch`, and their JSON bytes: a Queue batch holds 100 messages, 256 KB. */
export const BATCH_MESSAGES = 100;
export const BATCH_BYTES = 200 * 1024;
/** Due commands one delivery step reads, sent as up to 4 batches at once. */
const DELIVERY_ROWS = 4 * BATCH_MESSAGES;
/** Retry delays after a failed send: 1 s doubling to 5 min, with full jitter. */
export const RETRY_BASE_MS = 1_000;
export const RETRY_MAX_MS = 300_000;
/** A safety-net delivery this long after each recorded command, in case the object is evicted. */
export const SAFETY_NET_SECONDS = 10;
/** The safety-net schedule's payload, which tells its run apart from other deliveries. */
const SAFETY_NET = "safety-net";
/** The staleness review's schedule (cron, UTC): at the start of every hour. */
export const REVIEW_CRON = "0 * * * *";

export type IngestResult =
  | { ok: true; duplicate: false; commands: Command[]; decisions: Decision[] }
  | { ok: true; duplicate: true; eventId: string }
  | { ok: false; error: { code: IngestErrorCode; message: string } };

export type IngestErrorCode = "invalid_event" | "backlogged" | "handler_failed";

export interface DeliveryReport {
  sent: number;
  /** Commands still waiting (not yet due, or their send failed). */
  pending: number;
  /** The send error of this run, if a send failed. */
  error?: string;
}

export interface OutboxEntry extends Command {
  status: "pending" | "sent";
  attempts: number;
  /** When the next attempt is due (pending) or when it was sent. */
  nextAttemptAt: number | null;
  sentAt: number | null;
  lastError: string | null;
}

export interface LoggedDecision extends Decision {
  seq: number;
  at: number;
  /** The event id, or `review@<time>-<nonce>` for a run of the scheduled review. */
  cause: string;
}

export interface ReactorSnapshot<State> {
  entity: string;
  state: State;
  pendingCommands: number;
}

/**
 * The reactor's RPC methods as a caller sees them. Use it to type a stub: the SDK's Agent has
 * so many members that `DurableObjectStub<EventReactor>` is too deep for TypeScript to map.
 *
 * @example
 * const reactor = (await getAgentByName(env.EVENT_REACTOR, "acme")) as unknown as EventReactorStub;
 */
export interface EventReactorStub<State = BrandState> {
  ingest(input: unknown): Promise<IngestResult>;
  reviewStaleness(): Promise<{ commands: Command[]; decisions: Decision[] }>;
  deliverOutbox(): Promise<DeliveryReport>;
  snapshot(): Promise<ReactorSnapshot<State>>;
  decisionLog(options?: { type?: string; limit?: number }): Promise<LoggedDecision[]>;
  outboxStatus(options?: { status?: "pending" | "sent"; limit?: number }): Promise<OutboxEntry[]>;
  fetch(request: Request): Promise<Response>;
}

type OutboxRow = {
  seq: number;
  id: string;
  type: string;
  payload: string;
  entity: string;
  created_at: number;
  attempts: number;
  next_attempt_at: number;
  sent_at: number | null;
  last_error: string | null;
};

/**
 * A command waiting to be sent, as delivery needs it: the command itself, kept as recorded so
 * it is not read back and parsed, and its outbox row's sequence, attempts and payload size.
 */
interface Due {
  seq: number;
  attempts: number;
  command: Command;
  /** The payload's stored JSON length, for sizing Queue batches. */
  payloadLength: number;
}

/**
 * One reactor per entity, named by it: `getAgentByName(env.EVENT_REACTOR, "acme")`.
 * Bind a Queue producer as `REACTOR_COMMANDS` (or set `commandQueueBinding`).
 *
 * To react to your own domain, subclass it and set `domain` and `initialState` (both, since the
 * SDK reads `initialState` as a field):
 *
 * @example
 * export class OrderReactor extends EventReactor<OrderState, OrderEvent> {
 *   protected override domain = orderDomain;
 *   override initialState = orderDomain.initialState;
 * }
 * const result = await (await getAgentByName(env.EVENT_REACTOR, "acme")).ingest({
 *   id: "evt-1", type: "research.completed", at: Date.now(),
 *   data: { topic: "pricing", confidence: 0.8 },
 * });
 */
export class EventReactor<State = BrandState, Event extends DomainEvent = BrandEvent> extends Agent<
  Cloudflare.Env,
  State
> {
  protected domain = brandDomain as unknown as Domain<State, Event>;
  override initialState = initialBrandState as State;
  /** The Queue producer binding commands are sent to. */
  protected commandQueueBinding = "REACTOR_COMMANDS";

  /** Mirror the counts of unsent and of sent commands, so no call needs to count them. */
  private pendingCount: number;
  private sentCount: number;
  /** The next outbox row's `seq`, so a recorded command can be marked sent without a lookup. */
  private nextSeq: number;
  /**
   * The commands recorded and not yet taken by a send, oldest first, while they are exactly
   * the due pending rows in storage: then delivery sends them from here instead of reading
   * them back. Null while storage may hold more (after a wake with commands pending, or a failed
   * send), until the outbox drains.
   */
  private unsent: Due[] | null;
  /** Event ids and decisions, each kept to its newest rows. */
  private readonly events: RowidWindow;
  private readonly decisions: RowidWindow;
  /** The delivery running now, so concurrent triggers share it. */
  private delivering: Promise<DeliveryReport> | null = null;
  /** Until when (real clock) a safety-net delivery is known to be scheduled. */
  private safetyNetUntil = 0;
  /** This entity's name, read once: the SDK works it out again on every read. */
  private entityName: string | undefined;

  constructor(ctx: DurableObjectState, env: Cloudflare.Env) {
    super(ctx, env);
    const sql = ctx.storage.sql;
    sql.exec(`CREATE TABLE IF NOT EXISTS reactor_events (id TEXT PRIMARY KEY, seen_at INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS reactor_outbox (
        seq INTEGER PRIMARY KEY, id TEXT NOT NULL, type TEXT NOT NULL,
        payload TEXT NOT NULL, entity TEXT NOT NULL, created_at INTEGER NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at INTEGER NOT NULL,
        sent_at INTEGER, last_error TEXT);
      DROP INDEX IF EXISTS reactor_outbox_due;
      CREATE TABLE IF NOT EXISTS reactor_decisions (
        seq INTEGER PRIMARY KEY, at INTEGER NOT NULL, cause TEXT NOT NULL,
        type TEXT NOT NULL, reason TEXT NOT NULL, facts TEXT NOT NULL);`);
    // No index on event time, decision type or due time: each would cost a write per event,
    // while the hourly prune, a by-type query and a retry scan at most 10,000, 1,000 and 1,500
    // rows (pending commands and sent history).
    const counts = sql
      .exec<{ pending: number; sent: number; last: number | null }>(
        `SELECT count(*) - count(sent_at) AS pending, count(sent_at) AS sent, max(seq) AS last
         FROM reactor_outbox`,
      )
      .one();
    this.pendingCount = counts.pending;
    this.sentCount = counts.sent;
    this.nextSeq = (counts.last ?? 0) + 1;
    this.unsent = counts.pending === 0 ? [] : null;
    this.events = new RowidWindow(sql, "reactor_events", MAX_REMEMBERED_EVENTS);
    this.decisions = new RowidWindow(sql, "reactor_decisions", MAX_DECISIONS);
  }

  /** The one source of time. Tests override it to drive dedupe windows and staleness. */
  protected now(): number {
    return Date.now();
  }

  /**
   * Runs on every wake: the hourly review is scheduled (the SDK dedupes a cron schedule), and
   * commands left unsent by an eviction are delivered.
   */
  override async onStart(): Promise<void> {
    await this.schedule(REVIEW_CRON, "reviewStaleness");
    if (this.pendingCount > 0) {
      await this.scheduleNextDue();
      this.ctx.waitUntil(this.deliverOutbox());
    }
  }

  /**
   * Handles one event: checks it, ignores it if its id was seen, decides, and records state,
   * commands and decisions at once. Answers once they are stored; delivery follows on its own.
   * Answers without awaiting anything unless a safety-net delivery must be scheduled first.
   */
  ingest(input: unknown): IngestResult | Promise<IngestResult> {
    const envelope = parseEnvelope(input);
    if (!envelope.ok) return invalid(envelope.message);
    // A retry is recognised by its id alone, before the domain checks its data again.
    const sql = this.ctx.storage.sql;
    if (
      sql.exec("SELECT 1 FROM reactor_events WHERE id = ?", envelope.event.id).toArray().length > 0
    ) {
      return { ok: true, duplicate: true, eventId: envelope.event.id };
    }
    const parsed = this.domain.parse(envelope.event);
    if (!parsed.ok) return invalid(parsed.message);
    const { event } = parsed;
    if (this.pendingCount >= MAX_PENDING_COMMANDS) {
      return {
        ok: false,
        error: {
          code: "backlogged",
          message: `${this.pendingCount} commands are waiting to be sent; try the event again later`,
        },
      };
    }
    const now = this.now();
    let outcome: Outcome<State>;
    try {
      outcome = this.domain.decide(this.state, event as Event, now);
      checkOutcome(outcome);
    } catch (error) {
      console.error(error);
      return {
        ok: false,
        error: {
          code: "handler_failed",
          message: `the ${event.type} handler failed: ${error instanceof Error ? error.message : String(error)}`,
        },
      };
    }
    // Before the commit, so an eviction right after it still leaves a delivery scheduled.
    if (outcome.commands.length > 0 && !this.safetyNetScheduled()) {
      return this.scheduleSafetyNet().then(() => this.commit(event.id, outcome, now));
    }
    return this.commit(event.id, outcome, now);
  }

  /** Records a new event's outcome and starts delivering its commands. */
  private commit(eventId: string, outcome: Outcome<State>, now: number): IngestResult {
    const commands = this.record(eventId, outcome, now, eventId);
    if (commands.length > 0) this.ctx.waitUntil(this.deliverOutbox());
    return { ok: true, duplicate: false, commands, decisions: outcome.decisions };
  }

  /**
   * The scheduled decision cycle (hourly, by cron): what the clock alone calls for, such as no
   * research for a day. Also delivers anything still pending.
   */
  async reviewStaleness(): Promise<{ commands: Command[]; decisions: Decision[] }> {
    const now = this.now();
    const outcome = this.domain.review(this.state, now);
    checkOutcome(outcome);
    if (outcome.commands.length > 0) await this.scheduleSafetyNet();
    // '@' cannot appear in an event id, and the nonce keeps two runs in one millisecond apart.
    const cause = `review@${now}-${crypto.randomUUID().slice(0, 8)}`;
    const commands = this.record(cause, outcome, now, null);
    this.pruneEvents(now);
    if (this.pendingCount > 0) await this.deliverOutbox();
    return { commands, decisions: outcome.decisions };
  }

  /**
   * Sends every due command, in order, in batches. A command is marked sent only after its
   * batch's send succeeded; a failed send leaves the batch pending with a later retry time and
   * schedules that retry. Runs from ingest, from its schedules, and on wake; concurrent calls
   * share one run.
   */
  deliverOutbox(trigger?: unknown): Promise<DeliveryReport> {
    // The safety net fired: the next command needs a new one.
    if (trigger === SAFETY_NET) this.safetyNetUntil = 0;
    this.delivering ??= this.deliverDue().finally(() => {
      this.delivering = null;
    });
    return this.delivering;
  }

  /** The state, for a caller that is not a WebSocket client. */
  snapshot(): ReactorSnapshot<State> {
    return { entity: this.name, state: this.state, pendingCommands: this.pendingCount };
  }

  /** The latest decisions, newest first, optionally of one type. */
  decisionLog(options: { type?: string; limit?: number } = {}): LoggedDecision[] {
    const limit = clampLimit(options.limit, MAX_DECISION_PAGE);
    const rows =
      typeof options.type === "string"
        ? this.ctx.storage.sql.exec<DecisionRow>(
            "SELECT * FROM reactor_decisions WHERE type = ? ORDER BY seq DESC LIMIT ?",
            options.type,
            limit,
          )
        : this.ctx.storage.sql.exec<DecisionRow>(
            "SELECT * FROM reactor_decisions ORDER BY seq DESC LIMIT ?",
            limit,
          );
    return rows.toArray().map((row) => ({
      seq: row.seq,
      at: row.at,
      cause: row.cause,
      type: row.type,
      reason: row.reason,
      facts: JSON.parse(row.facts) as Decision["facts"],
    }));
  }

  /** The outbox: pending commands (oldest first) or the latest sent ones (newest first). */
  outboxStatus(options: { status?: "pending" | "sent"; limit?: number } = {}): OutboxEntry[] {
    const limit = clampLimit(options.limit, SENT_HISTORY);
    const rows =
      options.status === "sent"
        ? this.ctx.storage.sql.exec<OutboxRow>(
            "SELECT * FROM reactor_outbox WHERE sent_at IS NOT NULL ORDER BY seq DESC LIMIT ?",
            limit,
          )
        : this.ctx.storage.sql.exec<OutboxRow>(
            "SELECT * FROM reactor_outbox WHERE sent_at IS NULL ORDER BY seq LIMIT ?",
            limit,
          );
    return rows.toArray().map((row) => ({
      ...toCommand(row),
      status: row.sent_at === null ? "pending" : "sent",
      attempts: row.attempts,
      nextAttemptAt: row.sent_at === null ? row.next_attempt_at : null,
      sentAt: row.sent_at,
      lastError: row.last_error,
    }));
  }

  /**
   * Sends one batch of commands. Override to deliver elsewhere; throwing leaves the batch
   * pending for a retry.
   */
  protected async sendCommands(commands: Command[]): Promise<void> {
    const queue = (this.env as unknown as Record<string, unknown>)[this.commandQueueBinding];
    if (typeof queue !== "object" || queue === null || !("sendBatch" in queue)) {
      throw new Error(
        `no Queue producer binding named "${this.commandQueueBinding}" in env; add it to your wrangler config`,
      );
    }
    await (queue as Queue<Command>).sendBatch(
      commands.map((body) => ({ body, contentType: "json" })),
    );
  }

  /** One transaction: the event id, the commands, the decisions, then the state. */
  private record(
    cause: string,
    outcome: Outcome<State>,
    now: number,
    eventId: string | null,
  ): Command[] {
    const commands = outcome.commands.map((draft, index) => ({
      id: commandId(cause, index),
      entity: (this.entityName ??= this.name),
      createdAt: now,
      type: draft.type,
      payload: draft.payload,
    }));
    const rows: OutboxRow[] = commands.map((command, index) => ({
      seq: this.nextSeq + index,
      id: command.id,
      type: command.type,
      payload: JSON.stringify(command.payload),
      entity: command.entity,
      created_at: now,
      attempts: 0,
      next_attempt_at: now,
      sent_at: null,
      last_error: null,
    }));
    try {
      this.ctx.storage.transactionSync(() => this.write(rows, outcome, cause, now, eventId));
    } catch (error) {
      // Rolled back: the rowid windows may have counted a prune that did not happen.
      this.events.reload();
      this.decisions.reload();
      throw error;
    }
    this.nextSeq += rows.length;
    this.pendingCount += rows.length;
    this.unsent?.push(
      ...rows.map((row, index) => ({
        seq: row.seq,
        attempts: 0,
        command: commands[index] as Command,
        payloadLength: row.payload.length,
      })),
    );
    return commands;
  }

  /** The rows of one `record`, inside its transaction. */
  private write(
    rows: OutboxRow[],
    outcome: Outcome<State>,
    cause: string,
    now: number,
    eventId: string | null,
  ): void {
    const sql = this.ctx.storage.sql;
    if (eventId !== null) {
      sql.exec(
        "INSERT INTO reactor_events (rowid, id, seen_at) VALUES (?, ?, ?)",
        this.events.nextRowid(),
        eventId,
        now,
      );
    }
    for (const row of rows) {
      sql.exec(
        `INSERT INTO reactor_outbox (seq, id, type, payload, entity, created_at, next_attempt_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
        row.seq,
        row.id,
        row.type,
        row.payload,
        row.entity,
        row.created_at,
        row.next_attempt_at,
      );
    }
    for (const decision of outcome.decisions) {
      sql.exec(
        "INSERT INTO reactor_decisions (seq, at, cause, type, reason, facts) VALUES (?, ?, ?, ?, ?, ?)",
        this.decisions.nextRowid(),
        now,
        cause,
        decision.type,
        decision.reason,
        JSON.stringify(decision.facts),
      );
    }
    // Last: it also tells the WebSocket clients, which must not hear of a change that rolled back.
    if (outcome.state !== this.state) this.setState(outcome.state);
  }

  /**
   * The due commands to send next, oldest first: from memory while it holds exactly the due
   * pending ones, else from storage. One delivery runs at a time, and it takes more rows only
   * once the last ones were marked sent or postponed, so no row is handed out twice.
   */
  private takeDue(): Due[] {
    if (this.unsent !== null) return this.unsent.splice(0, DELIVERY_ROWS);
    const rows = this.ctx.storage.sql
      .exec<OutboxRow>(
        `SELECT * FROM reactor_outbox WHERE sent_at IS NULL AND next_attempt_at <= ?
         ORDER BY next_attempt_at, seq LIMIT ?`,
        this.now(),
        DELIVERY_ROWS,
      )
      .toArray();
    return rows.map((row) => ({
      seq: row.seq,
      attempts: row.attempts,
      command: toCommand(row),
      payloadLength: row.payload.length,
    }));
  }

  private async deliverDue(): Promise<DeliveryReport> {
    let sent = 0;
    let lastError: string | undefined;
    for (;;) {
      const rows = this.takeDue();
      if (rows.length === 0) break;
      // Several batches at once: Queues keep no order between batches anyway.
      const batches = intoBatches(rows);
      const results = await Promise.allSettled(
        batches.map((batch) => this.sendCommands(batch.map((due) => due.command))),
      );
      const delivered: Due[] = [];
      const failed: Due[] = [];
      results.forEach((result, index) => {
        const batch = batches[index] ?? [];
        if (result.status === "fulfilled") delivered.push(...batch);
        else {
          failed.push(...batch);
          lastError =
            result.reason instanceof Error ? result.reason.message : String(result.reason);
        }
      });
      if (delivered.length > 0) this.markSent(delivered);
      sent += delivered.length;
      if (failed.length > 0) {
        await this.postpone(failed, lastError ?? "send failed");
        break;
      }
    }
    await this.scheduleNextDue();
    return {
      sent,
      pending: this.pendingCount,
      ...(lastError === undefined ? {} : { error: lastError }),
    };
  }

  /** Marks commands sent, and keeps only the latest SENT_HISTORY sent ones. */
  private markSent(rows: Due[]): void {
    const sql = this.ctx.storage.sql;
    const sentAt = this.now();
    const total = this.sentCount + rows.length;
    const excess = rowsToPrune(total, SENT_HISTORY);
    const mark = () => {
      for (const row of rows) {
        sql.exec(
          "UPDATE reactor_outbox SET sent_at = ?, attempts = attempts + 1, last_error = NULL WHERE seq = ?",
          sentAt,
          row.seq,
        );
      }
      if (excess > 0) {
        sql.exec(
          `DELETE FROM reactor_outbox WHERE seq IN
             (SELECT seq FROM reactor_outbox WHERE sent_at IS NOT NULL ORDER BY seq LIMIT ?)`,
          excess,
        );
      }
    };
    // One statement is atomic by itself; more run in one transaction.
    if (rows.length === 1 && excess === 0) mark();
    else this.ctx.storage.transactionSync(mark);
    this.pendingCount -= rows.length;
    this.sentCount = total - excess;
    // Nothing pending: memory and storage agree again.
    if (this.pendingCount === 0) this.unsent ??= [];
  }

  /** A failed batch: each command's next attempt moves out by its backoff, and is scheduled. */
  private async postpone(rows: Due[], message: string): Promise<void> {
    const now = this.now();
    // Storage now holds commands due later, which memory does not: read it until it drains.
    this.unsent = null;
    this.ctx.storage.transactionSync(() => {
      for (const row of rows) {
        this.ctx.storage.sql.exec(
          "UPDATE reactor_outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? WHERE seq = ?",
          now + retryDelayMs(row.attempts + 1, Math.random()),
          message.slice(0, 500),
          row.seq,
        );
      }
    });
    await this.scheduleNextDue();
  }

  /**
   * Schedules a delivery for when the earliest pending command is due, unless one is already
   * scheduled by then. Delays are relative: the SDK's schedules run on the real clock.
   */
  private async scheduleNextDue(): Promise<void> {
    if (this.pendingCount === 0) return;
    const next = this.ctx.storage.sql
      .exec<{ at: number | null }>(
        "SELECT min(next_attempt_at) AS at FROM reactor_outbox WHERE sent_at IS NULL",
      )
      .one().at;
    if (next === null) return;
    const delaySeconds = Math.max(1, Math.ceil((next - this.now()) / 1000));
    const realNow = Date.now();
    const covered = this.getSchedules({
      timeRange: { end: new Date(realNow + delaySeconds * 1000) },
    }).some(
      // Strictly in the future: a schedule running this very delivery is about to be deleted.
      (schedule) => schedule.callback === "deliverOutbox" && schedule.time * 1000 > realNow,
    );
    if (!covered) await this.schedule(delaySeconds, "deliverOutbox");
  }

  /**
   * One safety-net delivery pending at a time: while one is known to be scheduled, a new command
   * needs none (the in-memory note is lost on eviction, and the SDK dedupes the next request).
   */
  private async scheduleSafetyNet(): Promise<void> {
    if (this.safetyNetScheduled()) return;
    await this.schedule(SAFETY_NET_SECONDS, "deliverOutbox", SAFETY_NET, { idempotent: true });
    // Until a second before it fires: a command recorded after that gets its own.
    this.safetyNetUntil = Date.now() + (SAFETY_NET_SECONDS - 1) * 1000;
  }

  private safetyNetScheduled(): boolean {
    return Date.now() < this.safetyNetUntil;
  }

  /** Forgets event ids older than the dedupe window. */
  private pruneEvents(now: number): void {
    this.ctx.storage.sql.exec(
      "DELETE FROM reactor_events WHERE seen_at < ?",
      now - DEDUPE_WINDOW_MS,
    );
    this.events.reload();
  }
}

/**
 * How many of the oldest rows to delete from a table that holds `count` with the write just
 * made: none up to `max`; past it, PRUNE_STEP (more if one write took it further), so the
 * next prune is PRUNE_STEP writes away. Every capped table prunes by this one rule.
 */
function rowsToPrune(count: number, max: number): number {
  return count > max ? count - (max - PRUNE_STEP + 1) : 0;
}

/**
 * A table kept to its newest `max` rows by rowid, which it hands out in order. Once full, the
 * oldest PRUNE_STEP rows go in one DELETE, so pruning costs one statement per PRUNE_STEP
 * inserts. The rowid range is kept in memory (both ends read from the rowid B-tree on wake), so
 * no insert counts rows.
 */
class RowidWindow {
  /** The oldest rowid that may still be stored, and the next one to hand out. */
  private oldest = 1;
  private next = 1;

  constructor(
    private readonly sql: SqlStorage,
    private readonly table: string,
    private readonly max: number,
  ) {
    this.reload();
  }

  /** The rowid for the next row; first prunes the oldest rows if the table is full. */
  nextRowid(): number {
    // Rows may be missing inside the range (deleted by time), never outside it: the range
    // overcounts, so the table never holds more than `max`.
    const excess = rowsToPrune(this.next - this.oldest + 1, this.max);
    if (excess > 0) {
      this.oldest += excess;
      this.sql.exec(`DELETE FROM ${this.table} WHERE rowid < ?`, this.oldest);
    }
    return this.next++;
  }

  /** Reads the range again, after rows were deleted by other means or a write rolled back. */
  reload(): void {
    const range = this.sql
      .exec<{ oldest: number | null; newest: number | null }>(
        `SELECT min(rowid) AS oldest, max(rowid) AS newest FROM ${this.table}`,
      )
      .one();
    this.next = (range.newest ?? 0) + 1;
    this.oldest = range.oldest ?? this.next;
  }
}

type DecisionRow = {
  seq: number;
  at: number;
  cause: string;
  type: string;
  reason: string;
  facts: string;
};

/**
 * The delay before attempt `attempt + 1` after `attempt` failures: exponential from
 * RETRY_BASE_MS, capped at RETRY_MAX_MS, with full jitter (`random` in [0, 1)) so many reactors
 * whose sends failed together do not retry together. Never below half the exponential delay.
 *
 * @example
 * retryDelayMs(1, 0.5); // 750: between 500 and 1,000
 */
export function retryDelayMs(attempt: number, random: number): number {
  const exponential = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** Math.max(0, attempt - 1));
  return Math.round(exponential / 2 + (exponential / 2) * random);
}

/** Groups due commands into Queue batches: at most BATCH_MESSAGES and BATCH_BYTES of JSON each. */
function intoBatches(due: Due[]): Due[][] {
  const batches: Due[][] = [];
  let current: Due[] = [];
  let bytes = 0;
  for (const command of due) {
    // The payload as stored, plus room for the other fields.
    const size = command.payloadLength * 3 + 512;
    if (current.length === BATCH_MESSAGES || (current.length > 0 && bytes + size > BATCH_BYTES)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(command);
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/** Refuses an outcome the outbox could not carry: checked before anything is written. */
function checkOutcome(outcome: Outcome<unknown>): void {
  if (outcome.commands.length > MAX_COMMANDS_PER_OUTCOME) {
    throw new Error(
      `${outcome.commands.length} commands from one outcome; at most ${MAX_COMMANDS_PER_OUTCOME}`,
    );
  }
  for (const command of outcome.commands) {
    const json = JSON.stringify(command);
    // A UTF-16 unit is at most 3 UTF-8 bytes: most commands are far from the cap, and only a
    // large one pays for exact counting.
    if (json.length * 3 <= MAX_COMMAND_BYTES) continue;
    const bytes = new TextEncoder().encode(json).byteLength;
    if (bytes > MAX_COMMAND_BYTES) {
      throw new Error(`a ${command.type} command is ${bytes} bytes; at most ${MAX_COMMAND_BYTES}`);
    }
  }
}

function toCommand(row: OutboxRow): Command {
  return {
    id: row.id,
    entity: row.entity,
    createdAt: row.created_at,
    type: row.type,
    payload: JSON.parse(row.payload) as Command["payload"],
  };
}

function invalid(message: string): IngestResult {
  return { ok: false, error: { code: "invalid_event", message } };
}

function clampLimit(limit: number | undefined, max: number): number {
  if (typeof limit !== "number" || !Number.isInteger(limit) || limit < 1) return max;
  return Math.min(limit, max);
}
