import { exports } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import {
  T0,
  TEST_CONFIG,
  controller,
  newLoop,
  resetClock,
  scheduledAlarm,
  setNow,
  storedFootprint,
} from "./helpers";

afterEach(resetClock);

const ADMIN = { Authorization: "Bearer test-admin-token", "Content-Type": "application/json" };

function send(
  method: string,
  path: string,
  body?: string,
  headers: Record<string, string> = ADMIN,
) {
  return exports.default.fetch(
    new Request(`http://localhost${path}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body }),
    }),
  );
}

async function expectError(response: Response, status: number, code: string) {
  expect(response.status).toBe(status);
  const body = await response.json<{ error: { code: string; message: string } }>();
  expect(body.error.code).toBe(code);
  expect(body.error.message.length).toBeGreaterThan(0);
  return body.error.message;
}

/** A running loop whose state must not change through the bad requests. */
async function runningLoop() {
  setNow(T0);
  const loop = newLoop();
  const started = await loop.stub.start(TEST_CONFIG);
  if (!started.ok) throw new Error("start refused");
  return { ...loop, before: await loop.stub.status(), footprint: await storedFootprint(loop.stub) };
}

describe("bad configurations are refused and change nothing", () => {
  const cases: [string, Record<string, unknown>, string][] = [
    [
      "min above max",
      { minBatchSize: 30, maxBatchSize: 10 },
      "minBatchSize must be at most maxBatchSize",
    ],
    ["initial outside the range", { initialBatchSize: 1 }, "initialBatchSize must be between"],
    ["thresholds out of order", { holdAbove: 0.97 }, "shrinkAbove < holdAbove < growAbove"],
    ["a threshold of 1", { growAbove: 1 }, "growAbove must be below 1"],
    ["a threshold of 0", { shrinkAbove: 0 }, "shrinkAbove must be above 0"],
    [
      "backoff shorter than the interval",
      { backoffIntervalMs: 500 },
      "backoffIntervalMs must be at least intervalMs",
    ],
    [
      "cool-down cap below the cool-down",
      { maxCooldownMs: 5_000 },
      "maxCooldownMs must be at least cooldownMs",
    ],
    ["probe above max", { probeBatchSize: 21 }, "probeBatchSize must be at most maxBatchSize"],
    ["a fractional batch", { maxBatchSize: 10.5 }, "maxBatchSize must be a whole number"],
    ["a batch too large", { maxBatchSize: 501 }, "maxBatchSize must be at most 500"],
    ["a string", { intervalMs: "1000" }, "intervalMs must be a number"],
    ["an interval too short", { intervalMs: 10 }, "intervalMs must be at least 100"],
    ["a zero timeout", { timeoutMs: 0 }, "timeoutMs must be at least 1"],
    ["an unknown field", { batchSize: 10 }, 'unknown field "batchSize"'],
    [
      "a zero threshold of failures",
      { breakerThreshold: 0 },
      "breakerThreshold must be at least 1",
    ],
  ];

  for (const [label, config, message] of cases) {
    it(`over RPC: ${label}`, async () => {
      const { stub, before, footprint } = await runningLoop();
      const refused = await stub.start(config);
      expect(refused).toMatchObject({
        ok: false,
        error: { code: "invalid_config", message: expect.stringContaining(message) },
      });
      expect(await stub.configure(config)).toMatchObject({ ok: false });
      expect(await stub.status()).toEqual(before);
      expect(await storedFootprint(stub)).toEqual(footprint);
    });
  }

  it("over HTTP: 400 with the reason, for start and configure", async () => {
    const { name, stub, before } = await runningLoop();
    for (const path of ["/start", "/configure"]) {
      const message = await expectError(
        await send(
          "POST",
          path,
          JSON.stringify({ name, config: { minBatchSize: 30, maxBatchSize: 10 } }),
        ),
        400,
        "invalid_request",
      );
      expect(message).toContain("minBatchSize must be at most maxBatchSize");
    }
    expect(await stub.status()).toEqual(before);
  });

  it("a refused start of a new loop leaves it idle and stores nothing", async () => {
    const { stub } = newLoop();
    expect(await stub.start({ windowSize: 0 })).toMatchObject({ ok: false });
    expect(await storedFootprint(stub)).toEqual({ tables: [], entries: [], alarm: null });
  });
});

describe("bad HTTP requests get a 4xx in the error shape and change nothing", () => {
  it("malformed JSON, wrong types, missing fields, unknown fields", async () => {
    const { name, stub, before } = await runningLoop();
    await expectError(await send("POST", "/pause", "{not json"), 400, "invalid_json");
    await expectError(await send("POST", "/pause", "[]"), 400, "invalid_request");
    await expectError(await send("POST", "/pause", "null"), 400, "invalid_request");
    await expectError(await send("POST", "/pause", "{}"), 400, "invalid_request");
    await expectError(
      await send("POST", "/pause", JSON.stringify({ name: 42 })),
      400,
      "invalid_request",
    );
    await expectError(
      await send("POST", "/pause", JSON.stringify({ name, extra: 1 })),
      400,
      "invalid_request",
    );
    await expectError(
      await send("POST", "/pause", JSON.stringify({ name: "a b" })),
      400,
      "invalid_request",
    );
    await expectError(
      await send("POST", "/pause", JSON.stringify({ name: "x".repeat(65) })),
      400,
      "invalid_request",
    );
    await expectError(
      await send("POST", "/start", JSON.stringify({ name, config: [] })),
      400,
      "invalid_request",
    );
    await expectError(
      await send("POST", "/configure", JSON.stringify({ name })),
      400,
      "invalid_request",
    );
    expect(await stub.status()).toEqual(before);
  });

  it("a huge body is refused with 413", async () => {
    const { name, stub, before } = await runningLoop();
    const body = JSON.stringify({ name, padding: "x".repeat(20_000) });
    await expectError(await send("POST", "/pause", body), 413, "payload_too_large");
    expect(await stub.status()).toEqual(before);
  });

  it("status needs a valid name", async () => {
    await expectError(await send("GET", "/status/a%20b"), 400, "invalid_request");
    await expectError(await send("GET", `/status/${"x".repeat(65)}`), 400, "invalid_request");
    await expectError(await send("GET", "/status/a%2Fb"), 400, "invalid_request");
    await expectError(await send("GET", "/status"), 404, "not_found");
  });

  it("unknown routes and methods answer 404", async () => {
    await expectError(await send("GET", "/nope"), 404, "not_found");
    await expectError(await send("GET", "/start"), 404, "not_found");
    await expectError(await send("DELETE", "/status/x"), 404, "not_found");
  });

  it("every mutating route needs the admin token", async () => {
    const { name, stub, before } = await runningLoop();
    const body = JSON.stringify({ name, config: { maxBatchSize: 5 } });
    for (const path of ["/start", "/configure", "/pause", "/resume", "/reset"]) {
      await expectError(
        await send("POST", path, body, { "Content-Type": "application/json" }),
        401,
        "unauthorized",
      );
      await expectError(
        await send("POST", path, body, {
          Authorization: "Bearer wrong",
          "Content-Type": "application/json",
        }),
        401,
        "unauthorized",
      );
    }
    expect(await stub.status()).toEqual(before);
    expect(await scheduledAlarm(controller(name))).toBe(T0);
  });
});
