/**
 * The README's promises about the pure decisions, over the whole input space with small values
 * and clock jumps that hit the edges; and the object itself against those decisions, with
 * evictions anywhere.
 */
import { evictDurableObject } from "cloudflare:test";
import * as fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import {
  dataBytes,
  deleteFields,
  expiresAt,
  isLive,
  isSessionId,
  MAX_DATA_BYTES,
  mergeFields,
  newSessionId,
  setField,
  touched,
  touchIntervalMs,
  userObjectName,
  viewOf,
  withData,
  type SessionData,
  type SessionRecord,
  type SessionView,
} from "../src/index";
import { ok, resetClock, sessionObject, sessions, setNow, T0 } from "./helpers";

afterEach(resetClock);

const SECOND = 1_000;

/** Timeouts from the minimum up, small enough that a few jumps cross every edge. */
const timeouts = fc
  .record({
    idle: fc.integer({ min: 60, max: 1_800 }),
    absolute: fc.integer({ min: 60, max: 4 * 3_600 }),
  })
  .map(({ idle, absolute }) => ({ idleMs: idle * SECOND, absoluteMs: absolute * SECOND }));

/** Clock jumps near the edges that matter: the touch interval, the idle timeout, none at all. */
function jumps(idleMs: number) {
  const touch = touchIntervalMs(idleMs);
  return fc.array(
    fc.oneof(
      fc.constant(0),
      fc.integer({ min: 1, max: touch - 1 }),
      fc.constantFrom(touch - 1, touch, touch + 1),
      fc.integer({ min: touch, max: idleMs }),
      fc.constantFrom(idleMs - touch, idleMs - 1, idleMs, idleMs + 1),
      fc.integer({ min: 1, max: 2 * idleMs }),
    ),
    { maxLength: 60 },
  );
}

function newRecord(idleMs: number, absoluteMs: number): SessionRecord {
  return {
    userId: null,
    createdAt: T0,
    lastSeenAt: T0,
    idleTimeoutMs: idleMs,
    absoluteTimeoutMs: absoluteMs,
    data: {},
  };
}

