/**
 * The coordinator over HTTP, for services that cache and services that invalidate.
 */
import { Hono } from "hono";
import type { Context } from "hono";
import * as z from "zod/mini";
import { errorResponse, limitBody, objectError, readJson, requireAdmin } from "./http";
import {
  keySchema,
  modeSchema,
  parse,
  purgeIdSchema,
  storeNameSchema,
  tagSchema,
  tagsSchema,
} from "./input";
import { getCoordinatorNamespace } from "./namespace";
import type { CoordinatorError } from "./object";

export interface CacheCoordinatorRoutesOptions {
  /** Name of the Durable Object binding in `env` (default "CACHE_COORDINATOR"). */
  binding?: string;
}

/** Names the coordinator (one per cache domain or tenant). */
export const cacheNameSchema = z.string({ error: "cache must be a string" }).check(
  z.regex(/^[A-Za-z0-9_.:-]{1,64}$/, {
    error: "cache must be 1-64 characters of letters, digits, '_', '.', ':' or '-'",
  }),
);

const registerBody = z.strictObject(
  { key: keySchema, store: storeNameSchema, tags: z.optional(tagsSchema) },
  { error: objectError("body must be a JSON object with key, store and optional tags") },
);
const invalidateBody = z.strictObject(
  { key: keySchema, mode: z.optional(modeSchema) },
  { error: objectError("body must be a JSON object with key and optional mode") },
);
const invalidateTagBody = z.strictObject(
  { tag: tagSchema, mode: z.optional(modeSchema) },
  { error: objectError("body must be a JSON object with tag and optional mode") },
);

type RoutesEnv = { Bindings: Record<string, unknown> & { ADMIN_TOKEN?: string } };

/**
 * Mount it anywhere: `app.route("/cache-coordinator", cacheCoordinatorRoutes())`.
 *
 * `:cache` names the coordinator (one per cache domain or tenant).
 *
 * - `POST /:cache/register`       `{ key, store, tags? }` records that a store holds a key.
 * - `POST /:cache/invalidate`     `{ key, mode? }` queues a purge of one key: 202 with its id.
 * - `POST /:cache/invalidate-tag` `{ tag, mode? }` queues a purge of every key with the tag.
 * - `GET /:cache/status/:id`      a purge's status, overall and per store.
 * - `GET /:cache/lookup?key=`     the stores holding a key, and its tags.
 * - `GET /:cache/overview`        counts and the next attempt.
 *
 * The three POST routes need `Authorization: Bearer <ADMIN_TOKEN>`.
 *
 * @example
 * app.route("/cache-coordinator", cacheCoordinatorRoutes({ binding: "CACHE_COORDINATOR" }));
 */
export function cacheCoordinatorRoutes(
  options: CacheCoordinatorRoutesOptions = {},
): Hono<RoutesEnv> {
  const bindingName = options.binding ?? "CACHE_COORDINATOR";
  const app = new Hono<RoutesEnv>();
  app.use("*", limitBody());
  // The coordinator the path names, or the 400 to send.
  const coordinator = (c: Context<RoutesEnv>) => {
    const cache = parse(cacheNameSchema, c.req.param("cache"));
    if (!cache.ok) return errorResponse(c, 400, "invalid_request", cache.message);
    return getCoordinatorNamespace(c.env, bindingName).getByName(cache.data);
  };

  app.post("/:cache/register", requireAdmin(), async (c) => {
    const target = coordinator(c);
    if (target instanceof Response) return target;
    const body = await readJson(c, registerBody);
    if (!body.ok) return body.response;
    const result = await target.register(body.data);
    return result.ok ? c.json(result) : failed(c, result);
  });

  app.post("/:cache/invalidate", requireAdmin(), async (c) => {
    const target = coordinator(c);
    if (target instanceof Response) return target;
    const body = await readJson(c, invalidateBody);
    if (!body.ok) return body.response;
    const result = await target.invalidate(body.data.key, { mode: body.data.mode });
    return result.ok ? c.json(result, 202) : failed(c, result);
  });

  app.post("/:cache/invalidate-tag", requireAdmin(), async (c) => {
    const target = coordinator(c);
    if (target instanceof Response) return target;
    const body = await readJson(c, invalidateTagBody);
    if (!body.ok) return body.response;
    const result = await target.invalidateTag(body.data.tag, { mode: body.data.mode });
    return result.ok ? c.json(result, 202) : failed(c, result);
  });

  app.get("/:cache/status/:id", async (c) => {
    const target = coordinator(c);
    if (target instanceof Response) return target;
    const id = parse(purgeIdSchema, c.req.param("id"));
    if (!id.ok) return errorResponse(c, 400, "invalid_request", id.message);
    const result = await target.status(id.data);
    return result.ok ? c.json(result.purge) : failed(c, result);
  });

  app.get("/:cache/lookup", async (c) => {
    const target = coordinator(c);
    if (target instanceof Response) return target;
    const key = parse(keySchema, c.req.query("key"));
    if (!key.ok) return errorResponse(c, 400, "invalid_request", key.message);
    const result = await target.lookup(key.data);
    return result.ok ? c.json(result) : failed(c, result);
  });

  app.get("/:cache/overview", async (c) => {
    const target = coordinator(c);
    if (target instanceof Response) return target;
    return c.json(await target.overview());
  });
  return app;
}

function failed(c: Context, result: CoordinatorError): Response {
  const { code, message } = result.error;
  if (code === "not_found") return errorResponse(c, 404, "not_found", message);
  if (code === "outbox_full") {
    return errorResponse(c, 503, "unavailable", message, { "Retry-After": "60" });
  }
  return errorResponse(c, 400, "invalid_request", message);
}
