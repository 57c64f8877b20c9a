import { exports } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { resetTestState } from "./helpers";

afterEach(resetTestState);

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
const get = (path: string) => exports.default.fetch(new Request(`http://example.com${path}`));

describe("HTTP routes", () => {
  it("increment, get, get-many and list", async () => {
    const name = crypto.randomUUID();
    const first = await post(`/${name}/increment`, { key: "views:/" });
    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({ ok: true, key: "views:/", value: 1, duplicate: false });
    await post(`/${name}/increment`, { key: "views:/pricing", amount: 5 });
    const retried = await post(`/${name}/increment`, {
      key: "views:/",
      amount: 2,
      idempotencyKey: "r1",
    });
    expect(await retried.json()).toMatchObject({ value: 3, duplicate: false });
    const again = await post(`/${name}/increment`, {
      key: "views:/",
      amount: 2,
      idempotencyKey: "r1",
    });
    expect(await again.json()).toMatchObject({ value: 3, duplicate: true });
    await post(`/${name}/increment`, { key: "signups", amount: 1 });

    expect(await (await get(`/${name}/get?key=${encodeURIComponent("views:/")}`)).json()).toEqual({
      ok: true,
      key: "views:/",
      value: 3,
    });
    const many = await post(`/${name}/get-many`, { keys: ["views:/pricing", "nope"] });
    expect(await many.json()).toEqual({
      ok: true,
      counters: [
        { key: "views:/pricing", value: 5 },
        { key: "nope", value: 0 },
      ],
    });
    const page1 = await (await get(`/${name}/list?prefix=views:&limit=1`)).json();
    expect(page1).toEqual({
      ok: true,
      counters: [{ key: "views:/", value: 3 }],
      cursor: "views:/",
    });
    const page2 = await (await get(`/${name}/list?prefix=views:&limit=1&cursor=views:/`)).json();
    expect(page2).toEqual({
      ok: true,
      counters: [{ key: "views:/pricing", value: 5 }],
      cursor: null,
    });
    const all = await (await get(`/${name}/list`)).json();
    expect(all).toMatchObject({
      counters: [{ key: "signups" }, { key: "views:/" }, { key: "views:/pricing" }],
    });
  });

  it("names are separate objects", async () => {
    const a = crypto.randomUUID();
    const b = crypto.randomUUID();
    await post(`/${a}/increment`, { key: "k", amount: 4 });
    expect(await (await get(`/${b}/get?key=k`)).json()).toMatchObject({ value: 0 });
  });

  it("reset needs the admin token, then sets the counter to 0", async () => {
    const name = crypto.randomUUID();
    await post(`/${name}/increment`, { key: "k", amount: 4 });
    const refused = await post(`/${name}/reset`, { key: "k" });
    expect(refused.status).toBe(401);
    expect(await (await get(`/${name}/get?key=k`)).json()).toMatchObject({ value: 4 });
    const reset = await post(`/${name}/reset`, { key: "k" }, ADMIN);
    expect(reset.status).toBe(200);
    expect(await reset.json()).toEqual({ ok: true, key: "k", previous: 4 });
    expect(await (await get(`/${name}/get?key=k`)).json()).toMatchObject({ value: 0 });
    expect(await (await get(`/${name}/list`)).json()).toEqual({
      ok: true,
      counters: [],
      cursor: null,
    });
  });
});
