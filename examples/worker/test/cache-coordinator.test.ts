import { runDurableObjectAlarm } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

const ADMIN = { Authorization: "Bearer test-admin-token", "Content-Type": "application/json" };

async function get(path: string) {
  return exports.default.fetch(new Request(`http://localhost${path}`));
}

async function post(path: string, body: unknown) {
  const response = await exports.default.fetch(
    new Request(`http://localhost${path}`, {
      method: "POST",
      headers: ADMIN,
      body: JSON.stringify(body),
    }),
  );
  return { status: response.status, body: await response.json<Record<string, unknown>>() };
}

/** Runs the demo coordinator's alarms until its outbox is empty (the flaky store retries). */
async function drain(): Promise<void> {
  const coordinator = env.CACHE_COORDINATOR.getByName("demo");
  for (let i = 0; i < 50; i++) {
    if ((await coordinator.overview()).pendingCalls === 0) return;
    await runDurableObjectAlarm(coordinator);
  }
  throw new Error("the demo outbox did not drain");
}

describe("/cache-coordinator/ and its demo", () => {
  it("lists the routes and demos in the index", async () => {
    const index = await (
      await get("/")
    ).json<{
      patterns: { name: string; routes: string[]; demos: { route: string }[] }[];
    }>();
    const entry = index.patterns.find((p) => p.name === "cache-coordinator");
    expect(entry?.routes).toEqual(
      expect.arrayContaining([
        "POST /cache-coordinator/:cache/invalidate-tag",
        "GET /cache-coordinator/:cache/status/:id",
      ]),
    );
    expect(entry?.demos.map((d) => d.route)).toContain(
      "GET /demo/cache-coordinator/items/shoe-7?tags=product-7,catalog",
    );
  });

  it("runs the README's curl demo: cache, look up, invalidate by tag, follow the status", async () => {
    const key = `shoe-${crypto.randomUUID().slice(0, 8)}`;
    const item = `/demo/cache-coordinator/items/${key}?tags=product-7,catalog`;
    expect((await get(item)).headers.get("X-Cache")).toBe("MISS");
    expect((await get(item)).headers.get("X-Cache")).toBe("HIT");
    expect(await (await get(`/demo/cache-coordinator/where/${key}`)).json()).toEqual({
      "cache-api": "fresh",
      flaky: "fresh",
      "kv-edge": "present",
      "kv-primary": "present",
    });
    expect(await (await get(`/cache-coordinator/demo/lookup?key=${key}`)).json()).toMatchObject({
      stores: ["cache-api", "flaky", "kv-edge", "kv-primary"],
    });

    const purge = await post("/cache-coordinator/demo/invalidate-tag", { tag: "product-7" });
    expect(purge.status).toBe(202);
    expect(purge.body).toMatchObject({ ok: true });
    await drain();
    const status = await (
      await get(`/cache-coordinator/demo/status/${String(purge.body.purgeId)}`)
    ).json<{ status: string; stores: Record<string, { status: string }> }>();
    expect(status.status).toBe("done");
    expect(Object.keys(status.stores)).toEqual(["cache-api", "flaky", "kv-edge", "kv-primary"]);
    expect(await (await get(`/demo/cache-coordinator/where/${key}`)).json()).toEqual({
      "cache-api": "missing",
      flaky: "missing",
      "kv-edge": "missing",
      "kv-primary": "missing",
    });

    // Soft: served stale from the Cache API while it refreshes.
    await get(item);
    const soft = await post("/cache-coordinator/demo/invalidate", { key, mode: "soft" });
    expect(soft.status).toBe(202);
    await drain();
    expect((await get(`/demo/cache-coordinator/items/${key}`)).headers.get("X-Cache")).toBe(
      "STALE",
    );

    const bad = await post("/cache-coordinator/demo/register", { key, store: "nowhere" });
    expect(bad).toMatchObject({ status: 400, body: { error: { code: "invalid_request" } } });
  });
});
