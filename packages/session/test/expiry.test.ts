import { runDurableObjectAlarm } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import {
  HOUR,
  MINUTE,
  newSession,
  ok,
  resetClock,
  sessionObject,
  sessions,
  setNow,
  SECOND,
  storedFootprint,
  T0,
} from "./helpers";

afterEach(resetClock);

describe("idle and absolute timeouts, enforced on every read", () => {
  it("an idle session ends 30 minutes after its last activity, before its alarm has run", async () => {
    setNow(T0);
    const { id } = await newSession({ a: 1 });
    setNow(T0 + 30 * MINUTE - 1);
    expect(await sessions().peek(id)).not.toBeNull();
    setNow(T0 + 30 * MINUTE);
    expect(await sessions().get(id)).toBeNull();
    expect(await sessions().set(id, "a", 2)).toMatchObject({
      ok: false,
      error: { code: "no_session" },
    });
    // The alarm has not run: the record is still stored, and still refused.
    expect((await storedFootprint(sessionObject(id))).entries).toEqual(["session"]);
    // Reads of a dead session write nothing, so nothing can revive it later.
    for (const later of [30 * MINUTE + 1, 31 * MINUTE, 2 * HOUR]) {
      setNow(T0 + later);
      expect(await sessions().get(id)).toBeNull();
    }
  });

  it("an active session still ends at its absolute timeout, to the millisecond", async () => {
    setNow(T0);
    const { id } = await newSession();
    // A request every five minutes for eight hours: never idle, so only the absolute timeout ends it.
    for (let t = 5 * MINUTE; t < 8 * HOUR; t += 5 * MINUTE) {
      setNow(T0 + t);
      expect({ t, live: (await sessions().get(id)) !== null }).toEqual({ t, live: true });
    }
    setNow(T0 + 8 * HOUR - 1);
    const last = await sessions().get(id);
    expect(last?.expiresAt).toBe(T0 + 8 * HOUR);
    setNow(T0 + 8 * HOUR);
    expect(await sessions().get(id)).toBeNull();
    expect(await sessions().merge(id, { a: 1 })).toMatchObject({ error: { code: "no_session" } });
  });

  it("custom timeouts: one minute idle, two absolute", async () => {
    setNow(T0);
    const { id } = ok(
      await sessions().create({ idleTimeoutSeconds: 60, absoluteTimeoutSeconds: 120 }),
    );
    setNow(T0 + 59 * SECOND);
    expect(await sessions().get(id)).not.toBeNull(); // persists a touch: 59 s >= 6 s
    setNow(T0 + 119 * SECOND - 1);
    expect(await sessions().peek(id)).not.toBeNull();
    setNow(T0 + 119 * SECOND);
    expect(await sessions().get(id)).toBeNull(); // idle since 59 s
  });

  it("the cleanup alarm deletes an expired session's storage entirely", async () => {
    setNow(T0);
    const { id } = await newSession({ a: 1 });
    setNow(T0 + 30 * MINUTE);
    expect(await runDurableObjectAlarm(sessionObject(id))).toBe(true);
    expect(await storedFootprint(sessionObject(id))).toEqual({
      tables: [],
      entries: [],
      alarm: null,
    });
  });
});
