import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { setNow, T0 } from "./helpers";
import worker, { testClock } from "./worker";

afterEach(() => {
  testClock.now = null;
});

function getLimited(clientId: string) {
  return exports.default.fetch(
    new Request("http://example.com/limited", { headers: { "x-client-id": clientId } }),
  );
}

describe("rateLimit() middleware", () => {
  it("lets requests through with headers until the limit, then answers 429", async () => {
    setNow(T0 + 30_000);
    const client = crypto.randomUUID();
    const first = await getLimited(client);
    expect(first.status).toBe(200);
    expect(await first.text()).toBe("ok");
    expect(first.headers.get("RateLimit-Policy")).toBe('"limited";q=2;w=60');
    expect(first.headers.get("RateLimit")).toBe('"limited";r=1;t=30');
    expect((await getLimited(client)).status).toBe(200);

    const limited = await getLimited(client);
    expect(limited.status).toBe(429);
    expect(limited.headers.get("Retry-After")).toBe("30");
    const body = await limited.json<{ error: { code: string; message: string } }>();
    expect(body.error.code).toBe("rate_limited");
    expect(body.error.message).toContain("retry after 30s");

    // Another client has its own budget.
    expect((await getLimited(crypto.randomUUID())).status).toBe(200);
  });

  it("lets requests through when the limiter is unreachable, or answers 503 if told to deny", async () => {
    const allowed = await exports.default.fetch(
      new Request("http://example.com/limited-unreachable-allow"),
    );
    expect(allowed.status).toBe(200);
    expect(await allowed.text()).toBe("served without the limiter");
    const denied = await exports.default.fetch(
      new Request("http://example.com/limited-unreachable-deny"),
    );
    expect(denied.status).toBe(503);
    expect(denied.headers.get("Retry-After")).toBe("1");
    expect(await denied.json()).toMatchObject({ error: { code: "unavailable" } });
  });

  it("refuses to build with an invalid policy", async () => {
    const { rateLimit } = await import("../src/index");
    expect(() =>
      rateLimit({
        binding: "RATE_LIMITER",
        key: () => "k",
        policy: { name: "bad", algorithm: "gcra", limit: 0, windowSeconds: 60 },
      }),
    ).toThrow(/limit must be at least 1/);
  });
});

/**
 * One request through the test Worker, waiting for the work it leaves running after the
 * response (the middleware's refund goes to waitUntil).
 */
async function get(path: string, headers: Record<string, string> = {}) {
  const ctx = createExecutionContext();
  const response = await worker.fetch(
    new Request(`http://example.com${path}`, { headers }),
    env,
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return response;
}

const newClient = () => ({ "x-client-id": crypto.randomUUID() });

/** Statuses of `count` requests made one after another. */
async function statuses(count: number, path: string, headers: Record<string, string>) {
  const seen: number[] = [];
  for (let i = 0; i < count; i++) seen.push((await get(path, headers)).status);
  return seen;
}

describe("rateLimit() options", () => {
  it("takes a policy and a cost computed per request, e.g. from the caller's plan", async () => {
    setNow(T0);
    const free = { "x-client-id": crypto.randomUUID(), "x-plan": "free" };
    expect(await statuses(3, "/by-plan", free)).toEqual([200, 200, 429]);
    const pro = { "x-client-id": crypto.randomUUID(), "x-plan": "pro" };
    const first = await get("/by-plan", { ...pro, "x-cost": "3" });
    expect(first.headers.get("RateLimit-Policy")).toBe('"plan-pro";q=5;w=60');
    expect(first.headers.get("RateLimit")).toBe('"plan-pro";r=2;t=60');
    expect(await statuses(3, "/by-plan", pro)).toEqual([200, 200, 429]);
    // A cost the client controls is the client's mistake: 400, not a crash.
    const tooCostly = await get("/by-plan", { ...free, "x-cost": "3" });
    expect(tooCostly.status).toBe(400);
    expect(await tooCostly.json()).toMatchObject({ error: { code: "invalid_request" } });
  });

  it("treats an invalid computed policy as a bug in the app, not the client's fault", async () => {
    const response = await get("/bad-plan", { "x-client-id": crypto.randomUUID() });
    expect(response.status).toBe(500);
    expect(await response.json()).toMatchObject({ error: { code: "internal_error" } });
  });

  it('refund: "failed" gives back the units of requests answered 400 or above', async () => {
    setNow(T0);
    const client = { "x-client-id": crypto.randomUUID() };
    expect(await statuses(5, "/refund-failed?status=500", client)).toEqual([
      500, 500, 500, 500, 500,
    ]);
    expect(await statuses(5, "/refund-failed?status=404", client)).toEqual([
      404, 404, 404, 404, 404,
    ]);
    expect(await statuses(4, "/refund-failed", client)).toEqual([200, 200, 200, 429]);
  });

  it('refund: "failed" also covers a handler that throws', async () => {
    setNow(T0);
    const client = { "x-client-id": crypto.randomUUID() };
    expect(await statuses(4, "/refund-thrown", client)).toEqual([500, 500, 500, 500]);
    expect(await statuses(4, "/refund-failed", client)).toEqual([200, 200, 200, 429]);
  });

  it('refund: "successful" counts only the requests that failed', async () => {
    setNow(T0);
    const client = { "x-client-id": crypto.randomUUID() };
    expect(await statuses(5, "/refund-successful", client)).toEqual([200, 200, 200, 200, 200]);
    expect(await statuses(4, "/refund-successful?status=503", client)).toEqual([
      503, 503, 503, 429,
    ]);
  });

  it("refund: a predicate on the finished response decides", async () => {
    setNow(T0);
    const client = { "x-client-id": crypto.randomUUID() };
    expect(await statuses(4, "/refund-5xx?status=502", client)).toEqual([502, 502, 502, 502]);
    expect(await statuses(4, "/refund-5xx?status=404", client)).toEqual([404, 404, 404, 429]);
  });

  it("sends the header fields of the draft a client reads", async () => {
    setNow(T0 + 20_000);
    const draft10 = await get("/headers-draft-10", newClient());
    expect(draft10.headers.get("RateLimit-Policy")).toBe('"options";q=3;w=60');
    expect(draft10.headers.get("RateLimit")).toBe('"options";r=2;t=40');

    const draft7 = await get("/headers-draft-7", newClient());
    expect(draft7.headers.get("RateLimit-Policy")).toBe("3;w=60");
    expect(draft7.headers.get("RateLimit")).toBe("limit=3, remaining=2, reset=40");

    const draft6Client = newClient();
    const draft6 = await get("/headers-draft-6", draft6Client);
    expect(draft6.headers.get("RateLimit-Policy")).toBe("3;w=60");
    expect(draft6.headers.get("RateLimit-Limit")).toBe("3");
    expect(draft6.headers.get("RateLimit-Remaining")).toBe("2");
    expect(draft6.headers.get("RateLimit-Reset")).toBe("40");
    expect(draft6.headers.get("RateLimit")).toBeNull();
    await statuses(2, "/headers-draft-6", draft6Client);
    const denied = await get("/headers-draft-6", draft6Client);
    expect(denied.status).toBe(429);
    expect(denied.headers.get("RateLimit-Remaining")).toBe("0");
    expect(denied.headers.get("Retry-After")).toBe("40");
  });
});
