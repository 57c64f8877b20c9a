import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { newSessionId } from "../src/index";
import {
  EMPTY,
  HOUR,
  MINUTE,
  newSession,
  ok,
  resetClock,
  sessionObject,
  sessions,
  setNow,
  storedFootprint,
  T0,
} from "./helpers";

afterEach(resetClock);

describe("the cleanup alarm", () => {
  it("deletes everything of an expired session: no entry, no table, no alarm", async () => {
    setNow(T0);
    const { id } = await newSession({ a: 1 });
    expect(await storedFootprint(sessionObject(id))).toEqual({
      tables: [],
      entries: ["session"],
      alarm: T0 + 30 * MINUTE,
    });
    setNow(T0 + 30 * MINUTE);
    expect(await runDurableObjectAlarm(sessionObject(id))).toBe(true);
    expect(await storedFootprint(sessionObject(id))).toEqual(EMPTY);
    expect(await sessions().get(id)).toBeNull();
  });

  it("running early keeps a live session and re-arms for its current deadline", async () => {
    setNow(T0);
    const { id } = await newSession({ a: 1 });
    setNow(T0 + 20 * MINUTE);
    await sessions().get(id); // moves the deadline to 50 minutes, not the alarm
    expect((await storedFootprint(sessionObject(id))).alarm).toBe(T0 + 30 * MINUTE);

    setNow(T0 + 30 * MINUTE);
    expect(await runDurableObjectAlarm(sessionObject(id))).toBe(true);
    expect(await storedFootprint(sessionObject(id))).toEqual({
      tables: [],
      entries: ["session"],
      alarm: T0 + 50 * MINUTE,
    });
    expect((await sessions().peek(id))?.data).toEqual({ a: 1 });

    setNow(T0 + 50 * MINUTE);
    expect(await runDurableObjectAlarm(sessionObject(id))).toBe(true);
    expect(await storedFootprint(sessionObject(id))).toEqual(EMPTY);
  });

  it("re-arms at the absolute deadline for a session kept busy", async () => {
    setNow(T0);
    const { id } = await newSession();
    for (let t = 20 * MINUTE; t < 8 * HOUR; t += 20 * MINUTE) {
      setNow(T0 + t);
      await sessions().get(id);
      await runDurableObjectAlarm(sessionObject(id));
    }
    expect((await storedFootprint(sessionObject(id))).alarm).toBe(T0 + 8 * HOUR);
    setNow(T0 + 8 * HOUR);
    await runDurableObjectAlarm(sessionObject(id));
    expect(await storedFootprint(sessionObject(id))).toEqual(EMPTY);
  });

  it("a retried alarm is harmless: the second run finds nothing to do", async () => {
    setNow(T0);
    const { id } = await newSession({ a: 1 });
    setNow(T0 + HOUR);
    expect(await runDurableObjectAlarm(sessionObject(id))).toBe(true);
    // Run the same alarm again, as the runtime may after a failure.
    await runInDurableObject(sessionObject(id), (instance) => instance.alarm());
    expect(await storedFootprint(sessionObject(id))).toEqual(EMPTY);
    expect(await runDurableObjectAlarm(sessionObject(id))).toBe(false);
  });

  it("an alarm retried on a live session leaves it as it was", async () => {
    setNow(T0);
    const { id } = await newSession({ a: 1 });
    setNow(T0 + 10 * MINUTE);
    await runInDurableObject(sessionObject(id), (instance) => instance.alarm());
    await runInDurableObject(sessionObject(id), (instance) => instance.alarm());
    expect(await storedFootprint(sessionObject(id))).toEqual({
      tables: [],
      entries: ["session"],
      alarm: T0 + 30 * MINUTE,
    });
    expect((await sessions().get(id))?.data).toEqual({ a: 1 });
  });

  it("destroy, detach and a rotation leave no alarm behind", async () => {
    setNow(T0);
    const destroyed = await newSession();
    await sessions().destroy(destroyed.id);
    expect(await storedFootprint(sessionObject(destroyed.id))).toEqual(EMPTY);
    const rotated = await newSession();
    const next = ok(await sessions().rotate(rotated.id));
    expect(await storedFootprint(sessionObject(rotated.id))).toEqual(EMPTY);
    expect((await storedFootprint(sessionObject(next.id))).alarm).toBe(T0 + 30 * MINUTE);
  });

  it("an alarm on an object that never held a session stores nothing", async () => {
    const id = newSessionId();
    await runInDurableObject(sessionObject(id), (instance) => instance.alarm());
    expect(await storedFootprint(sessionObject(id))).toEqual(EMPTY);
  });
});
