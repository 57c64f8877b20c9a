/**
 * `session()`: Hono middleware that loads the visitor's session into `c.var.session` and keeps
 * the session cookie in step with it.
 *
 * The cookie is `__Host-<name>` with HttpOnly, Secure, SameSite=Lax, Path=/ and no Domain, so it
 * reaches only this host over HTTPS, never page scripts, and no cross-site POST. It is written
 * only when the handler starts, rotates or ends a session: a request that merely reads sends no
 * Set-Cookie, so a slow request that read the session cannot overwrite the new cookie of a
 * concurrent login.
 */
import type { Context, MiddlewareHandler } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import type { CookieOptions } from "hono/utils/cookie";
import type { JsonValue, SessionFields } from "./data";
import { errorResponse } from "./http";
import { getSessionNamespace } from "./namespace";
import { noSession, type SessionOutcome } from "./object";
import { absoluteTimeoutSchema, idleTimeoutSchema, type Timeouts } from "./options";
import {
  DEFAULT_ABSOLUTE_TIMEOUT_SECONDS,
  DEFAULT_IDLE_TIMEOUT_SECONDS,
  type SessionView,
} from "./record";
import { sessionStore, type RotateOptions, type SessionStore } from "./store";

/** The shape of a session's data in your app: each field a JSON value. */
export type SessionShape<D> = { [K in keyof D]: JsonValue };

export interface SessionOptions extends Timeouts {
  /** Name of the Session Durable Object binding in `env`. */
  binding: string;
  cookie?: {
    /** The cookie's name after its `__Host-` prefix (default "session": `__Host-session`). */
    name?: string;
  };
  /** The clock for the cookie's Max-Age (default `Date.now`); tests share theirs with the object. */
  now?: () => number;
}

/**
 * The visitor's session, as `c.var.session`. Reads are of the session as loaded (or as the last
 * write left it); writes go to the object at once. Writes without a session start one (and set
 * the cookie); a write that finds the session ended meanwhile (another request logged out or
 * rotated it) stores nothing and answers `no_session`.
 *
 * @example
 * const outcome = await c.var.session.set("theme", "dark");
 * if (!outcome.ok) return c.json({ error: outcome.error }, 400);
 * c.var.session.data.theme; // "dark"
 */
export interface SessionHandle<D extends SessionShape<D> = SessionFields> {
  /** The session id, or null without a session. */
  readonly id: string | null;
  /** The signed-in user, or null (anonymous, or no session). */
  readonly userId: string | null;
  /** The session's data; `{}` without a session. */
  readonly data: Readonly<Partial<D>>;
  /** When the session ends unless another request comes, or null without one. */
  readonly expiresAt: number | null;
  set<K extends keyof D & string>(field: K, value: D[K]): Promise<SessionOutcome>;
  merge(fields: Partial<D>): Promise<SessionOutcome>;
  deleteFields(fields: (keyof D & string)[]): Promise<SessionOutcome>;
  /**
   * A new id for the session, the old one dead at once (after sign-in or any privilege
   * change); `{ userId }` signs it in. Without a session, starts one.
   */
  rotate(options?: RotateOptions): Promise<SessionOutcome>;
  /** Log out: ends the session and clears the cookie. */
  destroy(): Promise<{ destroyed: boolean }>;
  /** Log out everywhere: ends every session of this session's user, this one included. */
  destroyAll(): Promise<{ destroyed: number }>;
}

/** Declare these on your app: `new Hono<{ Bindings: Env; Variables: SessionVariables }>()`. */
export interface SessionVariables<D extends SessionShape<D> = SessionFields> {
  session: SessionHandle<D>;
}

/**
 * Loads the session named by the request's cookie into `c.var.session` (one call to its object,
 * none without a well-formed cookie) and writes the cookie after the handler if it started,
 * rotated or ended a session. If the session store cannot be reached it answers 503.
 *
 * @example
 * const app = new Hono<{ Bindings: Env; Variables: SessionVariables<{ cart: string[] }> }>();
 * app.use("*", session({ binding: "SESSIONS" }));
 * app.post("/login", async (c) => {
 *   // ...check the password, then:
 *   await c.var.session.rotate({ userId: "alice" }); // the pre-login id is dead from here on
 *   return c.json({ cart: c.var.session.data.cart ?? [] });
 * });
 */
export function session<D extends SessionShape<D> = SessionFields>(
  options: SessionOptions,
): MiddlewareHandler<{ Variables: SessionVariables<D> }> {
  // Bad options are a programming error: fail when the app is built, not per request.
  const timeouts = {
    idleTimeoutSeconds: validTimeout(
      idleTimeoutSchema,
      options.idleTimeoutSeconds ?? DEFAULT_IDLE_TIMEOUT_SECONDS,
    ),
    absoluteTimeoutSeconds: validTimeout(
      absoluteTimeoutSchema,
      options.absoluteTimeoutSeconds ?? DEFAULT_ABSOLUTE_TIMEOUT_SECONDS,
    ),
  };
  const name = options.cookie?.name ?? "session";
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(name)) {
    throw new RangeError(
      "session(): cookie.name must be 1-64 characters of letters, digits, '_' or '-'",
    );
  }
  const now = options.now ?? Date.now;

  return async (c, next) => {
    // A missing binding is a deployment mistake: it throws, rather than pass as "no session".
    const store = sessionStore(getSessionNamespace(c.env, options.binding));
    const presented = getCookie(c, name, "host");
    let loaded: SessionView | null = null;
    if (presented !== undefined) {
      try {
        // A malformed id is no session without a call (the store checks it).
        loaded = await store.get(presented);
      } catch {
        return errorResponse(
          c,
          503,
          "unavailable",
          "the session store is unavailable; try again shortly",
          { "Retry-After": "1" },
        );
      }
    }
    const handle = new Handle<D>(store, loaded, timeouts);
    c.set("session", handle);
    await next();
    writeCookie(c, name, handle.cookieChange, now());
  };
}

