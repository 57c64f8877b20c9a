/* oxlint-disable vitest/no-conditional-expect */
import { afterEach, describe, expect, it } from "vitest";
import type { GovernorConfig } from "../src/index";
import {
  ADMIN,
  CONFIG,
  freshGovernor,
  resetWorld,
  send,
  setNow,
  startedGovernor,
  T0,
} from "./helpers";

afterEach(resetWorld);

const tiers = CONFIG.tiers;

describe("bad configuration is refused and changes nothing", () => {
  const cases: [string, unknown, RegExp][] = [
    [
      "weights that do not sum to 1",
      { ...CONFIG, processors: [{ id: "a", weight: 0.5, phase: 1, tier: "small" }] },
      /sum to 1/,
    ],
    [
      "a tier that does not exist",
      { ...CONFIG, processors: [{ id: "a", weight: 1, phase: 1, tier: "huge" }] },
      /tier "huge"/,
    ],
    [
      "a duplicate processor id",
      {
        ...CONFIG,
        processors: [
          { id: "a", weight: 0.5, phase: 1, tier: "small" },
          { id: "a", weight: 0.5, phase: 1, tier: "small" },
        ],
      },
      /more than once/,
    ],
    [
      "no enabled processor",
      { ...CONFIG, processors: [{ id: "a", weight: 1, phase: 1, tier: "small", enabled: false }] },
      /at least one processor must be enabled/,
    ],
    [
      "a weight above 1",
      { ...CONFIG, processors: [{ id: "a", weight: 1.5, phase: 1, tier: "small" }] },
      /weight must be from 0 to 1/,
    ],
    [
      "a fractional phase",
      { ...CONFIG, processors: [{ id: "a", weight: 1, phase: 1.5, tier: "small" }] },
      /phase must be a whole number/,
    ],
    [
      "a negative cost per call",
      { ...CONFIG, tiers: { ...tiers, small: { ...tiers.small, costPerCall: -1 } } },
      /costPerCall must be at least 0/,
    ],
    [
      "zero concurrency",
      { ...CONFIG, tiers: { ...tiers, small: { ...tiers.small, maxConcurrency: 0 } } },
      /maxConcurrency must be at least 1/,
    ],
    ["no processors", { ...CONFIG, processors: [] }, /at least one processor/],
    ["an unknown field", { ...CONFIG, extra: true }, /unknown field "extra"/],
    [
      "a schedule too short",
      { ...CONFIG, schedule: { periodSeconds: 5 } },
      /periodSeconds must be at least 60/,
    ],
    ["not an object", [1, 2], /config must be an object/],
  ];

  it.each(cases)("%s", async (_name, config, message) => {
    const governor = await startedGovernor(1_000);
    const outcome = await governor.configure(config as GovernorConfig);
    expect(outcome).toMatchObject({ ok: false, error: { code: "invalid_config" } });
    if (!outcome.ok) expect(outcome.error.message).toMatch(message);
    expect(await governor.getConfig()).toEqual(CONFIG);
  });

  it("weights within the tolerance are accepted (0.1 + 0.2 + 0.7 in floating point)", async () => {
    const governor = freshGovernor();
    const config = {
      ...CONFIG,
      processors: [
        { id: "a", weight: 0.1, phase: 1, tier: "small" },
        { id: "b", weight: 0.2, phase: 1, tier: "small" },
        { id: "c", weight: 0.7, phase: 1, tier: "small" },
      ],
    };
    expect(await governor.configure(config)).toMatchObject({ ok: true });
  });
});

describe("bad input over RPC is refused and changes nothing", () => {
  it("reserve, commit, release and start with wrong values", async () => {
    setNow(T0);
    const governor = await startedGovernor(10_000);
    const bad: unknown[] = [
      { processorId: "keywords", estimatedCost: 0, idempotencyKey: "k" },
      { processorId: "keywords", estimatedCost: 1.5, idempotencyKey: "k" },
      { processorId: "keywords", estimatedCost: "10", idempotencyKey: "k" },
      { processorId: "keywords", estimatedCost: 10 },
      { processorId: "keywords", estimatedCost: 10, idempotencyKey: "" },
      { processorId: "keywords", estimatedCost: 1e16, idempotencyKey: "k" },
    ];
    for (const request of bad) {
      expect(await governor.reserve(request as never)).toMatchObject({
        ok: false,
        error: { code: "invalid_request" },
      });
    }
    const ok = await governor.reserve({
      processorId: "keywords",
      estimatedCost: 10,
      idempotencyKey: "k",
    });
    if (!ok.ok) throw new Error("reserve failed");
    for (const cost of [-1, 0.5, Number.NaN, 1e16]) {
      expect(await governor.commit(ok.reservation.id, cost)).toMatchObject({
        error: { code: "invalid_request" },
      });
    }
    expect(await governor.commit(ok.reservation.id, 1, { items: -1 })).toMatchObject({
      error: { code: "invalid_request" },
    });
    expect(await governor.release(ok.reservation.id, { failed: "yes" as never })).toMatchObject({
      error: { code: "invalid_request" },
    });
    expect(await governor.start(-5)).toMatchObject({
      ok: false,
      error: { code: "invalid_request" },
    });
    const status = await governor.status();
    expect(status.processors.find((p) => p.id === "keywords")).toMatchObject({
      reserved: 10,
      committed: 0,
      errors: 0,
    });
    expect(status.cycle?.id).toBe(1);
  });
});

