/**
 * The governor over HTTP, for spenders and operators that are not Workers with a binding.
 */
import { Hono, type Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import * as z from "zod/mini";
import { amountSchema, reserveSchema, wholeNumber } from "./config";
import { errorResponse, limitBody, objectError, readJson, requireAdmin } from "./http";
import { getGovernorNamespace } from "./namespace";
import type { GovernorConfig, Usage } from "./config";
import type { GovernorError, GovernorErrorCode } from "./object";

export interface BudgetGovernorRoutesOptions {
  /** Name of the Durable Object binding in `env` (default "BUDGET_GOVERNOR"). */
  binding?: string;
}

type RoutesEnv = { Bindings: Record<string, unknown> & { ADMIN_TOKEN?: string } };

const GOVERNOR = /^[A-Za-z0-9_.:-]{1,64}$/;
const RESERVATION_ID = /^[0-9]{1,15}-[0-9a-f-]{36}$/;

const STATUS: Record<GovernorErrorCode, ContentfulStatusCode> = {
  invalid_request: 400,
  invalid_config: 400,
  not_configured: 409,
  no_cycle: 409,
  unknown_processor: 404,
  processor_disabled: 409,
  budget_exhausted: 429,
  concurrency_limit: 429,
  too_many_reservations: 429,
  idempotency_conflict: 409,
  not_found: 404,
  cycle_closed: 409,
  already_settled: 409,
  no_data_plane: 503,
};

const startBody = z.strictObject(
  { totalBudget: z.optional(amountSchema("totalBudget")) },
  { error: objectError("body must be a JSON object with optional totalBudget") },
);
const commitBody = z.strictObject(
  {
    actualCost: amountSchema("actualCost"),
    items: z.optional(wholeNumber("items", 0, 1_000_000_000)),
    errors: z.optional(wholeNumber("errors", 0, 1_000_000_000)),
  },
  { error: objectError("body must be a JSON object with actualCost and optional items, errors") },
);
const releaseBody = z.strictObject(
  { failed: z.optional(z.boolean({ error: "failed must be true or false" })) },
  { error: objectError("body must be a JSON object with optional failed") },
);
// Shape only: the governor checks the rules across fields and answers invalid_config.
const configBody = z.record(z.string(), z.unknown(), {
  error: "body must be a JSON object with processors and tiers",
});

/**
 * Mount it anywhere: `app.route("/budget-governor", budgetGovernorRoutes())`. `:governor` names
 * the budget (one Durable Object each).
 *
 * - `GET  /:governor/status`                        the cycle, spend per processor, open reservations
 * - `GET  /:governor/history?limit=`                closed cycles, newest first
 * - `GET  /:governor/config`                        the configuration
 * - `PUT  /:governor/config`                        configure (admin)
 * - `POST /:governor/cycles` `{ totalBudget? }`     close the cycle and start the next (admin)
 * - `POST /:governor/execute`                       run the cycle on the data plane (admin)
 * - `POST /:governor/reservations` `{ processorId, estimatedCost, idempotencyKey }`  201, 200 on a retry, 429 refused
 * - `GET  /:governor/reservations/:id`
 * - `POST /:governor/reservations/:id/commit` `{ actualCost, items?, errors? }`
 * - `POST /:governor/reservations/:id/release` `{ failed? }`
 *
 * Admin routes need `Authorization: Bearer <ADMIN_TOKEN>`. Reservation routes do not: expose
 * them to your trusted services, not to the public.
 *
 * @example
 * app.route("/budget-governor", budgetGovernorRoutes({ binding: "BUDGET_GOVERNOR" }));
 */
export function budgetGovernorRoutes(options: BudgetGovernorRoutesOptions = {}): Hono<RoutesEnv> {
  const bindingName = options.binding ?? "BUDGET_GOVERNOR";
  const app = new Hono<RoutesEnv>();
  app.use("*", limitBody());

  /** The named governor, or the 400 to send for a bad name. */
  const governor = (c: Context<RoutesEnv>) => {
    const name = c.req.param("governor") ?? "";
    if (!GOVERNOR.test(name)) {
      return errorResponse(
        c,
        400,
        "invalid_request",
        "the governor name must be 1-64 characters of letters, digits, '_', '.', ':' or '-'",
      );
    }
    return getGovernorNamespace(c.env, bindingName).getByName(name);
  };
  const reservationId = (c: Context<RoutesEnv>): string | Response => {
    const id = c.req.param("id") ?? "";
    if (RESERVATION_ID.test(id)) return id;
    return errorResponse(c, 404, "not_found", `no reservation ${id.slice(0, 80)}`);
  };

  app.get("/:governor/status", async (c) => {
    const stub = governor(c);
    return stub instanceof Response ? stub : c.json(await stub.status());
  });
  app.get("/:governor/history", async (c) => {
    const stub = governor(c);
    if (stub instanceof Response) return stub;
    const raw = c.req.query("limit");
    const limit = raw === undefined ? undefined : Number(raw);
    if (limit !== undefined && !(Number.isSafeInteger(limit) && limit >= 1 && limit <= 200)) {
      return errorResponse(c, 400, "invalid_request", "limit must be a whole number from 1 to 200");
    }
    return c.json({ cycles: await stub.history(limit) });
  });
  app.get("/:governor/config", async (c) => {
    const stub = governor(c);
    return stub instanceof Response ? stub : c.json({ config: await stub.getConfig() });
  });
  app.put("/:governor/config", requireAdmin(), async (c) => {
    const stub = governor(c);
    if (stub instanceof Response) return stub;
    const body = await readJson(c, configBody);
    if (!body.ok) return body.response;
    const outcome = await stub.configure(body.data as GovernorConfig);
    return outcome.ok ? c.json(outcome) : failed(c, outcome.error);
  });
  app.post("/:governor/cycles", requireAdmin(), async (c) => {
    const stub = governor(c);
    if (stub instanceof Response) return stub;
    const body = await readJsonOrEmpty(c, startBody);
    if (!body.ok) return body.response;
    const outcome = await stub.start(body.data.totalBudget);
    return outcome.ok ? c.json(outcome, 201) : failed(c, outcome.error);
  });
  app.post("/:governor/execute", requireAdmin(), async (c) => {
    const stub = governor(c);
    if (stub instanceof Response) return stub;
    const outcome = await stub.executeCycle();
    return outcome.ok ? c.json(outcome) : failed(c, outcome.error);
  });
  app.post("/:governor/reservations", async (c) => {
    const stub = governor(c);
    if (stub instanceof Response) return stub;
    const body = await readJson(c, reserveSchema);
    if (!body.ok) return body.response;
    const outcome = await stub.reserve(body.data);
    if (!outcome.ok) return failed(c, outcome.error, { remaining: outcome.remaining });
    return c.json(outcome, outcome.replayed ? 200 : 201);
  });
  app.get("/:governor/reservations/:id", async (c) => {
    const stub = governor(c);
    if (stub instanceof Response) return stub;
    const id = reservationId(c);
    if (id instanceof Response) return id;
    const outcome = await stub.getReservation(id);
    return outcome.ok ? c.json(outcome) : failed(c, outcome.error);
  });
  app.post("/:governor/reservations/:id/commit", async (c) => {
    const stub = governor(c);
    if (stub instanceof Response) return stub;
    const id = reservationId(c);
    if (id instanceof Response) return id;
    const body = await readJson(c, commitBody);
    if (!body.ok) return body.response;
    const { actualCost, ...rest } = body.data;
    const usage: Usage = {};
    if (rest.items !== undefined) usage.items = rest.items;
    if (rest.errors !== undefined) usage.errors = rest.errors;
    const outcome = await stub.commit(id, actualCost, usage);
    return outcome.ok ? c.json(outcome) : failed(c, outcome.error);
  });
  app.post("/:governor/reservations/:id/release", async (c) => {
    const stub = governor(c);
    if (stub instanceof Response) return stub;
    const id = reservationId(c);
    if (id instanceof Response) return id;
    const body = await readJsonOrEmpty(c, releaseBody);
    if (!body.ok) return body.response;
    const outcome = await stub.release(
      id,
      body.data.failed === undefined ? {} : { failed: body.data.failed },
    );
    return outcome.ok ? c.json(outcome) : failed(c, outcome.error);
  });
  return app;
}

/** The governor's refusals keep the catalog's error shape, with their own codes. */
function failed(c: Context, error: GovernorError, extra: Record<string, number> = {}): Response {
  return c.json({ error, ...extra }, STATUS[error.code]);
}

/** Like readJson, but an empty body reads as `{}` (for routes whose fields are all optional). */
async function readJsonOrEmpty<S extends z.ZodMiniType>(c: Context, schema: S) {
  const text = await c.req.raw.clone().text();
  if (text.trim() === "") {
    const parsed = schema.safeParse({});
    if (parsed.success) return { ok: true as const, data: parsed.data as z.infer<S> };
  }
  return readJson(c, schema);
}
