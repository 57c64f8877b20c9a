/**
 * The README's promises as properties: the idle-timeout decision over clock jumps both ways, key
 * ranges over the characters where UTF-8 and UTF-16 order differ, value sizes, and the sidecar
 * itself in workerd against a small model.
 */
// Each step of a sequence is checked against the claim that fits it.
/* oxlint-disable vitest/no-conditional-expect */
import { evictDurableObject } from "cloudflare:test";
import * as fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MAX_VALUE_BYTES, type JsonValue } from "../src/index";
import { encodeValue } from "../src/limits";
import { compareKeys, prefixEnd } from "../src/prefix";
import { alarmAction, nextDeadline, slackFor } from "../src/ttl";
import { freshSidecar, ok, type Sidecar } from "./helpers";

const MINUTE = 60_000;

describe("the idle-timeout decision (pure)", () => {
  it("the deadline is never less than a TTL after any touch, never more than TTL + slack after the last, and moves at most once per slack", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 60 }).map((m) => m * MINUTE),
        // Clock jumps both ways: a touch never pulls the deadline earlier than it must be.
        fc.array(fc.integer({ min: -2 * 60 * MINUTE, max: 2 * 60 * MINUTE }), { maxLength: 40 }),
        (ttl, jumps) => {
          let now = 1_000_000_000;
          let deadline: number | null = null;
          let latestTouch = -Infinity;
          let lastMove = -Infinity;
          for (const jump of jumps) {
            now += jump;
            const next = nextDeadline(deadline, now, ttl);
            if (next !== null) {
              // A move happens only when needed, so never twice within one slack.
              if (deadline !== null && now >= lastMove) {
                expect(now - lastMove).toBeGreaterThan(slackFor(ttl));
              }
              deadline = next;
              lastMove = now;
            }
            latestTouch = Math.max(latestTouch, now);
            expect(deadline).not.toBeNull();
            expect(deadline!).toBeGreaterThanOrEqual(latestTouch + ttl);
            expect(deadline!).toBeLessThanOrEqual(
              latestTouch + ttl + slackFor(ttl) + 2 * 60 * MINUTE,
            );
            if (jump >= 0 && now === latestTouch && lastMove <= now) {
              // Time moving forward: at most the slack late.
              expect(deadline!).toBeLessThanOrEqual(Math.max(lastMove, now) + ttl + slackFor(ttl));
            }
          }
        },
      ),
    );
  });

  it("an alarm expires the sidecar only at or after the deadline, and only then", () => {
    fc.assert(
      fc.property(
        fc.option(fc.integer({ min: 0, max: 10_000 }), { nil: null }),
        fc.integer({ min: 0, max: 10_000 }),
        (deadline, now) => {
          const action = alarmAction(deadline, now);
          if (deadline === null) expect(action).toBe("nothing");
          else expect(action).toBe(now >= deadline ? "expire" : "rearm");
        },
      ),
    );
  });
});

/** Characters around the edges of UTF-8 vs UTF-16 order. */
const edgyChar = fc.constantFrom(
  "a",
  "b",
  "é",
  "\ud7ff",
  "\ue000",
  "\uffff",
  "😀",
  "\u{10ffff}",
  "\u0000",
);
const edgyString = fc.array(edgyChar, { maxLength: 5 }).map((chars) => chars.join(""));

function utf8Compare(a: string, b: string): number {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    if (x[i] !== y[i]) return x[i]! - y[i]!;
  }
  return x.length - y.length;
}

describe("key ranges (pure)", () => {
  it("compareKeys orders exactly as SQLite compares UTF-8 bytes", () => {
    fc.assert(
      fc.property(edgyString, edgyString, (a, b) => {
        expect(Math.sign(compareKeys(a, b))).toBe(Math.sign(utf8Compare(a, b)));
      }),
    );
  });

  it("[prefix, prefixEnd(prefix)) holds exactly the strings that start with the prefix", () => {
    fc.assert(
      fc.property(edgyString, edgyString, (prefix, key) => {
        const end = prefixEnd(prefix);
        const inRange =
          compareKeys(key, prefix) >= 0 && (end === null || compareKeys(key, end) < 0);
        expect(inRange).toBe(key.startsWith(prefix));
      }),
      { numRuns: 2_000 },
    );
  });
});

describe("listing from any cursor (in workerd)", () => {
  it("returns exactly the keys under the prefix that sort after the cursor, in SQLite's order", async () => {
    const sidecar = freshSidecar();
    const keys = ["a", "a\uffff", "a😀", "a\ue000", "ab", "b", "\uffff", "😀", "😀a", "é"];
    for (const key of keys) ok(await sidecar.set(key, 0));
    const sorted = keys.toSorted(compareKeys);
    // Every pair, not a sample: the pairs where UTF-16 and UTF-8 order disagree are few.
    for (const prefix of ["", "a", "a\uffff", "😀", "\uffff", "b"]) {
      for (const cursor of [null, ...keys, "a\ue001", "\ue000", "zz"]) {
        const page = ok(await sidecar.list({ prefix, cursor, limit: 1_000 }));
        expect(page.entries.map((entry) => entry.key)).toEqual(
          sorted.filter(
            (key) => key.startsWith(prefix) && (cursor === null || compareKeys(key, cursor) > 0),
          ),
        );
      }
    }
  });
});

