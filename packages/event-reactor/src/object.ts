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
import { RowidWindow } from "./bounded";
import {
  MAX_PENDING_COMMANDS,
  Outbox,
  SENT_HISTORY,
  type DeliveryResult,
  type Due,
  type NewCommand,
  type OutboxEntry,
} from "./outbox";
import {
  commandId,
  type Command,
  type Decision,
  type Domain,
  type DomainEvent,
  type Outcome,
} from "./reactor";

/** Decisions kept in the log, at most. */
export const MAX_DECISIONS = 1_000;
/** Decisions one `decisionLog` call returns at most. */
export const MAX_DECISION_PAGE = 100;
/** Event ids remembered for dedupe: for 7 days, and at most this many (the oldest drop first). */
export const DEDUPE_WINDOW_MS = 7 * 24 * 3_600_000;
export const MAX_REMEMBERED_EVENTS = 10_000;
/** A command's JSON, at most (a Queue message may be 128 KB; a batch, 256 KB). */
export const MAX_COMMAND_BYTES = 8 * 1024;
/** At most this many commands from one event or review. */
export const MAX_COMMANDS_PER_OUTCOME = 20;
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

export interface DeliveryReport extends DeliveryResult {
  /** Commands still waiting (not yet due, or their send failed). */
  pending: number;
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

  readonly #outbox: Outbox;
  /** Event ids and decisions, each kept to its newest rows. */
  readonly #events: RowidWindow;
  readonly #decisions: RowidWindow;
  /** The delivery running now, so concurrent triggers share it. */
  #delivering: Promise<DeliveryReport> | null = null;
  /** Until when (real clock) a safety-net delivery is known to be scheduled. */
  #safetyNetUntil = 0;
  /** This entity's name, read once: the SDK works it out again on every read. */
  #entity: string | undefined;

