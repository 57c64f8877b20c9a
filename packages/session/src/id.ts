/**
 * Session ids and object names. A session id is the object's name, so it is both the bearer
 * credential in the cookie and the address of the one object that holds the session; a user's
 * index lives in an object of the same class under a name no session id can take.
 */

/** Random bytes per id: 192 bits, beyond the 128 a session id needs to be unguessable. */
export const SESSION_ID_BYTES = 24;

/** 24 bytes in base64url are exactly 32 characters, with no padding. */
const SESSION_ID_PATTERN = /^[A-Za-z0-9_-]{32}$/;

/** Users' index objects are named `user:<userId>`; the colon is outside the id alphabet. */
const USER_PREFIX = "user:";

/**
 * A new session id: 192 bits from the platform's CSPRNG, URL- and cookie-safe.
 *
 * @example
 * const id = newSessionId(); // "q3Jd0r4w6mQ1bS-9yX_2kL8vNcTzA5eH"
 */
export function newSessionId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(SESSION_ID_BYTES));
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_");
}

/**
 * Whether `value` has the form of an id this package issues. Anything else is "no session"
 * without a call to any object, so garbage in a cookie costs nothing.
 *
 * @example
 * isSessionId(newSessionId()); // true
 * isSessionId("user:alice"); // false
 */
export function isSessionId(value: unknown): value is string {
  return typeof value === "string" && SESSION_ID_PATTERN.test(value);
}

/**
 * The name of the object that indexes one user's sessions.
 *
 * @example
 * env.SESSIONS.getByName(userObjectName("alice")).endUserSessions();
 */
export function userObjectName(userId: string): string {
  return `${USER_PREFIX}${userId}`;
}

/** The user whose index an object named `name` holds, or undefined for any other name. */
export function userIdOf(name: string): string | undefined {
  return name.startsWith(USER_PREFIX) ? name.slice(USER_PREFIX.length) : undefined;
}
