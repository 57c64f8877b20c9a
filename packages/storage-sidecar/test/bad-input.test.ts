import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { MAX_KEY_LENGTH } from "../src/index";
import { EMPTY, freshSidecar, storedFootprint } from "./helpers";

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
      body: init.method === "GET" ? null : body,
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

  const cases: [string, string, unknown, number, string, RegExp][] = [
    [
      "set without a key",
      "/set",
      { sidecar: name, value: 1 },
      400,
      "invalid_request",
      /key must be a string/,
    ],
    [
      "set with a numeric key",
      "/set",
      { sidecar: name, key: 5, value: 1 },
      400,
      "invalid_request",
      /key must be a string/,
    ],
    [
      "set with an empty key",
      "/set",
      { sidecar: name, key: "", value: 1 },
      400,
      "invalid_request",
      /key must be 1-512/,
    ],
    [
      "set with a key too long",
      "/set",
      { sidecar: name, key: "k".repeat(MAX_KEY_LENGTH + 1), value: 1 },
      400,
      "invalid_request",
      /key must be 1-512/,
    ],
    [
      "set without a value",
      "/set",
      { sidecar: name, key: "k" },
      400,
      "invalid_request",
      /value must be a JSON value/,
    ],
    [
      "set with an unknown field",
      "/set",
      { sidecar: name, key: "k", value: 1, ttl: 5 },
      400,
      "invalid_request",
      /unknown field "ttl"/,
    ],
    [
      "set without a sidecar",
      "/set",
      { key: "k", value: 1 },
      400,
      "invalid_request",
      /sidecar must be a string/,
    ],
    [
      "set with an empty sidecar",
      "/set",
      { sidecar: "", key: "k", value: 1 },
      400,
      "invalid_request",
      /sidecar must not be empty/,
    ],
    [
      "append with neither value nor values",
      "/append",
      { sidecar: name, list: "l" },
      400,
      "invalid_request",
      /either value or values/,
    ],
    [
      "append with both",
      "/append",
      { sidecar: name, list: "l", value: 1, values: [2] },
      400,
      "invalid_request",
      /either value or values/,
    ],
    [
      "append with values not an array",
      "/append",
      { sidecar: name, list: "l", values: 3 },
      400,
      "invalid_request",
      /values must be an array/,
    ],
    [
      "append with no values",
      "/append",
      { sidecar: name, list: "l", values: [] },
      400,
      "invalid_request",
      /1-1000 values/,
    ],
    [
      "append to an empty list name",
      "/append",
      { sidecar: name, list: "", value: 1 },
      400,
      "invalid_request",
      /list must be 1-128/,
    ],
    [
      "append with an empty idempotency key",
      "/append",
      { sidecar: name, list: "l", value: 1, idempotencyKey: "" },
      400,
      "invalid_request",
      /idempotencyKey/,
    ],
    [
      "configure a TTL too short",
      "/configure",
      { sidecar: name, ttlSeconds: 59 },
      400,
      "invalid_request",
      /ttlSeconds must be a whole number from 60/,
    ],
    [
      "configure a fractional TTL",
      "/configure",
      { sidecar: name, ttlSeconds: 90.5 },
      400,
      "invalid_request",
      /ttlSeconds/,
    ],
    [
      "configure a TTL as a string",
      "/configure",
      { sidecar: name, ttlSeconds: "60" },
      400,
      "invalid_request",
      /ttlSeconds must be a number/,
    ],
    [
      "items with a negative cursor",
      "/items",
      { sidecar: name, list: "l", cursor: -1 },
      400,
      "invalid_request",
      /cursor must be a whole number/,
    ],
    [
      "items with a zero limit",
      "/items",
      { sidecar: name, list: "l", limit: 0 },
      400,
      "invalid_request",
      /limit must be a whole number from 1 to 1000/,
    ],
    [
      "items with a huge limit",
      "/items",
      { sidecar: name, list: "l", limit: 1e9 },
      400,
      "invalid_request",
      /limit/,
    ],
    [
      "list with a numeric prefix",
      "/list",
      { sidecar: name, prefix: 1 },
      400,
      "invalid_request",
      /prefix must be a string/,
    ],
    [
      "list with a lone surrogate prefix",
      "/list",
      { sidecar: name, prefix: "\ud800" },
      400,
      "invalid_request",
      /well-formed/,
    ],
    [
      "get with a lone surrogate key",
      "/get",
      { sidecar: name, key: "a\udc00" },
      400,
      "invalid_request",
      /well-formed/,
    ],
    [
      "a body that is an array",
      "/get",
      [name, "k"],
      400,
      "invalid_request",
      /body must be a JSON object/,
    ],
  ];

  it.each(cases)("%s", async (_label, path, body, status, code, message) => {
    await expectError(
      await send(path, JSON.stringify(body), { headers: ADMIN }),
      status,
      code,
      message,
    );
  });

  it("malformed JSON, huge bodies and unknown routes", async () => {
    await expectError(await send("/set", "{not json", { headers: ADMIN }), 400, "invalid_json");
    await expectError(await send("/get", ""), 400, "invalid_json");
    const huge = JSON.stringify({ sidecar: name, key: "k", value: "x".repeat(1_100_000) });
    await expectError(await send("/set", huge, { headers: ADMIN }), 413, "payload_too_large");
    await expectError(await send("/nope", "{}"), 404, "not_found");
    await expectError(await send("/get", "", { method: "GET" }), 404, "not_found");
  });

  it("writes need the admin token: missing or wrong is a 401", async () => {
    for (const path of ["/set", "/append", "/delete", "/delete-list", "/configure", "/clear"]) {
      const body = JSON.stringify({ sidecar: name, key: "k", list: "l", value: 1, ttlSeconds: 60 });
      await expectError(await send(path, body), 401, "unauthorized");
      await expectError(
        await send(path, body, { headers: { Authorization: "Bearer wrong" } }),
        401,
        "unauthorized",
      );
    }
  });

  it("none of it left anything behind", async () => {
    const { env } = await import("cloudflare:workers");
    expect(await storedFootprint(env.SIDECARS.getByName(name))).toEqual(EMPTY);
  });
});

describe("bad input over RPC is answered, not thrown, and changes nothing", () => {
  it("rejects each bad argument with its code", async () => {
    const sidecar = freshSidecar();
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const rejections = [
      await sidecar.get(42 as unknown as string),
      await sidecar.set("k", undefined as unknown as null),
      await sidecar.set("k", 10n as unknown as number),
      await sidecar.append("l", (() => 1) as unknown as number),
      await sidecar.appendMany("l", "abc" as unknown as string[]),
      await sidecar.appendMany("l", [1, undefined as unknown as number]),
      await sidecar.items("l", { limit: 1.5 }),
      await sidecar.items("l", { cursor: Number.NaN }),
      await sidecar.list({ cursor: "" }),
      await sidecar.configure({ ttlSeconds: 1e12 }),
      await sidecar.configure(undefined as unknown as { ttlSeconds: number }),
    ];
    for (const rejection of rejections) {
      expect(rejection).toMatchObject({ ok: false, error: { code: expect.any(String) } });
    }
    expect(await storedFootprint(sidecar)).toEqual(EMPTY);
  });
});
