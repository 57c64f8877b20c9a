/**
 * Bad input over HTTP and RPC: each gets its 4xx (or refusal) that says what is wrong, and
 * changes nothing.
 */
import { exports } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { MAX_STEPS } from "../src/index";
import {
  claimed,
  freshRunId,
  newRun,
  resetClock,
  runObject,
  setNow,
  storedFootprint,
  storedSteps,
  T0,
  EMPTY,
} from "./helpers";

afterEach(resetClock);

const ADMIN = { Authorization: "Bearer test-admin-token" };

function send(
  method: string,
  path: string,
  body: string | undefined,
  headers: Record<string, string> = {},
) {
  return exports.default.fetch(
    new Request(`http://example.com${path}`, {
      method,
      headers: { "Content-Type": "application/json", ...headers },
      ...(body === undefined ? {} : { body }),
    }),
  );
}

async function expectError(response: Response, status: number, code: string, message = /\w+ \w+/) {
  expect(response.status).toBe(status);
  const body = await response.json<{ error: { code: string; message: string } }>();
  expect(body.error.code).toBe(code);
  expect(body.error.message).toMatch(message);
}

describe("bad input to create changes nothing", () => {
  const cases: [string, unknown, RegExp][] = [
    ["no steps", { steps: [] }, /at least one step/],
    ["steps not an array", { steps: "a" }, /steps must be an array/],
    ["duplicate step ids", { steps: [{ id: "a" }, { id: "a" }] }, /used twice/],
    ["step id with a space", { steps: [{ id: "a b" }] }, /may hold only/],
    ["unknown step field", { steps: [{ id: "a", extra: 1 }] }, /extra/],
    [
      "zero maxAttempts",
      { steps: [{ id: "a" }], options: { retry: { maxAttempts: 0 } } },
      /maxAttempts must be at least 1/,
    ],
    [
      "multiplier below 1",
      { steps: [{ id: "a" }], options: { retry: { multiplier: 0.5 } } },
      /multiplier must be at least 1/,
    ],
    [
      "fractional backoff",
      { steps: [{ id: "a" }], options: { retry: { initialBackoffMs: 1.5 } } },
      /whole number/,
    ],
    [
      "lease too short",
      { steps: [{ id: "a" }], options: { leaseTimeoutMs: 10 } },
      /leaseTimeoutMs must be at least 1000/,
    ],
    [
      "parallelism as a string",
      { steps: [{ id: "a" }], options: { parallelism: "2" } },
      /parallelism must be a number/,
    ],
    [
      "retention too short",
      { steps: [{ id: "a" }], options: { retentionMs: 1 } },
      /retentionMs must be at least 60000/,
    ],
    ["an array body", [], /body must be a JSON object/],
  ];

  it.each(cases)("%s → 400", async (_label, body, message) => {
    const runId = freshRunId();
    await expectError(
      await send("POST", `/runs/${runId}`, JSON.stringify(body), ADMIN),
      400,
      "invalid_request",
      message,
    );
    expect(await storedFootprint(runObject(runId))).toEqual(EMPTY);
  });

  it("too many steps, an oversized input, malformed JSON, a huge body", async () => {
    const runId = freshRunId();
    const many = Array.from({ length: MAX_STEPS + 1 }, (_, i) => ({ id: `s${i}` }));
    const outcome = await runObject(runId).create(runId, many);
    expect(outcome).toMatchObject({
      ok: false,
      error: { code: "invalid_input", message: /at most 10000 steps/ },
    });
    await expectError(
      await send(
        "POST",
        `/runs/${runId}`,
        JSON.stringify({ steps: [{ id: "a", input: "x".repeat(17_000) }] }),
        ADMIN,
      ),
      413,
      "payload_too_large",
      /at most 16384 bytes/,
    );
    await expectError(
      await send("POST", `/runs/${runId}`, '{"steps": [', ADMIN),
      400,
      "invalid_json",
    );
    await expectError(
      await send(
        "POST",
        `/runs/${runId}`,
        JSON.stringify({ steps: [{ id: "a", input: "x".repeat(2_000_000) }] }),
        ADMIN,
      ),
      413,
      "payload_too_large",
    );
    expect(await storedFootprint(runObject(runId))).toEqual(EMPTY);
  });

  it("over RPC: a run id that is not the object's name, and inputs JSON cannot hold", async () => {
    const runId = freshRunId();
    const run = runObject(runId);
    expect(await run.create("someone-else", [{ id: "a" }])).toMatchObject({
      error: { code: "invalid_input", message: /object's name/ },
    });
    expect(await storedFootprint(run)).toEqual(EMPTY);
  });
});

describe("bad input to the worker routes changes nothing", () => {
  it("wrong types, missing fields, unknown fields, bad ids, oversized bodies", async () => {
    setNow(T0);
    const { runId, run } = await newRun(2);
    const step = await claimed(run);
    const before = await storedSteps(run);
    const base = `/runs/${runId}`;
    await expectError(
      await send("POST", `${base}/claim`, "{}"),
      400,
      "invalid_request",
      /worker must be a string/,
    );
    await expectError(
      await send("POST", `${base}/claim`, '{"worker":""}'),
      400,
      "invalid_request",
      /worker must not be empty/,
    );
    await expectError(
      await send("POST", `${base}/steps/s1/complete`, '{"attempt":"1"}'),
      400,
      "invalid_request",
      /attempt must be a number/,
    );
    await expectError(
      await send("POST", `${base}/steps/s1/complete`, '{"attempt":1.5}'),
      400,
      "invalid_request",
      /whole number/,
    );
    await expectError(
      await send("POST", `${base}/steps/s1/complete`, '{"attempt":1,"extra":1}'),
      400,
      "invalid_request",
      /extra/,
    );
    await expectError(
      await send("POST", `${base}/steps/s1/fail`, '{"attempt":1}'),
      400,
      "invalid_request",
      /error must be a string/,
    );
    await expectError(
      await send("POST", `${base}/steps/s1/fail`, '{"attempt":1,"error":"x","retryable":"no"}'),
      400,
      "invalid_request",
      /retryable must be a boolean/,
    );
    await expectError(
      await send("POST", `${base}/steps/s1/heartbeat`, "not json"),
      400,
      "invalid_json",
    );
    await expectError(
      await send("POST", `${base}/steps/bad%20id/complete`, '{"attempt":1}'),
      400,
      "invalid_request",
      /stepId/,
    );
    await expectError(
      await send("POST", `/runs/bad%20id/claim`, '{"worker":"w"}'),
      400,
      "invalid_request",
      /runId/,
    );
    await expectError(
      await send(
        "POST",
        `${base}/steps/s1/complete`,
        JSON.stringify({ attempt: 1, output: "x".repeat(40_000) }),
      ),
      413,
      "payload_too_large",
      /at most 32768 bytes/,
    );
    await expectError(
      await send(
        "POST",
        `${base}/steps/s1/heartbeat`,
        JSON.stringify({ attempt: 1, progress: "x".repeat(2_000) }),
      ),
      413,
      "payload_too_large",
    );
    await expectError(
      await send("POST", `${base}/claim`, JSON.stringify({ worker: "x".repeat(100_000) })),
      413,
      "payload_too_large",
    );
    await expectError(await send("GET", `${base}?limit=0`, undefined), 400, "invalid_request");
    await expectError(await send("GET", `${base}?limit=abc`, undefined), 400, "invalid_request");
    expect(await storedSteps(run)).toEqual(before);
    expect(await run.complete(step.id, step.attempt)).toMatchObject({ ok: true });
  });

  it("unknown routes, no run, missing or wrong admin token", async () => {
    const runId = freshRunId();
    await expectError(await send("GET", "/nope", undefined), 404, "not_found", /GET \/nope/);
    await expectError(await send("GET", `/runs/${runId}`, undefined), 404, "no_run");
    await expectError(await send("POST", `/runs/${runId}/claim`, '{"worker":"w"}'), 404, "no_run");
    const body = JSON.stringify({ steps: [{ id: "a" }] });
    await expectError(await send("POST", `/runs/${runId}`, body), 401, "unauthorized");
    await expectError(
      await send("POST", `/runs/${runId}`, body, { Authorization: "Bearer wrong" }),
      401,
      "unauthorized",
    );
    await expectError(await send("POST", `/runs/${runId}/cancel`, undefined), 401, "unauthorized");
    await expectError(
      await send("POST", `/runs/${runId}/resume`, undefined, { Authorization: "Basic x" }),
      401,
      "unauthorized",
    );
    expect(await storedFootprint(runObject(runId))).toEqual(EMPTY);
  });
});
