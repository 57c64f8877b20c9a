import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { send, setNow, T0 } from "./helpers";
import { testClock } from "./worker";

afterEach(() => {
  testClock.now = null;
});

const fresh = () => `http-${crypto.randomUUID()}`;

describe("HTTP routes", () => {
  it("registers, invalidates by tag with 202, reports status, lookup and overview", async () => {
    setNow(T0);
    const cache = fresh();
    expect(
      await send("POST", `/${cache}/register`, { key: "p1", store: "a", tags: ["product"] }),
    ).toMatchObject({ status: 200, body: { ok: true } });
    await send("POST", `/${cache}/register`, { key: "p1", store: "b" });
    expect((await send("GET", `/${cache}/lookup?key=p1`)).body).toEqual({
      ok: true,
      key: "p1",
      stores: ["a", "b"],
      tags: ["product"],
    });

    const queuedPurge = await send("POST", `/${cache}/invalidate-tag`, { tag: "product" });
    expect(queuedPurge).toMatchObject({ status: 202, body: { ok: true, keys: 1, calls: 2 } });
    const id = String(queuedPurge.body.purgeId);
    expect((await send("GET", `/${cache}/status/${id}`)).body).toMatchObject({
      id,
      status: "pending",
      stores: { a: { status: "pending" }, b: { status: "pending" } },
    });
    expect((await send("GET", `/${cache}/overview`)).body).toMatchObject({
      keys: 0,
      pendingPurges: 1,
      pendingCalls: 2,
      nextAttemptAt: T0,
    });
    await runDurableObjectAlarm(env.CACHE_COORDINATOR.getByName(cache));
    expect((await send("GET", `/${cache}/status/${id}`)).body).toMatchObject({
      status: "done",
      finishedAt: T0,
    });
  });

  it("invalidates one key, softly when asked", async () => {
    setNow(T0);
    const cache = fresh();
    await send("POST", `/${cache}/register`, { key: "k", store: "a" });
    const soft = await send("POST", `/${cache}/invalidate`, { key: "k", mode: "soft" });
    expect(soft).toMatchObject({ status: 202, body: { keys: 1, calls: 1 } });
    const status = await send("GET", `/${cache}/status/${String(soft.body.purgeId)}`);
    expect(status.body).toMatchObject({ kind: "key", target: "k", mode: "soft" });
    expect((await send("POST", `/${cache}/invalidate`, { key: "missing" })).body).toEqual({
      ok: true,
      purgeId: null,
      keys: 0,
      calls: 0,
    });
  });

  it("answers 404 for a purge id it does not know", async () => {
    const unknown = await send("GET", `/${fresh()}/status/${crypto.randomUUID()}`);
    expect(unknown).toMatchObject({ status: 404, body: { error: { code: "not_found" } } });
  });

  it("guards the POST routes with the admin token, not the reads", async () => {
    const cache = fresh();
    for (const [path, body] of [
      ["register", { key: "k", store: "a" }],
      ["invalidate", { key: "k" }],
      ["invalidate-tag", { tag: "t" }],
    ] as const) {
      const missing = await send("POST", `/${cache}/${path}`, body, {});
      expect(missing).toMatchObject({ status: 401, body: { error: { code: "unauthorized" } } });
      expect(missing.headers.get("WWW-Authenticate")).toBe('Bearer realm="admin"');
      const wrong = await send("POST", `/${cache}/${path}`, body, { Authorization: "Bearer no" });
      expect(wrong.status).toBe(401);
    }
    expect((await send("GET", `/${cache}/lookup?key=k`, undefined, {})).body).toMatchObject({
      stores: [],
    });
    expect((await send("GET", `/${cache}/overview`, undefined, {})).status).toBe(200);
  });
});
