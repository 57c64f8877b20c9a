/**
 * The Session Durable Object. One class, two kinds of object, told apart by name:
 *
 * - `<session id>`: one session, its record in one storage entry, cached in memory. Thin glue
 *   between the pure decisions of `record.ts` and `data.ts` and the object's storage and alarm.
 * - `user:<userId>`: the index of one user's sessions (at most MAX_SESSIONS_PER_USER), so "log
 *   out everywhere" can find them. Every step that gives the user a session (sign-in, the second
 *   half of a rotation) and log out everywhere itself run here, one at a time, so log out
 *   everywhere cannot miss a session that is being started or moved.
 */
import { DurableObject } from "cloudflare:workers";
import {
  deleteFields,
  mergeFields,
  setField,
  type DataError,
  type DataErrorCode,
  type DataResult,
  type JsonValue,
  type SessionData,
  type SessionFields,
} from "./data";
import { isSessionId, userIdOf } from "./id";
import { parseCreateOptions, parseRecord, type CreateOptions } from "./options";
import {
  expiresAt,
  isLive,
  touched,
  viewOf,
  withData,
  type SessionRecord,
  type SessionView,
} from "./record";

export type SessionErrorCode = DataErrorCode | "no_session" | "session_exists";

/**
 * Why an operation did nothing. Returned, never thrown, so a caller's mistake is an answer.
 * `no_session` is the one answer for every id that is not a live session: never issued, ended,
 * rotated away or expired all look the same.
 */
export interface SessionError {
  code: SessionErrorCode;
  message: string;
}

/**
 * The result of an operation that creates or changes a session.
 *
 * @example
 * const outcome = await env.SESSIONS.getByName(id).set("theme", "dark");
 * if (!outcome.ok) console.warn(outcome.error.code, outcome.error.message);
 */
export type SessionOutcome =
  | { ok: true; session: SessionView }
  | { ok: false; error: SessionError };

/** One of a user's sessions, as the user's index keeps it. */
export interface UserSessionEntry {
  createdAt: number;
  /** The session's absolute deadline: it cannot be alive after this, so neither is the entry. */
  expiresAt: number;
}

/**
 * How a user's session starts: fresh, or from the record a rotation took from `from` with
 * `detach()`.
 */
export type UserSessionStart =
  | { from: null; options?: CreateOptions }
  | { from: string; record: SessionRecord };

/**
 * Sessions one user may have at once. Signing in past it ends sessions that are already over,
 * then the oldest. 32 keeps "log out everywhere" within the 50 calls a Workers Free invocation
 * may make.
 */
export const MAX_SESSIONS_PER_USER = 32;
/** Index entries outlive their session's absolute deadline by this, for the two objects' clocks. */
export const INDEX_CLOCK_MARGIN_MS = 60_000;

const RECORD_KEY = "session";
const NOT_A_USER_OBJECT: SessionError = {
  code: "invalid_input",
  message: "user operations go to the object named userObjectName(userId)",
};
const ENTRY_PREFIX = "entry:";

/**
 * Server-side sessions, one object per session id, plus one index object per user. Address a
 * session by its id (`env.SESSIONS.getByName(id)`), or use `sessionStore()` and the `session()`
 * middleware, which also generate ids and keep the user index.
 *
 * A session's reads and writes decide synchronously against the in-memory record and store it
 * before they return, so concurrent calls are serialised by the object's input gate and none is
 * lost. A read writes only when the touch interval has passed; a dead session's object writes
 * nothing at all, and an alarm deletes everything once the session has expired.
 *
 * @example
 * const id = newSessionId();
 * await env.SESSIONS.getByName(id).create({ data: { theme: "dark" } });
 * const view = await env.SESSIONS.getByName(id).get(); // { id, data: { theme: "dark" }, ... }
 */
export class Session extends DurableObject<unknown> {
  /** This object's session id, when it is a session object. */
  private readonly sessionId: string | null;
  /** Session objects: cache over the one stored entry; null when there is none. */
  private record: SessionRecord | null = null;
  /** The user whose sessions this object indexes, when it is a user object. */
  private readonly userId: string | null;
  /** User objects: cache over the stored entries, one per session id. */
  private readonly entries = new Map<string, UserSessionEntry>();
  /** User objects: the tail of the chain that runs their changes one at a time. */
  private queue: Promise<unknown> = Promise.resolve();
  private namespace: DurableObjectNamespace<Session> | undefined;

