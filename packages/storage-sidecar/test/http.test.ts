import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

const ADMIN = { Authorization: "Bearer test-admin-token" };

function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  return exports.default.fetch(
    new Request(`http://example.com${path}`, {
      method: "POST",
      headers: { "Content-Type": "application/json", ...headers },
      body: JSON.stringify(body),
    }),
  );
}

async function json(response: Response, status = 200) {
  expect(response.status).toBe(status);
  return response.json<Record<string, unknown>>();
}

describe("the HTTP routes", () => {
  it("set, get, append, items, list, stats, delete, delete-list, configure and clear", async () => {
    const sidecar = `http-${crypto.randomUUID()}`;
    expect(
      await json(await post("/set", { sidecar, key: "status", value: { phase: 1 } }, ADMIN)),
    ).toEqual({ ok: true, created: true, bytes: 11 });
    expect(await json(await post("/get", { sidecar, key: "status" }))).toEqual({
      ok: true,
      found: true,
      value: { phase: 1 },
    });
    expect(await json(await post("/append", { sidecar, list: "raw", value: "a" }, ADMIN))).toEqual({
      ok: true,
      seq: 1,
      length: 1,
      duplicate: false,
    });
    expect(
      await json(
        await post(
          "/append",
          { sidecar, list: "raw", values: ["b", "c"], idempotencyKey: "k" },
          ADMIN,
        ),
      ),
    ).toEqual({ ok: true, firstSeq: 2, count: 2, length: 3, duplicate: false });
    expect(await json(await post("/items", { sidecar, list: "raw", limit: 2 }))).toEqual({
      ok: true,
      items: [
        { seq: 1, value: "a" },
        { seq: 2, value: "b" },
      ],
      cursor: 2,
      length: 3,
    });
    expect(await json(await post("/items", { sidecar, list: "raw", cursor: 2 }))).toMatchObject({
      items: [{ seq: 3, value: "c" }],
      cursor: null,
    });
    expect(await json(await post("/list", { sidecar, prefix: "st" }))).toEqual({
      ok: true,
      entries: [{ key: "status", value: { phase: 1 } }],
      cursor: null,
    });
    expect(await json(await post("/stats", { sidecar }))).toMatchObject({
      keys: 1,
      lists: 1,
      items: 3,
      ttlSeconds: 604_800,
    });
    expect(await json(await post("/configure", { sidecar, ttlSeconds: 120 }, ADMIN))).toMatchObject(
      { ok: true, ttlSeconds: 120 },
    );
    expect(await json(await post("/delete", { sidecar, key: "status" }, ADMIN))).toEqual({
      ok: true,
      deleted: true,
    });
    expect(await json(await post("/delete-list", { sidecar, list: "raw" }, ADMIN))).toEqual({
      ok: true,
      deleted: 3,
    });
    await post("/set", { sidecar, key: "x", value: 1 }, ADMIN);
    expect(await json(await post("/clear", { sidecar }, ADMIN))).toEqual({
      ok: true,
      keys: 1,
      items: 0,
      bytes: 1,
    });
    expect(await json(await post("/stats", { sidecar }))).toMatchObject({
      keys: 0,
      expiresAt: null,
    });
  });

  it("a value at the 1 MiB cap goes through HTTP; a larger one is a 413", async () => {
    const sidecar = `http-${crypto.randomUUID()}`;
    const atCap = "v".repeat(1_048_576 - 2);
    const stored = await post("/set", { sidecar, key: "big", value: atCap }, ADMIN);
    expect(stored.status).toBe(200);
    const over = await post("/set", { sidecar, key: "big2", value: `${atCap}v` }, ADMIN);
    expect(over.status).toBe(413);
    expect(await over.json()).toMatchObject({ error: { code: "payload_too_large" } });
    const page = await post("/get", { sidecar, key: "big" });
    expect((await page.json<{ value: string }>()).value).toHaveLength(atCap.length);
  });
});
