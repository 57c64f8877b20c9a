import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

const ADMIN = { Authorization: "Bearer test-admin-token" };

function send(method: "GET" | "POST", path: string, body?: unknown, headers = {}) {
  return exports.default.fetch(
    new Request(`http://localhost/aggregator-counter${path}`, {
      method,
      headers: { "Content-Type": "application/json", ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    }),
  );
}

describe("/aggregator-counter/ and the README's curl demo", () => {
  it("is listed in the index with its routes and demos", async () => {
    const index = await (
      await exports.default.fetch(new Request("http://localhost/"))
    ).json<{ patterns: { name: string; routes: string[]; demos: { route: string }[] }[] }>();
    const counter = index.patterns.find((p) => p.name === "aggregator-counter");
    expect(counter?.routes).toEqual(
      expect.arrayContaining([
        "POST /aggregator-counter/:name/increment",
        "GET /aggregator-counter/:name/get",
        "GET /aggregator-counter/:name/list",
      ]),
    );
    expect(counter?.demos.map((d) => d.route)).toContain("POST /aggregator-counter/site/increment");
  });

  it("counts, dedupes a retry, reads, lists, takes 200 at once exactly, resets, and refuses bad input", async () => {
    const site = `/site-${crypto.randomUUID().slice(0, 8)}`;
    const first = await send("POST", `${site}/increment`, { key: "views:/pricing" });
    expect(await first.json()).toEqual({
      ok: true,
      key: "views:/pricing",
      value: 1,
      duplicate: false,
    });
    const keyed = { key: "views:/pricing", amount: 5, idempotencyKey: "req-42" };
    expect(await (await send("POST", `${site}/increment`, keyed)).json()).toMatchObject({
      value: 6,
      duplicate: false,
    });
    expect(await (await send("POST", `${site}/increment`, keyed)).json()).toMatchObject({
      value: 6,
      duplicate: true,
    });
    expect(await (await send("GET", `${site}/get?key=views:/pricing`)).json()).toEqual({
      ok: true,
      key: "views:/pricing",
      value: 6,
    });
    const many = await send("POST", `${site}/get-many`, { keys: ["views:/pricing", "views:/"] });
    expect(await many.json()).toEqual({
      ok: true,
      counters: [
        { key: "views:/pricing", value: 6 },
        { key: "views:/", value: 0 },
      ],
    });

    const burst = await Promise.all(
      Array.from({ length: 200 }, () => send("POST", `${site}/increment`, { key: "views:/" })),
    );
    expect(burst.every((r) => r.status === 200)).toBe(true);
    expect(await (await send("GET", `${site}/get?key=views:/`)).json()).toMatchObject({
      value: 200,
    });
    expect(await (await send("GET", `${site}/list?prefix=views:&limit=10`)).json()).toEqual({
      ok: true,
      counters: [
        { key: "views:/", value: 200 },
        { key: "views:/pricing", value: 6 },
      ],
      cursor: null,
    });

    const reset = await send("POST", `${site}/reset`, { key: "views:/pricing" }, ADMIN);
    expect(await reset.json()).toEqual({ ok: true, key: "views:/pricing", previous: 6 });
    expect((await send("POST", `${site}/reset`, { key: "views:/" })).status).toBe(401);

    const bad = await send("POST", `${site}/increment`, { key: "views:/", amount: 1.5 });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({
      error: { code: "invalid_request", message: "amount must be a whole number" },
    });
  });
});
