import { evictDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import {
  freshUser,
  MINUTE,
  newSession,
  ok,
  resetClock,
  sessionObject,
  sessions,
  setNow,
  storedFootprint,
  T0,
  userObject,
} from "./helpers";

afterEach(resetClock);

describe("eviction loses nothing that was acknowledged", () => {
  it("data, user, deadlines and the cleanup alarm survive", async () => {
    setNow(T0);
    const user = freshUser();
    const { id } = ok(await sessions().create({ userId: user, data: { a: 1 } }));
    ok(await sessions().set(id, "b", 2));
    ok(await sessions().merge(id, { c: [3], a: null }));
    ok(await sessions().deleteFields(id, ["b"]));
    setNow(T0 + 10 * MINUTE);
    const before = await sessions().get(id); // persists a touch

    await evictDurableObject(sessionObject(id));

    expect(await sessions().peek(id)).toEqual(before);
    expect(before).toMatchObject({ userId: user, data: { a: null, c: [3] } });
    expect((await storedFootprint(sessionObject(id))).alarm).toBe(T0 + 30 * MINUTE);
  });

  it("a rotated session and its dead old id stay that way", async () => {
    setNow(T0);
    const { id } = await newSession({ a: 1 });
    const rotated = ok(await sessions().rotate(id));
    await evictDurableObject(sessionObject(id));
    await evictDurableObject(sessionObject(rotated.id));
    expect(await sessions().get(id)).toBeNull();
    expect((await sessions().get(rotated.id))?.data).toEqual({ a: 1 });
  });

  it("a user's index survives: log out everywhere after an eviction still ends every session", async () => {
    setNow(T0);
    const user = freshUser();
    const a = ok(await sessions().create({ userId: user }));
    const b = ok(await sessions().create({ userId: user }));
    await evictDurableObject(userObject(user));
    expect(await sessions().destroyAllForUser(user)).toEqual({ destroyed: 2 });
    expect(await sessions().get(a.id)).toBeNull();
    expect(await sessions().get(b.id)).toBeNull();
  });

  it("after an eviction a session is decided from storage alone, the same as before", async () => {
    setNow(T0);
    const { id } = await newSession();
    setNow(T0 + 30 * 1_000); // within the touch interval: nothing persisted
    await sessions().get(id);
    await evictDurableObject(sessionObject(id));
    setNow(T0 + 30 * MINUTE - 1);
    expect(await sessions().peek(id)).not.toBeNull();
    setNow(T0 + 30 * MINUTE);
    expect(await sessions().peek(id)).toBeNull();
  });
});
