// Its own file, so its own isolate: the demo's OpenFeature provider caches the "demo" flag set
// for 5 s, and no other test may have fetched it before the flag below exists.
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

const ADMIN = { Authorization: "Bearer test-admin-token", "X-Actor": "example-test" };

function send(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  return exports.default.fetch(
    new Request(`http://localhost${path}`, {
      method,
      headers: { "Content-Type": "application/json", ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    }),
  );
}

const newCheckout = {
  key: "new-checkout",
  type: "boolean",
  enabled: true,
  variants: { on: true, off: false },
  rules: [
    { conditions: [{ attribute: "plan", op: "equals", value: "beta" }], serve: { variant: "on" } },
  ],
  fallthrough: {
    split: [
      { variant: "on", percent: 30 },
      { variant: "off", percent: 70 },
    ],
  },
};

describe("/feature-flags/ and its demo", () => {
  it("lists the routes in the index", async () => {
    const index = await (
      await send("GET", "/")
    ).json<{
      patterns: { name: string; routes: string[] }[];
    }>();
    const flags = index.patterns.find((p) => p.name === "feature-flags");
    expect(flags?.routes).toEqual(
      expect.arrayContaining([
        "POST /feature-flags/:set/evaluate",
        "POST /feature-flags/:set/flags",
      ]),
    );
  });

  it("creates a flag with the admin token, evaluates it over HTTP and through the provider", async () => {
    expect((await send("POST", "/feature-flags/demo/flags", newCheckout)).status).toBe(401);
    expect((await send("POST", "/feature-flags/demo/flags", newCheckout, ADMIN)).status).toBe(201);

    const beta = await send("POST", "/feature-flags/demo/evaluate", {
      flag: "new-checkout",
      context: { targetingKey: "user-42", plan: "beta" },
      default: false,
    });
    expect(await beta.json()).toMatchObject({
      value: true,
      variant: "on",
      reason: "TARGETING_MATCH",
    });

    const viaProvider = await send("GET", "/demo/feature-flags?user=user-42&plan=beta");
    expect(await viaProvider.json()).toEqual({
      user: "user-42",
      newCheckout: true,
      variant: "on",
      reason: "TARGETING_MATCH",
      errorCode: null,
      flagSetVersion: 1,
    });
    const split = await (await send("GET", "/demo/feature-flags?user=user-42")).json();
    expect(split).toMatchObject({ newCheckout: false, variant: "off", reason: "SPLIT" });
  });

  it("rejects a bad flag with a 400 that says why, in the catalog's error shape", async () => {
    const response = await send(
      "POST",
      "/feature-flags/demo/flags",
      { ...newCheckout, key: "bad", fallthrough: { split: [{ variant: "on", percent: 30 }] } },
      ADMIN,
    );
    expect(response.status).toBe(400);
    const body = await response.json<{ error: { code: string; message: string } }>();
    expect(body.error.code).toBe("invalid_request");
    expect(body.error.message).toMatch(/100/);
  });
});
