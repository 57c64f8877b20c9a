import { exports } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { MAX_DATA_BYTES, newSessionId } from "../src/index";
import {
  EMPTY,
  freshUser,
  newSession,
  ok,
  resetClock,
  sessionObject,
  sessions,
  setNow,
  storedFootprint,
  T0,
  userObject,
} from "./helpers";

afterEach(resetClock);

const ADMIN = { Authorization: "Bearer test-admin-token" };

function send(path: string, body: string, headers: Record<string, string> = {}) {
  return exports.default.fetch(
    new Request(`http://example.com${path}`, {
      method: "POST",
      headers: { "Content-Type": "application/json", ...headers },
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
  it("malformed, wrongly shaped and incomplete bodies → 400", async () => {
    setNow(T0);
    const { id } = await newSession({ a: 1 });
    const cases: [string, unknown, string, RegExp][] = [
      ["/get", { id: "short" }, "invalid_request", /id must be a session id/],
      ["/get", { id: 42 }, "invalid_request", /id must be a string/],
      ["/get", {}, "invalid_request", /id must be a string/],
      ["/get", [id], "invalid_request", /body must be a JSON object with id/],
      ["/get", { id, extra: true }, "invalid_request", /unknown field "extra"/],
      ["/destroy", "a string", "invalid_request", /body must be a JSON object with id/],
      ["/rotate", { id, userId: "" }, "invalid_request", /userId must not be empty/],
      ["/set", { id, field: "", value: 1 }, "invalid_request", /field must be 1-128 characters/],
      ["/set", { id, field: 3, value: 1 }, "invalid_request", /field must be a string/],
      ["/set", { id, field: "a" }, "invalid_request", /field "a" must be a JSON value/],
      ["/merge", { id, fields: [1] }, "invalid_request", /fields must be an object/],
      ["/merge", { id }, "invalid_request", /fields must be an object/],
      ["/delete-fields", { id, fields: "a" }, "invalid_request", /fields must be an array/],
      ["/delete-fields", { id, fields: [1] }, "invalid_request", /fields\[0\] must be a string/],
      [
        "/create",
        { idleTimeoutSeconds: 59 },
        "invalid_request",
        /idleTimeoutSeconds must be at least 60/,
      ],
      ["/create", { idleTimeoutSeconds: 1.5 }, "invalid_request", /must be a whole number/],
      ["/create", { absoluteTimeoutSeconds: 34_560_001 }, "invalid_request", /at most 34560000/],
      ["/create", { absoluteTimeoutSeconds: "60" }, "invalid_request", /must be a number/],
      ["/create", { userId: "x".repeat(257) }, "invalid_request", /userId must be at most 256/],
      ["/create", { data: "text" }, "invalid_request", /fields must be an object/],
      ["/create", { data: { a: { b: [] } }, ttl: 5 }, "invalid_request", /unknown field "ttl"/],
      ["/destroy-all", { userId: 7 }, "invalid_request", /userId must be a string/],
    ];
    for (const [path, body, code, message] of cases) {
      await expectError(await send(path, JSON.stringify(body), ADMIN), 400, code, message);
    }
    expect((await sessions().peek(id))?.data).toEqual({ a: 1 });
  });

  it("deeply nested values → 400, within the body limit", async () => {
    setNow(T0);
    const { id } = await newSession();
    const deep = `${"[".repeat(5_000)}1${"]".repeat(5_000)}`;
    await expectError(
      await send("/set", `{"id":"${id}","field":"deep","value":${deep}}`, ADMIN),
      400,
      "invalid_request",
      /field "deep"(\[0\])+ nests deeper than 32 levels/,
    );
    await expectError(
      await send("/create", `{"data":{"deep":${deep}}}`, ADMIN),
      400,
      "invalid_request",
      /nests deeper than 32 levels/,
    );
    expect((await sessions().peek(id))?.data).toEqual({});
  });

  it("malformed JSON → 400 invalid_json", async () => {
    await expectError(await send("/get", '{"id": '), 400, "invalid_json", /valid JSON/);
    await expectError(await send("/get", ""), 400, "invalid_json");
  });

  it("a body over 16 KiB → 413 before it is read", async () => {
    const body = JSON.stringify({ id: newSessionId(), field: "a", value: "x".repeat(20_000) });
    await expectError(
      await send("/set", body, ADMIN),
      413,
      "payload_too_large",
      /at most 16384 bytes/,
    );
  });

  it("data past its cap → 413 and nothing stored", async () => {
    setNow(T0);
    const { id } = await newSession({ a: "x".repeat(10_000) });
    const before = await storedFootprint(sessionObject(id));
    const response = await send(
      "/set",
      JSON.stringify({ id, field: "b", value: "y".repeat(10_000) }),
      ADMIN,
    );
    await expectError(
      response,
      413,
      "payload_too_large",
      new RegExp(`the limit is ${MAX_DATA_BYTES}`),
    );
    expect((await sessions().peek(id))?.data).toEqual({ a: "x".repeat(10_000) });
    expect(await storedFootprint(sessionObject(id))).toEqual(before);
    // A new session with too much data is not created at all.
    const user = freshUser();
    const big = Object.fromEntries(
      Array.from({ length: 9 }, (_, i) => [`f${i}`, "z".repeat(1_900)]),
    );
    await expectError(
      await send("/create", JSON.stringify({ userId: user, data: big }), ADMIN),
      413,
      "payload_too_large",
    );
    expect(await storedFootprint(userObject(user))).toEqual(EMPTY);
  });

  it("unknown routes and wrong methods → 404", async () => {
    await expectError(await send("/nope", "{}"), 404, "not_found", /POST \/nope/);
    await expectError(
      await exports.default.fetch(new Request("http://example.com/get")),
      404,
      "not_found",
    );
  });

  it("a missing or wrong admin token → 401, of another scheme too", async () => {
    const body = JSON.stringify({ userId: "someone" });
    await expectError(await send("/destroy-all", body), 401, "unauthorized", /Bearer/);
    await expectError(
      await send("/destroy-all", body, { Authorization: "Bearer test-admin-tokenX" }),
      401,
      "unauthorized",
    );
    await expectError(
      await send("/destroy-all", body, { Authorization: "Basic dGVzdC1hZG1pbi10b2tlbg==" }),
      401,
      "unauthorized",
    );
  });
});

describe("bad input over RPC is answered, not thrown, and changes nothing", () => {
  it("each write refuses with a reason and stores nothing", async () => {
    setNow(T0);
    const { id } = await newSession({ a: 1 });
    const session = sessionObject(id);
    const before = await storedFootprint(session);
    const refusals = [
      // @ts-expect-error deliberately wrong input, as an untyped caller could send
      await session.set(42, 1),
      await session.set("d", new Date(0) as never),
      await session.set("n", Number.NaN),
      await session.merge(new Map() as never),
      // @ts-expect-error deliberately wrong input
      await session.deleteFields("a"),
      await session.merge({ big: "x".repeat(MAX_DATA_BYTES) }),
    ];
    expect(refusals.map((r) => !r.ok && r.error.code)).toEqual([
      "invalid_input",
      "invalid_input",
      "invalid_input",
      "invalid_input",
      "invalid_input",
      "data_too_large",
    ]);
    expect(await storedFootprint(session)).toEqual(before);
    expect((await sessions().get(id))?.data).toEqual({ a: 1 });
  });

  it("create, adopt and sign-in refuse bad options and records, creating nothing", async () => {
    setNow(T0);
    const id = newSessionId();
    expect(await sessionObject(id).create({ idleTimeoutSeconds: -1 })).toMatchObject({
      ok: false,
      error: { code: "invalid_input", message: /idleTimeoutSeconds must be at least 60/ },
    });
    expect(await sessionObject(id).create("nope" as never)).toMatchObject({
      error: { code: "invalid_input", message: /options must be an object/ },
    });
    expect(await sessionObject(id).adopt({ data: {} } as never)).toMatchObject({
      error: { code: "invalid_input" },
    });
    expect(await storedFootprint(sessionObject(id))).toEqual(EMPTY);
    const user = freshUser();
    expect(
      await sessions().create({ userId: user, data: { d: new Date() as never } }),
    ).toMatchObject({
      error: { code: "invalid_input" },
    });
    expect(await userObject(user).startUserSession("bad", { from: null })).toMatchObject({
      error: { code: "invalid_input" },
    });
    expect(await storedFootprint(userObject(user))).toEqual(EMPTY);
    expect(ok(await sessions().create({ userId: user })).userId).toBe(user);
  });
});
