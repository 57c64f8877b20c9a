import { afterEach, describe, expect, it } from "vitest";
import { newSessionId } from "../src/index";
import {
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

describe("a session over RPC", () => {
  it("starts with its data and deadlines, under the id it was created with", async () => {
    setNow(T0);
    const view = ok(await sessions().create({ data: { theme: "dark" } }));
    expect(view).toEqual({
      id: view.id,
      userId: null,
      data: { theme: "dark" },
      createdAt: T0,
      expiresAt: T0 + 30 * MINUTE,
      absoluteExpiresAt: T0 + 8 * HOUR,
    });
    expect(await sessions().get(view.id)).toEqual(view);
    const footprint = await storedFootprint(sessionObject(view.id));
    expect(footprint).toEqual({ tables: [], entries: ["session"], alarm: T0 + 30 * MINUTE });
  });

  it("takes its own timeouts", async () => {
    setNow(T0);
    const view = ok(
      await sessions().create({ idleTimeoutSeconds: 60, absoluteTimeoutSeconds: 90 }),
    );
    expect(view.expiresAt).toBe(T0 + MINUTE);
    expect(view.absoluteExpiresAt).toBe(T0 + 90_000);
  });

  it("sets, merges and deletes fields, answering with the session as it now is", async () => {
    setNow(T0);
    const { id } = await newSession({ a: 1 });
    expect(ok(await sessions().set(id, "b", [1, 2])).data).toEqual({ a: 1, b: [1, 2] });
    expect(ok(await sessions().merge(id, { c: { d: null }, a: 2 })).data).toEqual({
      a: 2,
      b: [1, 2],
      c: { d: null },
    });
    expect(ok(await sessions().deleteFields(id, ["b", "nope"])).data).toEqual({
      a: 2,
      c: { d: null },
    });
    expect((await sessions().get(id))?.data).toEqual({ a: 2, c: { d: null } });
  });

  it("a write counts as activity and moves the idle deadline", async () => {
    setNow(T0);
    const { id } = await newSession();
    setNow(T0 + 20 * MINUTE);
    expect(ok(await sessions().set(id, "x", 1)).expiresAt).toBe(T0 + 50 * MINUTE);
    setNow(T0 + 49 * MINUTE);
    expect(await sessions().get(id)).not.toBeNull();
  });

  it("peek reads without counting as activity", async () => {
    setNow(T0);
    const { id } = await newSession();
    setNow(T0 + 29 * MINUTE);
    expect((await sessions().peek(id))?.expiresAt).toBe(T0 + 30 * MINUTE);
    setNow(T0 + 30 * MINUTE);
    expect(await sessions().peek(id)).toBeNull();
  });

  it("refuses to start a second session under a used id, or one in a user's index object", async () => {
    setNow(T0);
    const { id } = await newSession();
    expect(await sessionObject(id).create()).toMatchObject({
      ok: false,
      error: { code: "session_exists" },
    });
    expect(await sessionObject("user:someone").create()).toMatchObject({
      ok: false,
      error: { code: "invalid_input" },
    });
    expect(await sessionObject("not-an-id").get()).toBeNull();
  });

  it("destroy ends it and deletes everything it stored", async () => {
    setNow(T0);
    const { id } = await newSession({ a: 1 });
    expect(await sessions().destroy(id)).toEqual({ destroyed: true });
    expect(await sessions().get(id)).toBeNull();
    expect(await storedFootprint(sessionObject(id))).toEqual({
      tables: [],
      entries: [],
      alarm: null,
    });
    expect(await sessions().destroy(id)).toEqual({ destroyed: false });
  });

  it("each id is its own object", async () => {
    setNow(T0);
    const a = await newSession({ who: "a" });
    const b = await newSession({ who: "b" });
    expect(a.id).not.toBe(b.id);
    await sessions().destroy(a.id);
    expect((await sessions().get(b.id))?.data).toEqual({ who: "b" });
    expect(await sessions().get(newSessionId())).toBeNull();
  });
});