/** What the response must do to the cookie, after everything the handler did. */
type CookieChange = { kind: "none" } | { kind: "set"; view: SessionView } | { kind: "clear" };

const COOKIE_ATTRIBUTES: CookieOptions = {
  prefix: "host",
  path: "/",
  secure: true,
  httpOnly: true,
  sameSite: "Lax",
};

function writeCookie(c: Context, name: string, change: CookieChange, now: number): void {
  if (change.kind === "set") {
    // The browser forgets the cookie when the session's absolute deadline passes.
    const maxAge = Math.max(0, Math.floor((change.view.absoluteExpiresAt - now) / 1000));
    setCookie(c, name, change.view.id, { ...COOKIE_ATTRIBUTES, maxAge });
  } else if (change.kind === "clear") {
    deleteCookie(c, name, COOKIE_ATTRIBUTES);
  }
}

class Handle<D extends SessionShape<D>> implements SessionHandle<D> {
  #view: SessionView | null;
  #cookieChanged: "none" | "set" | "clear" = "none";
  readonly #store: SessionStore;
  readonly #timeouts: Required<Timeouts>;

  constructor(store: SessionStore, view: SessionView | null, timeouts: Required<Timeouts>) {
    this.#store = store;
    this.#view = view;
    this.#timeouts = timeouts;
  }

  get id(): string | null {
    return this.#view?.id ?? null;
  }

  get userId(): string | null {
    return this.#view?.userId ?? null;
  }

  get data(): Readonly<Partial<D>> {
    // The app's own writes, of the app's own type: the object checked they are JSON.
    return (this.#view?.data ?? {}) as Partial<D>;
  }

  get expiresAt(): number | null {
    return this.#view?.expiresAt ?? null;
  }

  get cookieChange(): CookieChange {
    if (this.#cookieChanged === "set" && this.#view !== null) {
      return { kind: "set", view: this.#view };
    }
    return { kind: this.#cookieChanged === "clear" ? "clear" : "none" };
  }

  set<K extends keyof D & string>(field: K, value: D[K]): Promise<SessionOutcome> {
    return this.#write((id) => this.#store.set(id, field, value), { [field]: value });
  }

  merge(fields: Partial<D>): Promise<SessionOutcome> {
    const given = fields as SessionFields;
    return this.#write((id) => this.#store.merge(id, given), given);
  }

  async deleteFields(fields: (keyof D & string)[]): Promise<SessionOutcome> {
    if (this.#view === null) return noSession();
    return this.#apply(await this.#store.deleteFields(this.#view.id, fields));
  }

  async rotate(options: RotateOptions = {}): Promise<SessionOutcome> {
    const outcome =
      this.#view === null
        ? await this.#store.create({ ...this.#timeouts, ...options })
        : await this.#store.rotate(this.#view.id, options);
    if (outcome.ok) this.#cookieChanged = "set";
    return this.#apply(outcome);
  }

  async destroy(): Promise<{ destroyed: boolean }> {
    const result =
      this.#view === null ? { destroyed: false } : await this.#store.destroy(this.#view.id);
    this.#ended();
    return result;
  }

  async destroyAll(): Promise<{ destroyed: number }> {
    const userId = this.#view?.userId ?? null;
    if (userId === null) {
      const { destroyed } = await this.destroy();
      return { destroyed: destroyed ? 1 : 0 };
    }
    const result = await this.#store.destroyAllForUser(userId);
    this.#ended();
    return result;
  }

  /** A write: to the session, or, without one, to a new session that starts with it. */
  async #write(
    change: (id: string) => Promise<SessionOutcome>,
    fields: SessionFields,
  ): Promise<SessionOutcome> {
    if (this.#view !== null) return this.#apply(await change(this.#view.id));
    const outcome = await this.#store.create({ ...this.#timeouts, data: fields });
    if (outcome.ok) this.#cookieChanged = "set";
    return this.#apply(outcome);
  }

  #apply(outcome: SessionOutcome): SessionOutcome {
    if (outcome.ok) this.#view = outcome.session;
    // Ended by another request: the handle has no session, and the cookie is left alone.
    else if (outcome.error.code === "no_session") this.#view = null;
    return outcome;
  }

  #ended(): void {
    this.#view = null;
    this.#cookieChanged = "clear";
  }
}

function validTimeout(
  schema: typeof idleTimeoutSchema | typeof absoluteTimeoutSchema,
  value: number,
): number {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new RangeError(`session(): ${parsed.error.issues[0]?.message ?? "invalid timeout"}`);
  }
  return parsed.data;
}
