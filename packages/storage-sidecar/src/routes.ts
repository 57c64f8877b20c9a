/**
 * A sidecar over HTTP: an operator's window onto one entity's sidecar (what a Workflow stored,
 * how big it is), and a way for services outside the Worker to feed one. Workflows and Workers
 * use the RPC methods directly.
 */
import { Hono } from "hono";
import type { Context } from "hono";
import * as z from "zod/mini";
import { errorResponse, limitBody, objectError, readJson, requireAdmin } from "./http";
import { MAX_VALUE_BYTES, type JsonValue, type SidecarRejection } from "./limits";
import { getSidecarNamespace } from "./namespace";

export interface StorageSidecarRoutesOptions {
  /** Name of the Durable Object binding in `env` (default "SIDECARS"). */
  binding?: string;
}

/** Largest request body: one value at its cap plus room for the envelope. */
export const MAX_HTTP_BODY_BYTES = MAX_VALUE_BYTES + 16 * 1024;

const sidecar = z
  .string({ error: "sidecar must be a string" })
  .check(
    z.minLength(1, { error: "sidecar must not be empty" }),
    z.maxLength(256, { error: "sidecar must be at most 256 characters" }),
  );
const text = (field: string) => z.string({ error: `${field} must be a string` });
const whole = (field: string) => z.number({ error: `${field} must be a number` });
const body = <Shape extends z.core.$ZodLooseShape>(shape: Shape, fields: string) =>
  z.strictObject(shape, { error: objectError(`body must be a JSON object with ${fields}`) });

const schemas = {
  get: body({ sidecar, key: text("key") }, "sidecar and key"),
  list: body(
    {
      sidecar,
      prefix: z.optional(text("prefix")),
      cursor: z.optional(z.nullable(text("cursor"))),
      limit: z.optional(whole("limit")),
    },
    "sidecar and optional prefix, cursor and limit",
  ),
  items: body(
    {
      sidecar,
      list: text("list"),
      cursor: z.optional(z.nullable(whole("cursor"))),
      limit: z.optional(whole("limit")),
    },
    "sidecar, list and optional cursor and limit",
  ),
  stats: body({ sidecar }, "sidecar"),
  set: body(
    { sidecar, key: text("key"), value: z.optional(z.unknown()) },
    "sidecar, key and value",
  ),
  append: body(
    {
      sidecar,
      list: text("list"),
      value: z.optional(z.unknown()),
      values: z.optional(z.array(z.unknown(), { error: "values must be an array" })),
      idempotencyKey: z.optional(text("idempotencyKey")),
    },
    "sidecar, list, value or values, and optional idempotencyKey",
  ),
  delete: body({ sidecar, key: text("key") }, "sidecar and key"),
  deleteList: body({ sidecar, list: text("list") }, "sidecar and list"),
  configure: body({ sidecar, ttlSeconds: whole("ttlSeconds") }, "sidecar and ttlSeconds"),
  clear: body({ sidecar }, "sidecar"),
};

type RoutesEnv = { Bindings: Record<string, unknown> & { ADMIN_TOKEN?: string } };

/**
 * Mount it anywhere: `app.route("/storage-sidecar", storageSidecarRoutes())`. Every route is a
 * POST with a JSON body naming the `sidecar` (the entity); bodies are capped at 1 MiB + 16 KiB.
 *
 * - Reads, open: `/get`, `/list`, `/items`, `/stats`.
 * - Writes, with `Authorization: Bearer <ADMIN_TOKEN>`: `/set`, `/append`, `/delete`,
 *   `/delete-list`, `/configure`, `/clear`.
 *
 * @example
 * app.route("/storage-sidecar", storageSidecarRoutes({ binding: "SIDECARS" }));
 */
export function storageSidecarRoutes(options: StorageSidecarRoutesOptions = {}): Hono<RoutesEnv> {
  const bindingName = options.binding ?? "SIDECARS";
  const app = new Hono<RoutesEnv>();
  const admin = requireAdmin();
  app.use("*", limitBody(MAX_HTTP_BODY_BYTES));
  const stub = (c: Context<RoutesEnv>, name: string) =>
    getSidecarNamespace(c.env, bindingName).getByName(name);

  app.post("/get", async (c) => {
    const input = await readJson(c, schemas.get);
    if (!input.ok) return input.response;
    return answer(c, await stub(c, input.data.sidecar).get(input.data.key));
  });
  app.post("/list", async (c) => {
    const input = await readJson(c, schemas.list);
    if (!input.ok) return input.response;
    const { sidecar: name, prefix, cursor, limit } = input.data;
    return answer(c, await stub(c, name).list(definedOnly({ prefix, cursor, limit })));
  });
  app.post("/items", async (c) => {
    const input = await readJson(c, schemas.items);
    if (!input.ok) return input.response;
    const { sidecar: name, list, cursor, limit } = input.data;
    return answer(c, await stub(c, name).items(list, definedOnly({ cursor, limit })));
  });
  app.post("/stats", async (c) => {
    const input = await readJson(c, schemas.stats);
    if (!input.ok) return input.response;
    return c.json(await stub(c, input.data.sidecar).stats());
  });

  app.post("/set", admin, async (c) => {
    const input = await readJson(c, schemas.set);
    if (!input.ok) return input.response;
    const { sidecar: name, key, value } = input.data;
    return answer(c, await stub(c, name).set(key, value as JsonValue));
  });
  app.post("/append", admin, async (c) => {
    const input = await readJson(c, schemas.append);
    if (!input.ok) return input.response;
    const { sidecar: name, list, value, values, idempotencyKey } = input.data;
    if ((value === undefined) === (values === undefined)) {
      return errorResponse(c, 400, "invalid_request", "give either value or values, not both");
    }
    const batch = idempotencyKey === undefined ? {} : { idempotencyKey };
    const target = stub(c, name);
    return answer(
      c,
      values === undefined
        ? await target.append(list, value as JsonValue, batch)
        : await target.appendMany(list, values as JsonValue[], batch),
    );
  });
  app.post("/delete", admin, async (c) => {
    const input = await readJson(c, schemas.delete);
    if (!input.ok) return input.response;
    return answer(c, await stub(c, input.data.sidecar).delete(input.data.key));
  });
  app.post("/delete-list", admin, async (c) => {
    const input = await readJson(c, schemas.deleteList);
    if (!input.ok) return input.response;
    return answer(c, await stub(c, input.data.sidecar).deleteList(input.data.list));
  });
  app.post("/configure", admin, async (c) => {
    const input = await readJson(c, schemas.configure);
    if (!input.ok) return input.response;
    const { sidecar: name, ttlSeconds } = input.data;
    return answer(c, await stub(c, name).configure({ ttlSeconds }));
  });
  app.post("/clear", admin, async (c) => {
    const input = await readJson(c, schemas.clear);
    if (!input.ok) return input.response;
    return c.json(await stub(c, input.data.sidecar).clear());
  });
  return app;
}

/** 200 with the result, or the rejection as a 4xx: 413 for anything too large, else 400. */
function answer(c: Context, result: { ok: true } | SidecarRejection): Response {
  if (result.ok) return c.json(result);
  const { code, message } = result.error;
  if (code === "value_too_large" || code === "sidecar_full") {
    return errorResponse(c, 413, "payload_too_large", message);
  }
  return errorResponse(c, 400, "invalid_request", message);
}

/** Drops the fields a body left out, so optional options stay absent rather than undefined. */
function definedOnly<T extends object>(fields: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined)) as {
    [K in keyof T]?: Exclude<T[K], undefined>;
  };
}
