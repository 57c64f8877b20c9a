/** Bad input: a 4xx that says what is wrong, and nothing recorded. */
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { reactorFor } from "./helpers";

function post(path: string, body: string, headers: Record<string, string> = {}) {
  return exports.default.fetch(
    new Request(`http://localhost${path}`, {
      method: "POST",
      headers: { "Content-Type": "application/json", ...headers },
      body,
    }),
  );
}

const good = {
  id: "evt-1",
  type: "research.completed",
  at: Date.UTC(2026, 10, 1),
  data: { topic: "t", confidence: 0.5 },
};

const get = (path: string) => exports.default.fetch(new Request(`http://localhost${path}`));

describe("bad input", () => {
  it.each<[string, string, number, string, string]>([
    ["malformed JSON", "{", 400, "invalid_json", "request body must be valid JSON"],
    [
      "an array",
      "[]",
      400,
      "invalid_request",
      "an event must be a JSON object with id, type, at and data",
    ],
    [
      "a missing id",
      JSON.stringify({ ...good, id: undefined }),
      400,
      "invalid_request",
      "id must be a string",
    ],
    [
      "a bad id",
      JSON.stringify({ ...good, id: "has space" }),
      400,
      "invalid_request",
      "id must be 1-128 characters",
    ],
    [
      "an extra field",
      JSON.stringify({ ...good, extra: 1 }),
      400,
      "invalid_request",
      'unknown field "extra"',
    ],
    [
      "a timestamp in seconds",
      JSON.stringify({ ...good, at: 1_790_000_000 }),
      400,
      "invalid_request",
      "at must be epoch milliseconds after 2000-01-01",
    ],
    [
      "a string timestamp",
      JSON.stringify({ ...good, at: "now" }),
      400,
      "invalid_request",
      "at must be a whole number",
    ],
    [
      "data not an object",
      JSON.stringify({ ...good, data: [1] }),
      400,
      "invalid_request",
      "data must be a JSON object",
    ],
    [
      "an unknown type",
      JSON.stringify({ ...good, type: "order.created" }),
      400,
      "invalid_request",
      "type must be one of research.completed",
    ],
    [
      "wrong data",
      JSON.stringify({ ...good, data: { topic: 5, confidence: 0.5 } }),
      400,
      "invalid_request",
      "data.topic must be a string",
    ],
  ])("%s: %i %s", async (_label, body, status, code, message) => {
    const entity = `bad-${crypto.randomUUID().slice(0, 8)}`;
    const response = await post(`/${entity}/events`, body);
    expect(response.status).toBe(status);
    const json = await response.json<{ error: { code: string; message: string } }>();
    expect(json.error.code).toBe(code);
    expect(json.error.message).toContain(message);
    const reactor = await reactorFor(entity);
    expect(await reactor.decisionLog()).toEqual([]);
    expect((await reactor.snapshot()).state.since).toBeNull();
  });

  it("refuses a body over 16 KiB with 413", async () => {
    const response = await post(
      "/acme/events",
      JSON.stringify({ ...good, data: { topic: "x".repeat(20_000) } }),
    );
    expect(response.status).toBe(413);
    expect(await response.json()).toEqual({
      error: { code: "payload_too_large", message: "request body must be at most 16384 bytes" },
    });
  });

  it("refuses a bad entity name, limit or status, and unknown routes", async () => {
    expect((await post("/has%20space/events", JSON.stringify(good))).status).toBe(400);
    expect(await (await get("/acme/decisions?limit=0")).json()).toEqual({
      error: { code: "invalid_request", message: "limit must be a whole number from 1 to 1000" },
    });
    expect((await get("/acme/decisions?limit=abc")).status).toBe(400);
    expect((await get("/acme/outbox?status=lost")).status).toBe(400);
    const unknown = await get("/acme/nowhere");
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ error: { code: "not_found" } });
  });
});
