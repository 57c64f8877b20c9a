/**
 * The flag sets over HTTP: evaluation for clients that cannot use the provider, and the admin
 * API for tools that manage flags. The flag set is the first path segment (`/production/...`).
 */
import { Hono } from "hono";
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import * as z from "zod/mini";
import {
  FLAG_KEY_PATTERN,
  MAX_FLAG_BYTES,
  actorSchema,
  flagSetNameSchema,
  type FlagDefinition,
  type FlagValue,
} from "./flag";
import type { EvaluationContext } from "./evaluate";
import { errorResponse, limitBody, objectError, readJson, requireAdmin } from "./http";
import { getFlagsNamespace } from "./namespace";
import type { FlagRejection, FlagWriteErrorCode } from "./object";

export interface FeatureFlagsRoutesOptions {
  /** Name of the Durable Object binding in `env` (default "FEATURE_FLAGS"). */
  binding?: string;
}

/** Bodies up to twice a flag's cap, so a pretty-printed flag at the cap still fits. */
export const MAX_REQUEST_BYTES = 2 * MAX_FLAG_BYTES;

const contextSchema = z
  .record(z.string(), z.unknown(), { error: "context must be an object of attributes" })
  .check(
    z.refine(
      (context) => context.targetingKey === undefined || typeof context.targetingKey === "string",
      {
        error: "targetingKey must be a string",
        path: ["targetingKey"],
      },
    ),
  );

const flagField = z.string({ error: "flag must be a string (a flag key)" }).check(
  z.regex(FLAG_KEY_PATTERN, {
    error: "flag must be 1-128 characters of letters, digits, '_', '.' or '-' (a flag key)",
  }),
);

const evaluateBody = z.strictObject(
  { flag: flagField, context: z.optional(contextSchema), default: z.optional(z.unknown()) },
  { error: objectError("body must be a JSON object with flag, and optional context and default") },
);
const evaluateAllBody = z.strictObject(
  { context: z.optional(contextSchema) },
  { error: objectError("body must be a JSON object with an optional context") },
);
const enabledBody = z.strictObject(
  { enabled: z.boolean({ error: "enabled must be true or false" }) },
  { error: objectError('body must be a JSON object: { "enabled": true } or { "enabled": false }') },
);
/** The flag itself is validated by the object, which knows every rule; here only its shape. */
const flagBody = z.record(z.string(), z.unknown(), {
  error: "body must be a JSON object (a flag)",
});

const ERROR_STATUS: Record<FlagWriteErrorCode, ContentfulStatusCode> = {
  invalid_flag: 400,
  invalid_request: 400,
  flag_exists: 409,
  flag_not_found: 404,
  flag_unreadable: 409,
  version_conflict: 412,
  too_many_flags: 409,
  flag_set_full: 409,
};

type RoutesEnv = { Bindings: Record<string, unknown> & { ADMIN_TOKEN?: string } };
type Ctx = Context<RoutesEnv>;

/**
 * Mount it anywhere: `app.route("/feature-flags", featureFlagsRoutes())`.
 *
 * - `POST /:set/evaluate`      `{ flag, context?, default? }`: one flag's details.
 * - `POST /:set/evaluate-all`  `{ context? }`: every flag's details.
 * - Admin (`Authorization: Bearer <ADMIN_TOKEN>`): `GET /:set/flags`, `POST /:set/flags`,
 *   `GET|PUT|DELETE /:set/flags/:key`, `PUT /:set/flags/:key/enabled`, `GET /:set/audit`.
 *   Writes take `If-Match: "<version>"` and record `X-Actor` (default "admin") in the audit log.
 *
 * @example
 * app.route("/feature-flags", featureFlagsRoutes({ binding: "FEATURE_FLAGS" }));
 */
