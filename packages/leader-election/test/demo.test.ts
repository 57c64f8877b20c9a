/**
 * The README's demo, step by step through the test Worker: two workers, one lease, a guarded
 * log, and the first worker's late write refused.
 */
import { afterEach, describe, expect, it } from "vitest";
import { ADMIN, get, post, setNow, T0 } from "./helpers";
import { testClock } from "./worker";

afterEach(() => {
  testClock.now = null;
});

describe("the fencing demo", () => {
  it("a deposed leader's late write is refused by the log; the new leader's is kept", async () => {
    setNow(T0);
    const group = `nightly-${crypto.randomUUID().slice(0, 8)}`;
    const a = await post("/acquire", { group, candidate: "worker-a", ttlMs: 15_000 });
    expect(await a.json()).toMatchObject({ granted: true, fencingToken: 1 });
    const b = await post("/acquire", { group, candidate: "worker-b", ttlMs: 15_000 });
    expect(b.status).toBe(409);

    const write = (token: number, text: string) =>
      post("/demo/leader-election/write", { group, token, text });
    expect((await write(1, "a: report started")).status).toBe(200);

    // worker-a stalls; its lease runs out (or an operator revokes it) and worker-b takes over.
    setNow(T0 + 15_000);
    const takeover = await post("/acquire", { group, candidate: "worker-b", ttlMs: 15_000 });
    expect(await takeover.json()).toMatchObject({ granted: true, fencingToken: 2 });
    expect((await write(2, "b: report started")).status).toBe(200);

    const late = await write(1, "a: report finished (late)");
    expect(late.status).toBe(409);
    expect(await late.json()).toEqual({ accepted: false, highestToken: 2, reason: "stale_token" });

    expect(await (await get(`/demo/leader-election/log/${group}`)).json()).toEqual({
      highestToken: 2,
      entries: [
        { seq: 1, token: 1, text: "a: report started" },
        { seq: 2, token: 2, text: "b: report started" },
      ],
    });
    expect(await (await get(`/current/${group}`)).json()).toMatchObject({
      holder: "worker-b",
      fencingToken: 2,
      transitions: 3,
    });
    // The admin's way to depose a leader without waiting.
    expect((await post("/revoke", { group }, ADMIN)).status).toBe(200);
  });

  it("the log keeps the newest 20 entries", async () => {
    const group = `log-${crypto.randomUUID().slice(0, 8)}`;
    for (let i = 1; i <= 25; i++) {
      await post("/demo/leader-election/write", { group, token: 1, text: `entry ${i}` });
    }
    const log = await (
      await get(`/demo/leader-election/log/${group}`)
    ).json<{
      entries: { text: string }[];
    }>();
    expect(log.entries.map((e) => e.text)).toEqual(
      Array.from({ length: 20 }, (_, i) => `entry ${i + 6}`),
    );
  });

  it("bad demo input gets a 4xx in the error shape", async () => {
    const cases: [unknown, number][] = [
      [{ group: "g", token: 0, text: "x" }, 400],
      [{ group: "g", token: 1, text: "" }, 400],
      [{ group: "g", token: 1, text: "<script>" }, 400],
      [{ group: "bad group!", token: 1, text: "x" }, 400],
      [{ token: 1, text: "x" }, 400],
      [{ group: "g", token: 1, text: "x".repeat(2_000) }, 413],
    ];
    for (const [body, status] of cases) {
      const response = await post("/demo/leader-election/write", body);
      expect(response.status).toBe(status);
      expect(await response.json()).toMatchObject({ error: { code: expect.any(String) } });
    }
    expect((await get("/demo/leader-election/log/bad%20group!")).status).toBe(400);
  });
});
