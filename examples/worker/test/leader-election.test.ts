import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

function send(method: "GET" | "POST", path: string, body?: unknown, headers = {}) {
  return exports.default.fetch(
    new Request(`http://localhost${path}`, {
      method,
      headers: { "Content-Type": "application/json", ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    }),
  );
}

describe("/leader-election/ and the fencing demo", () => {
  it("lists the leader-election routes and demos in the index", async () => {
    const index = await (
      await exports.default.fetch(new Request("http://localhost/"))
    ).json<{
      patterns: { name: string; routes: string[]; demos: { route: string }[] }[];
    }>();
    const election = index.patterns.find((p) => p.name === "leader-election");
    expect(election?.routes).toEqual(
      expect.arrayContaining([
        "POST /leader-election/acquire",
        "POST /leader-election/renew",
        "POST /leader-election/release",
        "GET /leader-election/current/:group",
        "GET /leader-election/validate/:group",
        "POST /leader-election/revoke",
      ]),
    );
    expect(election?.demos.map((d) => d.route)).toContain("POST /demo/leader-election/write");
  });

  it("runs the README's curl demo: the deposed leader's late write is refused", async () => {
    const group = `nightly-${crypto.randomUUID().slice(0, 8)}`;
    const acquire = (candidate: string) =>
      send("POST", "/leader-election/acquire", { group, candidate, ttlMs: 15_000 });
    const write = (token: number, text: string) =>
      send("POST", "/demo/leader-election/write", { group, token, text });

    const a = await acquire("worker-a");
    expect(await a.json()).toMatchObject({ granted: true, holder: "worker-a", fencingToken: 1 });
    const b = await acquire("worker-b");
    expect(b.status).toBe(409);
    expect(b.headers.get("Retry-After")).not.toBeNull();
    expect(await b.json()).toMatchObject({ granted: false, reason: "held", holder: "worker-a" });
    expect((await write(1, "a: report started")).status).toBe(200);

    const revoked = await send(
      "POST",
      "/leader-election/revoke",
      { group },
      {
        Authorization: "Bearer test-admin-token",
      },
    );
    expect(await revoked.json()).toEqual({ revoked: true, holder: "worker-a", fencingToken: 1 });

    const takeover = await acquire("worker-b");
    expect(await takeover.json()).toMatchObject({ granted: true, fencingToken: 2 });
    expect((await write(2, "b: report started")).status).toBe(200);
    const late = await write(1, "a: report finished (late)");
    expect(late.status).toBe(409);
    expect(await late.json()).toEqual({ accepted: false, highestToken: 2, reason: "stale_token" });

    const log = await send("GET", `/demo/leader-election/log/${group}`);
    expect(await log.json()).toMatchObject({
      highestToken: 2,
      entries: [{ text: "a: report started" }, { text: "b: report started" }],
    });
    const current = await send("GET", `/leader-election/current/${group}`);
    expect(await current.json()).toMatchObject({
      holder: "worker-b",
      fencingToken: 2,
      lastToken: 2,
      transitions: 3,
    });

    const bad = await send("POST", "/leader-election/acquire", {
      group,
      candidate: "worker-c",
      ttlMs: 0,
    });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: { code: "invalid_request" } });
  });
});