  constructor(ctx: DurableObjectState, env: unknown) {
    super(ctx, env);
    const name = ctx.id.name ?? "";
    this.sessionId = isSessionId(name) ? name : null;
    this.userId = userIdOf(name) ?? null;
    // Synchronous reads, so no call can arrive before them; reading creates no storage.
    if (this.sessionId !== null) {
      this.record = ctx.storage.kv.get<SessionRecord>(RECORD_KEY) ?? null;
    }
    if (this.userId !== null) {
      for (const [key, entry] of ctx.storage.kv.list<UserSessionEntry>({ prefix: ENTRY_PREFIX })) {
        this.entries.set(key.slice(ENTRY_PREFIX.length), entry);
      }
    }
  }

  /** The one source of time. Tests override it to drive timeouts without sleeping. */
  protected now(): number {
    return Date.now();
  }

  // ---- A session object ----

  /**
   * Starts an anonymous session in this object, which must be new: name it with
   * `newSessionId()`. Sessions with a user start through the user's object
   * (`startUserSession`), which indexes them.
   */
  async create(options: CreateOptions = {}): Promise<SessionOutcome> {
    const unusable = this.unusableForNewSession();
    if (unusable !== undefined) return unusable;
    const parsed = parseCreateOptions(options, null, this.now());
    if (!parsed.ok) return refuse(parsed.error);
    return this.begin(parsed.value);
  }

  /**
   * The session, or null when there is none. Counts as activity: it persists the new last-seen
   * time when the stored one is a touch interval old, and writes nothing otherwise.
   */
  get(): SessionView | null {
    const now = this.now();
    const record = this.live(now);
    if (record === null) return null;
    const next = touched(record, now);
    if (next !== undefined) this.store(next);
    return this.view(next ?? record);
  }

  /** The session without counting as activity: never writes. */
  peek(): SessionView | null {
    const record = this.live(this.now());
    return record === null ? null : this.view(record);
  }

  /** Sets one field. Refused, storing nothing, if the data would pass MAX_DATA_BYTES. */
  set(field: string, value: JsonValue): SessionOutcome {
    return this.write((data) => setField(data, field, value));
  }

  /** Sets several fields at once (a shallow merge), all or none. */
  merge(fields: SessionFields): SessionOutcome {
    return this.write((data) => mergeFields(data, fields));
  }

  /** Removes the named fields; names that are not there are ignored. */
  deleteFields(fields: string[]): SessionOutcome {
    return this.write((data) => deleteFields(data, fields));
  }

  /**
   * Ends this session and returns its record, for a rotation to start it again under a new id
   * (`adopt`, or `startUserSession` for a user's session). From this call on the id is dead.
   */
  async detach(): Promise<SessionRecord | null> {
    const record = this.live(this.now());
    if (record === null) return null;
    await this.end();
    return record;
  }

  /**
   * Starts this new object as the session a rotation detached: same user, data, start time and
   * timeouts; the rotation itself counts as activity.
   */
  async adopt(record: SessionRecord): Promise<SessionOutcome> {
    const unusable = this.unusableForNewSession();
    if (unusable !== undefined) return unusable;
    const parsed = parseRecord(record);
    if (!parsed.ok) return refuse(parsed.error);
    const now = this.now();
    const adopted = { ...parsed.value, lastSeenAt: now };
    // Its absolute deadline may have passed while it was handed over.
    if (!isLive(adopted, now)) return noSession();
    return this.begin(adopted);
  }

  /**
   * Ends the session and deletes everything it stored. Returns its user, so the caller can
   * drop it from the user's index (`sessionStore().destroy()` does).
   */
  async destroy(): Promise<{ destroyed: boolean; userId: string | null }> {
    const record = this.live(this.now());
    if (record === null) return { destroyed: false, userId: null };
    await this.end();
    return { destroyed: true, userId: record.userId };
  }

  // ---- A user object ----

  /**
   * Starts one of this user's sessions under `id` (new, from `newSessionId()`): fresh, or from a
   * rotation's record. Records the id in the index before the session exists, so "log out
   * everywhere" can never miss a live session. A rotation of this user's own session goes ahead
   * only if the old id is still indexed: if the user logged out everywhere while it was being
   * handed over, it ends instead. Signing an anonymous session in keeps its data and starts its
   * lifetime now; a session of another user carries nothing over.
   */
  async startUserSession(id: string, start: UserSessionStart): Promise<SessionOutcome> {
    const userId = this.userId;
    if (userId === null) return refuse(NOT_A_USER_OBJECT);
    if (!isSessionId(id)) {
      return refuse({ code: "invalid_input", message: "id must come from newSessionId()" });
    }
    return this.serialized(async () => {
      const now = this.now();
      const parsed =
        start.from === null
          ? parseCreateOptions(start.options, userId, now)
          : parseRecord(start.record);
      if (!parsed.ok) return refuse(parsed.error);
      let record = parsed.value;
      if (start.from !== null) {
        if (record.userId === userId) {
          if (!this.entries.has(start.from)) return noSession();
          this.removeEntry(start.from);
        } else {
          const data = record.userId === null ? record.data : {};
          record = { ...record, userId, createdAt: now, data };
        }
      }
      await this.makeRoom(now);
      this.addEntry(id, {
        createdAt: record.createdAt,
        expiresAt: record.createdAt + record.absoluteTimeoutMs,
      });
      await this.armIndexAlarm();
      const outcome = await released<SessionOutcome>(this.sessions().getByName(id).adopt(record));
      if (!outcome.ok) await this.forget([id]);
      return outcome;
    });
  }

