/**
 * The controller over HTTP: status for anyone, every change of the loop for the admin.
 */
import { Hono } from "hono";
import type { Context } from "hono";
import * as z from "zod/mini";
import { configInputSchema } from "./config";
import { errorResponse, limitBody, objectError, readJson, requireAdmin } from "./http";
import { getControllerNamespace } from "./namespace";
import type { ControllerOutcome } from "./object";

export interface AdaptiveControllerRoutesOptions {
  /** Name of the Durable Object binding in `env` (default "ADAPTIVE_CONTROLLER"). */
  binding?: string;
}

/** A loop's name: letters, digits and `_ . : -`, up to 64 characters. */
export const loopNameSchema = z.string({ error: "name must be a string" }).check(
  z.regex(/^[A-Za-z0-9_.:-]{1,64}$/, {
    error: "name must be 1-64 characters of letters, digits, '_', '.', ':' or '-'",
  }),
);

const nameBody = z.strictObject(
  { name: loopNameSchema },
  { error: objectError("body must be a JSON object with name") },
);
const startBody = z.strictObject(
  { name: loopNameSchema, config: z.optional(configInputSchema) },
  { error: objectError("body must be a JSON object with name and optional config") },
);
const configureBody = z.strictObject(
  { name: loopNameSchema, config: configInputSchema },
  { error: objectError("body must be a JSON object with name and config") },
);

type RoutesEnv = { Bindings: Record<string, unknown> & { ADMIN_TOKEN?: string } };

/**
 * Mount it anywhere: `app.route("/adaptive-controller", adaptiveControllerRoutes())`.
 *
 * - `GET /status/:name` the loop's parameters, breaker, decision log and time series.
 * - `POST /start` `{ name, config? }` starts (or resumes) the loop, merging `config` first.
 * - `POST /configure` `{ name, config }` changes settings without starting or stopping.
 * - `POST /pause` `{ name }`, `POST /resume` `{ name }`.
 * - `POST /reset` `{ name }` forgets everything of the loop.
 *
 * Every POST needs `Authorization: Bearer <ADMIN_TOKEN>`: they steer traffic to a downstream.
 *
 * @example
 * app.route("/adaptive-controller", adaptiveControllerRoutes({ binding: "ADAPTIVE_CONTROLLER" }));
 */
export function adaptiveControllerRoutes(
  options: AdaptiveControllerRoutesOptions = {},
): Hono<RoutesEnv> {
  const bindingName = options.binding ?? "ADAPTIVE_CONTROLLER";
  const app = new Hono<RoutesEnv>();
  const loop = (c: Context<RoutesEnv>, name: string) =>
    getControllerNamespace(c.env, bindingName).getByName(name);
  const answer = (c: Context<RoutesEnv>, outcome: ControllerOutcome) => {
    if (outcome.ok) return c.json(outcome.status);
    const status = outcome.error.code === "not_started" ? 409 : 400;
    return errorResponse(c, status, "invalid_request", outcome.error.message);
  };
  app.use("*", limitBody());

  app.get("/status/:name", async (c) => {
    const name = loopNameSchema.safeParse(c.req.param("name"));
    if (!name.success) {
      return errorResponse(c, 400, "invalid_request", name.error.issues[0]?.message ?? "bad name");
    }
    return c.json(await loop(c, name.data).status());
  });
  app.post("/start", requireAdmin(), async (c) => {
    const body = await readJson(c, startBody);
    if (!body.ok) return body.response;
    return answer(c, await loop(c, body.data.name).start(body.data.config));
  });
  app.post("/configure", requireAdmin(), async (c) => {
    const body = await readJson(c, configureBody);
    if (!body.ok) return body.response;
    return answer(c, await loop(c, body.data.name).configure(body.data.config));
  });
  for (const action of ["pause", "resume"] as const) {
    app.post(`/${action}`, requireAdmin(), async (c) => {
      const body = await readJson(c, nameBody);
      if (!body.ok) return body.response;
      return answer(c, await loop(c, body.data.name)[action]());
    });
  }
  app.post("/reset", requireAdmin(), async (c) => {
    const body = await readJson(c, nameBody);
    if (!body.ok) return body.response;
    return c.json(await loop(c, body.data.name).reset());
  });
  return app;
}
