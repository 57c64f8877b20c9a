/**
 * `sessionStore()`: the sessions as a Worker sees them, by id. It generates ids, refuses
 * malformed ones without a call, and runs the operations that take two objects (a session and
 * its user's index) in the order that keeps "log out everywhere" complete.
 */
import {
  initialData,
  mergeFields,
  setField,
  type DataResult,
  type JsonValue,
  type SessionFields,
} from "./data";
import { isSessionId, newSessionId, userObjectName } from "./id";
import { noSession, type Session, type SessionOutcome } from "./object";
import { parseUserId, type CreateOptions } from "./options";
import type { SessionView } from "./record";

/** A new session's options: anonymous unless it names a user. */
export interface NewSessionOptions extends CreateOptions {
  /** The signed-in user: the session joins the user's index (1-256 characters). */
  userId?: string;
}

export interface RotateOptions {
  /**
   * Sign the session in as this user. From anonymous, the data stays and the session's lifetime
   * starts now; from another user, nothing carries over. The same user (or none given) keeps
   * everything, start time included.
   */
  userId?: string;
}

/** The operations on sessions by id. Every id that is not a live session is "no session". */
export interface SessionStore {
  create(options?: NewSessionOptions): Promise<SessionOutcome>;
  /** The session, touching it (a write at most once per touch interval), or null. */
  get(id: string): Promise<SessionView | null>;
  /** The session without touching it, or null. */
  peek(id: string): Promise<SessionView | null>;
  set(id: string, field: string, value: JsonValue): Promise<SessionOutcome>;
  merge(id: string, fields: SessionFields): Promise<SessionOutcome>;
  deleteFields(id: string, fields: string[]): Promise<SessionOutcome>;
  /** Moves the session to a new id, the old one dead at once. The new id is in the result. */
  rotate(id: string, options?: RotateOptions): Promise<SessionOutcome>;
  destroy(id: string): Promise<{ destroyed: boolean }>;
  /** Log out everywhere: ends every session of the user. */
  destroyAllForUser(userId: string): Promise<{ destroyed: number }>;
}

/**
 * @example
 * const sessions = sessionStore(env.SESSIONS);
 * const created = await sessions.create({ userId: "alice" });
 * if (created.ok) {
 *   const rotated = await sessions.rotate(created.session.id); // after a privilege change
 *   await sessions.destroyAllForUser("alice"); // log out everywhere
 * }
 */
export function sessionStore(namespace: DurableObjectNamespace<Session>): SessionStore {
  const session = (id: string) => namespace.getByName(id);
  const user = (userId: string) => namespace.getByName(userObjectName(userId));

  return {
    async create(options = {}) {
      const unsendable = refusal(initialData(options.data));
      if (unsendable !== undefined) return unsendable;
      const { userId, ...rest } = options;
      if (userId === undefined) return session(newSessionId()).create(rest);
      const valid = parseUserId(userId);
      if (!valid.ok) return { ok: false, error: valid.error };
      return user(valid.value).startUserSession(newSessionId(), { from: null, options: rest });
    },

    async get(id) {
      return isSessionId(id) ? session(id).get() : null;
    },

    async peek(id) {
      return isSessionId(id) ? session(id).peek() : null;
    },

    async set(id, field, value) {
      if (!isSessionId(id)) return noSession();
      return refusal(setField({}, field, value)) ?? session(id).set(field, value);
    },

    async merge(id, fields) {
      if (!isSessionId(id)) return noSession();
      return refusal(mergeFields({}, fields)) ?? session(id).merge(fields);
    },

    async deleteFields(id, fields) {
      return isSessionId(id) ? session(id).deleteFields(fields) : noSession();
    },

    async rotate(id, options = {}) {
      if (!isSessionId(id)) return noSession();
      // Checked before the old id dies, so a bad user id cannot end the session.
      const target = options.userId === undefined ? undefined : parseUserId(options.userId);
      if (target !== undefined && !target.ok) return { ok: false, error: target.error };
      // First the old id dies, taking its record; only then does the new one start, so there is
      // never a moment when both work, and a write to the old id cannot be lost in between.
      const record = await session(id).detach();
      if (record === null) return noSession();
      const userId = target?.value ?? record.userId;
      const newId = newSessionId();
      if (userId === null) return session(newId).adopt(record);
      return user(userId).startUserSession(newId, { from: id, record });
    },

    async destroy(id) {
      if (!isSessionId(id)) return { destroyed: false };
      const { destroyed, userId } = await session(id).destroy();
      if (userId !== null) {
        try {
          await user(userId).forgetUserSession(id);
        } catch (error) {
          // The session is over either way; its index entry goes when the index next fills up
          // or reaches the session's absolute deadline.
          console.warn("sessionStore().destroy(): the user index was not updated", error);
        }
      }
      return { destroyed };
    },

    async destroyAllForUser(userId) {
      // An invalid user id was never given a session.
      if (!parseUserId(userId).ok) return { destroyed: 0 };
      return user(userId).endUserSessions();
    },
  };
}

/**
 * Data is checked here as well as in the object: a value nested thousands deep cannot even be
 * serialised for the call (the serialiser runs out of stack), so it must be refused before it.
 */
function refusal(result: DataResult): SessionOutcome | undefined {
  return result.ok ? undefined : { ok: false, error: result.error };
}