  constructor(ctx: DurableObjectState, env: Cloudflare.Env) {
    super(ctx, env);
    const sql = ctx.storage.sql;
    sql.exec(`CREATE TABLE IF NOT EXISTS reactor_events (id TEXT PRIMARY KEY, seen_at INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS reactor_decisions (
        seq INTEGER PRIMARY KEY, at INTEGER NOT NULL, cause TEXT NOT NULL,
        type TEXT NOT NULL, reason TEXT NOT NULL, facts TEXT NOT NULL);`);
    // No index on event time, decision type or due time: each would cost a write per event,
    // while the hourly prune, a by-type query and a retry scan at most 10,000, 1,000 and 1,500
    // rows (pending commands and sent history).
    this.#outbox = new Outbox(ctx.storage);
    this.#events = new RowidWindow(sql, "reactor_events", MAX_REMEMBERED_EVENTS);
    this.#decisions = new RowidWindow(sql, "reactor_decisions", MAX_DECISIONS);
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
    if (this.#outbox.pending > 0) {
      await this.#scheduleNextDue();
      this.#deliverInBackground();
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
    const id = envelope.event.id;
    const seen = this.ctx.storage.sql.exec("SELECT 1 FROM reactor_events WHERE id = ?", id);
    if (seen.toArray().length > 0) {
      return { ok: true, duplicate: true, eventId: id };
    }
    const parsed = this.domain.parse(envelope.event);
    if (!parsed.ok) return invalid(parsed.message);
    const { event } = parsed;
    if (this.#outbox.pending >= MAX_PENDING_COMMANDS) {
      return {
        ok: false,
        error: {
          code: "backlogged",
          message: `${this.#outbox.pending} commands are waiting to be sent; try the event again later`,
        },
      };
    }
    const now = this.now();
    let outcome: Outcome<State>;
    let commands: NewCommand[];
    try {
      outcome = this.domain.decide(this.state, event as Event, now);
      commands = this.#commandsOf(outcome, id, now);
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
    if (commands.length > 0 && !this.#safetyNetScheduled()) {
      return this.#scheduleSafetyNet().then(() => this.#commit(id, outcome, commands, now));
    }
    return this.#commit(id, outcome, commands, now);
  }

  /**
   * The scheduled decision cycle (hourly, by cron): what the clock alone calls for, such as no
   * research for a day. Also delivers anything still pending.
   */
  async reviewStaleness(): Promise<{ commands: Command[]; decisions: Decision[] }> {
    const now = this.now();
    const outcome = this.domain.review(this.state, now);
    // '@' cannot appear in an event id, and the nonce keeps two runs in one millisecond apart.
    const cause = `review@${now}-${crypto.randomUUID().slice(0, 8)}`;
    const commands = this.#commandsOf(outcome, cause, now);
    if (commands.length > 0) await this.#scheduleSafetyNet();
    this.#record(cause, outcome, commands, now, null);
    this.#pruneEvents(now);
    if (this.#outbox.pending > 0) await this.deliverOutbox();
    return { commands: commands.map(({ command }) => command), decisions: outcome.decisions };
  }

  /**
   * Sends every due command, in order, in batches. A command is marked sent only after its
   * batch's send succeeded; a failed send leaves the batch pending with a later retry time and
   * schedules that retry. Runs from ingest, from its schedules, and on wake; concurrent calls
   * share one run.
   */
  deliverOutbox(trigger?: unknown): Promise<DeliveryReport> {
    // The safety net fired: the next command needs a new one.
    if (trigger === SAFETY_NET) this.#safetyNetUntil = 0;
    return this.#deliver();
  }

  /** The state, for a caller that is not a WebSocket client. */
  snapshot(): ReactorSnapshot<State> {
    return { entity: this.name, state: this.state, pendingCommands: this.#outbox.pending };
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
    return this.#outbox.list(
      options.status === "sent" ? "sent" : "pending",
      clampLimit(options.limit, SENT_HISTORY),
    );
  }

  /**
   * Sends one batch of commands. Override to deliver elsewhere; a rejection (or a throw) leaves
   * the batch pending for a retry. Not `async`: the SDK wraps an async method in one more async
   * call, on every send.
   */
  protected sendCommands(commands: Command[]): Promise<unknown> {
    const queue = (this.env as unknown as Record<string, unknown>)[this.commandQueueBinding];
    if (typeof queue !== "object" || queue === null || !("sendBatch" in queue)) {
      throw new Error(
        `no Queue producer binding named "${this.commandQueueBinding}" in env; add it to your wrangler config`,
      );
    }
    return (queue as Queue<Command>).sendBatch(
      commands.map((body) => ({ body, contentType: "json" })),
    );
  }

  // The internal methods are #private: the SDK wraps every method it can see in its call
  // context, which an internal call does not need.

  /**
   * An outcome's commands as stored and sent, each with the JSON it is stored as. Throws, before
   * anything is written, if the outbox could not carry them.
   */
  #commandsOf(outcome: Outcome<State>, cause: string, now: number): NewCommand[] {
    if (outcome.commands.length > MAX_COMMANDS_PER_OUTCOME) {
      throw new Error(
        `${outcome.commands.length} commands from one outcome; at most ${MAX_COMMANDS_PER_OUTCOME}`,
      );
    }
    const entity = (this.#entity ??= this.name);
    return outcome.commands.map((draft, index) => {
      const command: Command = {
        id: commandId(cause, index),
        entity,
        createdAt: now,
        type: draft.type,
        payload: draft.payload,
      };
      const json = JSON.stringify(command);
      checkCommandSize(command.type, json);
      return { command, json };
    });
  }

  /** Records a new event's outcome and starts delivering its commands. */
  #commit(
    eventId: string,
    outcome: Outcome<State>,
    commands: NewCommand[],
    now: number,
  ): IngestResult {
    this.#record(eventId, outcome, commands, now, eventId);
    if (commands.length > 0) this.#deliverInBackground();
    return {
      ok: true,
      duplicate: false,
      commands: commands.map(({ command }) => command),
      decisions: outcome.decisions,
    };
  }

  /** One transaction: the event id, the commands, the decisions, then the state. */
  #record(
    cause: string,
    outcome: Outcome<State>,
    commands: NewCommand[],
    now: number,
    eventId: string | null,
  ): void {
    const sql = this.ctx.storage.sql;
    let stored: Due[];
    try {
      stored = this.ctx.storage.transactionSync(() => {
        if (eventId !== null) {
          sql.exec(
            "INSERT INTO reactor_events (rowid, id, seen_at) VALUES (?, ?, ?)",
            this.#events.nextRowid(),
            eventId,
            now,
          );
        }
        const due = this.#outbox.insert(commands, now);
        for (const decision of outcome.decisions) {
          sql.exec(
            "INSERT INTO reactor_decisions (seq, at, cause, type, reason, facts) VALUES (?, ?, ?, ?, ?, ?)",
            this.#decisions.nextRowid(),
            now,
            cause,
            decision.type,
            decision.reason,
            JSON.stringify(decision.facts),
          );
        }
        // Last: it also tells the WebSocket clients, which must not hear of a change that rolled back.
        if (outcome.state !== this.state) this.setState(outcome.state);
        return due;
      });
    } catch (error) {
      // Rolled back: the rowid windows may have counted a prune that did not happen.
      this.#events.reload();
      this.#decisions.reload();
      throw error;
    }
    this.#outbox.stored(stored);
  }

  /**
   * Delivers without a caller waiting. A failure (storage refusing the mark) leaves the commands
   * pending in storage, where the safety net or the next delivery finds them.
   */
  #deliverInBackground(): void {
    // A delivery already running takes these commands too (or, once a send failed, its retry).
    if (this.#delivering !== null) return;
    this.ctx.waitUntil(
      this.#deliver().catch((error: unknown) => console.error("delivery failed:", error)),
    );
  }

  /** The delivery running now, or a new one: one runs at a time. */
  #deliver(): Promise<DeliveryReport> {
    this.#delivering ??= this.#deliverDue().finally(() => {
      this.#delivering = null;
    });
    return this.#delivering;
  }

  async #deliverDue(): Promise<DeliveryReport> {
    const result = await this.#outbox.deliver(
      (commands) => this.sendCommands(commands),
      () => this.now(),
    );
    if (this.#outbox.pending > 0) await this.#scheduleNextDue();
    return { ...result, pending: this.#outbox.pending };
  }

  /**
   * Schedules a delivery for when the earliest pending command is due, unless one is already
   * scheduled by then. Delays are relative: the SDK's schedules run on the real clock.
   */
  async #scheduleNextDue(): Promise<void> {
    const next = this.#outbox.nextDueAt();
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
  async #scheduleSafetyNet(): Promise<void> {
    if (this.#safetyNetScheduled()) return;
    await this.schedule(SAFETY_NET_SECONDS, "deliverOutbox", SAFETY_NET, { idempotent: true });
    // Until a second before it fires: a command recorded after that gets its own.
    this.#safetyNetUntil = Date.now() + (SAFETY_NET_SECONDS - 1) * 1000;
  }

  #safetyNetScheduled(): boolean {
    return Date.now() < this.#safetyNetUntil;
  }

  /** Forgets event ids older than the dedupe window. */
  #pruneEvents(now: number): void {
    this.ctx.storage.sql.exec(
      "DELETE FROM reactor_events WHERE seen_at < ?",
      now - DEDUPE_WINDOW_MS,
    );
    this.#events.reload();
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

/** Refuses a command the outbox could not carry. */
function checkCommandSize(type: string, json: string): void {
  // A UTF-16 unit is at most 3 UTF-8 bytes: most commands are far from the cap, and only a
  // large one pays for exact counting.
  if (json.length * 3 <= MAX_COMMAND_BYTES) return;
  const bytes = new TextEncoder().encode(json).byteLength;
  if (bytes > MAX_COMMAND_BYTES) {
    throw new Error(`a ${type} command is ${bytes} bytes; at most ${MAX_COMMAND_BYTES}`);
  }
}

function invalid(message: string): IngestResult {
  return { ok: false, error: { code: "invalid_event", message } };
}

function clampLimit(limit: number | undefined, max: number): number {
  if (typeof limit !== "number" || !Number.isInteger(limit) || limit < 1) return max;
  return Math.min(limit, max);
}
