import { runDurableObjectAlarm } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";

const fetchPath = (path: string, init?: RequestInit) =>
  exports.default.fetch(new Request(`http://localhost${path}`, init));
const postJson = (path: string, body: unknown = {}, headers: Record<string, string> = {}) =>
  fetchPath(path, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...headers },
    body: JSON.stringify(body),
  });

interface DemoStatus {
  status: string;
  breaker: string;
  batchSize: number;
  tick: number;
  knobs: { failureRate: number; latencyMs: number };
  decisions: { kind: string; from: unknown; to: unknown; reason: string }[];
}

const demoStatus = async () =>
  (await fetchPath("/adaptive-controller/demo/status")).json<DemoStatus>();

/**
 * Waits for the demo loop, ticking by itself every second through the real service binding to
 * the data plane, to reach a state.
 */
async function until(condition: (status: DemoStatus) => boolean): Promise<DemoStatus> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    // Runs a tick that is due now rather than waiting for the runtime to deliver it.
    await runDurableObjectAlarm(env.ADAPTIVE_CONTROLLER.getByName("demo"));
    const status = await demoStatus();
    if (condition(status)) return status;
    if (Date.now() > deadline) throw new Error(`timed out; last status ${JSON.stringify(status)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

// The demo loop ticks every second by itself too; stop it after each test.
afterEach(async () => {
  await postJson("/adaptive-controller/demo/reset");
});

describe("/adaptive-controller/ and its demo", () => {
  it("is listed by GET /, with its live page", async () => {
    const index = await (
      await fetchPath("/")
    ).json<{
      patterns: { name: string; live?: string; routes: string[] }[];
    }>();
    const entry = index.patterns.find((p) => p.name === "adaptive-controller");
    expect(entry?.live).toBe("/adaptive-controller/live");
    expect(entry?.routes).toEqual(
      expect.arrayContaining([
        "GET /adaptive-controller/status/:name",
        "POST /adaptive-controller/start",
      ]),
    );
    const page = await (await fetchPath("/", { headers: { Accept: "text/html" } })).text();
    expect(page).toContain('href="/adaptive-controller/live"');
  });

  it("the README's curl demo: start, tick against the data plane, fail, open the breaker", async () => {
    const started = await postJson("/adaptive-controller/demo/start");
    expect(started.status).toBe(200);
    expect(await started.json()).toMatchObject({ status: "running", batchSize: 5 });

    const healthy = await until((s) => s.tick >= 1);
    expect(healthy.breaker).toBe("closed");
    expect(healthy.batchSize).toBeGreaterThan(5); // every item succeeded: the batch grew

    const knobs = await postJson("/adaptive-controller/demo/knobs", {
      failureRate: 1,
      latencyMs: 0,
    });
    expect(await knobs.json()).toEqual({ failureRate: 1, latencyMs: 0 });
    const failing = await until((s) => s.breaker === "open");
    expect(failing.decisions.some((d) => d.kind === "breaker" && d.to === "open")).toBe(true);

    const paused = await postJson("/adaptive-controller/demo/pause");
    expect(await paused.json()).toMatchObject({ status: "paused" });
  });

  it("the package routes are mounted, admin-guarded", async () => {
    const name = `example-${crypto.randomUUID().slice(0, 8)}`;
    const unauthorized = await postJson("/adaptive-controller/start", { name });
    expect(unauthorized.status).toBe(401);
    const started = await postJson(
      "/adaptive-controller/start",
      { name, config: { intervalMs: 60_000 } },
      { Authorization: "Bearer test-admin-token" },
    );
    expect(await started.json()).toMatchObject({ status: "running" });
    const status = await fetchPath(`/adaptive-controller/status/${name}`);
    expect(await status.json()).toMatchObject({
      status: "running",
      config: { intervalMs: 60_000 },
    });
    await postJson(
      "/adaptive-controller/reset",
      { name },
      { Authorization: "Bearer test-admin-token" },
    );
  });

  it("the live page shows the breaker, the charts and the controls, with nothing fetched from elsewhere", async () => {
    await postJson("/adaptive-controller/demo/start");
    await until((s) => s.tick >= 1);
    const response = await fetchPath("/adaptive-controller/live");
    expect(response.headers.get("Content-Type")).toContain("text/html");
    const page = await response.text();
    expect(page).toContain('id="breaker"');
    expect(page).toContain('data-state="closed"');
    expect(page).toContain('id="failure-rate"');
    expect(page.match(/<svg\s+class="chart"/g)).toHaveLength(3);
    expect(page).not.toMatch(/(src|href)="(https?:)?\/\//);
    const panel = await (await fetchPath("/adaptive-controller/live/panel")).text();
    expect(panel).toContain('id="batch-size"');
  });

  it("refuses bad knobs with a 4xx and changes nothing", async () => {
    const before = (await demoStatus()).knobs;
    for (const body of [
      { failureRate: 2 },
      { failureRate: "1" },
      { latencyMs: -1 },
      { latencyMs: 1.5 },
      { other: 1 },
      [],
    ]) {
      const response = await postJson("/adaptive-controller/demo/knobs", body);
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ error: { code: "invalid_request" } });
    }
    const malformed = await fetchPath("/adaptive-controller/demo/knobs", {
      method: "POST",
      body: "{",
    });
    expect(malformed.status).toBe(400);
    const huge = await postJson("/adaptive-controller/demo/knobs", { pad: "x".repeat(2_000) });
    expect(huge.status).toBe(413);
    expect((await demoStatus()).knobs).toEqual(before);
  });
});
