import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

async function send(method: "GET" | "POST", path: string, body?: unknown, headers = {}) {
  const response = await exports.default.fetch(
    new Request(`http://localhost${path}`, {
      method,
      headers: { "Content-Type": "application/json", ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    }),
  );
  return { status: response.status, body: await response.json<Record<string, unknown>>() };
}

type Line = { id: string; allocated: number; committed: number; reserved: number; errors: number };
const line = (status: Record<string, unknown>, id: string) =>
  (status.processors as Line[]).find((p) => p.id === id);

describe("/budget-governor/ and its live demo", () => {
  it("is listed with its routes, demos and live page", async () => {
    const index = await send("GET", "/");
    const entry = (
      index.body.patterns as {
        name: string;
        routes: string[];
        live?: string;
        demos: { route: string }[];
      }[]
    ).find((p) => p.name === "budget-governor");
    expect(entry?.live).toBe("/budget-governor/live");
    expect(entry?.routes).toEqual(
      expect.arrayContaining(["POST /budget-governor/:governor/reservations"]),
    );
    expect(entry?.demos.map((d) => d.route)).toContain("POST /budget-governor/live/run");
  });

  it("the README's curl demo: status, reserve, commit over the estimate, run, failures, a new cycle, bad input", async () => {
    // No waiting on the simulated model in tests.
    expect(
      (await send("POST", "/budget-governor/live/knobs", { latencyMs: 0, failureRate: 0 })).status,
    ).toBe(200);
    expect((await send("GET", "/budget-governor/live/knobs")).body).toEqual({
      failureRate: 0,
      latencyMs: 0,
    });
    // The live page sets the demo governor up on first visit.
    const page = await exports.default.fetch(
      new Request("http://localhost/budget-governor/live", { headers: { Accept: "text/html" } }),
    );
    expect(page.status).toBe(200);
    const html = await page.text();
    for (const id of [
      'id="run"',
      'id="failure-rate"',
      'id="latency"',
      'id="open-count"',
      'data-processor="enrich"',
    ]) {
      expect(html).toContain(id);
    }

    const status = await send("GET", "/budget-governor/demo/status");
    expect(status.status).toBe(200);
    expect(line(status.body, "enrich")).toMatchObject({ allocated: 35_000 });

    const key = `job-${crypto.randomUUID()}`;
    const hold = await send("POST", "/budget-governor/demo/reservations", {
      processorId: "enrich",
      estimatedCost: 2_000,
      idempotencyKey: key,
    });
    expect(hold.status).toBe(201);
    const id = (hold.body.reservation as { id: string }).id;
    const commit = await send("POST", `/budget-governor/demo/reservations/${id}/commit`, {
      actualCost: 2_500,
      items: 1,
    });
    expect(commit.status).toBe(200);
    expect(commit.body).toMatchObject({
      reservation: { status: "committed", charged: 2_500, overrun: 0 },
    });

    const run = await send("POST", "/budget-governor/live/run");
    expect(run.status).toBe(200);
    expect((run.body.phases as { phase: number }[]).map((p) => p.phase)).toEqual([1, 2, 3]);
    const after = await send("GET", "/budget-governor/demo/status");
    expect(line(after.body, "crawl")?.committed).toBeGreaterThan(0);
    expect(line(after.body, "enrich")?.reserved).toBe(0);

    await send("POST", "/budget-governor/live/knobs", { failureRate: 1 });
    const failing = await send("POST", "/budget-governor/live/run");
    const results = (failing.body.phases as { results: { outcome: string }[] }[]).flatMap(
      (p) => p.results,
    );
    expect(results.some((r) => r.outcome === "failed")).toBe(true);
    const failed = await send("GET", "/budget-governor/demo/status");
    expect((failed.body.processors as Line[]).reduce((s, p) => s + p.errors, 0)).toBeGreaterThan(0);
    await send("POST", "/budget-governor/live/knobs", { failureRate: 0 });

    const cycle = await send(
      "POST",
      "/budget-governor/demo/cycles",
      { totalBudget: 100_000 },
      { Authorization: "Bearer test-admin-token" },
    );
    expect(cycle.status).toBe(201);
    expect(cycle.body).toMatchObject({ ok: true, cycle: { totalBudget: 100_000 } });

    const bad = await send("POST", "/budget-governor/demo/reservations", {
      processorId: "enrich",
      estimatedCost: -1,
    });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ error: { code: "invalid_request" } });
    expect((await send("POST", "/budget-governor/live/knobs", { failureRate: 2 })).status).toBe(
      400,
    );
    expect(
      (await send("POST", "/budget-governor/live/reserve", { processorId: "ghost" })).status,
    ).toBe(400);
    const reserve = await send("POST", "/budget-governor/live/reserve", { processorId: "crawl" });
    expect(reserve.status).toBe(201);
  });
});
