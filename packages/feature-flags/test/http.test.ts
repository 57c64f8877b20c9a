import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { checkoutFlag, staticFlag } from "./helpers";

const ADMIN = { Authorization: "Bearer test-admin-token" };

function call(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Response> {
  return exports.default.fetch(
    new Request(`http://example.com${path}`, {
      method,
      headers: { "Content-Type": "application/json", ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    }),
  );
}

const freshSetPath = () => `/set-${crypto.randomUUID()}`;

describe("admin routes", () => {
  it("create, read, update with If-Match, toggle, delete: each answered with the flag's ETag", async () => {
    const set = freshSetPath();
    const created = await call("POST", `${set}/flags`, checkoutFlag(), ADMIN);
    expect(created.status).toBe(201);
    expect(created.headers.get("ETag")).toBe('"1"');
    expect(await created.json()).toMatchObject({
      version: 1,
      flag: { key: "new-checkout", version: 1 },
    });

    const read = await call("GET", `${set}/flags/new-checkout`, undefined, ADMIN);
    expect(read.status).toBe(200);
    expect(read.headers.get("ETag")).toBe('"1"');
    expect(await read.json()).toMatchObject({ ...checkoutFlag(), version: 1 });

    const { key: _key, ...withoutKey } = checkoutFlag({ description: "30% rollout" });
    const updated = await call("PUT", `${set}/flags/new-checkout`, withoutKey, {
      ...ADMIN,
      "If-Match": '"1"',
      "X-Actor": "alice@example.com",
    });
    expect(updated.status).toBe(200);
    expect(updated.headers.get("ETag")).toBe('"2"');

    const stale = await call(
      "PUT",
      `${set}/flags/new-checkout/enabled`,
      { enabled: false },
      {
        ...ADMIN,
        "If-Match": '"1"',
      },
    );
    expect(stale.status).toBe(412);
    expect(await stale.json()).toMatchObject({ error: { code: "version_conflict" } });

    const off = await call(
      "PUT",
      `${set}/flags/new-checkout/enabled`,
      { enabled: false },
      {
        ...ADMIN,
        "If-Match": '"2"',
      },
    );
    expect(off.status).toBe(200);
    expect(await off.json()).toMatchObject({ version: 3, flag: { enabled: false } });

    const deleted = await call("DELETE", `${set}/flags/new-checkout`, undefined, ADMIN);
    expect(deleted.status).toBe(200);
    expect(await deleted.json()).toEqual({ deleted: "new-checkout", version: 4 });
    expect((await call("GET", `${set}/flags/new-checkout`, undefined, ADMIN)).status).toBe(404);

    const audit = await call("GET", `${set}/audit?limit=4`, undefined, ADMIN);
    const entries = (await audit.json<{ entries: { action: string; actor: string }[] }>()).entries;
    expect(entries.map(({ action, actor }) => `${action} by ${actor}`)).toEqual([
      "delete by admin",
      "update by admin",
      "update by alice@example.com",
      "create by admin",
    ]);
  });

  it("lists the set, and answers conflicts and missing flags with their own codes", async () => {
    const set = freshSetPath();
    await call("POST", `${set}/flags`, staticFlag("theme"), ADMIN);
    const again = await call("POST", `${set}/flags`, staticFlag("theme"), ADMIN);
    expect(again.status).toBe(409);
    expect(await again.json()).toMatchObject({ error: { code: "flag_exists" } });
    const missing = await call("PUT", `${set}/flags/nope`, staticFlag("nope"), ADMIN);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: { code: "flag_not_found" } });

    const list = await call("GET", `${set}/flags`, undefined, ADMIN);
    expect(await list.json()).toMatchObject({
      version: 1,
      flags: [{ key: "theme" }],
      unreadable: [],
    });
  });

  it("reads need the admin token too: flags and audit entries carry targeting lists", async () => {
    const set = freshSetPath();
    for (const path of [`${set}/flags`, `${set}/flags/theme`, `${set}/audit`]) {
      expect((await call("GET", path)).status).toBe(401);
    }
  });
});

describe("evaluation routes", () => {
  it("evaluate answers one flag's details, errors included, with 200", async () => {
    const set = freshSetPath();
    await call("POST", `${set}/flags`, checkoutFlag(), ADMIN);
    const hit = await call("POST", `${set}/evaluate`, {
      flag: "new-checkout",
      context: { targetingKey: "user-7", plan: "beta" },
      default: false,
    });
    expect(hit.status).toBe(200);
    expect(await hit.json()).toEqual({
      flagKey: "new-checkout",
      value: true,
      variant: "on",
      reason: "TARGETING_MATCH",
      version: 1,
    });
    const miss = await call("POST", `${set}/evaluate`, { flag: "missing", default: "x" });
    expect(miss.status).toBe(200);
    expect(await miss.json()).toMatchObject({
      value: "x",
      reason: "ERROR",
      errorCode: "FLAG_NOT_FOUND",
    });
  });

  it("evaluate-all answers every flag for one context", async () => {
    const set = freshSetPath();
    await call("POST", `${set}/flags`, checkoutFlag(), ADMIN);
    await call("POST", `${set}/flags`, staticFlag("theme"), ADMIN);
    const all = await call("POST", `${set}/evaluate-all`, { context: { plan: "beta" } });
    expect(await all.json()).toEqual({
      version: 2,
      flags: {
        "new-checkout": { value: true, variant: "on", reason: "TARGETING_MATCH" },
        theme: { value: "blue", variant: "blue", reason: "STATIC" },
      },
    });
    expect(await (await call("POST", `${set}/evaluate-all`, {})).json()).toMatchObject({
      version: 2,
    });
  });

  it("flag sets are independent objects", async () => {
    const a = freshSetPath();
    const b = freshSetPath();
    await call("POST", `${a}/flags`, staticFlag("theme"), ADMIN);
    const inB = await call("POST", `${b}/evaluate`, { flag: "theme", default: "red" });
    expect(await inB.json()).toMatchObject({
      value: "red",
      errorCode: "FLAG_NOT_FOUND",
      version: 0,
    });
  });
});

describe("the provider set up at Worker startup, as in the README", () => {
  it("makes no call at startup, then evaluates in a request", async () => {
    const before = await call("GET", "/checkout?user=user-42");
    expect(before.status).toBe(200);
    expect(before.headers.get("X-Flag-Reason")).toBe("ERROR");
    expect(await before.json()).toEqual({ checkout: "classic", reason: "ERROR" });

    await call("POST", "/startup/flags", checkoutFlag({ fallthrough: { variant: "on" } }), ADMIN);
    const after = await call("GET", "/checkout?user=user-42");
    expect(await after.json()).toEqual({ checkout: "new", reason: "DEFAULT" });
  });
});
