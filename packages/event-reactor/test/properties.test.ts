/**
 * The reactor against a tiny model, over random histories of events, retried deliveries, failing
 * sends, reviews, clock jumps and evictions: each distinct event is handled once, the state is
 * the model's, and once sends work again every command the model expects is sent, once.
 */
import { evictDurableObject } from "cloudflare:test";
import * as fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { brandDomain, initialBrandState, type BrandEvent, type BrandState } from "../src/index";
import { freshReactor, reactorFor } from "./helpers";
import { testControls } from "./worker";

afterEach(() => {
  testControls.now = null;
  testControls.failSends = 0;
});

const HOUR = 3_600_000;

const anyData = fc.oneof(
  fc.record({
    type: fc.constant("research.completed"),
    data: fc.record({
      topic: fc.constantFrom("a", "b", "c"),
      confidence: fc.constantFrom(0, 0.59, 0.6, 1),
    }),
  }),
  fc.record({
    type: fc.constant("content.published"),
    data: fc.record({
      contentId: fc.constantFrom("p1", "p2"),
      topic: fc.constant("a"),
      channel: fc.constant("blog"),
    }),
  }),
  fc.record({
    type: fc.constant("engagement.reported"),
    data: fc.record({
      contentId: fc.constant("p1"),
      impressions: fc.constant(100),
      engagements: fc.nat(100),
    }),
  }),
  fc.record({
    type: fc.constant("competitor.detected"),
    data: fc.record({
      competitor: fc.constantFrom("R", "S"),
      signal: fc.constant("launch"),
      severity: fc.integer({ min: 1, max: 5 }),
    }),
  }),
);

const op = fc.oneof(
  { weight: 5, arbitrary: anyData.map((event) => ({ kind: "event" as const, event })) },
  { weight: 2, arbitrary: fc.nat(20).map((index) => ({ kind: "retry" as const, index })) },
  {
    weight: 1,
    arbitrary: fc.integer({ min: 1, max: 3 }).map((n) => ({ kind: "fail" as const, n })),
  },
  {
    weight: 2,
    arbitrary: fc
      .integer({ min: 0, max: 30 * HOUR })
      .map((ms) => ({ kind: "advance" as const, ms })),
  },
  { weight: 1, arbitrary: fc.constant({ kind: "review" as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: "deliver" as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: "evict" as const }) },
);

describe("the reactor against a model", () => {
  it("handles each event once, matches the model's state, and sends every command once", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 25 }), async (ops) => {
        const { entity } = await freshReactor();
        let reactor = await reactorFor(entity);
        let now = Date.UTC(2026, 10, 1);
        testControls.now = now;
        testControls.failSends = 0;
        const sentEvents: {
          id: string;
          type: string;
          at: number;
          data: Record<string, unknown>;
        }[] = [];
        const handled = new Set<string>();
        let model: BrandState = initialBrandState;
        const expectedEventCommands: string[] = [];
        let reviewCommands = 0;
        const reviewTypes: string[] = [];
        const answers: (boolean | string)[] = [];
        const expectedAnswers: boolean[] = [];
        const expectedReviewTypes: string[] = [];

        for (const step of ops) {
          switch (step.kind) {
            case "event":
            case "retry": {
              const event =
                step.kind === "event"
                  ? {
                      id: `e${sentEvents.length}`,
                      type: step.event.type,
                      at: now,
                      data: { ...step.event.data },
                    }
                  : sentEvents[step.index % Math.max(1, sentEvents.length)];
              if (event === undefined) break;
              if (step.kind === "event") sentEvents.push(event);
              const result = await reactor.ingest(event);
              answers.push(result.ok ? result.duplicate : result.error.code);
              expectedAnswers.push(handled.has(event.id));
              if (!handled.has(event.id)) {
                handled.add(event.id);
                const parsed = brandDomain.parse(event);
                if (!parsed.ok) throw new Error(parsed.message);
                const outcome = brandDomain.decide(model, parsed.event as BrandEvent, now);
                model = outcome.state;
                outcome.commands.forEach((_, i) => expectedEventCommands.push(`${event.id}/${i}`));
              }
              break;
            }
            case "fail":
              testControls.failSends = step.n;
              break;
            case "advance":
              now += step.ms;
              testControls.now = now;
              break;
            case "review": {
              const outcome = brandDomain.review(model, now);
              model = outcome.state;
              const review = await reactor.reviewStaleness();
              reviewTypes.push(review.commands.map((c) => c.type).join(","));
              expectedReviewTypes.push(outcome.commands.map((c) => c.type).join(","));
              reviewCommands += review.commands.length;
              break;
            }
            case "deliver":
              await reactor.deliverOutbox();
              break;
            case "evict":
              await evictDurableObject(reactor as unknown as DurableObjectStub).catch(
                () => undefined,
              );
              reactor = await reactorFor(entity);
              break;
          }
          expect((await reactor.snapshot()).state).toEqual(model);
        }

        // Sends work again and every retry is due: the outbox drains completely.
        testControls.failSends = 0;
        testControls.now = now + 10 * 60_000;
        const report = await reactor.deliverOutbox();
        expect(report.pending).toBe(0);
        const sent = (await reactor.outboxStatus({ status: "sent", limit: 500 })).map((c) => c.id);
        expect(new Set(sent).size).toBe(sent.length);
        expect(sent.filter((id) => !id.startsWith("review@")).toSorted()).toEqual(
          expectedEventCommands.toSorted(),
        );
        expect(reviewTypes).toEqual(expectedReviewTypes);
        // Every event answered: a duplicate exactly when its id was handled before.
        expect(answers).toEqual(expectedAnswers);
        expect(sent.filter((id) => id.startsWith("review@"))).toHaveLength(reviewCommands);
      }),
      { numRuns: 25 },
    );
  });
});
