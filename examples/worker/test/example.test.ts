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

const acceptHtml = { Accept: "text/html,application/xhtml+xml" };

/** The same-origin links of a page, as a browser would follow them. */
function linksOf(page: string): string[] {
  return [...page.matchAll(/href="(\/[^"]*)"/g)].map((m) => m[1] ?? "");
}

interface IndexEntry {
  name: string;
  summary: string;
  path: string;
  readme: string;
  routes: string[];
  demos: { route: string; summary: string }[];
}

describe("GET /", () => {
  it("lists every mounted pattern with its routes and demos as JSON", async () => {
    const response = await fetchPath("/");
    expect(response.status).toBe(200);
    const index = await response.json<{ patterns: IndexEntry[] }>();
    const limiter = index.patterns.find((p) => p.name === "rate-limiter");
    expect(limiter?.path).toBe("/rate-limiter/");
    expect(limiter?.readme).toBe("packages/rate-limiter/README.md");
    expect(limiter?.routes).toEqual(
      expect.arrayContaining([
        "POST /rate-limiter/check",
        "POST /rate-limiter/peek",
        "POST /rate-limiter/reset",
      ]),
    );
    expect(limiter?.demos.map((d) => d.route)).toEqual(["GET /demo/limited"]);
  });

  it("answers a browser with a page linking each pattern's page, README and demo", async () => {
    const response = await fetchPath("/", { headers: acceptHtml });
    expect(response.headers.get("Content-Type")).toContain("text/html");
    const page = await response.text();
    expect(page).toContain("<h1>Durable Object patterns</h1>");
    expect(page).toContain("POST /rate-limiter/check");
    expect(linksOf(page)).toEqual(
      expect.arrayContaining(["/rate-limiter/", "/rate-limiter/#readme", "/demo/limited"]),
    );
  });

  it("answers unknown paths with a JSON 404", async () => {
    const response = await fetchPath("/no-such-pattern");
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ error: { code: "not_found" } });
  });
});

describe("GET /<pattern>/", () => {
  it("answers JSON with the pattern's summary, routes, demos and README", async () => {
    const response = await fetchPath("/rate-limiter/");
    expect(response.status).toBe(200);
    const pattern = await response.json<IndexEntry & { markdown: string }>();
    const index = await (await fetchPath("/")).json<{ patterns: IndexEntry[] }>();
    const { markdown, ...entry } = pattern;
    expect(entry).toEqual(index.patterns.find((p) => p.name === "rate-limiter"));
    expect(markdown).toMatch(/^# @do-patterns\/rate-limiter\n/);
  });

  it("answers a browser with the routes, the demo and the README rendered as HTML", async () => {
    const response = await fetchPath("/rate-limiter/", { headers: acceptHtml });
    expect(response.status).toBe(200);
    expect(response.headers.get("Content-Type")).toContain("text/html");
    const page = await response.text();
    expect(page).toContain("<h1>@do-patterns/rate-limiter</h1>");
    expect(page).toContain('<section id="readme"');
    expect(page).toContain("POST /rate-limiter/check");
    expect(linksOf(page)).toEqual(expect.arrayContaining(["/", "/demo/limited"]));
    // The README's Markdown is rendered, not shown raw.
    expect(page).not.toContain("## Quick start");
  });

  it("answers without the trailing slash too", async () => {
    const response = await fetchPath("/rate-limiter", { headers: acceptHtml });
    expect(response.status).toBe(200);
    expect(await response.text()).toContain("<h1>@do-patterns/rate-limiter</h1>");
  });

  it("has no dead links: every same-origin link of every page answers below 400", async () => {
    const seen = new Set<string>();
    const queue = ["/"];
    while (queue.length > 0) {
      const path = queue.shift() ?? "/";
      const url = new URL(path, "http://localhost");
      const key = url.pathname;
      if (seen.has(key)) continue;
      seen.add(key);
      const response = await fetchPath(key, { headers: acceptHtml });
      expect(response.status, `GET ${key}`).toBeLessThan(400);
      if ((response.headers.get("Content-Type") ?? "").includes("text/html")) {
        queue.push(...linksOf(await response.text()));
      } else {
        await response.body?.cancel();
      }
    }
    expect([...seen]).toEqual(expect.arrayContaining(["/", "/rate-limiter/", "/demo/limited"]));
  });
});

describe("GET /favicon.ico", () => {
  it("answers 204 with no body rather than a 404", async () => {
    const response = await fetchPath("/favicon.ico");
    expect(response.status).toBe(204);
    expect(await response.text()).toBe("");
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
