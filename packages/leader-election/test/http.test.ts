import { afterEach, describe, expect, it } from "vitest";
import { ADMIN, get, post, setNow, T0 } from "./helpers";
import { testClock } from "./worker";

afterEach(() => {
  testClock.now = null;
});

describe("HTTP routes", () => {
  it("acquire grants, then answers 409 with the holder and Retry-After", async () => {
    setNow(T0);
    const group = crypto.randomUUID();
    const first = await post("/acquire", { group, candidate: "a", ttlMs: 10_000 });
    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({
      granted: true,
      holder: "a",
      fencingToken: 1,
      expiresAt: T0 + 10_000,
      newLease: true,
    });
    setNow(T0 + 2_500);
    const second = await post("/acquire", { group, candidate: "b", ttlMs: 10_000, lockDelayMs: 0 });
    expect(second.status).toBe(409);
    expect(second.headers.get("Retry-After")).toBe("8");
    expect(await second.json()).toEqual({
      granted: false,
      reason: "held",
      holder: "a",
      expiresAt: T0 + 10_000,
      retryAfterMs: 7_500,
    });
  });

  it("renew and release: 200 for the holder's token, 409 with the reason otherwise", async () => {
    setNow(T0);
    const group = crypto.randomUUID();
    await post("/acquire", { group, candidate: "a", ttlMs: 10_000 });
    setNow(T0 + 1_000);
    const renewed = await post("/renew", { group, candidate: "a", token: 1 });
    expect(renewed.status).toBe(200);
    expect(await renewed.json()).toMatchObject({ renewed: true, expiresAt: T0 + 11_000 });
    const stale = await post("/renew", { group, candidate: "a", token: 2 });
    expect(stale.status).toBe(409);
    expect(await stale.json()).toEqual({ renewed: false, reason: "stale_token", holder: "a" });
    expect((await post("/release", { group, candidate: "b", token: 1 })).status).toBe(409);
    const released = await post("/release", { group, candidate: "a", token: 1 });
    expect(released.status).toBe(200);
    expect(await released.json()).toEqual({ released: true, holder: "a", fencingToken: 1 });
  });

  it("current and validate read the lease", async () => {
    setNow(T0);
    const group = crypto.randomUUID();
    await post("/acquire", { group, candidate: "a", ttlMs: 10_000 });
    const current = await get(`/current/${group}`);
    expect(current.status).toBe(200);
    expect(await current.json()).toEqual({
      holder: "a",
      fencingToken: 1,
      expiresAt: T0 + 10_000,
      lockedUntil: null,
      lastToken: 1,
      transitions: 1,
    });
    expect(await (await get(`/validate/${group}?token=1`)).json()).toEqual({
      valid: true,
      fencingToken: 1,
      expiresAt: T0 + 10_000,
    });
    expect(await (await get(`/validate/${group}?token=2`)).json()).toMatchObject({
      valid: false,
    });
  });

  it("revoke needs the admin token, then ends the lease with its lock-delay", async () => {
    setNow(T0);
    const group = crypto.randomUUID();
    await post("/acquire", { group, candidate: "a", ttlMs: 60_000, lockDelayMs: 5_000 });
    const refused = await post("/revoke", { group });
    expect(refused.status).toBe(401);
    expect(await refused.json()).toMatchObject({ error: { code: "unauthorized" } });
    expect(await (await get(`/current/${group}`)).json()).toMatchObject({ holder: "a" });

    const revoked = await post("/revoke", { group }, ADMIN);
    expect(revoked.status).toBe(200);
    expect(await revoked.json()).toEqual({ revoked: true, holder: "a", fencingToken: 1 });
    const blocked = await post("/acquire", { group, candidate: "b", ttlMs: 1_000 });
    expect(blocked.status).toBe(409);
    expect(blocked.headers.get("Retry-After")).toBe("5");
    expect(await blocked.json()).toMatchObject({ reason: "lock_delay", holder: null });
  });

  it("a group name with any characters travels percent-encoded in the path", async () => {
    setNow(T0);
    const group = `team/${crypto.randomUUID()} ü?&`;
    await post("/acquire", { group, candidate: "a", ttlMs: 1_000 });
    const current = await get(`/current/${encodeURIComponent(group)}`);
    expect(await current.json()).toMatchObject({ holder: "a", fencingToken: 1 });
    const validate = await get(`/validate/${encodeURIComponent(group)}?token=1`);
    expect(await validate.json()).toMatchObject({ valid: true });
  });

  it("groups are independent objects", async () => {
    setNow(T0);
    const [one, two] = [crypto.randomUUID(), crypto.randomUUID()];
    expect((await post("/acquire", { group: one, candidate: "a", ttlMs: 1_000 })).status).toBe(200);
    expect((await post("/acquire", { group: two, candidate: "b", ttlMs: 1_000 })).status).toBe(200);
  });
});
