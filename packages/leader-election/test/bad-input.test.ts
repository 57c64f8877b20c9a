import { exports } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { MAX_LOCK_DELAY_MS, MAX_NAME_LENGTH, MAX_TTL_MS } from "../src/index";
import {
  ADMIN,
  countStorageWrites,
  freshElection,
  get,
  granted,
  post,
  setNow,
  storedFootprint,
  T0,
} from "./helpers";
import { testClock } from "./worker";

afterEach(() => {
  testClock.now = null;
});

async function expectError(response: Response, status: number, code: string, message?: RegExp) {
  expect(response.status).toBe(status);
  const body = await response.json<{ error: { code: string; message: string } }>();
  expect(body.error.code).toBe(code);
  expect(typeof body.error.message).toBe("string");
  expect(body.error.message).toMatch(message ?? /./);
}

/** A group holding one lease, to show that bad input leaves it exactly as it was. */
async function heldGroup() {
  setNow(T0);
  const group = crypto.randomUUID();
  await post("/acquire", { group, candidate: "a", ttlMs: 10_000 });
  const before = await (await get(`/current/${group}`)).json();
  return {
    group,
    unchanged: async () => expect(await (await get(`/current/${group}`)).json()).toEqual(before),
  };
}

describe("bad input over HTTP", () => {
  it("acquire: wrong types, out-of-range numbers, missing and unknown fields", async () => {
    const { group, unchanged } = await heldGroup();
    const cases: [unknown, RegExp][] = [
      [{ group, candidate: "b", ttlMs: 0 }, /ttlMs must be from 1 to/],
      [{ group, candidate: "b", ttlMs: -5 }, /ttlMs must be from 1/],
      [{ group, candidate: "b", ttlMs: 1.5 }, /ttlMs must be a whole number/],
      [{ group, candidate: "b", ttlMs: "1000" }, /ttlMs must be a number/],
      [{ group, candidate: "b", ttlMs: MAX_TTL_MS + 1 }, /ttlMs must be from 1 to 86400000/],
      [{ group, candidate: "b", ttlMs: 1e300 }, /ttlMs must be from/],
      [{ group, candidate: "b" }, /ttlMs must be a number/],
      [{ group, candidate: "", ttlMs: 1_000 }, /candidate must be 1-256 characters/],
      [{ group, candidate: "x".repeat(MAX_NAME_LENGTH + 1), ttlMs: 1_000 }, /candidate must be/],
      [{ group, candidate: "a\nb", ttlMs: 1_000 }, /no control characters/],
      [{ group, candidate: 7, ttlMs: 1_000 }, /candidate must be a string/],
      [{ group, ttlMs: 1_000 }, /candidate must be a string/],
      [{ candidate: "b", ttlMs: 1_000 }, /group must be a string/],
      [{ group: "", candidate: "b", ttlMs: 1_000 }, /group must be 1-256/],
      [{ group, candidate: "b", ttlMs: 1_000, lockDelayMs: -1 }, /lockDelayMs must be from 0/],
      [{ group, candidate: "b", ttlMs: 1_000, lockDelayMs: MAX_LOCK_DELAY_MS + 1 }, /lockDelayMs/],
      [{ group, candidate: "b", ttlMs: 1_000, lockDelayMs: null }, /lockDelayMs must be a number/],
      [{ group, candidate: "b", ttlMs: 1_000, extra: 1 }, /unknown field "extra"/],
      [[], /body must be a JSON object/],
      ["acquire", /body must be a JSON object/],
      [null, /body must be a JSON object/],
    ];
    for (const [body, message] of cases) {
      await expectError(await post("/acquire", body), 400, "invalid_request", message);
    }
    await unchanged();
  });

  it("renew, release and revoke: bad tokens, names and shapes", async () => {
    const { group, unchanged } = await heldGroup();
    for (const path of ["/renew", "/release"]) {
      const cases: [unknown, RegExp][] = [
        [{ group, candidate: "a", token: 0 }, /token must be from 1/],
        [{ group, candidate: "a", token: 1.5 }, /token must be a whole number/],
        [{ group, candidate: "a", token: "1" }, /token must be a number/],
        [{ group, candidate: "a", token: 2 ** 53 }, /token must be from 1 to 9007199254740991/],
        [{ group, candidate: "a" }, /token must be a number/],
        [{ group, token: 1 }, /candidate must be a string/],
        [{ group, candidate: "a", token: 1, ttlMs: 5 }, /unknown field "ttlMs"/],
      ];
      for (const [body, message] of cases) {
        await expectError(await post(path, body), 400, "invalid_request", message);
      }
    }
    await expectError(
      await post("/revoke", { group: 5 }, ADMIN),
      400,
      "invalid_request",
      /group must be a string/,
    );
    await expectError(await post("/revoke", {}, ADMIN), 400, "invalid_request");
    await unchanged();
  });

  it("current and validate: a malformed group in the path, a missing or malformed token", async () => {
    const { group } = await heldGroup();
    await expectError(await get("/current"), 404, "not_found");
    await expectError(
      await get(`/current/${"g".repeat(MAX_NAME_LENGTH + 1)}`),
      400,
      "invalid_request",
      /group must be 1-256 characters/,
    );
    await expectError(await get("/current/a%0Ab"), 400, "invalid_request", /no control characters/);
    await expectError(
      await get(`/validate/${group}`),
      400,
      "invalid_request",
      /token must be a number/,
    );
    for (const token of ["abc", "1.5", "-1", "0", "99999999999999999", ""]) {
      await expectError(
        await get(`/validate/${group}?token=${token}`),
        400,
        "invalid_request",
        /token must be/,
      );
    }
  });

  it("malformed JSON, huge bodies and unknown routes", async () => {
    const { group, unchanged } = await heldGroup();
    const malformed = await exports.default.fetch(
      new Request("http://example.com/acquire", { method: "POST", body: "{not json" }),
    );
    await expectError(malformed, 400, "invalid_json");
    const huge = await post("/acquire", {
      group,
      candidate: "b",
      ttlMs: 1_000,
      pad: "x".repeat(20_000),
    });
    await expectError(huge, 413, "payload_too_large");
    await expectError(await get("/nope"), 404, "not_found");
    await expectError(await get("/acquire"), 404, "not_found");
    await expectError(await post("/current", { group }), 404, "not_found");
    await unchanged();
  });

  it("revoke without the admin token, or with a wrong one, is refused and changes nothing", async () => {
    const { group, unchanged } = await heldGroup();
    await expectError(await post("/revoke", { group }), 401, "unauthorized");
    await expectError(
      await post("/revoke", { group }, { Authorization: "Bearer wrong-token" }),
      401,
      "unauthorized",
    );
    await expectError(
      await post("/revoke", { group }, { Authorization: "test-admin-token" }),
      401,
      "unauthorized",
    );
    await unchanged();
  });
});