  /**
   * Log out everywhere: ends every session of this user. Entries leave the index only once their
   * session is confirmed ended; if any could not be reached it throws, and a retry finishes.
   */
  async endUserSessions(): Promise<{ destroyed: number }> {
    if (this.userId === null) return { destroyed: 0 };
    return this.serialized(async () => {
      const ids = [...this.entries.keys()];
      const results = await Promise.allSettled(
        ids.map((id) => released(this.sessions().getByName(id).destroy())),
      );
      const ended = ids.filter((_id, i) => results[i]?.status === "fulfilled");
      const destroyed = results.filter((r) => r.status === "fulfilled" && r.value.destroyed);
      await this.forget(ended);
      const failed = ids.length - ended.length;
      if (failed > 0) {
        throw new Error(`${failed} of the user's sessions could not be reached; try again`);
      }
      return { destroyed: destroyed.length };
    });
  }

  /** Drops an ended session from this user's index (after `destroy()` on the session). */
  async forgetUserSession(id: string): Promise<void> {
    if (this.userId === null) return;
    await this.serialized(() => this.forget([id]));
  }

  // ---- Both ----

  /**
   * A session's alarm deletes it once expired, else re-arms for its current deadline (reads
   * move the deadline without moving the alarm). A user's alarm drops entries past their
   * deadline. Both are safe to run early, late or twice.
   */
  override async alarm(): Promise<void> {
    if (this.userId !== null) {
      await this.serialized(async () => {
        this.dropExpiredEntries(this.now());
        await this.armIndexAlarm();
      });
      return;
    }
    const record = this.record;
    if (record !== null && isLive(record, this.now())) {
      await this.ctx.storage.setAlarm(expiresAt(record));
      return;
    }
    await this.end();
  }

  // ---- Session internals ----

  /** The record, when it is a session at `now`; an expired one is no session, unwritten. */
  private live(now: number): SessionRecord | null {
    const record = this.record;
    return record !== null && isLive(record, now) ? record : null;
  }

  private view(record: SessionRecord): SessionView {
    return viewOf(this.sessionId ?? "", record);
  }

  private write(change: (data: SessionData) => DataResult): SessionOutcome {
    const now = this.now();
    const record = this.live(now);
    if (record === null) return noSession();
    const result = change(record.data);
    if (!result.ok) return refuse(result.error);
    // Deleting fields that were not there changes nothing: a read, as far as storage goes.
    const next =
      result.data === record.data ? touched(record, now) : withData(record, result.data, now);
    // Stored before returning, with no await between: concurrent writes cannot interleave.
    if (next !== undefined) this.store(next);
    return { ok: true, session: this.view(next ?? record) };
  }

  private store(record: SessionRecord): void {
    this.ctx.storage.kv.put(RECORD_KEY, record);
    this.record = record;
  }

  private async begin(record: SessionRecord): Promise<SessionOutcome> {
    this.store(record);
    await this.ctx.storage.setAlarm(expiresAt(record));
    return { ok: true, session: this.view(record) };
  }

  /** Only a fresh object named by a session id may start a session. */
  private unusableForNewSession(): SessionOutcome | undefined {
    if (this.sessionId === null) {
      return refuse({
        code: "invalid_input",
        message: "sessions live in objects named by newSessionId()",
      });
    }
    if (this.record !== null) {
      return refuse({ code: "session_exists", message: "this id already holds a session" });
    }
    return undefined;
  }

  /** Forgets the record at once, so calls that arrive while storage is deleted see no session. */
  private async end(): Promise<void> {
    this.record = null;
    await this.ctx.storage.deleteAll();
  }

  // ---- User internals ----

  /** Runs a user's changes one at a time, each to completion, across their awaits. */
  private serialized<T>(work: () => Promise<T>): Promise<T> {
    const result = this.queue.then(work);
    this.queue = result.catch(() => undefined);
    return result;
  }

