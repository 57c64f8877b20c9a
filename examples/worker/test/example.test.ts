import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

const fetchPath = (path: string, init?: RequestInit) =>
  exports.default.fetch(new Request(`http://localhost${path}`, init));
const postJson = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetchPath(path, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...headers },
    body: JSON.stringify(body),
  });

describe("GET /", () => {
  it("lists every mounted pattern with its routes as JSON", async () => {
    const response = await fetchPath("/");
    expect(response.status).toBe(200);
    const index = await response.json<{
      patterns: { name: string; path: string; routes: string[] }[];
      demos: unknown[];
    }>();
    const limiter = index.patterns.find((p) => p.name === "rate-limiter");
    expect(limiter?.path).toBe("/rate-limiter/");
    expect(limiter?.routes).toEqual([
      "POST /rate-limiter/check",
      "POST /rate-limiter/peek",
      "POST /rate-limiter/reset",
    ]);
    expect(index.demos).toHaveLength(1);
  });

  it("answers a browser with an HTML page listing the same routes", async () => {
    const response = await fetchPath("/", {
      headers: { Accept: "text/html,application/xhtml+xml" },
    });
    expect(response.headers.get("Content-Type")).toContain("text/html");
    const page = await response.text();
    expect(page).toContain("<h1>Durable Object patterns</h1>");
    expect(page).toContain("POST /rate-limiter/check");
    expect(page).toContain("GET /demo/limited");
  });

  it("answers unknown paths with a JSON 404", async () => {
    const response = await fetchPath("/no-such-pattern");
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ error: { code: "not_found" } });
  });
});

describe("/rate-limiter/", () => {
  const policy = { name: "example", algorithm: "gcra", limit: 2, windowSeconds: 60 };

  it("check, peek and reset work through the composing Worker", async () => {
    const key = crypto.randomUUID();
    expect((await postJson("/rate-limiter/check", { key, policy })).status).toBe(200);
    expect((await postJson("/rate-limiter/check", { key, policy })).status).toBe(200);
    const denied = await postJson("/rate-limiter/check", { key, policy });
    expect(denied.status).toBe(429);
    expect(denied.headers.get("RateLimit-Policy")).toBe('"example";q=2;w=60');
    expect(Number(denied.headers.get("Retry-After"))).toBeGreaterThanOrEqual(29);

    const peek = await postJson("/rate-limiter/peek", { key, policy });
    expect(await peek.json()).toMatchObject({ allowed: false, remaining: 0 });

    expect((await postJson("/rate-limiter/reset", { key })).status).toBe(401);
    const reset = await postJson(
      "/rate-limiter/reset",
      { key },
      { Authorization: "Bearer test-admin-token" },
    );
    expect(await reset.json()).toEqual({ cleared: 1 });
    expect((await postJson("/rate-limiter/check", { key, policy })).status).toBe(200);
  });

  it("rejects bad input with a 400 in the catalog's error shape", async () => {
    const response = await postJson("/rate-limiter/check", {
      key: "k",
      policy: { ...policy, limit: -1 },
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      error: { code: "invalid_request", message: "policy.limit must be at least 1" },
    });
  });
});

describe("GET /demo/limited", () => {
  it("is guarded by the rateLimit() middleware: 5 per minute per client, then 429", async () => {
    const client = {
      "cf-connecting-ip": `203.0.113.${Math.floor(Math.random() * 250)}-${crypto.randomUUID()}`,
    };
    for (let i = 0; i < 5; i++) {
      const ok = await fetchPath("/demo/limited", { headers: client });
      expect(ok.status).toBe(200);
      expect(ok.headers.get("RateLimit")).toMatch(new RegExp(`^"demo";r=${4 - i};t=\\d+$`));
    }
    const limited = await fetchPath("/demo/limited", { headers: client });
    expect(limited.status).toBe(429);
    expect(await limited.json()).toMatchObject({ error: { code: "rate_limited" } });
    expect(limited.headers.get("Retry-After")).toBe("12");
  });
});
