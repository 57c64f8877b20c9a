import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { footprint, freshCoordinator, send } from "./helpers";

describe("bad input over HTTP", () => {
  const tags33 = Array.from({ length: 33 }, (_, i) => `t${i}`);
  // `C` stands for a fresh coordinator name per case.
  const cases: [string, "GET" | "POST", string, unknown, number, string][] = [
    ["malformed JSON", "POST", "/C/register", '{"key":', 400, "invalid_json"],
    ["a JSON array", "POST", "/C/register", "[]", 400, "invalid_request"],
    ["a missing key", "POST", "/C/register", { store: "a" }, 400, "invalid_request"],
    ["a numeric key", "POST", "/C/register", { key: 7, store: "a" }, 400, "invalid_request"],
    ["an empty key", "POST", "/C/register", { key: "", store: "a" }, 400, "invalid_request"],
    [
      "a key over 512 bytes",
      "POST",
      "/C/register",
      { key: "é".repeat(257), store: "a" },
      400,
      "invalid_request",
    ],
    [
      "an unknown store",
      "POST",
      "/C/register",
      { key: "k", store: "elsewhere" },
      400,
      "invalid_request",
    ],
    ["a bad store name", "POST", "/C/register", { key: "k", store: "a b" }, 400, "invalid_request"],
    [
      "tags not an array",
      "POST",
      "/C/register",
      { key: "k", store: "a", tags: "t" },
      400,
      "invalid_request",
    ],
    [
      "a tag with a space",
      "POST",
      "/C/register",
      { key: "k", store: "a", tags: ["a b"] },
      400,
      "invalid_request",
    ],
    [
      "a tag with a comma",
      "POST",
      "/C/register",
      { key: "k", store: "a", tags: ["a,b"] },
      400,
      "invalid_request",
    ],
    [
      "33 tags",
      "POST",
      "/C/register",
      { key: "k", store: "a", tags: tags33 },
      400,
      "invalid_request",
    ],
    [
      "an unknown field",
      "POST",
      "/C/register",
      { key: "k", store: "a", cache: "c" },
      400,
      "invalid_request",
    ],
    [
      "a bad cache name",
      "POST",
      "/a%20b/register",
      { key: "k", store: "a" },
      400,
      "invalid_request",
    ],
    ["a bad mode", "POST", "/C/invalidate", { key: "k", mode: "gentle" }, 400, "invalid_request"],
    ["a missing tag", "POST", "/C/invalidate-tag", {}, 400, "invalid_request"],
    [
      "a huge body",
      "POST",
      "/C/register",
      { key: "k", store: "a", pad: "x".repeat(20_000) },
      413,
      "payload_too_large",
    ],
    ["a status with a malformed id", "GET", "/C/status/nope", undefined, 400, "invalid_request"],
    ["a lookup without a key", "GET", "/C/lookup", undefined, 400, "invalid_request"],
    ["an unknown route", "GET", "/C/nowhere", undefined, 404, "not_found"],
    ["a wrong method", "GET", "/C/register", undefined, 404, "not_found"],
  ];

  it.each(cases)(
    "%s: %s %s answers its 4xx and changes nothing",
    async (_name, method, path, body, status, code) => {
      const name = `bad-${crypto.randomUUID()}`;
      const response = await send(method, path.replace("/C/", `/${name}/`), body);
      expect(response.status).toBe(status);
      expect(response.body).toMatchObject({ error: { code, message: expect.any(String) } });
      const stub = env.CACHE_COORDINATOR.getByName(name);
      expect(await footprint(stub)).toMatchObject({ cached: 0, tagged: 0, purges: 0, calls: 0 });
    },
  );
});

describe("bad input over RPC", () => {
  it("answers each bad argument with a rejection and writes nothing", async () => {
    const { stub } = freshCoordinator();
    await stub.register({ key: "k", store: "a", tags: ["t"] });
    const before = await footprint(stub);
    const bad = [
      stub.register(null as never),
      stub.register({ key: "k" } as never),
      stub.register({ key: "k", store: "a", tags: [1] } as never),
      stub.register({ key: "k", store: "a", extra: 1 } as never),
      stub.register({ key: "k", store: "a b" }),
      stub.register({ key: "k", store: "a", tags: ["a b"] }),
      stub.register({ key: "k", store: "a", tags: Array.from({ length: 33 }, (_, i) => `t${i}`) }),
      stub.register({ key: "é".repeat(257), store: "a" }),
      stub.register({ key: "", store: "a" }),
      stub.invalidate(42 as never),
      stub.invalidate("x".repeat(513)),
      stub.invalidate("é".repeat(257)),
      stub.lookup(""),
      stub.invalidate("k", { mode: "later" } as never),
      stub.invalidate("k", "soft" as never),
      stub.invalidateTag("", {}),
      stub.invalidateTag("t", { mode: "soft", extra: true } as never),
      stub.status("not-an-id"),
      stub.lookup({} as never),
    ];
    for (const outcome of await Promise.all(bad)) {
      expect(outcome).toMatchObject({ ok: false, error: { code: "invalid_request" } });
    }
    expect(await footprint(stub)).toEqual(before);
    // The limit is in bytes, at the byte.
    expect(await stub.invalidate("x".repeat(512))).toMatchObject({ ok: true, purgeId: null });
    expect(await stub.invalidate("é".repeat(256), { mode: "soft" })).toMatchObject({ ok: true });
  });
});
