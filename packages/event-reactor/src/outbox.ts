/**
 * The outbox: commands stored in the same transaction as the state change that caused them, then
 * sent in batches, each command marked sent only after its batch's send succeeded and retried
 * with backoff until it does. A plain class over the object's SQLite storage: the reactor
 * decides when to deliver and schedules the retries; the outbox keeps the rows and the order.
 */
import { rowsToPrune } from "./bounded";
import type { Command } from "./reactor";

/** Commands waiting to be sent, at most; past it, events are refused until the queue drains. */
export const MAX_PENDING_COMMANDS = 1_000;
/** Sent commands kept for the outbox view, at most (pruned PRUNE_STEP at a time). */
export const SENT_HISTORY = 500;
/** Commands per `sendBatch`, and their JSON bytes: a Queue batch holds 100 messages, 256 KB. */
export const BATCH_MESSAGES = 100;
export const BATCH_BYTES = 200 * 1024;
/** Due commands one delivery step takes, sent as up to 4 batches at once. */
const DELIVERY_ROWS = 4 * BATCH_MESSAGES;
/** Retry delays after a failed send: 1 s doubling to 5 min, with full jitter. */
export const RETRY_BASE_MS = 1_000;
export const RETRY_MAX_MS = 300_000;

export interface OutboxEntry extends Command {
  status: "pending" | "sent";
  attempts: number;
  /** When the next attempt is due (pending) or when it was sent. */
  nextAttemptAt: number | null;
  sentAt: number | null;
  lastError: string | null;
}

/** A command to store: the command, and its JSON as checked for size, which is what is stored. */
export interface NewCommand {
  command: Command;
  json: string;
}

/** What one delivery did. */
export interface DeliveryResult {
  sent: number;
  /** The last send error, if a send failed (its batch was postponed). */
  error?: string;
}

/** A command waiting to be sent: its row's sequence and attempts, and the command itself. */
export interface Due {
  seq: number;
  attempts: number;
  command: Command;
  /** Its stored JSON's length, for sizing Queue batches. */
  length: number;
}

type CommandRow = {
  seq: number;
  body: string;
  attempts: number;
  next_attempt_at: number;
  sent_at: number | null;
  last_error: string | null;
};

export class Outbox {
  /** Commands not yet sent, and sent ones kept, mirrored so no call counts them. */
  private pendingCount: number;
  private sentCount: number;
  /** The next row's `seq`, so a recorded command is marked sent without a lookup. */
  private nextSeq: number;
  /**
   * The commands stored and not yet taken by a send, oldest first, while they are exactly the
   * due pending rows: then delivery sends them from here instead of reading storage. Null while
   * storage may hold more (after a wake with commands pending, or a failed send), until the
   * outbox drains.
   */
  private unsent: Due[] | null;

  constructor(private readonly storage: DurableObjectStorage) {
    const sql = storage.sql;
    // The command is stored as the JSON it is sent as: written once, and read back only after
    // a wake or a failed send.
    sql.exec(`CREATE TABLE IF NOT EXISTS reactor_commands (
        seq INTEGER PRIMARY KEY, body TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER NOT NULL, sent_at INTEGER, last_error TEXT)`);
    migrateColumnOutbox(storage);
    const counts = sql
      .exec<{ pending: number; sent: number; last: number | null }>(
        `SELECT count(*) - count(sent_at) AS pending, count(sent_at) AS sent, max(seq) AS last
         FROM reactor_commands`,
      )
      .one();
    this.pendingCount = counts.pending;
    this.sentCount = counts.sent;
    this.nextSeq = (counts.last ?? 0) + 1;
    this.unsent = counts.pending === 0 ? [] : null;
  }

  /** Commands not yet sent. */
  get pending(): number {
    return this.pendingCount;
  }

