/** The brand domain's pure decisions: every event type, the staleness review, and the bounds. */
import * as fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  MAX_COMPETITORS,
  MAX_TOPICS,
  PUBLISH_STALE_MS,
  RESEARCH_STALE_MS,
  brandDomain,
  initialBrandState,
  type BrandEvent,
  type BrandState,
} from "../src/brand";

const NOW = Date.UTC(2026, 10, 27, 12);
const HOUR = 3_600_000;

function decide(state: BrandState, type: string, data: Record<string, unknown>, now = NOW) {
  const parsed = brandDomain.parse({ id: "e", type, at: now, data });
  if (!parsed.ok) throw new Error(parsed.message);
  return brandDomain.decide(state, parsed.event, now);
}

describe("research.completed", () => {
  it("drafts content at confidence 0.6 and above, with the facts it used", () => {
    const outcome = decide(initialBrandState, "research.completed", {
      topic: "pricing",
      confidence: 0.6,
    });
    expect(outcome.commands).toEqual([{ type: "draft-content", payload: { topic: "pricing" } }]);
    expect(outcome.decisions).toEqual([
      {
        type: "draft-content",
        reason: expect.stringContaining("confidence 0.6, at least 0.6"),
        facts: { topic: "pricing", confidence: 0.6, threshold: 0.6 },
      },
    ]);
    expect(outcome.state.lastResearchAt).toBe(NOW);
    expect(outcome.state.topics).toEqual(["pricing"]);
  });

  it("skips drafting below 0.6 but still records the research", () => {
    const outcome = decide(initialBrandState, "research.completed", {
      topic: "pricing",
      confidence: 0.59,
    });
    expect(outcome.commands).toEqual([]);
    expect(outcome.decisions[0]?.type).toBe("skip-draft");
    expect(outcome.state.lastResearchAt).toBe(NOW);
  });

  it("clears a pending research request", () => {
    const state = {
      ...initialBrandState,
      alerts: { researchRequestedAt: NOW - HOUR, contentRequestedAt: null },
    };
    const outcome = decide(state, "research.completed", { topic: "t", confidence: 0.1 });
    expect(outcome.state.alerts.researchRequestedAt).toBeNull();
  });
});

describe("content.published", () => {
  it("schedules an engagement check and counts the publish", () => {
    const outcome = decide(initialBrandState, "content.published", {
      contentId: "post-1",
      topic: "pricing",
      channel: "blog",
    });
    expect(outcome.commands).toEqual([
      {
        type: "schedule-engagement-check",
        payload: { contentId: "post-1", channel: "blog", afterHours: 24 },
      },
    ]);
    expect(outcome.state).toMatchObject({ published: 1, lastPublishAt: NOW });
  });
});

const withAverage = (averageRate: number, reports = 3): BrandState => ({
  ...initialBrandState,
  engagement: { reports, averageRate },
});
const report = (state: BrandState, impressions: number, engagements: number) =>
  decide(state, "engagement.reported", { contentId: "post-1", impressions, engagements });

describe("engagement.reported", () => {
  it("holds until three reports give an average to compare with", () => {
    const outcome = report(withAverage(0.01, 2), 100, 50);
    expect(outcome.commands).toEqual([]);
    expect(outcome.decisions[0]?.type).toBe("hold");
    expect(outcome.state.engagement.reports).toBe(3);
  });

  it("amplifies at 2x the average, reviews at half of it, holds between", () => {
    expect(report(withAverage(0.05), 100, 10).commands[0]?.type).toBe("amplify-content");
    expect(report(withAverage(0.05), 1000, 99).commands).toEqual([]);
    expect(report(withAverage(0.05), 1000, 25).commands[0]?.type).toBe("review-content");
    expect(report(withAverage(0.05), 1000, 26).commands).toEqual([]);
  });

  it("ignores a report with no impressions and leaves the average alone", () => {
    const state = withAverage(0.05);
    const outcome = report(state, 0, 0);
    expect(outcome.decisions[0]?.type).toBe("ignore-report");
    expect(outcome.state.engagement).toEqual(state.engagement);
  });
});

