/* oxlint-disable vitest/no-conditional-expect -- properties branch on the generated case */
/**
 * The coordinator against a tiny model, inside workerd: random registrations, key and tag
 * invalidations (hard and soft), stores that fail, alarms and clock jumps, evictions.
 */
import { evictDurableObject, runDurableObjectAlarm } from "cloudflare:test";
import * as fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { footprint, freshCoordinator, setNow, T0 } from "./helpers";
import { testClock } from "./worker";

afterEach(() => {
  testClock.now = null;
});

const KEYS = ["k0", "k1", "k2", "k3", "k4"];
const TAGS = ["t0", "t1", "t2"];
type Store = "a" | "b";

type Command =
  | { op: "register"; key: string; store: Store; tags: string[] }
  | { op: "invalidate"; key: string; soft: boolean }
  | { op: "invalidateTag"; tag: string; soft: boolean }
  | { op: "fail"; store: Store; times: number }
  | { op: "alarm"; advanceMs: number }
  | { op: "evict" };

const command: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant("register" as const),
      key: fc.constantFrom(...KEYS),
      store: fc.constantFrom<Store>("a", "b"),
      tags: fc.subarray(TAGS),
    }),
  },
  fc.record({
    op: fc.constant("invalidate" as const),
    key: fc.constantFrom(...KEYS),
    soft: fc.boolean(),
  }),
  fc.record({
    op: fc.constant("invalidateTag" as const),
    tag: fc.constantFrom(...TAGS),
    soft: fc.boolean(),
  }),
  fc.record({
    op: fc.constant("fail" as const),
    store: fc.constantFrom<Store>("a", "b"),
    times: fc.integer({ min: 1, max: 3 }),
  }),
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant("alarm" as const),
      advanceMs: fc.constantFrom(0, 400, 1_000, 10_000, 600_000),
    }),
  },
  fc.record({ op: fc.constant("evict" as const) }),
);

describe("properties against a model", () => {
  it("registrations match the model, every invalidation covers exactly its keys, and every purge ends acknowledged", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(command, { maxLength: 25 }), async (commands) => {
        let now = T0;
        setNow(now);
        const { stub, a, b } = freshCoordinator();
        const stores = { a, b };
        const model = new Map<string, { stores: Set<Store>; tags: Set<string> }>();
        for (const cmd of commands) {
          switch (cmd.op) {
            case "register": {
              stores[cmd.store].held.add(cmd.key);
              const { key, store, tags } = cmd;
              expect(await stub.register({ key, store, tags })).toEqual({ ok: true });
              const entry = model.get(cmd.key) ?? { stores: new Set(), tags: new Set() };
              entry.stores.add(cmd.store);
              for (const tag of cmd.tags) entry.tags.add(tag);
              model.set(cmd.key, entry);
              break;
            }
            case "invalidate":
            case "invalidateTag": {
              const keys =
                cmd.op === "invalidate"
                  ? model.has(cmd.key)
                    ? [cmd.key]
                    : []
                  : [...model].filter(([, e]) => e.tags.has(cmd.tag)).map(([k]) => k);
              const calls = new Set(keys.flatMap((k) => [...(model.get(k)?.stores ?? [])])).size;
              const mode = cmd.soft ? "soft" : "hard";
              const outcome =
                cmd.op === "invalidate"
                  ? await stub.invalidate(cmd.key, { mode })
                  : await stub.invalidateTag(cmd.tag, { mode });
              expect(outcome).toMatchObject({ ok: true, keys: keys.length, calls });
              if (!cmd.soft) for (const key of keys) model.delete(key);
              break;
            }
            case "fail":
              stores[cmd.store].failNext += cmd.times;
              break;
            case "alarm":
              now += cmd.advanceMs;
              setNow(now);
              await runDurableObjectAlarm(stub);
              break;
            case "evict":
              await stub.overview(); // eviction needs a running object
              await evictDurableObject(stub);
              break;
          }
        }
        for (const key of KEYS) {
          const entry = model.get(key);
          expect(await stub.lookup(key)).toEqual({
            ok: true,
            key,
            stores: [...(entry?.stores ?? [])].toSorted(),
            tags: [...(entry?.tags ?? [])].toSorted(),
          });
        }
        // Drain: with failures bounded, every queued call ends acknowledged.
        for (let i = 0; i < 50; i++) {
          const { nextAttemptAt } = await stub.overview();
          if (nextAttemptAt === null) break;
          now = Math.max(now, nextAttemptAt);
          setNow(now);
          await runDurableObjectAlarm(stub);
        }
        expect(await footprint(stub)).toMatchObject({ calls: 0, alarm: null });
        // A store still holds a key only if the coordinator still knows it is there.
        for (const store of ["a", "b"] as const) {
          for (const key of stores[store].held)
            expect(model.get(key)?.stores.has(store)).toBe(true);
        }
      }),
      { numRuns: 30 },
    );
  });
});
