/**
 * @do-patterns/session: server-side sessions, one Durable Object per session id, with idle and
 * absolute timeouts enforced on every read, reads that write at most once per touch interval,
 * rotation, log out everywhere, and a Hono cookie middleware.
 *
 * Each file is one room: `object.ts` the Durable Object, `store.ts` the sessions by id as a
 * Worker uses them, `middleware.ts` the cookie middleware, `routes.ts` the HTTP routes,
 * `record.ts` and `data.ts` the pure decisions (timeouts and touches; data checks and size),
 * `id.ts` ids and object names, `options.ts` input validation, `http.ts` the helpers every
 * catalog package repeats.
 */
export {
  MAX_SESSIONS_PER_USER,
  Session,
  type SessionError,
  type SessionErrorCode,
  type SessionOutcome,
  type UserSessionEntry,
  type UserSessionStart,
} from "./object";
export {
  sessionStore,
  type NewSessionOptions,
  type RotateOptions,
  type SessionStore,
} from "./store";
export {
  session,
  type SessionHandle,
  type SessionOptions,
  type SessionShape,
  type SessionVariables,
} from "./middleware";
export { sessionRoutes, type SessionRoutesOptions } from "./routes";
export { SESSION_ID_BYTES, isSessionId, newSessionId, userObjectName } from "./id";
export {
  MAX_DATA_BYTES,
  MAX_DEPTH,
  MAX_FIELD_NAME_LENGTH,
  dataBytes,
  deleteFields,
  mergeFields,
  setField,
  type JsonValue,
  type SessionData,
  type SessionFields,
} from "./data";
export {
  DEFAULT_ABSOLUTE_TIMEOUT_SECONDS,
  DEFAULT_IDLE_TIMEOUT_SECONDS,
  MAX_ABSOLUTE_TIMEOUT_SECONDS,
  MAX_IDLE_TIMEOUT_SECONDS,
  MAX_TOUCH_INTERVAL_MS,
  MIN_TIMEOUT_SECONDS,
  expiresAt,
  isLive,
  touchIntervalMs,
  touched,
  viewOf,
  withData,
  type SessionRecord,
  type SessionView,
} from "./record";
export { MAX_USER_ID_LENGTH, type CreateOptions, type Timeouts } from "./options";
