/**
 * Runs over HTTP, for workers that reach the coordinator through a Worker rather than RPC.
 */
import { Hono } from "hono";
import type { Context } from "hono";
import * as z from "zod/mini";
import {
  MAX_OUTPUT_BYTES,
  attemptSchema,
  optionsSchema,
  parseWith,
  runIdSchema,
  stepIdSchema,
  stepsSchema,
  workerSchema,
  type JsonValue,
  type StepDefinition,
} from "./definition";
import { errorResponse, limitBody, objectError, readJson, requireAdmin } from "./http";
import { getCheckpointNamespace } from "./namespace";
import { MAX_STATUS_PAGE, type Refusal } from "./object";

export interface CheckpointRoutesOptions {
  /** Name of the Durable Object binding in `env` (default "CHECKPOINTS"). */
  binding?: string;
}

/** A create body holds every step's input: larger runs are created over RPC (up to 4 MiB of inputs). */
export const MAX_CREATE_BODY_BYTES = 1024 * 1024;
/** A complete body holds the output (at most MAX_OUTPUT_BYTES as JSON) and the attempt. */
const MAX_COMPLETE_BODY_BYTES = 2 * MAX_OUTPUT_BYTES;

const bodies = {
  create: z.strictObject(
    { steps: stepsSchema, options: z.optional(optionsSchema) },
    { error: objectError("body must be a JSON object with steps and optional options") },
  ),
  claim: z.strictObject(
    { worker: workerSchema },
    { error: objectError("body must be a JSON object with worker") },
  ),
  heartbeat: z.strictObject(
    { attempt: attemptSchema, progress: z.optional(z.unknown()) },
    { error: objectError("body must be a JSON object with attempt and optional progress") },
  ),
  complete: z.strictObject(
    { attempt: attemptSchema, output: z.optional(z.unknown()) },
    { error: objectError("body must be a JSON object with attempt and optional output") },
  ),
  fail: z.strictObject(
    {
      attempt: attemptSchema,
      error: z.string({ error: "error must be a string" }),
      retryable: z.optional(z.boolean({ error: "retryable must be a boolean" })),
    },
    { error: objectError("body must be a JSON object with attempt, error and optional retryable") },
  ),
};

const pageQuery = z.object({
  after: z.optional(
    z.coerce
      .number({ error: "after must be a number" })
      .check(
        z.int({ error: "after must be a whole number" }),
        z.gte(-1, { error: "after must be at least -1" }),
      ),
  ),
  limit: z.optional(
    z.coerce
      .number({ error: "limit must be a number" })
      .check(
        z.int({ error: "limit must be a whole number" }),
        z.gte(1, { error: "limit must be at least 1" }),
        z.lte(MAX_STATUS_PAGE, { error: `limit must be at most ${MAX_STATUS_PAGE}` }),
      ),
  ),
});

type RoutesEnv = { Bindings: Record<string, unknown> & { ADMIN_TOKEN?: string } };

/**
 * Mount it anywhere: `app.route("/checkpoint", checkpointRoutes())`. `(admin)` needs
 * `Authorization: Bearer <ADMIN_TOKEN>`: starting, cancelling and resuming runs is the control
 * plane's. The worker routes trust whoever knows a run id, a step id and the attempt number:
 * expose them to your workers, not to the public.
 *
 * - `POST /runs/:runId`                          (admin) `{ steps, options? }` → 201 `{ created, run }` (200 when repeated)
 * - `GET  /runs/:runId?after=&limit=`            → the run and a page of its steps
 * - `GET  /runs/:runId/steps/:stepId`            → one step with its input and output
 * - `POST /runs/:runId/claim`                    `{ worker }` → `{ step }` or `{ step: null, status, nextClaimAt }`
 * - `POST /runs/:runId/steps/:stepId/heartbeat`  `{ attempt, progress? }` → `{ leaseExpiresAt }`
 * - `POST /runs/:runId/steps/:stepId/complete`   `{ attempt, output? }` → `{ stepId, attempt, completedAt }`
 * - `POST /runs/:runId/steps/:stepId/fail`       `{ attempt, error, retryable? }` → `{ retryAt, runStatus }`
 * - `POST /runs/:runId/cancel`                   (admin) → `{ run }`
 * - `POST /runs/:runId/resume`                   (admin) → `{ run }`
 *
 * Refusals: 400 `invalid_request`, 404 `no_run` / `not_found`, 409 `run_exists`,
 * `stale_attempt` or `run_not_running`, 413 `payload_too_large`.
 *
 * @example
 * app.route("/checkpoint", checkpointRoutes({ binding: "CHECKPOINTS" }));
 */
