import { exports } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { freshCounters, ok, resetTestState, setLimits, stored, valueOf } from "./helpers";

afterEach(resetTestState);

const ADMIN = { Authorization: "Bearer test-admin-token" };

function send(
  path: string,
  body: string,
  init: { method?: string; headers?: Record<string, string> } = {},
) {
  return exports.default.fetch(
    new Request(`http://example.com${path}`, {
      method: init.method ?? "POST",
      headers: { "Content-Type": "application/json", ...init.headers },
      ...(init.method === "GET" ? {} : { body }),
    }),
  );
}

async function expectError(response: Response, status: number, code: string, message = /\w+ \w+/) {
  expect(response.status).toBe(status);
  const body = await response.json<{ error: { code: string; message: string } }>();
  expect(body.error.code).toBe(code);
  expect(body.error.message).toMatch(message);
}

describe("bad input over HTTP gets a 4xx that says what is wrong, and changes nothing", () => {
  const name = `bad-input-${crypto.randomUUID()}`;
  const path = `/${name}/increment`;

  const cases: [string, unknown, RegExp][] = [
    ["missing key", { amount: 1 }, /key must be a string/],
    ["empty key", { key: "" }, /key must not be empty/],
    ["overlong key", { key: "k".repeat(257) }, /key must be at most 256 characters/],
    ["key as a number", { key: 5 }, /key must be a string/],
    ["zero amount", { key: "k", amount: 0 }, /amount must not be 0/],
    ["fractional amount", { key: "k", amount: 1.5 }, /amount must be a whole number/],
    ["amount as a string", { key: "k", amount: "5" }, /amount must be a number/],
    ["null amount (how JSON carries NaN)", { key: "k", amount: null }, /amount must be a number/],
    ["amount beyond 2^53", { key: "k", amount: 2 ** 53 }, /amount must be between/],
    ["huge amount", { key: "k", amount: 1e300 }, /amount must be between/],
    [
      "idempotency key as a number",
      { key: "k", idempotencyKey: 7 },
      /idempotencyKey must be a string/,
    ],
    ["empty idempotency key", { key: "k", idempotencyKey: "" }, /idempotencyKey must be 1-128/],
    [
      "overlong idempotency key",
      { key: "k", idempotencyKey: "i".repeat(129) },
      /idempotencyKey must be 1-128/,
    ],
    ["unknown field", { key: "k", extra: 1 }, /extra/],
    ["an array body", ["k"], /body must be a JSON object/],
  ];

  it.each(cases)("%s → 400", async (_label, body, message) => {
    await expectError(await send(path, JSON.stringify(body)), 400, "invalid_request", message);
  });

  it("get-many and list with bad input → 400", async () => {
    await expectError(
      await send(`/${name}/get-many`, JSON.stringify({ keys: "k" })),
      400,
      "invalid_request",
      /keys must be an array/,
    );
    await expectError(
      await send(`/${name}/get-many`, JSON.stringify({ keys: [] })),
      400,
      "invalid_request",
      /1-100 keys/,
    );
    await expectError(
      await send(`/${name}/get-many`, JSON.stringify({ keys: Array(101).fill("k") })),
      400,
      "invalid_request",
      /1-100 keys/,
    );
    await expectError(
      await send(`/${name}/get-many`, JSON.stringify({ keys: ["a", 3] })),
      400,
      "invalid_request",
      /keys\[1\] must be a string/,
    );
    await expectError(
      await send(`/${name}/get`, "", { method: "GET" }),
      400,
      "invalid_request",
      /key must be a string/,
    );
    for (const limit of ["0", "1001", "-1", "abc", "1.5"]) {
      await expectError(
        await send(`/${name}/list?limit=${limit}`, "", { method: "GET" }),
        400,
        "invalid_request",
        /limit must be a whole number from 1 to 1000/,
      );
    }
    await expectError(
      await send(`/${name}/list?cursor=`, "", { method: "GET" }),
      400,
      "invalid_request",
      /cursor must not be empty/,
    );
  });

  it("an overlong object name → 400", async () => {
    await expectError(
      await send(`/${"n".repeat(129)}/increment`, JSON.stringify({ key: "k" })),
      400,
      "invalid_request",
      /name must be 1-128/,
    );
  });

  it("malformed JSON → 400 invalid_json", async () => {
    await expectError(await send(path, '{"key": "a", '), 400, "invalid_json", /valid JSON/);
    await expectError(await send(path, ""), 400, "invalid_json");
  });

  it("a huge body → 413 before it is read", async () => {
    const body = JSON.stringify({ key: "k", padding: "x".repeat(100_000) });
    await expectError(await send(path, body), 413, "payload_too_large", /at most 16384 bytes/);
  });

  it("unknown routes and wrong methods → 404", async () => {
    await expectError(await send("/nope", "{}"), 404, "not_found", /POST \/nope/);
    await expectError(await send(path, "", { method: "GET" }), 404, "not_found");
  });

  it("admin token missing, wrong, or of another scheme → 401; bad body with the token → 400", async () => {
    const body = JSON.stringify({ key: "k" });
    const reset = `/${name}/reset`;
    await expectError(await send(reset, body), 401, "unauthorized", /Authorization: Bearer/);
    await expectError(
      await send(reset, body, { headers: { Authorization: "Bearer wrong" } }),
      401,
      "unauthorized",
    );
    await expectError(
      await send(reset, body, { headers: { Authorization: "Basic dGVzdC1hZG1pbi10b2tlbg==" } }),
      401,
      "unauthorized",
    );
    await expectError(
      await send(reset, JSON.stringify({ key: "" }), { headers: ADMIN }),
      400,
      "invalid_request",
    );
  });

  it("none of the rejected requests touched the object", async () => {
    const counters = exports.default;
    const listed = await counters.fetch(new Request(`http://example.com/${name}/list`));
    expect(await listed.json()).toEqual({ ok: true, counters: [], cursor: null });
  });
});