describe("competitor.detected", () => {
  it("asks for research at severity 4 and above, notes below", () => {
    const severe = decide(initialBrandState, "competitor.detected", {
      competitor: "Rival",
      signal: "launch",
      severity: 4,
    });
    expect(severe.commands).toEqual([
      { type: "request-research", payload: { topic: "competitor Rival: launch" } },
    ]);
    const mild = decide(initialBrandState, "competitor.detected", {
      competitor: "Rival",
      signal: "pricing",
      severity: 3,
    });
    expect(mild.commands).toEqual([]);
    expect(mild.decisions[0]?.type).toBe("note-competitor");
  });

  it("keeps a known competitor's first sighting", () => {
    const first = decide(
      initialBrandState,
      "competitor.detected",
      { competitor: "Rival", signal: "launch", severity: 1 },
      NOW,
    );
    const again = decide(
      first.state,
      "competitor.detected",
      { competitor: "Rival", signal: "pricing", severity: 2 },
      NOW + HOUR,
    );
    expect(again.state.competitors).toEqual([
      { name: "Rival", firstSeenAt: NOW, lastSignal: "pricing", severity: 2 },
    ]);
    expect(again.decisions[0]?.facts.known).toBe(true);
  });
});

describe("the staleness review", () => {
  it("asks for research after 24 h and content after 48 h, once each", () => {
    const start = brandDomain.review(initialBrandState, NOW);
    expect(start.commands).toEqual([]);
    expect(start.state.since).toBe(NOW);

    const justBefore = brandDomain.review(start.state, NOW + RESEARCH_STALE_MS - 1);
    expect(justBefore.commands).toEqual([]);
    const day = brandDomain.review(start.state, NOW + RESEARCH_STALE_MS);
    expect(day.commands).toEqual([{ type: "request-research", payload: { reason: "stale" } }]);
    expect(day.decisions[0]?.reason).toContain("no research for 24 hours");

    const hourLater = brandDomain.review(day.state, NOW + RESEARCH_STALE_MS + HOUR);
    expect(hourLater.commands).toEqual([]);

    const twoDays = brandDomain.review(hourLater.state, NOW + PUBLISH_STALE_MS);
    expect(twoDays.commands).toEqual([{ type: "request-content", payload: { reason: "stale" } }]);
  });

  it("measures from the last research, and asks again once research has come and gone", () => {
    const asked = brandDomain.review({ ...initialBrandState, since: NOW }, NOW + RESEARCH_STALE_MS);
    const researched = decide(
      asked.state,
      "research.completed",
      { topic: "t", confidence: 0.9 },
      NOW + RESEARCH_STALE_MS + HOUR,
    );
    const later = brandDomain.review(researched.state, NOW + 2 * RESEARCH_STALE_MS + HOUR - 1);
    expect(later.commands.filter((c) => c.type === "request-research")).toEqual([]);
    const stale = brandDomain.review(researched.state, NOW + 2 * RESEARCH_STALE_MS + HOUR);
    expect(stale.commands.map((c) => c.type)).toContain("request-research");
  });
});

describe("parse", () => {
  it.each([
    ["an unknown type", "order.created", {}, "type must be one of"],
    ["a missing field", "research.completed", { topic: "t" }, "confidence"],
    [
      "an out-of-range value",
      "research.completed",
      { topic: "t", confidence: 1.5 },
      "between 0 and 1",
    ],
    [
      "an extra field",
      "content.published",
      { contentId: "c", topic: "t", channel: "blog", x: 1 },
      "unknown field",
    ],
    [
      "a wrong channel",
      "content.published",
      { contentId: "c", topic: "t", channel: "tv" },
      "channel must be one of",
    ],
    [
      "more engagements than impressions",
      "engagement.reported",
      { contentId: "c", impressions: 1, engagements: 2 },
      "must not exceed",
    ],
    [
      "a fractional severity",
      "competitor.detected",
      { competitor: "R", signal: "launch", severity: 2.5 },
      "whole number",
    ],
  ])("refuses %s", (_label, type, data, message) => {
    const parsed = brandDomain.parse({ id: "e", type, at: NOW, data });
    expect(parsed).toEqual({ ok: false, message: expect.stringContaining(message) });
  });
});

