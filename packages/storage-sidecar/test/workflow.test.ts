import { introspectWorkflowInstance } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { fetchPage, type SidecarDemoOutput } from "./workflow";

/** What the workflow's summary must be for `pages` pages of `size` records, computed here. */
function expectedSummary(pages: number, size: number) {
  let cents = 0;
  let largest = { id: "", amount: -1 };
  for (let page = 1; page <= pages; page++) {
    for (const record of fetchPage(page, size)) {
      cents += Math.round(record.amount * 100);
      if (record.amount > largest.amount) largest = { id: record.id, amount: record.amount };
    }
  }
  return { records: pages * size, total: cents / 100, largest };
}

describe("the demo Workflow, end to end with a real sidecar", () => {
  it("fetches in steps, keeps the bulk in the sidecar, processes it and clears it", async () => {
    const id = crypto.randomUUID();
    await using instance = await introspectWorkflowInstance(env.SIDECAR_WORKFLOW, id);
    await env.SIDECAR_WORKFLOW.create({ id, params: { pages: 4, itemsPerPage: 300 } });

    // Each fetch step's own result is a few bytes; the records are in the sidecar.
    const third = await instance.waitForStepResult({ name: "fetch page 3" });
    expect(third).toEqual({ page: 3, count: 300, length: 900 });
    expect(JSON.stringify(third).length).toBeLessThan(100);

    await instance.waitForStatus("complete");
    const output = (await instance.getOutput()) as SidecarDemoOutput;
    const expected = expectedSummary(4, 300);
    expect(output.summary).toMatchObject({ ...expected, pagesRead: 3 });
    expect(output.cleared).toMatchObject({ keys: 1, items: 1_200 });
    // More bulk than the Workflow itself kept.
    expect(output.cleared.bytes).toBeGreaterThan(100_000);

    // Cleared at the end: nothing left.
    expect(await env.SIDECARS.getByName(id).stats()).toMatchObject({
      keys: 0,
      items: 0,
      bytes: 0,
      expiresAt: null,
    });
  });

  it("a step that crashes after its append is retried without appending twice", async () => {
    const id = crypto.randomUUID();
    await using instance = await introspectWorkflowInstance(env.SIDECAR_WORKFLOW, id);
    // Only the wait between attempts is skipped; the step, the sidecar and the object are real.
    await instance.modify(async (m) => {
      await m.disableRetryDelays();
    });
    await env.SIDECAR_WORKFLOW.create({
      id,
      params: { pages: 3, itemsPerPage: 50, crashOnPage: 2 },
    });
    expect(await instance.waitForStepResult({ name: "fetch page 2" })).toEqual({
      page: 2,
      count: 50,
      length: 100,
    });
    await instance.waitForStatus("complete");
    const output = (await instance.getOutput()) as SidecarDemoOutput;
    expect(output.summary).toMatchObject(expectedSummary(3, 50));
    expect(output.cleared.items).toBe(150);
  });

  it("the demo routes start a run and show its status and its sidecar", async () => {
    const start = await exports.default.fetch(
      new Request("http://example.com/demo/storage-sidecar/start", {
        method: "POST",
        body: JSON.stringify({ pages: 2, itemsPerPage: 10 }),
      }),
    );
    expect(start.status).toBe(201);
    const { id, status } = await start.json<{ id: string; status: string }>();
    await using instance = await introspectWorkflowInstance(env.SIDECAR_WORKFLOW, id);
    await instance.waitForStatus("complete");

    const shown = await exports.default.fetch(new Request(`http://example.com${status}`));
    expect(shown.status).toBe(200);
    expect(await shown.json()).toMatchObject({
      id,
      status: "complete",
      output: { summary: { records: 20 }, cleared: { items: 20 } },
      error: null,
      sidecar: { items: 0, expiresAt: null },
    });

    const unknown = await exports.default.fetch(
      new Request(`http://example.com/demo/storage-sidecar/status/${crypto.randomUUID()}`),
    );
    expect(unknown.status).toBe(404);
    const bad = await exports.default.fetch(
      new Request("http://example.com/demo/storage-sidecar/start", {
        method: "POST",
        body: JSON.stringify({ pages: 0 }),
      }),
    );
    expect(bad.status).toBe(400);
  });
});