describe("bad input and limits over RPC are answered, not thrown, and change nothing", () => {
  it("rejects invalid keys, amounts and idempotency keys with a reason", async () => {
    const counters = freshCounters();
    ok(await counters.increment("k", 2));
    const bad = [
      [5, 1, undefined, "invalid_key"],
      ["k", Number.NaN, undefined, "invalid_amount"],
      ["k", Number.POSITIVE_INFINITY, undefined, "invalid_amount"],
      ["k", 0.5, undefined, "invalid_amount"],
      ["k", 1, 42, "invalid_idempotency_key"],
    ] as const;
    for (const [key, amount, id, code] of bad) {
      // @ts-expect-error deliberately wrong input, as an untyped caller could send
      expect(await counters.increment(key, amount, id)).toMatchObject({
        ok: false,
        error: { code },
      });
    }
    // @ts-expect-error deliberately wrong input
    expect(await counters.get(null)).toMatchObject({ ok: false, error: { code: "invalid_key" } });
    // @ts-expect-error deliberately wrong input
    expect(await counters.list({ limit: 5, sort: "desc" })).toMatchObject({ ok: false });
    expect(await valueOf(counters, "k")).toBe(2);
  });

  it("refuses a sum past 2^53 - 1 either way, exactly at the edge", async () => {
    const counters = freshCounters();
    const max = Number.MAX_SAFE_INTEGER;
    ok(await counters.increment("up", max - 1));
    expect(ok(await counters.increment("up", 1)).value).toBe(max);
    expect(await counters.increment("up", 1)).toMatchObject({
      ok: false,
      error: { code: "out_of_range" },
    });
    ok(await counters.increment("down", -max));
    expect(await counters.increment("down", -1)).toMatchObject({
      ok: false,
      error: { code: "out_of_range" },
    });
    // Within one batch too: concurrent increments that would pass the edge are refused one by one.
    const results = await Promise.all(
      Array.from({ length: 10 }, () => counters.increment("up", -max)),
    );
    expect(results.filter((r) => r.ok)).toHaveLength(2);
    expect(await valueOf(counters, "up")).toBe(-max);
    expect((await stored(counters)).counters).toEqual({ down: -max, up: -max });
  });

  it("caps the counters one object holds, counting those not yet written", async () => {
    setLimits({ maxCounters: 20 });
    const counters = freshCounters();
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) => counters.increment(`k${i}`)),
    );
    expect(results.filter((r) => r.ok)).toHaveLength(20);
    expect(results.filter((r) => !r.ok && r.error.code === "too_many_counters")).toHaveLength(10);
    // Existing counters still count; a reset frees a slot.
    ok(await counters.increment("k0"));
    expect(await counters.increment("new")).toMatchObject({ ok: false });
    await counters.reset("k0");
    ok(await counters.increment("new"));
    expect(Object.keys((await stored(counters)).counters)).toHaveLength(20);
  });
});
