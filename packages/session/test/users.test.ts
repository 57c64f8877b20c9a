import { runDurableObjectAlarm } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { MAX_SESSIONS_PER_USER } from "../src/index";
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

async function signIn(user: string) {
  return ok(await sessions().create({ userId: user }));
}

describe("log out everywhere: a bounded index of each user's sessions", () => {
  it("ends every session of the user, and only theirs", async () => {
    setNow(T0);
    const alice = freshUser();
    const bob = freshUser();
    const hers = [await signIn(alice), await signIn(alice), await signIn(alice)];
    const his = await signIn(bob);
    const anonymous = await newSession();
    expect((await storedFootprint(userObject(alice))).entries).toHaveLength(3);

    expect(await sessions().destroyAllForUser(alice)).toEqual({ destroyed: 3 });
    for (const view of hers) expect(await sessions().get(view.id)).toBeNull();
    expect(await sessions().get(his.id)).not.toBeNull();
    expect(await sessions().get(anonymous.id)).not.toBeNull();
    // Nothing is left of her index, nor of her sessions.
    expect(await storedFootprint(userObject(alice))).toEqual(EMPTY);
    for (const view of hers) expect(await storedFootprint(sessionObject(view.id))).toEqual(EMPTY);
    expect(await sessions().destroyAllForUser(alice)).toEqual({ destroyed: 0 });
  });

  it("a logout drops the session from the index", async () => {
    setNow(T0);
    const user = freshUser();
    const a = await signIn(user);
    const b = await signIn(user);
    expect(await sessions().destroy(a.id)).toEqual({ destroyed: true });
    expect((await storedFootprint(userObject(user))).entries).toEqual([`entry:${b.id}`]);
    await sessions().destroy(b.id);
    expect(await storedFootprint(userObject(user))).toEqual(EMPTY);
  });

  it("counts only sessions still alive: an idle one is not counted as ended", async () => {
    setNow(T0);
    const user = freshUser();
    await signIn(user);
    setNow(T0 + 10 * MINUTE);
    await signIn(user);
    setNow(T0 + 35 * MINUTE); // the first is idle-expired, the second not
    expect(await sessions().destroyAllForUser(user)).toEqual({ destroyed: 1 });
    expect(await storedFootprint(userObject(user))).toEqual(EMPTY);
  });

  it(`holds at most ${MAX_SESSIONS_PER_USER}: a sign-in past it first drops ended sessions, then ends the oldest`, async () => {
    setNow(T0);
    const user = freshUser();
    const views = [];
    for (let i = 0; i < MAX_SESSIONS_PER_USER; i++) {
      setNow(T0 + i * 1_000);
      views.push(await signIn(user));
    }
    // Two end by a path that does not update the index (a destroy straight on the object).
    await sessionObject(views[3]!.id).destroy();
    await sessionObject(views[7]!.id).destroy();
    setNow(T0 + MINUTE);
    const extra = [await signIn(user), await signIn(user)];
    let entries = (await storedFootprint(userObject(user))).entries;
    expect(entries).toHaveLength(MAX_SESSIONS_PER_USER);
    expect(entries).not.toContain(`entry:${views[3]!.id}`);
    expect(await sessions().get(views[0]!.id)).not.toBeNull(); // nobody live was ended

    // Full of live sessions: the oldest ends to make room.
    const newest = await signIn(user);
    expect(await sessions().get(views[0]!.id)).toBeNull();
    entries = (await storedFootprint(userObject(user))).entries;
    expect(entries).toHaveLength(MAX_SESSIONS_PER_USER);
    expect(entries).not.toContain(`entry:${views[0]!.id}`);
    expect(entries).toContain(`entry:${newest.id}`);
    expect(entries).toContain(`entry:${extra[1]!.id}`);
    expect(await sessions().destroyAllForUser(user)).toEqual({
      destroyed: MAX_SESSIONS_PER_USER,
    });
  });

  it("the index forgets entries past their session's absolute deadline, by alarm", async () => {
    setNow(T0);
    const user = freshUser();
    await signIn(user);
    setNow(T0 + HOUR);
    const later = await signIn(user);
    const footprint = await storedFootprint(userObject(user));
    expect(footprint.entries).toHaveLength(2);
    expect(footprint.alarm).toBe(T0 + 8 * HOUR + MINUTE);

    setNow(T0 + 8 * HOUR + MINUTE);
    expect(await runDurableObjectAlarm(userObject(user))).toBe(true);
    expect(await storedFootprint(userObject(user))).toEqual({
      tables: [],
      entries: [`entry:${later.id}`],
      alarm: T0 + 9 * HOUR + MINUTE,
    });
    // A retried alarm changes nothing.
    const { runInDurableObject } = await import("cloudflare:test");
    await runInDurableObject(userObject(user), (instance) => instance.alarm());
    expect((await storedFootprint(userObject(user))).entries).toEqual([`entry:${later.id}`]);

    setNow(T0 + 9 * HOUR + MINUTE);
    await runDurableObjectAlarm(userObject(user));
    expect(await storedFootprint(userObject(user))).toEqual(EMPTY);
  });

  it("user operations on a session object do nothing; session reads on a user object find nothing", async () => {
    setNow(T0);
    const user = freshUser();
    const view = await signIn(user);
    expect(await sessionObject(view.id).endUserSessions()).toEqual({ destroyed: 0 });
    await sessionObject(view.id).forgetUserSession(view.id);
    expect(await sessionObject(view.id).startUserSession(view.id, { from: null })).toMatchObject({
      ok: false,
      error: { code: "invalid_input", message: /userObjectName/ },
    });
    expect(await sessions().get(view.id)).not.toBeNull();
    expect(await userObject(user).get()).toBeNull();
    expect(await userObject(user).set("a", 1)).toMatchObject({ error: { code: "no_session" } });
    expect(await userObject(user).destroy()).toEqual({ destroyed: false, userId: null });
  });
});
