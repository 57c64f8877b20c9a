import { describe, expect, it } from "vitest";
import { expiresAt, isLive, touchIntervalMs, touched, type SessionRecord } from "../src/index";
import { HOUR, MINUTE, SECOND, T0 } from "./helpers";

const record: SessionRecord = {
  userId: null,
  createdAt: T0,
  lastSeenAt: T0,
  idleTimeoutMs: 30 * MINUTE,
  absoluteTimeoutMs: 8 * HOUR,
  data: {},
};

describe("timeouts and touches, as pure functions", () => {
  it("touches at a tenth of the idle timeout, at most once a minute", () => {
    expect(touchIntervalMs(30 * MINUTE)).toBe(MINUTE);
    expect(touchIntervalMs(10 * MINUTE)).toBe(MINUTE);
    expect(touchIntervalMs(5 * MINUTE)).toBe(30 * SECOND);
    expect(touchIntervalMs(MINUTE)).toBe(6 * SECOND);
    expect(touchIntervalMs(30 * 24 * HOUR)).toBe(MINUTE);
  });

  it("expires at the idle deadline, or the absolute one if it comes first", () => {
    expect(expiresAt(record)).toBe(T0 + 30 * MINUTE);
    const late = { ...record, lastSeenAt: T0 + 7 * HOUR + 50 * MINUTE };
    expect(expiresAt(late)).toBe(T0 + 8 * HOUR);
  });

  it("is live up to the millisecond before its deadline, and not at it", () => {
    expect(isLive(record, T0 + 30 * MINUTE - 1)).toBe(true);
    expect(isLive(record, T0 + 30 * MINUTE)).toBe(false);
  });

  it("persists a touch only once the stored last-seen time is a whole interval old", () => {
    expect(touched(record, T0)).toBeUndefined();
    expect(touched(record, T0 + MINUTE - 1)).toBeUndefined();
    expect(touched(record, T0 + MINUTE)).toEqual({ ...record, lastSeenAt: T0 + MINUTE });
    // A clock that stepped back writes nothing, and so never moves the deadline back.
    expect(touched({ ...record, lastSeenAt: T0 + HOUR }, T0)).toBeUndefined();
  });
});
