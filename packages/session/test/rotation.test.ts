import { afterEach, describe, expect, it } from "vitest";
import {
  EMPTY,
  freshUser,
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
  userObject,
} from "./helpers";

afterEach(resetClock);

const NO_SESSION = { ok: false, error: { code: "no_session" } };

describe("rotation: a new id, the same session, the old id dead at once", () => {
  it("keeps data, user, start time and timeouts; the old id answers no session", async () => {
    setNow(T0);
    const before = ok(
      await sessions().create({ data: { cart: ["book"] }, idleTimeoutSeconds: 600 }),
    );
    setNow(T0 + 5 * MINUTE);
    const after = ok(await sessions().rotate(before.id));
    expect(after.id).not.toBe(before.id);
    expect(after).toEqual({
      id: after.id,
      userId: null,
      data: { cart: ["book"] },
      createdAt: T0,
      // The rotation is activity; the idle timeout (10 minutes) came along.
      expiresAt: T0 + 15 * MINUTE,
      absoluteExpiresAt: T0 + 8 * HOUR,
    });
    expect(await sessions().get(before.id)).toBeNull();
    expect(await sessions().set(before.id, "x", 1)).toMatchObject(NO_SESSION);
    expect(await sessions().rotate(before.id)).toMatchObject(NO_SESSION);
    expect((await sessions().get(after.id))?.data).toEqual({ cart: ["book"] });
    // Nothing is left in the old object.
    expect(await storedFootprint(sessionObject(before.id))).toEqual(EMPTY);
  });

  it("signing in from anonymous keeps the data, sets the user and starts the lifetime now", async () => {
    setNow(T0);
    const anonymous = await newSession({ theme: "dark" });
    const user = freshUser();
    setNow(T0 + 20 * MINUTE);
    const signedIn = ok(await sessions().rotate(anonymous.id, { userId: user }));
    expect(signedIn).toMatchObject({
      userId: user,
      data: { theme: "dark" },
      createdAt: T0 + 20 * MINUTE,
      absoluteExpiresAt: T0 + 20 * MINUTE + 8 * HOUR,
    });
    expect(await sessions().get(anonymous.id)).toBeNull();
    // It is in the user's index: log out everywhere ends it.
    expect(await sessions().destroyAllForUser(user)).toEqual({ destroyed: 1 });
    expect(await sessions().get(signedIn.id)).toBeNull();
  });

  it("rotating a user's session keeps it in the index under its new id only", async () => {
    setNow(T0);
    const user = freshUser();
    const first = ok(await sessions().create({ userId: user, data: { role: "viewer" } }));
    setNow(T0 + 20 * MINUTE);
    const second = ok(await sessions().rotate(first.id));
    expect(second).toMatchObject({ userId: user, data: { role: "viewer" }, createdAt: T0 });
    expect((await storedFootprint(userObject(user))).entries).toEqual([`entry:${second.id}`]);
    expect(await sessions().destroyAllForUser(user)).toEqual({ destroyed: 1 });
    expect(await sessions().get(second.id)).toBeNull();
  });

  it("signing in as another user carries nothing over", async () => {
    setNow(T0);
    const alice = freshUser();
    const bob = freshUser();
    const hers = ok(await sessions().create({ userId: alice, data: { secret: "alice's" } }));
    setNow(T0 + 20 * MINUTE);
    const his = ok(await sessions().rotate(hers.id, { userId: bob }));
    expect(his).toMatchObject({ userId: bob, createdAt: T0 + 20 * MINUTE });
    expect(his.data).toEqual({});
    expect(await sessions().get(hers.id)).toBeNull();
  });

  it("an invalid user id is refused before the old id dies", async () => {
    setNow(T0);
    const { id } = await newSession({ a: 1 });
    expect(await sessions().rotate(id, { userId: "" })).toMatchObject({
      ok: false,
      error: { code: "invalid_input", message: "userId must not be empty" },
    });
    expect((await sessions().get(id))?.data).toEqual({ a: 1 });
  });

  it("a session past its absolute deadline cannot be rotated back to life", async () => {
    setNow(T0);
    const { id } = await newSession();
    setNow(T0 + 8 * HOUR);
    expect(await sessions().rotate(id)).toMatchObject(NO_SESSION);
    // Nor can a record be adopted past its deadline, even if a rotation handed it over late.
    setNow(T0 + 7 * HOUR);
    const record = await sessionObject((await newSession()).id).detach();
    expect(record).not.toBeNull();
    setNow(T0 + 16 * HOUR);
    const { newSessionId } = await import("../src/index");
    const target = newSessionId();
    expect(await sessionObject(target).adopt(record!)).toMatchObject(NO_SESSION);
    expect(await storedFootprint(sessionObject(target))).toEqual(EMPTY);
  });

  it("writes acknowledged before a rotation are in the new session; later ones are refused", async () => {
    setNow(T0);
    const { id } = await newSession();
    const writes = Array.from({ length: 50 }, (_, i) => sessions().set(id, `f${i}`, i));
    const rotation = sessions().rotate(id);
    const late = Array.from({ length: 50 }, (_, i) => sessions().set(id, `late${i}`, i));
    const rotated = ok(await rotation);
    const acknowledged = (await Promise.all([...writes, ...late]))
      .map((outcome, i) => ({ outcome, field: i < 50 ? `f${i}` : `late${i - 50}` }))
      .filter(({ outcome }) => outcome.ok);
    const data = (await sessions().get(rotated.id))?.data ?? {};
    for (const { field } of acknowledged) expect(data).toHaveProperty(field);
    expect(Object.keys(data).length).toBe(acknowledged.length);
  });
});