describe("bad input over RPC", () => {
  it("is answered with an error, not thrown, and reads or writes nothing", async () => {
    setNow(T0);
    const election = freshElection();
    granted(await election.acquire("a", 5_000));
    const before = await storedFootprint(election);
    const writes = await countStorageWrites(election);
    const bad = [
      () => election.acquire("", 1_000),
      () => election.acquire("b", 0),
      () => election.acquire("b", Number.NaN),
      () => election.acquire("b", 1_000, { lockDelayMs: 60_001 }),
      () => election.acquire("b", 1_000, { ttl: 5 } as never),
      () => election.acquire("b", 1_000, "fast" as never),
      () => election.acquire(42 as never, 1_000),
      () => election.renew("a", 0),
      () => election.renew("a", 1.5),
      () => election.release("a", -1),
      () => election.release(null as never, 1),
    ];
    for (const call of bad) {
      const result = (await call()) as { error?: { code: string; message: string } };
      expect(result.error?.code).toBe("invalid_input");
      expect(result.error?.message.length).toBeGreaterThan(0);
    }
    expect(await election.validate(Number.NaN)).toMatchObject({ valid: false, fencingToken: 1 });
    expect(writes()).toBe(0);
    expect(await storedFootprint(election)).toEqual(before);
  });
});