  /**
   * Keeps the index under its cap: first drops entries past their deadline, then, if still
   * full, those whose session has ended by other means (idle timeout, a logout whose index
   * update was lost), and then ends the oldest session.
   */
  private async makeRoom(now: number): Promise<void> {
    this.dropExpiredEntries(now);
    if (this.entries.size < MAX_SESSIONS_PER_USER) return;
    const ids = [...this.entries.keys()];
    const alive = await Promise.all(
      ids.map((id) =>
        released(this.sessions().getByName(id).peek()).then(
          (view) => view !== null,
          () => true, // unreachable: keep it indexed
        ),
      ),
    );
    for (const [i, id] of ids.entries()) if (alive[i] === false) this.removeEntry(id);
    if (this.entries.size < MAX_SESSIONS_PER_USER) return;
    const [oldest] = [...this.entries].reduce((a, b) => (b[1].createdAt < a[1].createdAt ? b : a));
    await released(this.sessions().getByName(oldest).destroy());
    this.removeEntry(oldest);
  }

  private addEntry(id: string, entry: UserSessionEntry): void {
    this.ctx.storage.kv.put(`${ENTRY_PREFIX}${id}`, entry);
    this.entries.set(id, entry);
  }

  /** Removes an entry if there is one; says whether there was. */
  private removeEntry(id: string): boolean {
    if (!this.entries.delete(id)) return false;
    this.ctx.storage.kv.delete(`${ENTRY_PREFIX}${id}`);
    return true;
  }

  /** Removes entries and re-arms; naming none that are indexed writes nothing. */
  private async forget(ids: string[]): Promise<void> {
    const removed = ids.filter((id) => this.removeEntry(id));
    if (removed.length > 0) await this.armIndexAlarm();
  }

  private dropExpiredEntries(now: number): void {
    for (const [id, entry] of this.entries) {
      if (now >= entry.expiresAt + INDEX_CLOCK_MARGIN_MS) this.removeEntry(id);
    }
  }

  /** The alarm at the earliest entry's deadline; with no entry left, nothing stored at all. */
  private async armIndexAlarm(): Promise<void> {
    if (this.entries.size === 0) {
      await this.ctx.storage.deleteAll();
      return;
    }
    const next =
      Math.min(...[...this.entries.values()].map((e) => e.expiresAt)) + INDEX_CLOCK_MARGIN_MS;
    if ((await this.ctx.storage.getAlarm()) !== next) await this.ctx.storage.setAlarm(next);
  }

  /** This class's own namespace, to reach a user's session objects. */
  private sessions(): DurableObjectNamespace<Session> {
    this.namespace ??= findOwnNamespace(this.ctx, this.env);
    return this.namespace;
  }
}

/**
 * The binding this class is bound under, whatever the app named it: the Durable Object
 * namespace whose id for this object's name is this object's id. Bindings with `fetch`
 * (services, whose RPC stubs answer to any method name) are skipped before anything is called.
 */
function findOwnNamespace(ctx: DurableObjectState, env: unknown): DurableObjectNamespace<Session> {
  const name = ctx.id.name;
  const bindings = typeof env === "object" && env !== null ? Object.values(env) : [];
  for (const binding of bindings) {
    if (typeof binding !== "object" || binding === null || "fetch" in binding) continue;
    const candidate = binding as Partial<DurableObjectNamespace<Session>>;
    if (name === undefined || typeof candidate.idFromName !== "function") continue;
    try {
      if (candidate.idFromName(name).equals(ctx.id) === true) {
        return candidate as DurableObjectNamespace<Session>;
      }
    } catch {
      // Not a namespace after all.
    }
  }
  throw new Error("the Session class must be bound in this Worker's wrangler config");
}

/**
 * Awaits a call to another object and returns a plain copy of its result, letting go of the
 * original. An RPC result holds on to the object that answered until it is disposed; a Worker's
 * request ends and releases it, but nothing ends in a Durable Object, and passing the result on
 * as this object's own answer keeps this object referenced by its caller (it cannot even be
 * evicted).
 */
async function released<T>(call: PromiseLike<T>): Promise<T> {
  const result = await call;
  if (typeof result !== "object" || result === null) return result;
  const copy = structuredClone(result);
  const dispose = (result as Record<symbol, unknown>)[DISPOSE];
  if (typeof dispose === "function") dispose.call(result);
  return copy;
}

/** In the runtime, but not yet in the ES2024 library types. */
const DISPOSE = (Symbol as unknown as { dispose: symbol }).dispose;

/** The one answer for every id that is not a live session. */
export function noSession(): SessionOutcome {
  return refuse({ code: "no_session", message: "no session: it never existed, ended or expired" });
}

function refuse(error: DataError | SessionError): SessionOutcome {
  return { ok: false, error };
}