async function setup() {
  setNow(T0);
  const g = `/bad-${crypto.randomUUID()}`;
  await send("PUT", `${g}/config`, CONFIG, ADMIN);
  await send("POST", `${g}/cycles`, { totalBudget: 10_000 }, ADMIN);
  return g;
}
const statusOf = async (g: string) => (await send("GET", `${g}/status`)).json();

describe("bad input over HTTP: a 4xx in the error shape, and nothing changed", () => {
  it.each([
    ["malformed JSON", "POST", "/reservations", "{not json", 400, "invalid_json"],
    [
      "wrong types",
      "POST",
      "/reservations",
      { processorId: 5, estimatedCost: "x", idempotencyKey: 1 },
      400,
      "invalid_request",
    ],
    [
      "missing fields",
      "POST",
      "/reservations",
      { processorId: "keywords" },
      400,
      "invalid_request",
    ],
    ["an array body", "POST", "/reservations", [1], 400, "invalid_request"],
    [
      "a huge body",
      "POST",
      "/reservations",
      { processorId: "keywords", estimatedCost: 1, idempotencyKey: "x".repeat(20_000) },
      413,
      "payload_too_large",
    ],
    [
      "a bad commit",
      "POST",
      "/reservations/1-00000000-0000-0000-0000-000000000000/commit",
      { actualCost: -3 },
      400,
      "invalid_request",
    ],
    [
      "an unknown reservation",
      "POST",
      "/reservations/1-00000000-0000-0000-0000-000000000000/commit",
      { actualCost: 3 },
      404,
      "not_found",
    ],
    ["a malformed reservation id", "POST", "/reservations/nope/release", {}, 404, "not_found"],
    [
      "an unknown processor",
      "POST",
      "/reservations",
      { processorId: "ghost", estimatedCost: 1, idempotencyKey: "g" },
      404,
      "unknown_processor",
    ],
    ["a bad history limit", "GET", "/history?limit=0", undefined, 400, "invalid_request"],
    ["an unknown route", "GET", "/nothing/here", undefined, 404, "not_found"],
    ["a config without a token", "PUT", "/config", CONFIG, 401, "unauthorized"],
    ["a cycle with a wrong token", "POST", "/cycles", { totalBudget: 1 }, 401, "unauthorized"],
    ["an execute without a token", "POST", "/execute", undefined, 401, "unauthorized"],
  ] as const)("%s", async (_name, method, path, body, status, code) => {
    const g = await setup();
    const before = await statusOf(g);
    const headers = path === "/cycles" ? { Authorization: "Bearer wrong" } : {};
    const response = await send(method, `${g}${path}`, body, headers);
    expect(response.status).toBe(status);
    expect(await response.json()).toMatchObject({ error: { code, message: expect.any(String) } });
    expect({ ...((await statusOf(g)) as object), now: 0 }).toEqual({
      ...(before as object),
      now: 0,
    });
  });

  it("an invalid config over HTTP is a 400 naming the rule", async () => {
    const g = await setup();
    const response = await send(
      "PUT",
      `${g}/config`,
      { ...CONFIG, processors: [{ id: "a", weight: 0.4, phase: 1, tier: "small" }] },
      ADMIN,
    );
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({
      error: { code: "invalid_config", message: expect.stringMatching(/sum to 1/) },
    });
    expect(await (await send("GET", `${g}/config`)).json()).toEqual({ config: CONFIG });
  });

  it("a bad governor name is a 400", async () => {
    const response = await send("GET", `/${"x".repeat(80)}/status`);
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { code: "invalid_request" } });
  });
});
