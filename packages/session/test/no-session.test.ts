import { exports } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { newSessionId } from "../src/index";
import {
  countStorageWrites,
  EMPTY,
  freshUser,
  hasAnyTable,
  HOUR,
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

/** Everything a caller can ask of an id, over RPC and HTTP. */
async function everyAnswer(id: string) {
  const store = sessions();
  const http = async (path: string) => {
    const response = await exports.default.fetch(
      new Request(`http://example.com${path}`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ id }),
      }),
    );
    return { status: response.status, body: await response.json() };
  };
  return {
    get: await store.get(id),
    peek: await store.peek(id),
    set: await store.set(id, "a", 1),
    merge: await store.merge(id, { a: 1 }),
    deleteFields: await store.deleteFields(id, ["a"]),
    rotate: await store.rotate(id),
    detach: await sessionObject(id).detach(),
    httpGet: await http("/get"),
    httpPeek: await http("/peek"),
    httpDestroy: await http("/destroy"),
  };
}

describe("an id that is not a live session is simply no session", () => {
  it("never issued, destroyed, rotated away and expired all get the same answers", async () => {
    setNow(T0);
    const neverIssued = newSessionId();
    const destroyed = (await newSession({ a: 1 })).id;
    await sessions().destroy(destroyed);
    const rotatedAway = (await newSession({ a: 1 })).id;
    ok(await sessions().rotate(rotatedAway));
    const expired = (await newSession({ a: 1 })).id; // its alarm has not run yet
    const user = freshUser();
    const loggedOutEverywhere = ok(await sessions().create({ userId: user })).id;
    await sessions().destroyAllForUser(user);
    setNow(T0 + 8 * HOUR);

    const reference = await everyAnswer(neverIssued);
    expect(reference.get).toBeNull();
    expect(reference.set).toEqual({
      ok: false,
      error: { code: "no_session", message: "no session: it never existed, ended or expired" },
    });
    expect(reference.httpGet).toEqual({
      status: 404,
      body: {
        error: { code: "not_found", message: "no session: it never existed, ended or expired" },
      },
    });
    expect(reference.httpDestroy).toEqual({ status: 200, body: { destroyed: false } });
    for (const id of [destroyed, rotatedAway, expired, loggedOutEverywhere]) {
      expect(await everyAnswer(id)).toEqual(reference);
    }
  });

  it("asking for an unknown id creates no storage, not even a table", async () => {
    setNow(T0);
    const id = newSessionId();
    await everyAnswer(id);
    await sessions().destroy(id);
    expect(await storedFootprint(sessionObject(id))).toEqual(EMPTY);
    expect(await hasAnyTable(sessionObject(id))).toBe(false);
    // Nor does asking a user's index about a user who never signed in.
    const user = freshUser();
    expect(await sessions().destroyAllForUser(user)).toEqual({ destroyed: 0 });
    expect(await hasAnyTable(sessionObject(`user:${user}`))).toBe(false);
  });

  it("an expired session's object writes nothing when asked, so it answers as fast as an unknown id", async () => {
    setNow(T0);
    const { id } = await newSession({ a: 1 });
    setNow(T0 + HOUR);
    const writes = await countStorageWrites(sessionObject(id));
    await everyAnswer(id);
    expect(writes()).toBe(0);
    // Its record is still there, unchanged, for the alarm to delete.
    expect((await storedFootprint(sessionObject(id))).entries).toEqual(["session"]);
  });

  it("a malformed id is no session without a call to any object", async () => {
    const store = sessions();
    expect(await store.get("not an id")).toBeNull();
    expect(await store.set("../etc", "a", 1)).toMatchObject({ error: { code: "no_session" } });
    expect(await store.rotate("x".repeat(33))).toMatchObject({ error: { code: "no_session" } });
    expect(await store.destroy("")).toEqual({ destroyed: false });
  });
});
