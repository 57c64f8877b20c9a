/**
 * The worker-loop demo the composing example mounts at /demo/checkpoint: start a run of a few
 * steps, then drive it from a Worker loop (claim, do the work, complete or fail) with a switch
 * that injects failures, and watch its status. It uses only the package's public exports and
 * hono; the composing example mounts this same module.
 */
import { Hono, type Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { Checkpoint, ClaimOutcome } from "../src/index";

type ErrorCode = "invalid_request" | "not_found" | "payload_too_large";

const MAX_DEMO_STEPS = 20;
const MAX_DRIVE_ITERATIONS = 50;
const RUN_ID = /^demo-[a-z0-9-]{1,40}$/;

interface DemoOptions {
  binding: string;
}

type DemoEnv = { Bindings: Record<string, unknown> };

/** One line of what the loop did. */
interface LogLine {
  step: string;
  attempt: number;
  outcome: string;
}

/**
 * @example
 * app.route("/demo/checkpoint", checkpointDemo({ binding: "CHECKPOINTS" }));
 */
export function checkpointDemo(options: DemoOptions): Hono<DemoEnv> {
  const demo = new Hono<DemoEnv>();
  demo.use(
    "*",
    bodyLimit({
      maxSize: 1024,
      onError: (c) => error(c, 413, "payload_too_large", "request body must be at most 1024 bytes"),
    }),
  );
  const runs = (c: Context<DemoEnv>) =>
    c.env[options.binding] as DurableObjectNamespace<Checkpoint>;

  // Starts a run of `?steps=` steps (default 5): each squares its input. Retries back off from
  // 1 s; a claim is held 10 s without a heartbeat; the run deletes itself an hour after it ends.
  demo.post("/start", async (c) => {
    const count = numberParam(c.req.query("steps"), 5);
    if (!Number.isInteger(count) || count < 1 || count > MAX_DEMO_STEPS) {
      return error(
        c,
        400,
        "invalid_request",
        `steps must be a whole number from 1 to ${MAX_DEMO_STEPS}`,
      );
    }
    const runId = `demo-${crypto.randomUUID().slice(0, 8)}`;
    const steps = Array.from({ length: count }, (_, i) => ({
      id: `step-${i + 1}`,
      input: { n: i + 1 },
    }));
    const outcome = await runs(c)
      .getByName(runId)
      .create(runId, steps, {
        retry: { maxAttempts: 3, initialBackoffMs: 1_000, multiplier: 2, maxBackoffMs: 4_000 },
        leaseTimeoutMs: 10_000,
        retentionMs: 3_600_000,
      });
    if (!outcome.ok) return error(c, 400, "invalid_request", outcome.error.message);
    return c.json({ runId, run: outcome.run }, 201);
  });

  // The Worker loop: claims steps one after another and does their work, until the run ends
  // or nothing is claimable now (a retry is backing off). `?failRate=` (0 to 1) makes that
  // share of tries fail (retryably); `?fatal=<step id>` fails that step for good; `?crash=<step
  // id>` claims it and walks away, as a dead worker would, so its lease expires.
  demo.post("/:runId/drive", async (c) => {
    const runId = c.req.param("runId");
    if (!RUN_ID.test(runId)) return error(c, 400, "invalid_request", "runId must come from /start");
    const failRate = numberParam(c.req.query("failRate"), 0);
    if (!(failRate >= 0 && failRate <= 1)) {
      return error(c, 400, "invalid_request", "failRate must be a number from 0 to 1");
    }
    const fatal = c.req.query("fatal");
    const crash = c.req.query("crash");
    const run = runs(c).getByName(runId);
    const log: LogLine[] = [];
    let last: ClaimOutcome | undefined;
    for (let i = 0; i < MAX_DRIVE_ITERATIONS; i++) {
      last = await run.claim("demo-worker");
      if (!last.ok) return error(c, 404, "not_found", last.error.message);
      const step = last.step;
      if (step === null) break;
      const line = { step: step.id, attempt: step.attempt };
      if (step.id === crash) {
        log.push({ ...line, outcome: "claimed, then the worker died: its lease will expire" });
        break;
      }
      if (step.id === fatal) {
        const failed = await run.fail(step.id, step.attempt, "injected fatal failure", false);
        log.push({
          ...line,
          outcome: failed.ok
            ? `failed for good: the run is ${failed.runStatus}`
            : failed.error.message,
        });
        continue;
      }
      if (Math.random() < failRate) {
        const failed = await run.fail(step.id, step.attempt, "injected failure");
        log.push({
          ...line,
          outcome: !failed.ok
            ? failed.error.message
            : failed.retryAt === null
              ? `failed, out of tries: the run is ${failed.runStatus}`
              : `failed, retry from ${new Date(failed.retryAt).toISOString()}`,
        });
        continue;
      }
      const input = step.input as { n: number };
      const done = await run.complete(step.id, step.attempt, { square: input.n * input.n });
      log.push({ ...line, outcome: done.ok ? "completed" : done.error.message });
    }
    const status = await run.status({ limit: MAX_DEMO_STEPS });
    return c.json({
      runId,
      log,
      status: status?.status ?? null,
      counts: status?.counts ?? null,
      nextClaimAt: last?.ok === true && last.step === null ? last.nextClaimAt : null,
    });
  });

  // Every step's state, attempts, timings and output.
  demo.get("/:runId", async (c) => {
    const runId = c.req.param("runId");
    if (!RUN_ID.test(runId)) return error(c, 400, "invalid_request", "runId must come from /start");
    const run = runs(c).getByName(runId);
    const status = await run.status({ limit: MAX_DEMO_STEPS });
    if (status === null) return error(c, 404, "not_found", `no run "${runId}"`);
    const steps = await Promise.all(
      status.steps.map(async (step) => ({
        ...step,
        output: (await run.step(step.id))?.output ?? null,
      })),
    );
    return c.json({ ...status, steps });
  });
  return demo;
}

function numberParam(value: string | undefined, fallback: number): number {
  return value === undefined || value === "" ? fallback : Number(value);
}

function error(c: Context, status: 400 | 404 | 413, code: ErrorCode, message: string) {
  return c.json({ error: { code, message } }, status);
}
