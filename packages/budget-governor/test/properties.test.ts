/* oxlint-disable vitest/no-conditional-expect -- properties branch on the generated case */
import * as fc from "fast-check";
import { runDurableObjectAlarm } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { resetWorld, setNow, spendOf, startedGovernor, T0 } from "./helpers";

afterEach(resetWorld);

type Op =
  | { kind: "reserve"; estimate: number; key: number }
  | { kind: "commit"; pick: number; actual: number }
  | { kind: "release"; pick: number }
  | { kind: "advance"; seconds: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    arbitrary: fc.record({
      kind: fc.constant("reserve" as const),
      estimate: fc.integer({ min: 1, max: 40 }),
      key: fc.integer({ min: 0, max: 12 }),
    }),
    weight: 4,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant("commit" as const),
      pick: fc.nat(),
      actual: fc.integer({ min: 0, max: 80 }),
    }),
    weight: 3,
  },
  { arbitrary: fc.record({ kind: fc.constant("release" as const), pick: fc.nat() }), weight: 1 },
  {
    arbitrary: fc.record({
      kind: fc.constant("advance" as const),
      seconds: fc.integer({ min: 1, max: 90 }),
    }),
    weight: 1,
  },
);

describe("the governor in workerd against a model", () => {
  it("property: concurrent batches of operations never overshoot, and the totals match the model", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(opArb, { minLength: 1, maxLength: 8 }), { maxLength: 6 }),
        async (batches) => {
          let now = T0;
          setNow(now);
          const governor = await startedGovernor(200); // keywords: 100
          const ids: string[] = [];
          let spent = 0;
          for (const batch of batches) {
            // A batch is sent at once: the object sees its calls in some interleaving.
            await Promise.all(
              batch.map(async (op) => {
                if (op.kind === "reserve") {
                  const outcome = await governor.reserve({
                    processorId: "keywords",
                    estimatedCost: op.estimate,
                    idempotencyKey: `key-${op.key}`,
                  });
                  if (outcome.ok && !outcome.replayed) ids.push(outcome.reservation.id);
                } else if (op.kind === "commit" && ids.length > 0) {
                  const id = ids[op.pick % ids.length] ?? "";
                  const outcome = await governor.commit(id, op.actual);
                  if (outcome.ok && !outcome.replayed) spent += op.actual;
                } else if (op.kind === "release" && ids.length > 0) {
                  await governor.release(ids[op.pick % ids.length] ?? "");
                }
              }),
            );
            const advance = batch
              .filter((op) => op.kind === "advance")
              .reduce((s, op) => s + op.seconds, 0);
            if (advance > 0) {
              now += advance * 1000;
              setNow(now);
              await runDurableObjectAlarm(governor);
            }
            const line = await spendOf(governor, "keywords");
            expect(line.committed + line.reserved).toBeLessThanOrEqual(line.allocated);
            expect(line.committed + line.overrun).toBe(spent);
            expect(line.available).toBe(line.allocated - line.committed - line.reserved);
          }
        },
      ),
      { numRuns: 15 },
    );
  });
});