export function checkpointRoutes(options: CheckpointRoutesOptions = {}): Hono<RoutesEnv> {
  const bindingName = options.binding ?? "CHECKPOINTS";
  const app = new Hono<RoutesEnv>();
  const admin = requireAdmin();

  /** The run's object, or the 400 for a malformed run id (or step id, when the path has one). */
  const target = (c: Context<RoutesEnv>) => {
    const runId = parseWith(runIdSchema, c.req.param("runId"));
    if (!runId.ok) return { response: errorResponse(c, 400, "invalid_request", runId.message) };
    const stepParam = c.req.param("stepId");
    let stepId = "";
    if (stepParam !== undefined) {
      const parsed = parseWith(stepIdSchema, stepParam);
      if (!parsed.ok) return { response: errorResponse(c, 400, "invalid_request", parsed.message) };
      stepId = parsed.value;
    }
    const run = getCheckpointNamespace(c.env, bindingName).getByName(runId.value);
    return { run, runId: runId.value, stepId };
  };

  app.post("/runs/:runId", limitBody(MAX_CREATE_BODY_BYTES), admin, async (c) => {
    const t = target(c);
    if ("response" in t) return t.response;
    const body = await readJson(c, bodies.create);
    if (!body.ok) return body.response;
    const outcome = await t.run.create(
      t.runId,
      // Inputs are checked by the object (JSON, size), as for RPC; the cast only says where they go.
      body.data.steps as StepDefinition[],
      body.data.options ?? {},
    );
    if (!outcome.ok) return refusal(c, outcome);
    return json(c, outcome, outcome.created ? 201 : 200);
  });

  app.get("/runs/:runId", async (c) => {
    const t = target(c);
    if ("response" in t) return t.response;
    const query = pageQuery.safeParse(c.req.query());
    if (!query.success) {
      const issue = query.error.issues[0];
      return errorResponse(c, 400, "invalid_request", issue?.message ?? "bad query");
    }
    const page = Object.fromEntries(
      Object.entries(query.data).filter(([, value]) => value !== undefined),
    );
    const status: object | null = await t.run.status(page);
    return status === null ? noRun(c) : json(c, status);
  });

  app.get("/runs/:runId/steps/:stepId", async (c) => {
    const t = target(c);
    if ("response" in t) return t.response;
    const step: object | null = await t.run.step(t.stepId);
    if (step !== null) return json(c, step);
    const status = await t.run.status({ limit: 1 });
    if (status === null) return noRun(c);
    return c.json(
      { error: { code: "not_found", message: `the run has no step "${t.stepId}"` } },
      404,
    );
  });

  app.post("/runs/:runId/claim", limitBody(), async (c) => {
    const t = target(c);
    if ("response" in t) return t.response;
    const body = await readJson(c, bodies.claim);
    if (!body.ok) return body.response;
    return answer(c, await t.run.claim(body.data.worker));
  });

  app.post("/runs/:runId/steps/:stepId/heartbeat", limitBody(), async (c) => {
    const t = target(c);
    if ("response" in t) return t.response;
    const body = await readJson(c, bodies.heartbeat);
    if (!body.ok) return body.response;
    return answer(
      c,
      await t.run.heartbeat(t.stepId, body.data.attempt, body.data.progress as JsonValue),
    );
  });

  app.post("/runs/:runId/steps/:stepId/complete", limitBody(MAX_COMPLETE_BODY_BYTES), async (c) => {
    const t = target(c);
    if ("response" in t) return t.response;
    const body = await readJson(c, bodies.complete);
    if (!body.ok) return body.response;
    return answer(
      c,
      await t.run.complete(t.stepId, body.data.attempt, body.data.output as JsonValue),
    );
  });

  app.post("/runs/:runId/steps/:stepId/fail", limitBody(), async (c) => {
    const t = target(c);
    if ("response" in t) return t.response;
    const body = await readJson(c, bodies.fail);
    if (!body.ok) return body.response;
    const { attempt, error, retryable } = body.data;
    return answer(c, await t.run.fail(t.stepId, attempt, error, retryable ?? true));
  });

  for (const action of ["cancel", "resume"] as const) {
    app.post(`/runs/:runId/${action}`, limitBody(), admin, async (c) => {
      const t = target(c);
      if ("response" in t) return t.response;
      return answer(c, await (action === "cancel" ? t.run.cancel() : t.run.resume()));
    });
  }
  return app;
}

/** An outcome as HTTP: 200 with the outcome, or its refusal. */
function answer<T extends { ok: boolean }>(c: Context, outcome: T | Refusal): Response {
  if (!outcome.ok) return refusal(c, outcome as Refusal);
  return json(c, outcome);
}

/** Hono's JSON typing recurses into JsonValue without end; these values are JSON by construction. */
function json(c: Context, value: object, status: 200 | 201 = 200): Response {
  return c.json(value as Record<string, never>, status);
}

function refusal(c: Context, outcome: Refusal): Response {
  const { code, message } = outcome.error;
  switch (code) {
    case "invalid_input":
      return errorResponse(c, 400, "invalid_request", message);
    case "too_large":
      return errorResponse(c, 413, "payload_too_large", message);
    case "no_run":
    case "not_found":
      return c.json({ error: { code, message } }, 404);
    case "run_exists":
    case "stale_attempt":
    case "run_not_running":
      return c.json({ error: { code, message } }, 409);
  }
}

function noRun(c: Context): Response {
  return c.json(
    {
      error: {
        code: "no_run",
        message: "no run here: it was never created, or it finished and was deleted",
      },
    },
    404,
  );
}
