import { introspectWorkflowInstance } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

const ADMIN = { Authorization: "Bearer test-admin-token", "Content-Type": "application/json" };

function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  return exports.default.fetch(
    new Request(`http://localhost${path}`, {
      method: "POST",
      headers: { "Content-Type": "application/json", ...headers },
      body: JSON.stringify(body),
    }),
  );
}

describe("/storage-sidecar/ and the Workflow demo", () => {
  it("lists the sidecar routes and demos in the index", async () => {
    const index = await (
      await exports.default.fetch(new Request("http://localhost/"))
    ).json<{
      patterns: { name: string; routes: string[]; demos: { route: string }[] }[];
    }>();
    const sidecar = index.patterns.find((p) => p.name === "storage-sidecar");
    expect(sidecar?.routes).toEqual(
      expect.arrayContaining(["POST /storage-sidecar/append", "POST /storage-sidecar/items"]),
    );
    expect(sidecar?.demos.map((d) => d.route)).toContain("POST /demo/storage-sidecar/start");
  });

  it("the README's Workflow demo: a run with a crash after an append lands each page once", async () => {
    const start = await post("/demo/storage-sidecar/start", {
      pages: 5,
      itemsPerPage: 200,
      crashOnPage: 3,
    });
    expect(start.status).toBe(201);
    const { id, status } = await start.json<{ id: string; status: string }>();
    await using instance = await introspectWorkflowInstance(env.SIDECAR_WORKFLOW, id);
    // The retry waits 1 s in the demo; only that wait is skipped here.
    await instance.modify(async (m) => {
      await m.disableRetryDelays();
    });
    await instance.waitForStatus("complete");
    const shown = await exports.default.fetch(new Request(`http://localhost${status}`));
    expect(await shown.json()).toMatchObject({
      status: "complete",
      output: { summary: { records: 1_000 }, cleared: { items: 1_000 } },
      sidecar: { keys: 0, items: 0, expiresAt: null },
    });
  });

  it("the README's curl sequence for the routes", async () => {
    const sidecar = `job-${crypto.randomUUID().slice(0, 8)}`;
    const batch = { sidecar, list: "raw", values: [{ n: 1 }, { n: 2 }], idempotencyKey: "page-1" };
    expect(await (await post("/storage-sidecar/append", batch, ADMIN)).json()).toEqual({
      ok: true,
      firstSeq: 1,
      count: 2,
      length: 2,
      duplicate: false,
    });
    expect(await (await post("/storage-sidecar/append", batch, ADMIN)).json()).toMatchObject({
      length: 2,
      duplicate: true,
    });
    expect(
      await (await post("/storage-sidecar/items", { sidecar, list: "raw", limit: 1 })).json(),
    ).toEqual({ ok: true, items: [{ seq: 1, value: { n: 1 } }], cursor: 1, length: 2 });
    await post("/storage-sidecar/set", { sidecar, key: "status:phase", value: "fetching" }, ADMIN);
    expect(
      await (await post("/storage-sidecar/list", { sidecar, prefix: "status:" })).json(),
    ).toEqual({ ok: true, entries: [{ key: "status:phase", value: "fetching" }], cursor: null });
    expect(await (await post("/storage-sidecar/stats", { sidecar })).json()).toMatchObject({
      keys: 1,
      items: 2,
    });
    expect(await (await post("/storage-sidecar/clear", { sidecar }, ADMIN)).json()).toMatchObject({
      keys: 1,
      items: 2,
    });
    const bad = await post("/storage-sidecar/items", { sidecar, list: "raw", limit: 0 });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: { code: "invalid_request" } });
    // Writes without the admin token are refused.
    expect((await post("/storage-sidecar/set", { sidecar, key: "k", value: 1 })).status).toBe(401);
  });
});
