/**
 * The routes: a run driven over HTTP from create to completion, the status codes of refusals,
 * the admin token on the control routes, and the worker-loop demo.
 */
import { exports } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { freshRunId, resetClock, setNow, T0 } from "./helpers";

afterEach(resetClock);

const ADMIN = { Authorization: "Bearer test-admin-token" };

async function send(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
) {
  const response = await exports.default.fetch(
    new Request(`http://example.com${path}`, {
      method,
      headers: { "Content-Type": "application/json", ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    }),
  );
  return { status: response.status, body: await response.json<Record<string, unknown>>() };
}

describe("HTTP routes", () => {
  it("create, claim, heartbeat, fail, claim, complete, status", async () => {
    setNow(T0);
    const runId = freshRunId();
    const steps = [{ id: "a", input: { n: 1 } }];
    const created = await send(
      "POST",
      `/runs/${runId}`,
      { steps, options: { retry: { initialBackoffMs: 0 } } },
      ADMIN,
    );
    expect(created).toMatchObject({
      status: 201,
      body: { created: true, run: { runId, status: "running" } },
    });
    const repeated = await send(
      "POST",
      `/runs/${runId}`,
      { steps, options: { retry: { initialBackoffMs: 0 } } },
      ADMIN,
    );
    expect(repeated).toMatchObject({ status: 200, body: { created: false } });
    const conflicting = await send("POST", `/runs/${runId}`, { steps: [{ id: "b" }] }, ADMIN);
    expect(conflicting).toMatchObject({ status: 409, body: { error: { code: "run_exists" } } });

    const claim = await send("POST", `/runs/${runId}/claim`, { worker: "w1" });
    expect(claim).toMatchObject({
      status: 200,
      body: { step: { id: "a", attempt: 1, input: { n: 1 } } },
    });
    expect(
      await send("POST", `/runs/${runId}/steps/a/heartbeat`, { attempt: 1, progress: 0.5 }),
    ).toMatchObject({
      status: 200,
      body: { leaseExpiresAt: T0 + 30_000 },
    });
    expect(
      await send("POST", `/runs/${runId}/steps/a/fail`, { attempt: 1, error: "flaky" }),
    ).toMatchObject({
      status: 200,
      body: { retryAt: T0, runStatus: "running" },
    });
    expect(await send("POST", `/runs/${runId}/steps/a/complete`, { attempt: 1 })).toMatchObject({
      status: 409,
      body: { error: { code: "stale_attempt" } },
    });
    expect(await send("POST", `/runs/${runId}/claim`, { worker: "w2" })).toMatchObject({
      body: { step: { attempt: 2, progress: 0.5 } },
    });
    expect(
      await send("POST", `/runs/${runId}/steps/a/complete`, { attempt: 2, output: [1, 2] }),
    ).toMatchObject({
      status: 200,
      body: { stepId: "a", attempt: 2, completedAt: T0 },
    });
    const status = await send("GET", `/runs/${runId}`);
    expect(status).toMatchObject({
      status: 200,
      body: { status: "completed", steps: [{ id: "a", state: "completed", attempts: 2 }] },
    });
    expect(await send("GET", `/runs/${runId}/steps/a`)).toMatchObject({
      body: { output: [1, 2], input: { n: 1 } },
    });
    expect(await send("GET", `/runs/${runId}/steps/zz`)).toMatchObject({
      status: 404,
      body: { error: { code: "not_found" } },
    });
    expect(await send("POST", `/runs/${runId}/cancel`, undefined, ADMIN)).toMatchObject({
      status: 409,
      body: { error: { code: "run_not_running" } },
    });
  });

  it("pages through a run's steps", async () => {
    setNow(T0);
    const runId = freshRunId();
    const steps = Array.from({ length: 5 }, (_, i) => ({ id: `s${i}` }));
    await send("POST", `/runs/${runId}`, { steps }, ADMIN);
    const first = await send("GET", `/runs/${runId}?limit=2`);
    expect(first.body).toMatchObject({ nextAfter: 1, counts: { pending: 5 } });
    const last = await send("GET", `/runs/${runId}?after=3&limit=2`);
    expect(last.body).toMatchObject({ nextAfter: null, steps: [{ id: "s4" }] });
  });

  it("resume and cancel over HTTP", async () => {
    setNow(T0);
    const runId = freshRunId();
    await send("POST", `/runs/${runId}`, { steps: [{ id: "a" }] }, ADMIN);
    await send("POST", `/runs/${runId}/claim`, { worker: "w" });
    await send("POST", `/runs/${runId}/steps/a/fail`, {
      attempt: 1,
      error: "no",
      retryable: false,
    });
    expect(await send("POST", `/runs/${runId}/resume`, undefined, ADMIN)).toMatchObject({
      status: 200,
      body: { run: { status: "running", resumes: 1 } },
    });
    expect(await send("POST", `/runs/${runId}/cancel`, undefined, ADMIN)).toMatchObject({
      status: 200,
      body: { run: { status: "cancelled" } },
    });
  });
});

describe("the worker-loop demo", () => {
  it("starts a run, drives it with injected failures, shows its status", async () => {
    setNow(T0);
    const started = await send("POST", "/demo/checkpoint/start?steps=3");
    expect(started.status).toBe(201);
    const runId = (started.body as { runId: string }).runId;
    const failing = await send("POST", `/demo/checkpoint/${runId}/drive?failRate=1`);
    expect(failing.body).toMatchObject({
      status: "running",
      counts: { waiting: 1 },
      nextClaimAt: T0 + 1_000,
    });
    setNow(T0 + 1_000);
    const crashed = await send("POST", `/demo/checkpoint/${runId}/drive?crash=step-1`);
    expect(crashed.body).toMatchObject({ counts: { running: 1 } });
    setNow(T0 + 11_000 + 2_000);
    const done = await send("POST", `/demo/checkpoint/${runId}/drive`);
    expect(done.body).toMatchObject({ status: "completed", counts: { completed: 3 } });
    const status = await send("GET", `/demo/checkpoint/${runId}`);
    expect(status.body).toMatchObject({
      status: "completed",
      steps: [
        { id: "step-1", attempts: 3, output: { square: 1 } },
        { output: { square: 4 } },
        { output: { square: 9 } },
      ],
    });
  });

  it("a fatal failure fails the run; bad switches are refused", async () => {
    setNow(T0);
    const runId = ((await send("POST", "/demo/checkpoint/start?steps=2")).body as { runId: string })
      .runId;
    expect((await send("POST", `/demo/checkpoint/${runId}/drive?fatal=step-2`)).body).toMatchObject(
      { status: "failed" },
    );
    expect((await send("POST", `/demo/checkpoint/${runId}/drive?failRate=2`)).status).toBe(400);
    expect((await send("POST", "/demo/checkpoint/start?steps=99")).status).toBe(400);
    expect((await send("GET", "/demo/checkpoint/nope")).status).toBe(400);
  });
});