/** Any valid brand event. */
const anyEvent: fc.Arbitrary<{ type: string; data: Record<string, unknown> }> = fc.oneof(
  fc.record({
    type: fc.constant("research.completed"),
    data: fc.record({
      topic: fc.string({ minLength: 1, maxLength: 3 }),
      confidence: fc.double({ min: 0, max: 1, noNaN: true }),
    }),
  }),
  fc.record({
    type: fc.constant("content.published"),
    data: fc.record({
      contentId: fc.string({ minLength: 1, maxLength: 3 }),
      topic: fc.string({ minLength: 1, maxLength: 3 }),
      channel: fc.constantFrom("blog", "newsletter", "social"),
    }),
  }),
  fc
    .tuple(fc.string({ minLength: 1, maxLength: 3 }), fc.nat(1000), fc.nat(1000))
    .map(([contentId, a, b]) => ({
      type: "engagement.reported",
      data: { contentId, impressions: Math.max(a, b), engagements: Math.min(a, b) },
    })),
  fc.record({
    type: fc.constant("competitor.detected"),
    data: fc.record({
      competitor: fc.string({ minLength: 1, maxLength: 3 }),
      signal: fc.constantFrom("launch", "pricing", "campaign"),
      severity: fc.integer({ min: 1, max: 5 }),
    }),
  }),
);

describe("properties", () => {
  it("over any history: state stays bounded, every command has a decision, staleness asks at most once per gap", () => {
    const step = fc.oneof(
      fc.record({
        kind: fc.constant("event" as const),
        event: anyEvent,
        advance: fc.nat(6 * HOUR),
      }),
      fc.record({ kind: fc.constant("review" as const), advance: fc.nat(30 * HOUR) }),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 120 }), (steps) => {
        let state = initialBrandState;
        let now = NOW;
        let researchRequests = 0;
        for (const s of steps) {
          now += s.advance;
          let outcome;
          if (s.kind === "event") {
            const parsed = brandDomain.parse({
              id: "e",
              type: s.event.type,
              at: now,
              data: s.event.data,
            });
            if (!parsed.ok) throw new Error(`a valid event was refused: ${parsed.message}`);
            outcome = brandDomain.decide(state, parsed.event as BrandEvent, now);
            if (s.event.type === "research.completed") researchRequests = 0;
          } else {
            outcome = brandDomain.review(state, now);
            researchRequests += outcome.commands.filter(
              (c) => c.type === "request-research",
            ).length;
          }
          // One research request per gap in research, however many reviews run.
          expect(researchRequests).toBeLessThanOrEqual(1);
          for (const command of outcome.commands) {
            expect(outcome.decisions.map((d) => d.type)).toContain(command.type);
          }
          expect(outcome.decisions.length).toBeGreaterThanOrEqual(s.kind === "event" ? 1 : 0);
          state = outcome.state;
          expect(state.topics.length).toBeLessThanOrEqual(MAX_TOPICS);
          expect(state.competitors.length).toBeLessThanOrEqual(MAX_COMPETITORS);
          expect(new Set(state.competitors.map((c) => c.name)).size).toBe(state.competitors.length);
          const rate = state.engagement.averageRate ?? 0;
          expect(rate).toBeGreaterThanOrEqual(0);
          expect(rate).toBeLessThanOrEqual(1);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("a review asks for research exactly when 24 h have passed since the last research (or start) and none was asked", () => {
    fc.assert(
      fc.property(
        fc.option(fc.integer({ min: 0, max: 100 * HOUR })),
        fc.integer({ min: 0, max: 100 * HOUR }),
        fc.boolean(),
        (researchedAgo, sinceAgo, alreadyAsked) => {
          const state: BrandState = {
            ...initialBrandState,
            since: NOW - sinceAgo,
            lastResearchAt: researchedAgo === null ? null : NOW - researchedAgo,
            alerts: {
              researchRequestedAt: alreadyAsked ? NOW - 1 : null,
              contentRequestedAt: null,
            },
          };
          const age = researchedAgo ?? sinceAgo;
          const asks = brandDomain
            .review(state, NOW)
            .commands.some((c) => c.type === "request-research");
          expect(asks).toBe(age >= RESEARCH_STALE_MS && !alreadyAsked);
        },
      ),
      { numRuns: 500 },
    );
  });
});
