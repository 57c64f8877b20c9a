/**
 * The leases over HTTP, for processes that are not Workers (a cron box, a container fleet).
 */
import { Hono } from "hono";
import type { Context } from "hono";
import type * as z from "zod/mini";
import { describeZodError, errorResponse, limitBody, readJson, requireAdmin } from "./http";
import { getElectionNamespace } from "./namespace";
import { bodies, query } from "./options";

export interface LeaderElectionRoutesOptions {
  /** Name of the Durable Object binding in `env` (default "LEADER_ELECTION"). */
  binding?: string;
}

type RoutesEnv = { Bindings: Record<string, unknown> & { ADMIN_TOKEN?: string } };

/**
 * Mount it anywhere: `app.route("/leader-election", leaderElectionRoutes())`. One lease per
 * `group`; `(admin)` needs `Authorization: Bearer <ADMIN_TOKEN>`.
 *
 * - `POST /acquire` `{ group, candidate, ttlMs, lockDelayMs? }` → 200 the grant, or 409 the
 *   refusal (holder, `retryAfterMs`) with `Retry-After`
 * - `POST /renew`   `{ group, candidate, token }` → 200 the extended lease, or 409 why not
 * - `POST /release` `{ group, candidate, token }` → 200, or 409 why not
 * - `GET /current/:group` → holder, token, expiry, lock-delay, last token, transitions
 * - `GET /validate/:group?token=` → `{ valid, fencingToken, expiresAt }`
 * - `POST /revoke`  (admin) `{ group }` → ends the live lease now, lock-delay applied
 *
 * Whoever holds a lease's token may renew or release it, so treat tokens like the lease itself.
 *
 * @example
 * app.route("/leader-election", leaderElectionRoutes({ binding: "LEADER_ELECTION" }));
 */
export function leaderElectionRoutes(options: LeaderElectionRoutesOptions = {}): Hono<RoutesEnv> {
  const bindingName = options.binding ?? "LEADER_ELECTION";
  const app = new Hono<RoutesEnv>();
  const election = (c: Context<RoutesEnv>, group: string) =>
    getElectionNamespace(c.env, bindingName).getByName(group);
  app.use("*", limitBody());

  app.post("/acquire", async (c) => {
    const body = await readJson(c, bodies.acquire);
    if (!body.ok) return body.response;
    const { group, candidate, ttlMs, lockDelayMs } = body.data;
    const result = await election(c, group).acquire(
      candidate,
      ttlMs,
      lockDelayMs === undefined ? {} : { lockDelayMs },
    );
    if ("error" in result) return errorResponse(c, 400, "invalid_request", result.error.message);
    if (result.granted) return c.json(result);
    return c.json(result, 409, { "Retry-After": String(Math.ceil(result.retryAfterMs / 1000)) });
  });

  app.post("/renew", async (c) => {
    const body = await readJson(c, bodies.held);
    if (!body.ok) return body.response;
    const { group, candidate, token } = body.data;
    const result = await election(c, group).renew(candidate, token);
    if ("error" in result) return errorResponse(c, 400, "invalid_request", result.error.message);
    return c.json(result, result.renewed ? 200 : 409);
  });

  app.post("/release", async (c) => {
    const body = await readJson(c, bodies.held);
    if (!body.ok) return body.response;
    const { group, candidate, token } = body.data;
    const result = await election(c, group).release(candidate, token);
    if ("error" in result) return errorResponse(c, 400, "invalid_request", result.error.message);
    return c.json(result, result.released ? 200 : 409);
  });

  app.get("/current/:group", async (c) => {
    const params = readQuery(c, query.group);
    if (!params.ok) return params.response;
    return c.json(await election(c, params.data.group).current());
  });

  app.get("/validate/:group", async (c) => {
    const params = readQuery(c, query.validate);
    if (!params.ok) return params.response;
    return c.json(await election(c, params.data.group).validate(params.data.token));
  });

  app.post("/revoke", requireAdmin(), async (c) => {
    const body = await readJson(c, bodies.group);
    if (!body.ok) return body.response;
    return c.json(await election(c, body.data.group).revoke());
  });
  return app;
}

/** Validates a GET route's inputs: its `:group` and its query string. */
function readQuery<S extends z.ZodMiniType>(
  c: Context,
  schema: S,
): { ok: true; data: z.infer<S> } | { ok: false; response: Response } {
  // The group from the path (decoded), the rest from the query string.
  const parsed = schema.safeParse({ ...c.req.query(), group: c.req.param("group") });
  if (parsed.success) return { ok: true, data: parsed.data };
  return {
    ok: false,
    response: errorResponse(c, 400, "invalid_request", describeZodError(parsed.error)),
  };
}