export function featureFlagsRoutes(options: FeatureFlagsRoutesOptions = {}): Hono<RoutesEnv> {
  const bindingName = options.binding ?? "FEATURE_FLAGS";
  const app = new Hono<RoutesEnv>();
  app.use("*", limitBody(MAX_REQUEST_BYTES));

  /** The flag set named by the path, or the 400 to send. */
  const flagSet = (c: Ctx) => {
    const name = flagSetNameSchema.safeParse(c.req.param("set"));
    if (!name.success) {
      return {
        response: errorResponse(
          c,
          400,
          "invalid_request",
          name.error.issues[0]?.message ?? "bad flag set name",
        ),
      };
    }
    return { stub: getFlagsNamespace(c.env, bindingName).getByName(name.data) };
  };

  app.post("/:set/evaluate", async (c) => {
    const set = flagSet(c);
    if (set.response) return set.response;
    const body = await readJson(c, evaluateBody);
    if (!body.ok) return body.response;
    const { flag, context = {}, default: defaultValue = null } = body.data;
    // Parsed from JSON, so these are JSON values: what the object's types allow and more narrowly.
    const result = await set.stub.evaluate(
      flag,
      context as EvaluationContext,
      defaultValue as FlagValue,
    );
    return c.json(result);
  });

  app.post("/:set/evaluate-all", async (c) => {
    const set = flagSet(c);
    if (set.response) return set.response;
    const body = await readJson(c, evaluateAllBody);
    if (!body.ok) return body.response;
    const context = (body.data.context ?? {}) as EvaluationContext;
    return c.json(await set.stub.evaluateAll(context));
  });

  app.get("/:set/flags", requireAdmin(), async (c) => {
    const set = flagSet(c);
    if (set.response) return set.response;
    return c.json(await set.stub.snapshot());
  });

  app.post("/:set/flags", requireAdmin(), async (c) => {
    const set = flagSet(c);
    if (set.response) return set.response;
    const write = writeOptions(c);
    if ("response" in write) return write.response;
    const body = await readJson(c, flagBody);
    if (!body.ok) return body.response;
    const outcome = await set.stub.createFlag(
      body.data as unknown as FlagDefinition,
      write.options,
    );
    if ("error" in outcome) return rejection(c, outcome);
    return c.json(outcome, 201, etag(outcome.flag.version));
  });

  app.get("/:set/flags/:key", requireAdmin(), async (c) => {
    const set = flagSet(c);
    if (set.response) return set.response;
    const found = await set.stub.getFlag(c.req.param("key"));
    if ("error" in found) return rejection(c, found);
    return c.json(found.flag, 200, etag(found.flag.version));
  });

  app.put("/:set/flags/:key", requireAdmin(), async (c) => {
    const set = flagSet(c);
    if (set.response) return set.response;
    const write = writeOptions(c);
    if ("response" in write) return write.response;
    const body = await readJson(c, flagBody);
    if (!body.ok) return body.response;
    const key = c.req.param("key");
    if (body.data.key !== undefined && body.data.key !== key) {
      return errorResponse(
        c,
        400,
        "invalid_request",
        `the body's key "${String(body.data.key)}" is not the path's "${key}"`,
      );
    }
    const definition = { ...body.data, key } as unknown as FlagDefinition;
    const outcome = await set.stub.updateFlag(definition, write.options);
    if ("error" in outcome) return rejection(c, outcome);
    return c.json(outcome, 200, etag(outcome.flag.version));
  });

  app.put("/:set/flags/:key/enabled", requireAdmin(), async (c) => {
    const set = flagSet(c);
    if (set.response) return set.response;
    const write = writeOptions(c);
    if ("response" in write) return write.response;
    const body = await readJson(c, enabledBody);
    if (!body.ok) return body.response;
    const outcome = await set.stub.setEnabled(c.req.param("key"), body.data.enabled, write.options);
    if ("error" in outcome) return rejection(c, outcome);
    return c.json(outcome, 200, etag(outcome.flag.version));
  });

  app.delete("/:set/flags/:key", requireAdmin(), async (c) => {
    const set = flagSet(c);
    if (set.response) return set.response;
    const write = writeOptions(c);
    if ("response" in write) return write.response;
    const outcome = await set.stub.deleteFlag(c.req.param("key"), write.options);
    if ("error" in outcome) return rejection(c, outcome);
    return c.json(outcome);
  });

  app.get("/:set/audit", requireAdmin(), async (c) => {
    const set = flagSet(c);
    if (set.response) return set.response;
    const limit = wholeNumber(c.req.query("limit"));
    const before = wholeNumber(c.req.query("before"));
    if (limit === null || before === null) {
      return errorResponse(c, 400, "invalid_request", "limit and before must be whole numbers");
    }
    const flag = c.req.query("flag");
    const page = await set.stub.auditLog({
      ...(flag === undefined ? {} : { flag }),
      ...(before === undefined ? {} : { before }),
      ...(limit === undefined ? {} : { limit }),
    });
    if ("error" in page) return rejection(c, page);
    return c.json(page);
  });

  return app;
}

/** `X-Actor` (default "admin") and `If-Match`, or the 400 to send. */
function writeOptions(c: Ctx) {
  const actor = actorSchema.safeParse(c.req.header("X-Actor") ?? "admin");
  if (!actor.success) {
    return {
      response: errorResponse(
        c,
        400,
        "invalid_request",
        `X-Actor: ${actor.error.issues[0]?.message}`,
      ),
    };
  }
  const ifMatch = c.req.header("If-Match");
  if (ifMatch === undefined || ifMatch.trim() === "*") return { options: { actor: actor.data } };
  const version = /^\s*"?(\d{1,15})"?\s*$/.exec(ifMatch)?.[1];
  if (version === undefined) {
    return {
      response: errorResponse(
        c,
        400,
        "invalid_request",
        'If-Match must be a flag version as an ETag, e.g. If-Match: "12"',
      ),
    };
  }
  return { options: { actor: actor.data, ifVersion: Number(version) } };
}

function etag(version: number): Record<string, string> {
  return { ETag: `"${version}"` };
}

/** A query parameter as a whole number: undefined when absent, null when not a number. */
function wholeNumber(value: string | undefined): number | undefined | null {
  if (value === undefined) return undefined;
  return /^\d{1,15}$/.test(value) ? Number(value) : null;
}

/** The object's rejection, with its own code, as the catalog's error shape. */
function rejection(c: Ctx, { error }: FlagRejection): Response {
  const code = error.code === "invalid_flag" ? "invalid_request" : error.code;
  return c.json({ error: { code, message: error.message } }, ERROR_STATUS[error.code]);
}
