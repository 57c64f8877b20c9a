import { exports } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { setNow, T0 } from "./helpers";
import { testClock } from "./worker";

afterEach(() => {
  testClock.now = null;
});

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

const policy = { name: "api", algorithm: "fixed-window", limit: 3, windowSeconds: 60 } as const;

describe("HTTP routes", () => {
  it("check admits up to the limit with IETF RateLimit headers, then answers 429 with Retry-After", async () => {
    setNow(T0 + 15_000);
    const key = crypto.randomUUID();
    const first = await post("/check", { key, policy });
    expect(first.status).toBe(200);
    expect(first.headers.get("RateLimit-Policy")).toBe('"api";q=3;w=60');
    expect(first.headers.get("RateLimit")).toBe('"api";r=2;t=45');
    expect(first.headers.get("Retry-After")).toBeNull();
    expect(await first.json()).toMatchObject({
      allowed: true,
      remaining: 2,
      limit: 3,
      policy: "api",
    });

    expect((await post("/check", { key, policy, cost: 2 })).status).toBe(200);
    const denied = await post("/check", { key, policy });
    expect(denied.status).toBe(429);
    expect(denied.headers.get("RateLimit")).toBe('"api";r=0;t=45');
    expect(denied.headers.get("Retry-After")).toBe("45");
    expect(await denied.json()).toMatchObject({
      allowed: false,
      remaining: 0,
      retryAfterMs: 45_000,
    });
  });

  it("peek reports without consuming", async () => {
    setNow(T0);
    const key = crypto.randomUUID();
    await post("/check", { key, policy });
    for (let i = 0; i < 3; i++) {
      const peeked = await post("/peek", { key, policy });
      expect(peeked.status).toBe(200);
      expect(await peeked.json()).toMatchObject({ allowed: true, remaining: 2 });
    }
    const tooMuch = await post("/peek", { key, policy, cost: 3 });
    expect(tooMuch.status).toBe(200);
    expect(await tooMuch.json()).toMatchObject({ allowed: false, remaining: 2 });
  });

  it("refund gives units back and answers what a unit call would get now", async () => {
    setNow(T0 + 15_000);
    const key = crypto.randomUUID();
    await post("/check", { key, policy, cost: 3 });
    expect((await post("/check", { key, policy })).status).toBe(429);
    const refunded = await post("/refund", { key, policy, cost: 2 });
    expect(refunded.status).toBe(200);
    expect(refunded.headers.get("RateLimit")).toBe('"api";r=2;t=45');
    expect(await refunded.json()).toMatchObject({ allowed: true, remaining: 2 });
    expect((await post("/check", { key, policy, cost: 2 })).status).toBe(200);
    expect((await post("/check", { key, policy })).status).toBe(429);
  });

  it("peek on a fresh key reports the full limit and a reset of 0", async () => {
    setNow(T0 + 15_000);
    const peeked = await post("/peek", { key: crypto.randomUUID(), policy, cost: 2 });
    expect(peeked.headers.get("RateLimit")).toBe('"api";r=3;t=0');
    expect(await peeked.json()).toMatchObject({ allowed: true, remaining: 3, resetAfterMs: 0 });
  });

  it("keys are independent objects", async () => {
    setNow(T0);
    const a = crypto.randomUUID();
    const b = crypto.randomUUID();
    await post("/check", { key: a, policy, cost: 3 });
    expect((await post("/check", { key: a, policy })).status).toBe(429);
    expect((await post("/check", { key: b, policy })).status).toBe(200);
  });

  it("reset needs the admin token and then clears the key", async () => {
    setNow(T0);
    const key = crypto.randomUUID();
    await post("/check", { key, policy, cost: 3 });
    const refused = await post("/reset", { key });
    expect(refused.status).toBe(401);
    expect(await refused.json()).toMatchObject({ error: { code: "unauthorized" } });
    expect((await post("/check", { key, policy })).status).toBe(429);

    const reset = await post("/reset", { key, policy: "api" }, ADMIN);
    expect(reset.status).toBe(200);
    expect(await reset.json()).toEqual({ cleared: 1 });
    expect((await post("/check", { key, policy })).status).toBe(200);
  });
});
