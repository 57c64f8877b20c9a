import { evictDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { MAX_SESSIONS_PER_USER, touchIntervalMs } from "../src/index";
import {
  countStorageWrites,
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

function afterTicks(n: number): Promise<void> {
  let chain = Promise.resolve();
  for (let i = 0; i < n; i++) chain = chain.then(() => {});
  return chain;
}

describe("concurrency", () => {
  it("hundreds of concurrent sets, merges and deletes on one session lose no field", async () => {
    setNow(T0);
    const { id } = await newSession({ doomed0: 0, doomed1: 1 });
    const calls = [
      ...Array.from({ length: 200 }, (_, i) => sessions().set(id, `set${i}`, i)),
      ...Array.from({ length: 50 }, (_, i) =>
        sessions().merge(id, { [`mergeA${i}`]: i, [`mergeB${i}`]: [i] }),
      ),
      sessions().deleteFields(id, ["doomed0"]),
      sessions().deleteFields(id, ["doomed1"]),
    ];
    const outcomes = await Promise.all(calls);
    expect(outcomes.every((outcome) => outcome.ok)).toBe(true);

    const expected: Record<string, unknown> = {};
    for (let i = 0; i < 200; i++) expected[`set${i}`] = i;
    for (let i = 0; i < 50; i++)
      Object.assign(expected, { [`mergeA${i}`]: i, [`mergeB${i}`]: [i] });
    expect((await sessions().get(id))?.data).toEqual(expected);
    await evictDurableObject(sessionObject(id));
    expect((await sessions().peek(id))?.data).toEqual(expected);
  });

  it("concurrent writes past the data cap: each is all or nothing, and the cap holds", async () => {
    setNow(T0);
    const { id } = await newSession();
    const chunk = "x".repeat(1_000);
    const outcomes = await Promise.all(
      Array.from({ length: 40 }, (_, i) => sessions().set(id, `f${i}`, chunk)),
    );
    const stored = outcomes.filter((outcome) => outcome.ok).length;
    // {"f0":"xxx...",...}: each field costs its 1,000 bytes plus 8 or 9 of name and punctuation.
    expect(stored).toBe(16);
    const data = (await sessions().get(id))?.data ?? {};
    expect(Object.keys(data)).toHaveLength(stored);
    for (const outcome of outcomes.filter((o) => !o.ok)) {
      expect(outcome).toMatchObject({ ok: false, error: { code: "data_too_large" } });
    }
  });

  it("a burst of reads at the interval's edge writes the touch exactly once", async () => {
    setNow(T0);
    const { id } = await newSession();
    const writes = await countStorageWrites(sessionObject(id));
    setNow(T0 + touchIntervalMs(30 * MINUTE));
    const views = await Promise.all(Array.from({ length: 500 }, () => sessions().get(id)));
    expect(views.every((view) => view !== null)).toBe(true);
    expect(writes()).toBe(1);
  });

  it("of concurrent rotations of one session exactly one wins; the others find no session", async () => {
    setNow(T0);
    const { id } = await newSession({ a: 1 });
    const outcomes = await Promise.all(Array.from({ length: 10 }, () => sessions().rotate(id)));
    const winners = outcomes.filter((outcome) => outcome.ok);
    expect(winners).toHaveLength(1);
    for (const outcome of outcomes.filter((o) => !o.ok)) {
      expect(outcome).toMatchObject({ error: { code: "no_session" } });
    }
    expect((await sessions().get(ok(winners[0]!).id))?.data).toEqual({ a: 1 });
  });

  it("concurrent sign-ins past the cap: the index stays bounded and log out everywhere misses none", async () => {
    setNow(T0);
    const user = freshUser();
    const outcomes = await Promise.all(
      Array.from({ length: MAX_SESSIONS_PER_USER + 16 }, () => sessions().create({ userId: user })),
    );
    const ids = outcomes.map((outcome) => ok(outcome).id);
    expect((await storedFootprint(userObject(user))).entries.length).toBeLessThanOrEqual(
      MAX_SESSIONS_PER_USER,
    );
    const live = (await Promise.all(ids.map((id) => sessions().peek(id)))).filter(Boolean);
    expect(live).toHaveLength(MAX_SESSIONS_PER_USER);
    expect(await sessions().destroyAllForUser(user)).toEqual({ destroyed: MAX_SESSIONS_PER_USER });
    for (const id of ids) expect(await sessions().peek(id)).toBeNull();
  });

  it("a rotation racing log out everywhere never leaves the session alive", async () => {
    setNow(T0);
    for (let round = 0; round < 20; round++) {
      const user = freshUser();
      const { id } = ok(await sessions().create({ userId: user, data: { round } }));
      // Start them in either order, a few microtasks apart, to vary the interleaving.
      const [rotation] = await Promise.all([
        afterTicks(round % 5).then(() => sessions().rotate(id)),
        afterTicks((round * 3) % 7).then(() => sessions().destroyAllForUser(user)),
      ]);
      expect(await sessions().peek(id)).toBeNull();
      // Either the rotation finished first, and log out everywhere found its new id, or it
      // found no session left to rotate.
      const newId = rotation.ok ? rotation.session.id : null;
      expect(newId === null ? null : await sessions().peek(newId)).toBeNull();
      expect(rotation.ok ? "rotated" : rotation.error.code).toMatch(/^(rotated|no_session)$/);
      expect((await storedFootprint(userObject(user))).entries).toEqual([]);
    }
  });
});
