import { exports } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { freshLimiter, ok, setNow, T0 } from "./helpers";
import { testClock } from "./worker";

afterEach(() => {
  testClock.now = null;
});

const ADMIN = { Authorization: "Bearer test-admin-token" };
const valid = { name: "api", algorithm: "gcra", limit: 5, windowSeconds: 60 };

function send(
  path: string,
  body: string,
  init: { method?: string; headers?: Record<string, string> } = {},
) {
  return exports.default.fetch(
    new Request(`http://example.com${path}`, {
      method: init.method ?? "POST",
      headers: { "Content-Type": "application/json", ...init.headers },
      body,
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
  const key = `bad-input-${crypto.randomUUID()}`;

  const cases: [string, unknown, RegExp][] = [
    ["zero limit", { key, policy: { ...valid, limit: 0 } }, /policy\.limit must be at least 1/],
    [
      "negative limit",
      { key, policy: { ...valid, limit: -5 } },
      /policy\.limit must be at least 1/,
    ],
    [
      "fractional limit",
      { key, policy: { ...valid, limit: 2.5 } },
      /policy\.limit must be a whole number/,
    ],
    [
      "huge limit",
      { key, policy: { ...valid, limit: 1e12 } },
      /policy\.limit must be at most 1000000000/,
    ],
    [
      "limit as a string",
      { key, policy: { ...valid, limit: "NaN" } },
      /policy\.limit must be a number/,
    ],
    [
      "null limit (how JSON carries NaN)",
      { key, policy: { ...valid, limit: null } },
      /policy\.limit must be a number/,
    ],
    [
      "zero window",
      { key, policy: { ...valid, windowSeconds: 0 } },
      /policy\.windowSeconds must be at least 1/,
    ],
    [
      "huge window",
      { key, policy: { ...valid, windowSeconds: 1e9 } },
      /windowSeconds must be at most 31536000/,
    ],
    [
      "limit x window too large to count exactly",
      { key, policy: { ...valid, limit: 1e9, windowSeconds: 86_400 } },
      /use a shorter window/,
    ],
    [
      "unknown algorithm",
      { key, policy: { ...valid, algorithm: "leaky" } },
      /algorithm must be one of: fixed-window, sliding-window, token-bucket, gcra/,
    ],
    [
      "policy name with a quote",
      { key, policy: { ...valid, name: 'a"b' } },
      /name must be 1-64 characters/,
    ],
    ["missing policy", { key }, /policy must be an object/],
    ["missing key", { policy: valid }, /key must be a string/],
    ["empty key", { key: "", policy: valid }, /key must not be empty/],
    ["overlong key", { key: "k".repeat(513), policy: valid }, /key must be at most 512 characters/],
    ["zero cost", { key, policy: valid, cost: 0 }, /cost must be at least 1/],
    ["negative cost", { key, policy: valid, cost: -1 }, /cost must be at least 1/],
    [
      "cost above the limit",
      { key, policy: valid, cost: 6 },
      /cost 6 exceeds the policy's limit of 5/,
    ],
    ["unknown field", { key, policy: valid, extra: 1 }, /extra/],
    ["an array body", [key], /body must be a JSON object/],
  ];

  it.each(cases)("%s → 400", async (_label, body, message) => {
    for (const path of ["/check", "/peek"]) {
      await expectError(await send(path, JSON.stringify(body)), 400, "invalid_request", message);
    }
  });

  it("malformed JSON → 400 invalid_json", async () => {
    await expectError(await send("/check", '{"key": "a", '), 400, "invalid_json", /valid JSON/);
    await expectError(await send("/check", ""), 400, "invalid_json");
  });

  it("a huge body → 413 before it is read", async () => {
    const body = JSON.stringify({ key, policy: valid, padding: "x".repeat(100_000) });
    await expectError(await send("/check", body), 413, "payload_too_large", /at most 16384 bytes/);
  });

  it("unknown routes and wrong methods → 404", async () => {
    await expectError(await send("/nope", "{}"), 404, "not_found", /POST \/nope/);
    await expectError(
      await exports.default.fetch(new Request("http://example.com/check")),
      404,
      "not_found",
    );
  });

  it("admin token missing, wrong, or of another scheme → 401", async () => {
    const body = JSON.stringify({ key });
    await expectError(await send("/reset", body), 401, "unauthorized", /Authorization: Bearer/);
    await expectError(
      await send("/reset", body, { headers: { Authorization: "Bearer wrong" } }),
      401,
      "unauthorized",
    );
    await expectError(
      await send("/reset", body, { headers: { Authorization: "Basic dGVzdC1hZG1pbi10b2tlbg==" } }),
      401,
      "unauthorized",
    );
    await expectError(
      await send("/reset", JSON.stringify({ key: "" }), { headers: ADMIN }),
      400,
      "invalid_request",
    );
  });

  it("none of the rejected requests touched the key's state", async () => {
    setNow(T0);
    const res = await send("/peek", JSON.stringify({ key, policy: valid }));
    expect(await res.json()).toMatchObject({ allowed: true, remaining: 5 });
  });
});

describe("bad input over RPC is answered, not thrown, and changes nothing", () => {
  it("rejects invalid policies and costs with a reason", async () => {
    setNow(T0);
    const limiter = freshLimiter();
    const bad = [
      [{ ...valid, limit: Number.NaN }, undefined, "invalid_policy", /limit must be a number/],
      [{ ...valid, limit: Number.POSITIVE_INFINITY }, undefined, "invalid_policy", /limit/],
      [{ ...valid, algorithm: "leaky" }, undefined, "invalid_policy", /algorithm must be one of/],
      [valid, Number.NaN, "invalid_cost", /cost must be a number/],
      [valid, 1.5, "invalid_cost", /cost must be a whole number/],
      [valid, 6, "invalid_cost", /exceeds the policy's limit/],
      // Once `valid` has been seen, near-copies must still be validated in full.
      [{ ...valid, extra: 1 }, undefined, "invalid_policy", /extra/],
      [{ ...valid, limit: 4.5 }, undefined, "invalid_policy", /limit must be a whole number/],
      [valid, 0, "invalid_cost", /cost must be at least 1/],
    ] as const;
    for (const [policy, cost, code, message] of bad) {
      // @ts-expect-error deliberately wrong input, as an untyped caller could send
      const outcome = await limiter.check(policy, cost === undefined ? {} : { cost });
      expect(outcome).toMatchObject({ allowed: false, error: { code } });
      expect("error" in outcome && outcome.error.message).toMatch(message);
    }
    expect(ok(await limiter.peek(valid as never)).remaining).toBe(5);
  });
});