describe("value sizes (pure)", () => {
  it("the byte count is the UTF-8 length of the JSON text, and the cap is exact", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const encoded = encodeValue(value);
        const json = JSON.stringify(value);
        expect(encoded).toEqual({ json, bytes: new TextEncoder().encode(json).length });
      }),
    );
    fc.assert(
      fc.property(
        fc.integer({ min: -4, max: 4 }),
        fc.constantFrom("a", "é", "€", "😀"),
        (delta, char) => {
          const unit = new TextEncoder().encode(char).length;
          const count = Math.floor((MAX_VALUE_BYTES - 2) / unit) + delta;
          const bytes = count * unit + 2;
          const encoded = encodeValue(char.repeat(count));
          if (bytes <= MAX_VALUE_BYTES) expect(encoded).toMatchObject({ bytes });
          else expect(encoded).toMatchObject({ ok: false, error: { code: "value_too_large" } });
        },
      ),
      { numRuns: 30 },
    );
  });
});

type Op =
  | { kind: "set"; key: string; value: number }
  | { kind: "delete"; key: string }
  | { kind: "append"; list: string; values: number[]; idempotencyKey?: string }
  | { kind: "deleteList"; list: string }
  | { kind: "evict" };

const keyArb = fc.constantFrom("a", "ab", "b", "b/1", "é", "😀");
const listArb = fc.constantFrom("x", "y");
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant("set" as const), key: keyArb, value: fc.integer() }),
  fc.record({ kind: fc.constant("delete" as const), key: keyArb }),
  fc.record(
    {
      kind: fc.constant("append" as const),
      list: listArb,
      values: fc.array(fc.integer({ min: 0, max: 99 }), { minLength: 1, maxLength: 4 }),
      idempotencyKey: fc.constantFrom("k1", "k2", "k3"),
    },
    { requiredKeys: ["kind", "list", "values"] },
  ),
  fc.record({ kind: fc.constant("deleteList" as const), list: listArb }),
  fc.constant({ kind: "evict" as const }),
);

async function readAll(sidecar: Sidecar, list: string, limit: number) {
  const values: JsonValue[] = [];
  let cursor: number | null = null;
  do {
    const page: { items: { value: JsonValue }[]; cursor: number | null } = ok(
      await sidecar.items(list, { cursor, limit }),
    );
    values.push(...page.items.map((item) => item.value));
    cursor = page.cursor;
  } while (cursor !== null);
  return values;
}

async function listAll(sidecar: Sidecar, prefix: string, limit: number) {
  const keys: string[] = [];
  let cursor: string | null = null;
  do {
    const page: { entries: { key: string }[]; cursor: string | null } = ok(
      await sidecar.list({ prefix, cursor, limit }),
    );
    keys.push(...page.entries.map((entry) => entry.key));
    cursor = page.cursor;
  } while (cursor !== null);
  return keys;
}

describe("the sidecar against a model (in workerd)", () => {
  it("any sequence of writes, deletes, retried appends and evictions reads back as the model says", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(opArb, { maxLength: 25 }),
        fc.integer({ min: 1, max: 3 }),
        async (ops, limit) => {
          const sidecar = freshSidecar();
          const keys = new Map<string, number>();
          const lists = new Map<string, { values: number[]; batches: Set<string> }>();
          for (const op of ops) {
            if (op.kind === "set") {
              ok(await sidecar.set(op.key, op.value));
              keys.set(op.key, op.value);
            } else if (op.kind === "delete") {
              expect(ok(await sidecar.delete(op.key)).deleted).toBe(keys.delete(op.key));
            } else if (op.kind === "append") {
              const options =
                op.idempotencyKey === undefined ? {} : { idempotencyKey: op.idempotencyKey };
              const result = ok(await sidecar.appendMany(op.list, op.values, options));
              const model = lists.get(op.list) ?? { values: [], batches: new Set<string>() };
              const duplicate =
                op.idempotencyKey !== undefined && model.batches.has(op.idempotencyKey);
              expect(result.duplicate).toBe(duplicate);
              if (!duplicate) {
                expect(result.firstSeq).toBe(model.values.length + 1);
                model.values.push(...op.values);
                if (op.idempotencyKey !== undefined) model.batches.add(op.idempotencyKey);
              }
              lists.set(op.list, model);
              expect(result.length).toBe(model.values.length);
            } else if (op.kind === "deleteList") {
              expect(ok(await sidecar.deleteList(op.list)).deleted).toBe(
                lists.get(op.list)?.values.length ?? 0,
              );
              lists.delete(op.list);
            } else {
              // Eviction needs a running object: wake it first.
              await sidecar.stats();
              await evictDurableObject(sidecar);
            }
          }
          for (const list of ["x", "y"]) {
            expect(await readAll(sidecar, list, limit)).toEqual(lists.get(list)?.values ?? []);
          }
          const sorted = [...keys.keys()].toSorted(compareKeys);
          expect(await listAll(sidecar, "", limit)).toEqual(sorted);
          expect(await listAll(sidecar, "b", limit)).toEqual(
            sorted.filter((k) => k.startsWith("b")),
          );
          for (const [key, value] of keys) expect(ok(await sidecar.get(key)).value).toBe(value);
          const items = [...lists.values()].reduce((n, l) => n + l.values.length, 0);
          const remembered = [...lists.values()].reduce((n, l) => n + l.batches.size, 0);
          expect(await sidecar.stats()).toMatchObject({
            entries: keys.size + items + remembered,
            keys: keys.size,
            lists: [...lists.values()].filter((l) => l.values.length > 0).length,
            items,
          });
          await sidecar.clear();
        },
      ),
      { numRuns: 25 },
    );
  });
});