  /**
   * Stores commands, inside the caller's transaction. Returns what `stored` needs once that
   * transaction committed; nothing in memory changes before then, so a rollback needs no undo.
   */
  insert(commands: NewCommand[], now: number): Due[] {
    const due: Due[] = [];
    for (const { command, json } of commands) {
      const seq = this.nextSeq + due.length;
      this.storage.sql.exec(
        "INSERT INTO reactor_commands (seq, body, next_attempt_at) VALUES (?, ?, ?)",
        seq,
        json,
        now,
      );
      due.push({ seq, attempts: 0, command, length: json.length });
    }
    return due;
  }

  /** The commands of `insert` are committed: count them, and send them from memory. */
  stored(due: Due[]): void {
    this.nextSeq += due.length;
    this.pendingCount += due.length;
    this.unsent?.push(...due);
  }

  /**
   * Sends every due command through `send`, oldest first, in batches. Each step first waits for
   * what is recorded so far to be on disk: nothing is sent before its record is durable, and the
   * commands recorded meanwhile go out in the same step. A batch's commands are marked sent once
   * its send resolved; a failed batch is postponed by its backoff and ends the run. The caller
   * runs one delivery at a time: a delivery takes more commands only once the last were marked
   * sent or postponed, so none is handed out twice.
   */
  async deliver(
    send: (commands: Command[]) => Promise<unknown>,
    now: () => number,
  ): Promise<DeliveryResult> {
    let sent = 0;
    for (;;) {
      // Nothing more recorded: done, without waiting on the write of the last marks.
      if (this.unsent?.length === 0) return { sent };
      await this.storage.sync();
      const due = this.takeDue(now());
      if (due.length === 0) return { sent };
      const batches = intoBatches(due);
      const results = await Promise.allSettled(batches.map((batch) => sendSafely(send, batch)));
      const delivered: Due[] = [];
      const failed: Due[] = [];
      let error: string | undefined;
      results.forEach((result, index) => {
        const batch = batches[index] ?? [];
        if (result.status === "fulfilled") delivered.push(...batch);
        else {
          failed.push(...batch);
          error = result.reason instanceof Error ? result.reason.message : String(result.reason);
        }
      });
      if (delivered.length > 0) this.markSent(delivered, now());
      sent += delivered.length;
      if (error !== undefined) {
        this.postpone(failed, now(), error);
        return { sent, error };
      }
    }
  }

  /** When the earliest pending command is due, or null when none is pending. */
  nextDueAt(): number | null {
    if (this.pendingCount === 0) return null;
    return this.storage.sql
      .exec<{ at: number | null }>(
        "SELECT min(next_attempt_at) AS at FROM reactor_commands WHERE sent_at IS NULL",
      )
      .one().at;
  }

  /** Pending commands (oldest first) or the latest sent ones (newest first). */
  list(status: "pending" | "sent", limit: number): OutboxEntry[] {
    const rows =
      status === "sent"
        ? this.storage.sql.exec<CommandRow>(
            "SELECT * FROM reactor_commands WHERE sent_at IS NOT NULL ORDER BY seq DESC LIMIT ?",
            limit,
          )
        : this.storage.sql.exec<CommandRow>(
            "SELECT * FROM reactor_commands WHERE sent_at IS NULL ORDER BY seq LIMIT ?",
            limit,
          );
    return rows.toArray().map((row) => ({
      ...(JSON.parse(row.body) as Command),
      status: row.sent_at === null ? "pending" : "sent",
      attempts: row.attempts,
      nextAttemptAt: row.sent_at === null ? row.next_attempt_at : null,
      sentAt: row.sent_at,
      lastError: row.last_error,
    }));
  }

  /** The due commands to send next, oldest first: from memory while it holds them all. */
  private takeDue(now: number): Due[] {
    if (this.unsent !== null) return this.unsent.splice(0, DELIVERY_ROWS);
    const rows = this.storage.sql
      .exec<CommandRow>(
        `SELECT seq, body, attempts FROM reactor_commands WHERE sent_at IS NULL AND next_attempt_at <= ?
         ORDER BY next_attempt_at, seq LIMIT ?`,
        now,
        DELIVERY_ROWS,
      )
      .toArray();
    return rows.map((row) => ({
      seq: row.seq,
      attempts: row.attempts,
      command: JSON.parse(row.body) as Command,
      length: row.body.length,
    }));
  }

