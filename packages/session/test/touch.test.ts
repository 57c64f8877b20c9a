import { evictDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { touchIntervalMs } from "../src/index";
import {
  countStorageWrites,
  MINUTE,
  newSession,
  ok,
  resetClock,
  SECOND,
  sessionObject,
  sessions,
  setNow,
  storedRecord,
  T0,
} from "./helpers";

afterEach(resetClock);

const TOUCH = touchIntervalMs(30 * MINUTE);

describe("reads persist the idle timer at most once per touch interval", () => {
  it("a thousand reads within one interval write nothing", async () => {
    setNow(T0);
    const { id } = await newSession({ a: 1 });
    const writes = await countStorageWrites(sessionObject(id));
    for (let i = 0; i < 1_000; i++) {
      setNow(T0 + Math.floor((i * (TOUCH - 1)) / 999));
      expect(await sessions().get(id)).not.toBeNull();
    }
    expect(writes()).toBe(0);
  });

  it("a read every 5 seconds for half an hour writes once a minute, and the timer stays right", async () => {
    setNow(T0);
    const { id } = await newSession();
    const writes = await countStorageWrites(sessionObject(id));
    const span = 30 * MINUTE;
    let reads = 0;
    for (let t = 5 * SECOND; t <= span; t += 5 * SECOND) {
      setNow(T0 + t);
      expect(await sessions().get(id)).not.toBeNull();
      reads++;
    }
    expect(reads).toBe(360);
    expect(writes()).toBe(span / TOUCH);
    // Stored last-seen time lags the last read by less than one touch interval...
    const stored = await storedRecord(id);
    expect(T0 + span - (stored?.lastSeenAt ?? 0)).toBeLessThan(TOUCH);
    // ...so, even after an eviction forgets everything but storage, the session idles out
    // between `idle - touch` and `idle` after the last read.
    await evictDurableObject(sessionObject(id));
    setNow(T0 + span + 30 * MINUTE - TOUCH);
    expect(await sessions().peek(id)).not.toBeNull();
    setNow(T0 + span + 30 * MINUTE);
    expect(await sessions().peek(id)).toBeNull();
  });

  it("the exact bound: a read just short of an interval writes nothing; idle then counts from the stored time", async () => {
    setNow(T0);
    const { id } = await newSession();
    setNow(T0 + TOUCH - 1);
    expect((await sessions().get(id))?.expiresAt).toBe(T0 + 30 * MINUTE);
    // The last request was at TOUCH - 1, yet the session ends 30 minutes after T0: early by
    // less than one touch interval, never late.
    setNow(T0 + 30 * MINUTE);
    expect(await sessions().get(id)).toBeNull();
  });

  it("a read on the interval writes once and moves the deadline", async () => {
    setNow(T0);
    const { id } = await newSession();
    const writes = await countStorageWrites(sessionObject(id));
    setNow(T0 + TOUCH);
    expect((await sessions().get(id))?.expiresAt).toBe(T0 + TOUCH + 30 * MINUTE);
    expect(writes()).toBe(1);
    expect((await storedRecord(id))?.lastSeenAt).toBe(T0 + TOUCH);
  });

  it("a write carries the touch: no extra write for it", async () => {
    setNow(T0);
    const { id } = await newSession();
    const writes = await countStorageWrites(sessionObject(id));
    setNow(T0 + 5 * MINUTE);
    ok(await sessions().set(id, "a", 1));
    expect(writes()).toBe(1);
    expect((await storedRecord(id))?.lastSeenAt).toBe(T0 + 5 * MINUTE);
    // Deleting a field that is not there changes nothing: within the interval, no write.
    ok(await sessions().deleteFields(id, ["missing"]));
    expect(writes()).toBe(1);
  });
});
