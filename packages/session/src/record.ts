/**
 * One session's life as pure functions of its stored record and the time: when it expires,
 * when a read must persist its touch, what a caller sees. The Durable Object stores exactly the
 * record these functions return, so it decides the same way before and after an eviction.
 *
 * A session ends at the first of two deadlines:
 * - idle: `idleTimeoutMs` after `lastSeenAt`, the last activity the record holds;
 * - absolute: `absoluteTimeoutMs` after `createdAt`, however active the session is.
 *
 * A read moves `lastSeenAt` to now only once it is a whole touch interval old (a tenth of the
 * idle timeout, at most a minute), so a busy session writes about once a minute, not once a
 * request. The price is that `lastSeenAt` may lag the last request by less than a touch
 * interval: a session ends between `idle - touch` and `idle` after its last request, never later.
 */
import type { SessionData } from "./data";

export const DEFAULT_IDLE_TIMEOUT_SECONDS = 30 * 60;
export const DEFAULT_ABSOLUTE_TIMEOUT_SECONDS = 8 * 60 * 60;
export const MIN_TIMEOUT_SECONDS = 60;
export const MAX_IDLE_TIMEOUT_SECONDS = 30 * 24 * 60 * 60;
/** 400 days: browsers keep no cookie longer, so no session could outlive its cookie anyway. */
export const MAX_ABSOLUTE_TIMEOUT_SECONDS = 400 * 24 * 60 * 60;
export const MAX_TOUCH_INTERVAL_MS = 60_000;

/** Everything one session stores: one entry in its object's storage. */
export interface SessionRecord {
  /** The signed-in user, or null for an anonymous session. */
  userId: string | null;
  createdAt: number;
  /** The last activity stored; moves at most once per touch interval on reads. */
  lastSeenAt: number;
  idleTimeoutMs: number;
  absoluteTimeoutMs: number;
  data: SessionData;
}

/**
 * What a caller sees of a live session. Times are milliseconds since the epoch.
 *
 * @example
 * const view = await env.SESSIONS.getByName(id).get();
 * if (view === null) return c.redirect("/login");
 * view.data.theme; // the session's data
 */
export interface SessionView<D = SessionData> {
  id: string;
  userId: string | null;
  data: D;
  createdAt: number;
  /** When the session ends unless a request comes first: the idle or the absolute deadline. */
  expiresAt: number;
  /** When the session ends however active it is. */
  absoluteExpiresAt: number;
}

/**
 * How stale `lastSeenAt` may get before a read persists it.
 *
 * @example
 * touchIntervalMs(30 * 60_000); // 60_000: a minute for the default 30-minute idle timeout
 * touchIntervalMs(5 * 60_000); // 30_000: a tenth of a short idle timeout
 */
export function touchIntervalMs(idleTimeoutMs: number): number {
  return Math.min(Math.floor(idleTimeoutMs / 10), MAX_TOUCH_INTERVAL_MS);
}

/**
 * The moment the record stops being a session: the earlier of its two deadlines.
 *
 * @example
 * expiresAt(record) <= record.createdAt + record.absoluteTimeoutMs; // always
 */
export function expiresAt(record: SessionRecord): number {
  return Math.min(
    record.lastSeenAt + record.idleTimeoutMs,
    record.createdAt + record.absoluteTimeoutMs,
  );
}

/**
 * Whether the record is a session at `now`. Nothing revives an expired record: reads of it
 * write nothing, so its deadlines never move again.
 *
 * @example
 * isLive(record, expiresAt(record) - 1); // true
 * isLive(record, expiresAt(record)); // false
 */
export function isLive(record: SessionRecord, now: number): boolean {
  return now < expiresAt(record);
}

/**
 * The record a read at `now` must store, or undefined when no write is due: `lastSeenAt` is
 * less than a touch interval old (or the clock stepped back). Call it only for a live record.
 *
 * @example
 * touched(record, record.lastSeenAt + 1_000); // undefined: within the interval
 * touched(record, record.lastSeenAt + 60_000); // { ...record, lastSeenAt: record.lastSeenAt + 60_000 }
 */
export function touched(record: SessionRecord, now: number): SessionRecord | undefined {
  if (now - record.lastSeenAt < touchIntervalMs(record.idleTimeoutMs)) return undefined;
  return { ...record, lastSeenAt: now };
}

/**
 * The record after a write of `data` at `now`. A write is activity, and is stored anyway, so it
 * carries the touch for free.
 *
 * @example
 * withData(record, { theme: "dark" }, now).lastSeenAt; // now
 */
export function withData(record: SessionRecord, data: SessionData, now: number): SessionRecord {
  return { ...record, data, lastSeenAt: Math.max(record.lastSeenAt, now) };
}

/**
 * What callers see of a record, under the session's id.
 *
 * @example
 * viewOf(id, record).expiresAt === expiresAt(record); // true
 */
export function viewOf(id: string, record: SessionRecord): SessionView {
  return {
    id,
    userId: record.userId,
    data: record.data,
    createdAt: record.createdAt,
    expiresAt: expiresAt(record),
    absoluteExpiresAt: record.createdAt + record.absoluteTimeoutMs,
  };
}