describe("properties of the timeouts and touches", () => {
  it("a session ends between idle - touch and idle after its last request, never later, and never past its absolute deadline", () => {
    fc.assert(
      fc.property(
        timeouts.chain((t) => fc.tuple(fc.constant(t), jumps(t.idleMs))),
        ([{ idleMs, absoluteMs }, gaps]) => {
          const touch = touchIntervalMs(idleMs);
          let record = newRecord(idleMs, absoluteMs);
          let now = T0;
          let lastRequest = T0;
          let ended = false;
          for (const gap of gaps) {
            now += gap;
            const live = isLive(record, now);
            // Past either deadline, or once ended (nothing revives it), it must be dead; short
            // of both, by more than a touch interval for the idle one, it must be alive.
            const mustBeDead = ended || now >= T0 + absoluteMs || now - lastRequest >= idleMs;
            const mustBeLive =
              !ended && now < T0 + absoluteMs && now - lastRequest < idleMs - touch;
            expect({ aliveWhenItMustBeDead: live && mustBeDead }).toEqual({
              aliveWhenItMustBeDead: false,
            });
            expect({ deadWhenItMustBeAlive: !live && mustBeLive }).toEqual({
              deadWhenItMustBeAlive: false,
            });
            if (!live) {
              ended = true;
              continue;
            }
            record = touched(record, now) ?? record;
            lastRequest = now;
            // What is stored lags the last request by less than one touch interval.
            expect(lastRequest - record.lastSeenAt).toBeLessThan(touch);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it("reads write at most once per touch interval: a busy session costs about one write a minute", () => {
    fc.assert(
      fc.property(
        timeouts.chain((t) => fc.tuple(fc.constant(t), jumps(t.idleMs))),
        ([{ idleMs, absoluteMs }, gaps]) => {
          const touch = touchIntervalMs(idleMs);
          let record = newRecord(idleMs, absoluteMs);
          let now = T0;
          let writes = 0;
          for (const gap of gaps) {
            now += gap;
            if (!isLive(record, now)) break;
            const next = touched(record, now);
            if (next === undefined) continue;
            expect(next.lastSeenAt - record.lastSeenAt).toBeGreaterThanOrEqual(touch);
            record = next;
            writes++;
          }
          expect(writes).toBeLessThanOrEqual(Math.floor((record.lastSeenAt - T0) / touch));
        },
      ),
      { numRuns: 500 },
    );
  });

  it("a clock that steps back never writes, and no read or write moves a deadline earlier", () => {
    fc.assert(
      fc.property(
        timeouts,
        fc.array(fc.integer({ min: -3_600 * SECOND, max: 3_600 * SECOND }), { maxLength: 40 }),
        fc.array(fc.boolean(), { maxLength: 40 }),
        ({ idleMs, absoluteMs }, steps, writesInstead) => {
          let record = newRecord(idleMs, absoluteMs);
          let now = T0;
          for (const [i, step] of steps.entries()) {
            now += step;
            if (!isLive(record, now)) continue;
            const before = expiresAt(record);
            const next = writesInstead[i] ? withData(record, { i }, now) : touched(record, now);
            const steppedBackRead = now < record.lastSeenAt && !writesInstead[i];
            expect(steppedBackRead && next !== undefined).toBe(false);
            record = next ?? record;
            expect(expiresAt(record)).toBeGreaterThanOrEqual(before);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});

/** Field names from a small pool, so sets, merges and deletes meet the same fields. */
const fieldName = fc.constantFrom("a", "b", "c", "__proto__", "constructor", "x".repeat(128));
const value = fc.oneof(
  { weight: 5, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.string({ maxLength: 9_000 }) },
);
type Change =
  | { kind: "set"; field: string; value: unknown }
  | { kind: "merge"; fields: Record<string, unknown> }
  | { kind: "delete"; fields: string[] };
const change: fc.Arbitrary<Change> = fc.oneof(
  fc.record({ kind: fc.constant("set" as const), field: fieldName, value }),
  fc.record({
    kind: fc.constant("merge" as const),
    fields: fc
      .array(fc.tuple(fieldName, value), { maxLength: 3 })
      .map((entries) => Object.fromEntries(entries)),
  }),
  fc.record({
    kind: fc.constant("delete" as const),
    fields: fc.array(fieldName, { maxLength: 3 }),
  }),
);

function apply(data: SessionData, c: Change) {
  if (c.kind === "set") return setField(data, c.field, c.value);
  if (c.kind === "merge") return mergeFields(data, c.fields);
  return deleteFields(data, c.fields);
}

describe("properties of the data", () => {
  it("every change does exactly what a map would, or is refused whole; the cap always holds", () => {
    fc.assert(
      fc.property(fc.array(change, { maxLength: 30 }), (changes) => {
        let data: SessionData = {};
        const model = new Map<string, unknown>();
        for (const c of changes) {
          const before = structuredClone(data);
          const result = apply(data, c);
          expect(data).toEqual(before); // the input is never touched
          // Every generated value is JSON and every name valid: only the size can be refused.
          expect(result.ok ? "ok" : result.error.code).toMatch(/^(ok|data_too_large)$/);
          if (!result.ok) continue;
          if (c.kind === "set") model.set(c.field, c.value);
          if (c.kind === "merge") for (const [k, v] of Object.entries(c.fields)) model.set(k, v);
          if (c.kind === "delete") for (const k of c.fields) model.delete(k);
          data = result.data;
          expect(new Map(Object.entries(data))).toEqual(model);
          expect(dataBytes(data)).toBeLessThanOrEqual(MAX_DATA_BYTES);
          expect(Object.getPrototypeOf(data)).toBe(Object.prototype);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("a change is refused exactly when its result would pass the cap", () => {
    fc.assert(
      fc.property(fc.array(change, { maxLength: 10 }), change, (setup, last) => {
        let data: SessionData = {};
        for (const c of setup) {
          const result = apply(data, c);
          if (result.ok) data = result.data;
        }
        const result = apply(data, last);
        const tooLarge = dataBytes(applyUnchecked(data, last)) > MAX_DATA_BYTES;
        expect(result.ok ? "ok" : result.error.code).toBe(tooLarge ? "data_too_large" : "ok");
      }),
      { numRuns: 300 },
    );
  });
});

/** The change applied with no check at all. */
function applyUnchecked(data: SessionData, c: Change): SessionData {
  if (c.kind === "set") return { ...data, [c.field]: c.value } as SessionData;
  if (c.kind === "merge") return { ...data, ...c.fields } as SessionData;
  return Object.fromEntries(Object.entries(data).filter(([k]) => !c.fields.includes(k)));
}

describe("properties of ids", () => {
  it("every id issued is well formed, and no user index name ever is", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), fc.integer({ min: 1, max: 20 }), (user, n) => {
        for (let i = 0; i < n; i++) expect(isSessionId(newSessionId())).toBe(true);
        expect(isSessionId(userObjectName(user))).toBe(false);
      }),
    );
  });
});

type Op =
  | { kind: "advance"; ms: number }
  | { kind: "get" }
  | { kind: "peek" }
  | { kind: "evict" }
  | Change;

type View = (record: SessionRecord) => SessionView;

/** The answer to a read or a write from the pure functions alone, and the record it stores. */
function expectedAnswer(
  o: { kind: "get" } | { kind: "peek" } | Change,
  live: SessionRecord | null,
  now: number,
): { answer: (view: View) => unknown; record?: SessionRecord } {
  if (o.kind === "peek") return { answer: (view) => (live === null ? null : view(live)) };
  if (o.kind === "get") {
    if (live === null) return { answer: () => null };
    const record = touched(live, now) ?? live;
    return { answer: (view) => view(record), record };
  }
  if (live === null) {
    return {
      answer: () => ({
        ok: false,
        error: { code: "no_session", message: "no session: it never existed, ended or expired" },
      }),
    };
  }
  const result = apply(live.data, o);
  if (!result.ok) return { answer: () => ({ ok: false, error: result.error }) };
  const record =
    result.data === live.data ? (touched(live, now) ?? live) : withData(live, result.data, now);
  return { answer: (view) => ({ ok: true, session: view(record) }), record };
}

/** Operations on one session, with clock jumps near its own touch interval and idle timeout. */
function opsFor(idleMs: number): fc.Arbitrary<Op[]> {
  const touch = touchIntervalMs(idleMs);
  const advance = fc.oneof(
    fc.integer({ min: 0, max: touch - 1 }),
    fc.constantFrom(touch - 1, touch, idleMs - touch, idleMs - 1, idleMs),
    fc.integer({ min: 0, max: 2 * idleMs }),
  );
  const op: fc.Arbitrary<Op> = fc.oneof(
    { weight: 4, arbitrary: advance.map((ms) => ({ kind: "advance" as const, ms })) },
    { weight: 4, arbitrary: fc.constant({ kind: "get" as const }) },
    { weight: 1, arbitrary: fc.constant({ kind: "peek" as const }) },
    { weight: 2, arbitrary: fc.constant({ kind: "evict" as const }) },
    { weight: 3, arbitrary: change },
  );
  return fc.array(op, { minLength: 10, maxLength: 40 });
}

describe("the object decides exactly as the pure functions say, evicted or not", () => {
  it("random reads, writes, clock jumps and evictions on one session", async () => {
    await fc.assert(
      fc.asyncProperty(
        timeouts.chain((t) => fc.tuple(fc.constant(t), opsFor(t.idleMs))),
        async ([t, ops]) => {
          let now = T0;
          setNow(now);
          const { id } = ok(
            await sessions().create({
              idleTimeoutSeconds: t.idleMs / SECOND,
              absoluteTimeoutSeconds: t.absoluteMs / SECOND,
            }),
          );
          const view: View = (record) => viewOf(id, record);
          let model = newRecord(t.idleMs, t.absoluteMs);
          for (const o of ops) {
            if (o.kind === "advance") {
              now += o.ms;
              setNow(now);
              continue;
            }
            if (o.kind === "evict") {
              await sessions().peek(id); // wakes it (a peek writes nothing), so it can be evicted
              await evictDurableObject(sessionObject(id));
              continue;
            }
            const expected = expectedAnswer(o, isLive(model, now) ? model : null, now);
            model = expected.record ?? model;
            const actual =
              o.kind === "get"
                ? await sessions().get(id)
                : o.kind === "peek"
                  ? await sessions().peek(id)
                  : o.kind === "set"
                    ? await sessions().set(id, o.field, o.value as never)
                    : o.kind === "merge"
                      ? await sessions().merge(id, o.fields as never)
                      : await sessions().deleteFields(id, o.fields);
            expect(actual).toEqual(expected.answer(view));
          }
        },
      ),
      { numRuns: 40 },
    );
  });
});
