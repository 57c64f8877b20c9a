/**
 * The counters over HTTP, for services that count through a central endpoint.
 */
import { Hono } from "hono";
import type { Context } from "hono";
import * as z from "zod/mini";
import { errorResponse, limitBody, objectError, readJson, requireAdmin } from "./http";
import { getCounterNamespace } from "./namespace";
import type { CounterRejection } from "./object";

export interface AggregatorCounterRoutesOptions {
  /** Name of the Durable Object binding in `env` (default "COUNTERS"). */
  binding?: string;
}

/** Object names: which set of counters (a site, a tenant). */
export const MAX_NAME_LENGTH = 128;

// Field types and bounds, presence included, are checked by the object itself (one set of rules
// for RPC and HTTP), so these schemas only fix the body's shape: an object with no other fields.
const incrementBody = z.strictObject(
  {
    key: z.optional(z.unknown()),
    amount: z.optional(z.unknown()),
    idempotencyKey: z.optional(z.unknown()),
  },
  { error: objectError("body must be a JSON object with key, optional amount and idempotencyKey") },
);
const keysBody = z.strictObject(
  { keys: z.optional(z.unknown()) },
  { error: objectError("body must be a JSON object with keys (an array of strings)") },
);
const keyBody = z.strictObject(
  { key: z.optional(z.unknown()) },
  { error: objectError("body must be a JSON object with key") },
);

type RoutesEnv = { Bindings: Record<string, unknown> & { ADMIN_TOKEN?: string } };

/**
 * Mount it anywhere: `app.route("/counters", aggregatorCounterRoutes())`. `:name` picks the
 * object (one set of counters); keys are counters within it.
 *
 * - `POST /:name/increment` `{ key, amount?, idempotencyKey? }`: 200 once durable.
 * - `GET  /:name/get?key=...`: one counter.
 * - `POST /:name/get-many` `{ keys }`: up to 100 counters.
 * - `GET  /:name/list?prefix=&limit=&cursor=`: counters in key order, a page at a time.
 * - `POST /:name/reset` `{ key }`: sets one counter to 0; needs `Authorization: Bearer <ADMIN_TOKEN>`.
 *
 * @example
 * app.route("/counters", aggregatorCounterRoutes({ binding: "COUNTERS" }));
 */
export function aggregatorCounterRoutes(
  options: AggregatorCounterRoutesOptions = {},
): Hono<RoutesEnv> {
  const bindingName = options.binding ?? "COUNTERS";
  const app = new Hono<RoutesEnv>();
  app.use("*", limitBody());
  const counters = (c: Context<RoutesEnv>) => {
    const name = c.req.param("name") ?? "";
    if (name.length === 0 || name.length > MAX_NAME_LENGTH) return undefined;
    return getCounterNamespace(c.env, bindingName).getByName(name);
  };

  app.post("/:name/increment", async (c) => {
    const body = await readJson(c, incrementBody);
    if (!body.ok) return body.response;
    const stub = counters(c);
    if (stub === undefined) return badName(c);
    const { key, amount, idempotencyKey } = body.data;
    // Untyped JSON goes straight to the object, which checks every field.
    const outcome = await stub.increment(key as string, amount as number, idempotencyKey as string);
    return outcome.ok ? c.json(outcome) : rejected(c, outcome);
  });

  app.get("/:name/get", async (c) => {
    const stub = counters(c);
    if (stub === undefined) return badName(c);
    const outcome = await stub.get(c.req.query("key") as string);
    return outcome.ok ? c.json(outcome) : rejected(c, outcome);
  });

  app.post("/:name/get-many", async (c) => {
    const body = await readJson(c, keysBody);
    if (!body.ok) return body.response;
    const stub = counters(c);
    if (stub === undefined) return badName(c);
    const outcome = await stub.getMany(body.data.keys as string[]);
    return outcome.ok ? c.json(outcome) : rejected(c, outcome);
  });

  app.get("/:name/list", async (c) => {
    const stub = counters(c);
    if (stub === undefined) return badName(c);
    const { prefix, limit, cursor } = c.req.query();
    const pageSize = limit === undefined ? undefined : /^\d{1,7}$/.test(limit) ? Number(limit) : 0;
    const outcome = await stub.list({
      ...(prefix === undefined ? {} : { prefix }),
      ...(pageSize === undefined ? {} : { limit: pageSize }),
      ...(cursor === undefined ? {} : { cursor }),
    });
    return outcome.ok ? c.json(outcome) : rejected(c, outcome);
  });

  app.post("/:name/reset", requireAdmin(), async (c) => {
    const body = await readJson(c, keyBody);
    if (!body.ok) return body.response;
    const stub = counters(c);
    if (stub === undefined) return badName(c);
    const outcome = await stub.reset(body.data.key as string);
    return outcome.ok ? c.json(outcome) : rejected(c, outcome);
  });
  return app;
}

function badName(c: Context): Response {
  return errorResponse(c, 400, "invalid_request", `name must be 1-${MAX_NAME_LENGTH} characters`);
}

/** A rejection as a 4xx: bad input 400, a conflict 409, a count out of range 422. */
function rejected(c: Context, { error }: CounterRejection): Response {
  switch (error.code) {
    case "idempotency_conflict":
    case "too_many_counters":
      return c.json({ error }, 409);
    case "out_of_range":
      return c.json({ error }, 422);
    default:
      return errorResponse(c, 400, "invalid_request", error.message);
  }
}