  /** Marks commands sent, and keeps only the latest SENT_HISTORY sent ones. */
  private markSent(due: Due[], sentAt: number): void {
    const sql = this.storage.sql;
    const total = this.sentCount + due.length;
    const excess = rowsToPrune(total, SENT_HISTORY);
    const mark = () => {
      const set =
        "UPDATE reactor_commands SET sent_at = ?, attempts = attempts + 1, last_error = NULL";
      // One statement however many were sent. Commands sent from memory are a run of
      // consecutive rows, updated by range; others (read back after a failure) by list, since a
      // statement takes at most 100 bindings.
      const first = due[0]?.seq ?? 0;
      if (due.every(({ seq }, index) => seq === first + index)) {
        sql.exec(`${set} WHERE seq BETWEEN ? AND ?`, sentAt, first, first + due.length - 1);
      } else {
        const seqs = JSON.stringify(due.map(({ seq }) => seq));
        sql.exec(`${set} WHERE seq IN (SELECT value FROM json_each(?))`, sentAt, seqs);
      }
      if (excess > 0) {
        sql.exec(
          `DELETE FROM reactor_commands WHERE seq IN
             (SELECT seq FROM reactor_commands WHERE sent_at IS NOT NULL ORDER BY seq LIMIT ?)`,
          excess,
        );
      }
    };
    try {
      // One statement is atomic by itself; with a prune, the two run in one transaction.
      if (excess === 0) mark();
      else this.storage.transactionSync(mark);
    } catch (error) {
      // Still pending in storage, and no longer in memory: read storage until the outbox drains.
      this.unsent = null;
      throw error;
    }
    this.pendingCount -= due.length;
    this.sentCount = total - excess;
    // Nothing pending: memory and storage agree again.
    if (this.pendingCount === 0) this.unsent ??= [];
  }

  /** A failed batch: each command's next attempt moves out by its backoff. */
  private postpone(due: Due[], now: number, error: string): void {
    // Storage now holds commands due later, which memory does not: read it until it drains.
    this.unsent = null;
    this.storage.transactionSync(() => {
      for (const { seq, attempts } of due) {
        this.storage.sql.exec(
          "UPDATE reactor_commands SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? WHERE seq = ?",
          now + retryDelayMs(attempts + 1, Math.random()),
          error.slice(0, 500),
          seq,
        );
      }
    });
  }
}

/**
 * Moves the commands of an earlier version's outbox, which kept each field in its own column
 * (`reactor_outbox`), into this one, pending and sent alike, in one transaction. Runs on wake;
 * a no-op once done.
 */
function migrateColumnOutbox(storage: DurableObjectStorage): void {
  const sql = storage.sql;
  const found = sql
    .exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'reactor_outbox'")
    .toArray();
  if (found.length === 0) return;
  storage.transactionSync(() => {
    // The keys in the order a command is built in, so the JSON reads as a new one does.
    sql.exec(`INSERT INTO reactor_commands (seq, body, attempts, next_attempt_at, sent_at, last_error)
      SELECT seq, json_object('id', id, 'entity', entity, 'createdAt', created_at, 'type', type,
        'payload', json(payload)), attempts, next_attempt_at, sent_at, last_error
      FROM reactor_outbox`);
    sql.exec("DROP TABLE reactor_outbox");
  });
}

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
    // At most 3 UTF-8 bytes per UTF-16 unit, and room for the message's own fields.
    const size = command.length * 3 + 128;
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

/** Sends a batch's commands; a send that throws instead of rejecting fails its batch the same way. */
function sendSafely(
  send: (commands: Command[]) => Promise<unknown>,
  batch: Due[],
): Promise<unknown> {
  try {
    return send(batch.map((due) => due.command));
  } catch (error) {
    return Promise.reject(error);
  }
}
