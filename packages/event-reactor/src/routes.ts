/**
 * The reactor over HTTP. Events are posted per entity; state, decisions and the outbox are read
 * per entity; running the review or a delivery out of schedule is an admin operation.
 */
import { getAgentByName } from "agents";
import { Hono } from "hono";
import type { Context } from "hono";
import { errorResponse, internalError, limitBody, notFound, requireAdmin } from "./http";
import type { EventReactor, EventReactorStub, IngestResult } from "./object";

export interface EventReactorRoutesOptions {
  /** Name of the EventReactor Durable Object binding in `env` (default "EVENT_REACTOR"). */
  binding?: string;
}

type RoutesEnv = { Bindings: Record<string, unknown> & { ADMIN_TOKEN?: string } };

const ENTITY = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * Mount it anywhere: `app.route("/event-reactor", eventReactorRoutes())`. `(admin)` needs
 * `Authorization: Bearer <ADMIN_TOKEN>`.
 *
 * - `POST /:entity/events`    an event `{ id, type, at, data }` → 202 `{ commands, decisions }`,
 *   or 200 `{ duplicate: true }` for an id already handled
 * - `GET  /:entity/state`     → `{ entity, state, pendingCommands }`
 * - `GET  /:entity/decisions?type=&limit=` → `{ decisions }`, newest first
 * - `GET  /:entity/outbox?status=pending|sent&limit=` → `{ commands }`
 * - `GET  /:entity/connect`   a WebSocket that receives the state on every change (Agents SDK)
 * - `POST /:entity/review`    (admin) runs the staleness review now
 * - `POST /:entity/deliver`   (admin) delivers due commands now
 *
 * @example
 * app.route("/event-reactor", eventReactorRoutes({ binding: "EVENT_REACTOR" }));
 */
export function eventReactorRoutes(options: EventReactorRoutesOptions = {}): Hono<RoutesEnv> {
  const binding = options.binding ?? "EVENT_REACTOR";
  const app = new Hono<RoutesEnv>();
  app.onError(internalError);
  app.notFound(notFound);

  const reactor = async (c: Context<RoutesEnv>) => {
    const namespace = c.env[binding];
    if (typeof namespace !== "object" || namespace === null || !("getByName" in namespace)) {
      throw new Error(
        `no Durable Object binding named "${binding}" in env; add it to your wrangler config`,
      );
    }
    const stub = await getAgentByName(
      namespace as DurableObjectNamespace<EventReactor>,
      c.req.param("entity") ?? "",
    );
    return stub as unknown as EventReactorStub;
  };

  app.use("/:entity/*", async (c, next) => {
    if (!ENTITY.test(c.req.param("entity"))) {
      return errorResponse(
        c,
        400,
        "invalid_request",
        "entity must be 1-64 characters of letters, digits, '.', '_' and '-'",
      );
    }
    await next();
  });

  app.post("/:entity/events", limitBody(), async (c) => {
    let body: unknown;
    try {
      body = JSON.parse(await c.req.text());
    } catch {
      return errorResponse(c, 400, "invalid_json", "request body must be valid JSON");
    }
    const result: IngestResult = await (await reactor(c)).ingest(body);
    if (result.ok) return c.json(result, result.duplicate ? 200 : 202);
    switch (result.error.code) {
      case "invalid_event":
        return errorResponse(c, 400, "invalid_request", result.error.message);
      case "backlogged":
        return errorResponse(c, 503, "unavailable", result.error.message, { "Retry-After": "5" });
      case "handler_failed":
        return errorResponse(c, 500, "internal_error", result.error.message);
    }
  });

  app.get("/:entity/state", async (c) => c.json(await (await reactor(c)).snapshot()));

  app.get("/:entity/decisions", async (c) => {
    const limit = readLimit(c.req.query("limit"));
    if (limit === null) return badLimit(c);
    const type = c.req.query("type");
    const decisions = await (
      await reactor(c)
    ).decisionLog({
      ...(type === undefined ? {} : { type }),
      ...(limit === undefined ? {} : { limit }),
    });
    return c.json({ decisions });
  });

  app.get("/:entity/outbox", async (c) => {
    const limit = readLimit(c.req.query("limit"));
    if (limit === null) return badLimit(c);
    const status = c.req.query("status") ?? "pending";
    if (status !== "pending" && status !== "sent") {
      return errorResponse(c, 400, "invalid_request", "status must be pending or sent");
    }
    const commands = await (
      await reactor(c)
    ).outboxStatus({
      status,
      ...(limit === undefined ? {} : { limit }),
    });
    return c.json({ commands });
  });

  app.get("/:entity/connect", async (c) => {
    if (c.req.header("Upgrade")?.toLowerCase() !== "websocket") {
      return errorResponse(
        c,
        400,
        "invalid_request",
        "connect with a WebSocket (Upgrade: websocket)",
      );
    }
    return (await reactor(c)).fetch(c.req.raw);
  });

  app.post("/:entity/review", requireAdmin(), async (c) =>
    c.json(await (await reactor(c)).reviewStaleness()),
  );

  app.post("/:entity/deliver", requireAdmin(), async (c) =>
    c.json(await (await reactor(c)).deliverOutbox()),
  );

  return app;
}

/** undefined: not given; null: given but not a whole number from 1 to 1000. */
function readLimit(raw: string | undefined): number | undefined | null {
  if (raw === undefined) return undefined;
  if (!/^[0-9]{1,4}$/.test(raw)) return null;
  const limit = Number(raw);
  return limit >= 1 && limit <= 1000 ? limit : null;
}

function badLimit(c: Context): Response {
  return errorResponse(c, 400, "invalid_request", "limit must be a whole number from 1 to 1000");
}
