import { runDurableObjectAlarm } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import type { ControllerStatus } from "../src/index";
import { SECOND, T0, TEST_CONFIG, controller, newLoop, resetClock, setNow } from "./helpers";

afterEach(resetClock);

const ADMIN = { Authorization: "Bearer test-admin-token", "Content-Type": "application/json" };

export function post(path: string, body: unknown, headers: Record<string, string> = ADMIN) {
  return exports.default.fetch(
    new Request(`http://localhost${path}`, { method: "POST", headers, body: JSON.stringify(body) }),
  );
}

export function getStatus(name: string) {
  return exports.default.fetch(new Request(`http://localhost/status/${encodeURIComponent(name)}`));
}

describe("the HTTP routes", () => {
  it("start, status, configure, pause, resume and reset a loop", async () => {
    setNow(T0);
    const { name, downstream } = newLoop();
    const started = await post("/start", { name, config: TEST_CONFIG });
    expect(started.status).toBe(200);
    expect(await started.json()).toMatchObject({ status: "running", batchSize: 4, nextRunAt: T0 });

    await runDurableObjectAlarm(controller(name));
    const status = await getStatus(name);
    expect(status.status).toBe(200);
    const body = await status.json<ControllerStatus>();
    expect(body).toMatchObject({ tick: 1, batchSize: 6, nextRunAt: T0 + SECOND });
    expect(body.series).toHaveLength(1);
    expect(body.decisions[0]).toMatchObject({ kind: "batch-size", from: 4, to: 6 });
    expect(downstream.fetched).toEqual([4]);

    const configured = await post("/configure", { name, config: { maxBatchSize: 5 } });
    expect(await configured.json()).toMatchObject({ batchSize: 5, config: { maxBatchSize: 5 } });

    expect(await (await post("/pause", { name })).json()).toMatchObject({ status: "paused" });
    expect(await (await post("/resume", { name })).json()).toMatchObject({ status: "running" });
    expect(await (await post("/reset", { name })).json()).toEqual({ reset: true });
    expect(await (await getStatus(name)).json()).toMatchObject({ status: "idle", tick: 0 });
  });

  it("status of a loop never started is idle, with the defaults, and stores nothing", async () => {
    const { name } = newLoop();
    const body = await (await getStatus(name)).json<ControllerStatus>();
    expect(body).toMatchObject({
      status: "idle",
      breaker: "closed",
      nextRunAt: null,
      decisions: [],
    });
    expect(body.config.intervalMs).toBe(60_000);
  });

  it("pause or resume of a loop never started answers 409", async () => {
    const { name } = newLoop();
    for (const action of ["pause", "resume"]) {
      const response = await post(`/${action}`, { name });
      expect(response.status).toBe(409);
      expect(await response.json()).toMatchObject({ error: { code: "invalid_request" } });
    }
  });
});
