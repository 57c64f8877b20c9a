/**
 * The sessions over HTTP, for services that keep their sessions in a central Worker. A session
 * id is a bearer credential, so it travels in the body, never the URL (where logs would keep it).
 */
import { Hono } from "hono";
import type { Context } from "hono";
import * as z from "zod/mini";
import { errorResponse, limitBody, objectError, readJson, requireAdmin } from "./http";
import { getSessionNamespace } from "./namespace";
import type { JsonValue, SessionFields } from "./data";
import { noSession, type SessionOutcome } from "./object";
import { timeoutsShape, userIdSchema } from "./options";
import { sessionStore, type NewSessionOptions, type SessionStore } from "./store";

export interface SessionRoutesOptions {
  /** Name of the Durable Object binding in `env` (default "SESSIONS"). */
  binding?: string;
}

const idSchema = z.string({ error: "id must be a string" }).check(
  z.regex(/^[A-Za-z0-9_-]{32}$/, {
    error: "id must be a session id: 32 characters of letters, digits, '_' and '-'",
  }),
);
const fieldSchema = z.string({ error: "field must be a string" });

const bodies = {
  create: z.strictObject(
    { userId: z.optional(userIdSchema), data: z.optional(z.unknown()), ...timeoutsShape },
    {
      error: objectError(
        "body must be a JSON object with optional userId, data, idleTimeoutSeconds and absoluteTimeoutSeconds",
      ),
    },
  ),
  id: z.strictObject(
    { id: idSchema },
    { error: objectError("body must be a JSON object with id") },
  ),
  set: z.strictObject(
    // Optional only so that a missing value gets the data check's message, not zod's.
    { id: idSchema, field: fieldSchema, value: z.optional(z.unknown()) },
    { error: objectError("body must be a JSON object with id, field and value") },
  ),
  fields: z.strictObject(
    { id: idSchema, fields: z.optional(z.unknown()) },
    { error: objectError("body must be a JSON object with id and fields") },
  ),
  rotate: z.strictObject(
    { id: idSchema, userId: z.optional(userIdSchema) },
    { error: objectError("body must be a JSON object with id and optional userId") },
  ),
  user: z.strictObject(
    { userId: userIdSchema },
    { error: objectError("body must be a JSON object with userId") },
  ),
};

type RoutesEnv = { Bindings: Record<string, unknown> & { ADMIN_TOKEN?: string } };

/**
 * Mount it anywhere: `app.route("/session", sessionRoutes())`. Every route is a POST with a JSON
 * body; `(admin)` needs `Authorization: Bearer <ADMIN_TOKEN>`. Whoever holds a session id may
 * read, rotate and end that session; only the admin may create sessions, write their data, sign
 * them in or log a user out everywhere, since the app trusts what a session says.
 *
 * - `POST /create`        (admin) `{ userId?, data?, idleTimeoutSeconds?, absoluteTimeoutSeconds? }` → 201 `{ session }`
 * - `POST /get`           `{ id }` → `{ session }` (touches), or 404
 * - `POST /peek`          `{ id }` → `{ session }` (does not touch), or 404
 * - `POST /set`           (admin) `{ id, field, value }` → `{ session }`
 * - `POST /merge`         (admin) `{ id, fields }` → `{ session }`
 * - `POST /delete-fields` (admin) `{ id, fields: [...] }` → `{ session }`
 * - `POST /rotate`        `{ id, userId? }` (admin with userId) → `{ session }` under its new id
 * - `POST /destroy`       `{ id }` → `{ destroyed }`
 * - `POST /destroy-all`   (admin) `{ userId }` → `{ destroyed }`
 *
 * @example
 * app.route("/session", sessionRoutes({ binding: "SESSIONS" }));
 */
export function sessionRoutes(options: SessionRoutesOptions = {}): Hono<RoutesEnv> {
  const bindingName = options.binding ?? "SESSIONS";
  const app = new Hono<RoutesEnv>();
  const store = (c: Context<RoutesEnv>): SessionStore =>
    sessionStore(getSessionNamespace(c.env, bindingName));
  const admin = requireAdmin();
  app.use("*", limitBody());

  app.post("/create", admin, async (c) => {
    const body = await readJson(c, bodies.create);
    if (!body.ok) return body.response;
    // Data values are checked by the object, as for RPC; the casts here only say where they go.
    return answer(c, await store(c).create(body.data as NewSessionOptions), 201);
  });

  for (const touch of [true, false]) {
    app.post(touch ? "/get" : "/peek", async (c) => {
      const body = await readJson(c, bodies.id);
      if (!body.ok) return body.response;
      const sessions = store(c);
      const view = await (touch ? sessions.get(body.data.id) : sessions.peek(body.data.id));
      return view === null ? answer(c, noSession()) : c.json({ session: view });
    });
  }

  app.post("/set", admin, async (c) => {
    const body = await readJson(c, bodies.set);
    if (!body.ok) return body.response;
    const { id, field, value } = body.data;
    return answer(c, await store(c).set(id, field, value as JsonValue));
  });

  app.post("/merge", admin, async (c) => {
    const body = await readJson(c, bodies.fields);
    if (!body.ok) return body.response;
    return answer(c, await store(c).merge(body.data.id, body.data.fields as SessionFields));
  });

  app.post("/delete-fields", admin, async (c) => {
    const body = await readJson(c, bodies.fields);
    if (!body.ok) return body.response;
    return answer(c, await store(c).deleteFields(body.data.id, body.data.fields as string[]));
  });

  app.post("/rotate", async (c) => {
    const body = await readJson(c, bodies.rotate);
    if (!body.ok) return body.response;
    const { id, userId } = body.data;
    // Signing a session in is the admin's; rotating it as it is, anyone holding the id may.
    if (userId !== undefined) {
      const denied = await admin(c, async () => {});
      if (denied instanceof Response) return denied;
    }
    return answer(c, await store(c).rotate(id, userId === undefined ? {} : { userId }));
  });

  app.post("/destroy", async (c) => {
    const body = await readJson(c, bodies.id);
    if (!body.ok) return body.response;
    return c.json(await store(c).destroy(body.data.id));
  });

  app.post("/destroy-all", admin, async (c) => {
    const body = await readJson(c, bodies.user);
    if (!body.ok) return body.response;
    try {
      return c.json(await store(c).destroyAllForUser(body.data.userId));
    } catch {
      return errorResponse(
        c,
        503,
        "unavailable",
        "some of the user's sessions could not be reached; the others are ended; try again",
        { "Retry-After": "1" },
      );
    }
  });
  return app;
}

/** A session or the reason there is none, as HTTP: 404 for no session, 413 for too much data. */
function answer(c: Context, outcome: SessionOutcome, status: 200 | 201 = 200): Response {
  if (outcome.ok) return c.json({ session: outcome.session }, status);
  const { code, message } = outcome.error;
  switch (code) {
    case "no_session":
      return errorResponse(c, 404, "not_found", message);
    case "data_too_large":
      return errorResponse(c, 413, "payload_too_large", message);
    case "invalid_input":
      return errorResponse(c, 400, "invalid_request", message);
    case "session_exists":
      // Ids are 192 random bits: a collision is a fault, not something a request can cause.
      throw new Error(message);
  }
}
