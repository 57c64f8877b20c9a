import {
  createExecutionContext,
  runDurableObjectAlarm,
  waitOnExecutionContext,
} from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { DEMO_CACHE } from "./demo";
import { purgeOf, send, setNow, T0 } from "./helpers";
import worker, { flakyRate, testClock } from "./worker";

afterEach(() => {
  testClock.now = null;
  flakyRate.value = 0;
});

const coordinator = () => env.CACHE_COORDINATOR.getByName(DEMO_CACHE);

async function item(key: string, tags = "") {
  const response = await exports.default.fetch(
    new Request(`http://localhost/demo/cache-coordinator/items/${key}?tags=${tags}`),
  );
  return {
    xCache: response.headers.get("X-Cache"),
    body: await response.json<{ key: string; generatedAt: string }>(),
  };
}

async function where(key: string) {
  const response = await exports.default.fetch(
    new Request(`http://localhost/demo/cache-coordinator/where/${key}`),
  );
  return response.json();
}

describe("the demo: four real stores", () => {
  it("caches on a miss, serves hits, and a tag purge empties every store (the flaky one after retries)", async () => {
    setNow(T0); // in the future: alarms run only when the test runs them
    const key = `item-${crypto.randomUUID().slice(0, 8)}`;
    const tag = `tag-${key}`;
    const first = await item(key, `${tag},all`);
    expect(first.xCache).toBe("MISS");
    const second = await item(key, tag);
    expect(second).toMatchObject({ xCache: "HIT", body: { generatedAt: first.body.generatedAt } });
    expect(await where(key)).toEqual({
      "cache-api": "fresh",
      flaky: "fresh",
      "kv-edge": "present",
      "kv-primary": "present",
    });
    expect((await coordinator().lookup(key)) as object).toMatchObject({
      stores: ["cache-api", "flaky", "kv-edge", "kv-primary"],
      tags: ["all", tag].toSorted(),
    });

    flakyRate.value = 1;
    const purge = await send("POST", `/${DEMO_CACHE}/invalidate-tag`, { tag });
    expect(purge).toMatchObject({ status: 202, body: { keys: 1, calls: 4 } });
    const purgeId = String(purge.body.purgeId);
    await runDurableObjectAlarm(coordinator());
    let status = purgeOf(await coordinator().status(purgeId));
    expect(status.status).toBe("pending");
    expect(status.stores.flaky).toMatchObject({
      status: "pending",
      attempts: 1,
      lastError: expect.stringContaining("flaky store"),
    });
    expect(await where(key)).toEqual({
      "cache-api": "missing",
      flaky: "fresh",
      "kv-edge": "missing",
      "kv-primary": "missing",
    });

    flakyRate.value = 0;
    testClock.now = (status.stores.flaky?.nextAttemptAt ?? 0) + 1;
    await runDurableObjectAlarm(coordinator());
    status = purgeOf(await coordinator().status(purgeId));
    expect(status.status).toBe("done");
    expect(status.stores.flaky).toMatchObject({ status: "done", attempts: 2 });
    expect(await where(key)).toEqual({
      "cache-api": "missing",
      flaky: "missing",
      "kv-edge": "missing",
      "kv-primary": "missing",
    });
    expect((await item(key, tag)).xCache).toBe("MISS");
  });

  it("a soft purge leaves the Cache API entries stale (served, then refreshed) and deletes the KV ones", async () => {
    setNow(T0);
    const key = `soft-${crypto.randomUUID().slice(0, 8)}`;
    const first = await item(key);
    const purge = await send("POST", `/${DEMO_CACHE}/invalidate`, { key, mode: "soft" });
    expect(purge.status).toBe(202);
    await runDurableObjectAlarm(coordinator());
    expect(await where(key)).toEqual({
      "cache-api": "stale",
      flaky: "stale",
      "kv-edge": "missing",
      "kv-primary": "missing",
    });
    // Served stale at once, revalidated in waitUntil: the next read is a fresh hit.
    const ctx = createExecutionContext();
    const stale = await worker.fetch(
      new Request(`http://localhost/demo/cache-coordinator/items/${key}`),
      env,
      ctx,
    );
    expect(stale.headers.get("X-Cache")).toBe("STALE");
    expect(await stale.json()).toMatchObject({ generatedAt: first.body.generatedAt });
    await waitOnExecutionContext(ctx);
    const fresh = await item(key);
    expect(fresh.xCache).toBe("HIT");
    expect(await where(key)).toMatchObject({ "cache-api": "fresh", "kv-primary": "present" });
  });

  it("refuses a bad key or tags", async () => {
    const bad = await exports.default.fetch(
      new Request("http://localhost/demo/cache-coordinator/items/a%20b"),
    );
    expect(bad.status).toBe(400);
    const tags = await exports.default.fetch(
      new Request("http://localhost/demo/cache-coordinator/items/ok?tags=a%20b"),
    );
    expect(tags.status).toBe(400);
  });
});
