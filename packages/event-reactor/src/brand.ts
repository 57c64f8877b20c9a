/**
 * The demo domain, from the source articles: one reactor per brand, reacting to research,
 * publishing, engagement and competitors. Replace it with your own `Domain` (see `reactor.ts`);
 * nothing else in the package knows these event types.
 *
 * Every handler is pure: state and event in, new state, commands and decisions out.
 */
import * as z from "zod/mini";
import { describeZodError } from "./http";
import type { Decision, Domain, DomainEvent, Json, Outcome, ParsedEvent } from "./reactor";

const HOUR = 3_600_000;
/** Research at or above this confidence is worth drafting content from. */
export const DRAFT_CONFIDENCE = 0.6;
/** No research for this long asks for some (once, until research arrives). */
export const RESEARCH_STALE_MS = 24 * HOUR;
/** No publish for this long asks for content (once, until something is published). */
export const PUBLISH_STALE_MS = 48 * HOUR;
/** Engagement is compared with the running average only after this many reports. */
export const MIN_REPORTS_TO_COMPARE = 3;
/** A rate at or above this multiple of the average is amplified; at or below the inverse, reviewed. */
export const ENGAGEMENT_FACTOR = 2;
/** Competitor signals at or above this severity ask for research on the competitor. */
export const COMPETITOR_RESEARCH_SEVERITY = 4;
/** Bounds on what the state keeps, so it stays small enough to send to every client. */
export const MAX_TOPICS = 20;
export const MAX_COMPETITORS = 50;

const text = (field: string, max: number) =>
  z
    .string({ error: `${field} must be a string` })
    .check(
      z.minLength(1, { error: `${field} must not be empty` }),
      z.maxLength(max, { error: `${field} must be at most ${max} characters` }),
    );
const count = (field: string) =>
  z
    .int({ error: `${field} must be a whole number` })
    .check(
      z.gte(0, { error: `${field} must be 0 or more` }),
      z.lte(1e12, { error: `${field} must be at most 1e12` }),
    );

const eventData = {
  "research.completed": z.strictObject({
    topic: text("topic", 200),
    confidence: z
      .number({ error: "confidence must be a number" })
      .check(
        z.gte(0, { error: "confidence must be between 0 and 1" }),
        z.lte(1, { error: "confidence must be between 0 and 1" }),
      ),
  }),
  "content.published": z.strictObject({
    contentId: text("contentId", 128),
    topic: text("topic", 200),
    channel: z.enum(["blog", "newsletter", "social"], {
      error: "channel must be one of blog, newsletter, social",
    }),
  }),
  "engagement.reported": z
    .strictObject({
      contentId: text("contentId", 128),
      impressions: count("impressions"),
      engagements: count("engagements"),
    })
    .check(
      z.refine((data) => data.engagements <= data.impressions, {
        error: "engagements must not exceed impressions",
      }),
    ),
  "competitor.detected": z.strictObject({
    competitor: text("competitor", 100),
    signal: z.enum(["launch", "pricing", "campaign"], {
      error: "signal must be one of launch, pricing, campaign",
    }),
    severity: z
      .int({ error: "severity must be a whole number" })
      .check(
        z.gte(1, { error: "severity must be between 1 and 5" }),
        z.lte(5, { error: "severity must be between 1 and 5" }),
      ),
  }),
};

type EventData = { [T in keyof typeof eventData]: z.infer<(typeof eventData)[T]> };
export type BrandEventType = keyof EventData;
export const BRAND_EVENT_TYPES = Object.keys(eventData) as BrandEventType[];

/** One of the brand's events, typed by its `type`. */
export type BrandEvent = { [T in BrandEventType]: DomainEvent<T, EventData[T]> }[BrandEventType];

export interface BrandState {
  /** When this brand was first seen: the start of "nothing happened yet". */
  since: number | null;
  lastResearchAt: number | null;
  lastPublishAt: number | null;
  /** The latest researched topics, newest last (at most MAX_TOPICS). */
  topics: string[];
  published: number;
  engagement: { reports: number; averageRate: number | null };
  /** Competitors seen, oldest first (at most MAX_COMPETITORS; the oldest seen drops out). */
  competitors: { name: string; firstSeenAt: number; lastSignal: string; severity: number }[];
  /** When a staleness request was sent, so the hourly cycle asks once, not every hour. */
  alerts: { researchRequestedAt: number | null; contentRequestedAt: number | null };
}

export const initialBrandState: BrandState = {
  since: null,
  lastResearchAt: null,
  lastPublishAt: null,
  topics: [],
  published: 0,
  engagement: { reports: 0, averageRate: null },
  competitors: [],
  alerts: { researchRequestedAt: null, contentRequestedAt: null },
};

type Handlers = {
  [T in BrandEventType]: (
    state: BrandState,
    event: DomainEvent<T, EventData[T]>,
    now: number,
  ) => Outcome<BrandState>;
};

const handlers: Handlers = {
  "research.completed"(state, { data }, now) {
    const next: BrandState = {
      ...state,
      lastResearchAt: now,
      topics: [...state.topics.filter((topic) => topic !== data.topic), data.topic].slice(
        -MAX_TOPICS,
      ),
      alerts: { ...state.alerts, researchRequestedAt: null },
    };
    const facts = { topic: data.topic, confidence: data.confidence, threshold: DRAFT_CONFIDENCE };
    if (data.confidence >= DRAFT_CONFIDENCE) {
      return {
        state: next,
        commands: [{ type: "draft-content", payload: { topic: data.topic } }],
        decisions: [
          decision(
            "draft-content",
            `research on "${data.topic}" came back with confidence ${data.confidence}, at least ${DRAFT_CONFIDENCE}: draft content on it`,
            facts,
          ),
        ],
      };
    }
    return {
      state: next,
      commands: [],
      decisions: [
        decision(
          "skip-draft",
          `research on "${data.topic}" came back with confidence ${data.confidence}, below ${DRAFT_CONFIDENCE}: not enough to write from`,
          facts,
        ),
      ],
    };
  },

  "content.published"(state, { data }, now) {
    return {
      state: {
        ...state,
        lastPublishAt: now,
        published: state.published + 1,
        alerts: { ...state.alerts, contentRequestedAt: null },
      },
      commands: [
        {
          type: "schedule-engagement-check",
          payload: { contentId: data.contentId, channel: data.channel, afterHours: 24 },
        },
      ],
      decisions: [
        decision(
          "schedule-engagement-check",
          `"${data.contentId}" went out on ${data.channel}: check its engagement in 24 hours`,
          { contentId: data.contentId, channel: data.channel, topic: data.topic },
        ),
      ],
    };
  },

  "engagement.reported"(state, { data }) {
    if (data.impressions === 0) {
      return {
        state,
        commands: [],
        decisions: [
          decision(
            "ignore-report",
            `"${data.contentId}" has no impressions yet: no rate to judge`,
            {
              contentId: data.contentId,
            },
          ),
        ],
      };
    }
    const rate = data.engagements / data.impressions;
    const { reports, averageRate } = state.engagement;
    // A running average that follows recent content (weight 0.2 on each new report).
    const nextAverage = averageRate === null ? rate : averageRate + (rate - averageRate) * 0.2;
    const next = { ...state, engagement: { reports: reports + 1, averageRate: nextAverage } };
    const facts = {
      contentId: data.contentId,
      rate,
      averageRate,
      reports,
      factor: ENGAGEMENT_FACTOR,
    };
    if (averageRate === null || reports < MIN_REPORTS_TO_COMPARE) {
      return {
        state: next,
        commands: [],
        decisions: [
          decision(
            "hold",
            `"${data.contentId}" engaged ${percent(rate)}; ${reports} earlier reports, fewer than the ${MIN_REPORTS_TO_COMPARE} needed to compare`,
            facts,
          ),
        ],
      };
    }
    if (rate >= averageRate * ENGAGEMENT_FACTOR) {
      return {
        state: next,
        commands: [{ type: "amplify-content", payload: { contentId: data.contentId, rate } }],
        decisions: [
          decision(
            "amplify-content",
            `"${data.contentId}" engaged ${percent(rate)}, at least ${ENGAGEMENT_FACTOR}x the average of ${percent(averageRate)}: amplify it`,
            facts,
          ),
        ],
      };
    }
    if (rate <= averageRate / ENGAGEMENT_FACTOR) {
      return {
        state: next,
        commands: [{ type: "review-content", payload: { contentId: data.contentId, rate } }],
        decisions: [
          decision(
            "review-content",
            `"${data.contentId}" engaged ${percent(rate)}, at most 1/${ENGAGEMENT_FACTOR} of the average of ${percent(averageRate)}: review it`,
            facts,
          ),
        ],
      };
    }
    return {
      state: next,
      commands: [],
      decisions: [
        decision(
          "hold",
          `"${data.contentId}" engaged ${percent(rate)}, within ${ENGAGEMENT_FACTOR}x of the average of ${percent(averageRate)}`,
          facts,
        ),
      ],
    };
  },

  "competitor.detected"(state, { data }, now) {
    const known = state.competitors.find((c) => c.name === data.competitor);
    const entry = {
      name: data.competitor,
      firstSeenAt: known?.firstSeenAt ?? now,
      lastSignal: data.signal,
      severity: data.severity,
    };
    const competitors = [
      ...state.competitors.filter((c) => c.name !== data.competitor),
      entry,
    ].slice(-MAX_COMPETITORS);
    const next = { ...state, competitors };
    const facts = {
      competitor: data.competitor,
      signal: data.signal,
      severity: data.severity,
      threshold: COMPETITOR_RESEARCH_SEVERITY,
      known: known !== undefined,
    };
    if (data.severity >= COMPETITOR_RESEARCH_SEVERITY) {
      return {
        state: next,
        commands: [
          {
            type: "request-research",
            payload: { topic: `competitor ${data.competitor}: ${data.signal}` },
          },
        ],
        decisions: [
          decision(
            "request-research",
            `${data.competitor} made a ${data.signal} move of severity ${data.severity}, at least ${COMPETITOR_RESEARCH_SEVERITY}: research it`,
            facts,
          ),
        ],
      };
    }
    return {
      state: next,
      commands: [],
      decisions: [
        decision(
          "note-competitor",
          `${data.competitor} made a ${data.signal} move of severity ${data.severity}, below ${COMPETITOR_RESEARCH_SEVERITY}: noted`,
          facts,
        ),
      ],
    };
  },
};

/**
 * The hourly cycle: asks for research after 24 h without any and for content after 48 h without
 * a publish, each once until the missing thing arrives (the request is remembered in the state).
 */
function review(state: BrandState, now: number): Outcome<BrandState> {
  const since = state.since ?? now;
  let next: BrandState = { ...state, since };
  const outcome: Outcome<BrandState> = { state: next, commands: [], decisions: [] };
  const researchAge = now - (state.lastResearchAt ?? since);
  if (researchAge >= RESEARCH_STALE_MS && state.alerts.researchRequestedAt === null) {
    next = { ...next, alerts: { ...next.alerts, researchRequestedAt: now } };
    outcome.commands.push({ type: "request-research", payload: { reason: "stale" } });
    outcome.decisions.push(
      decision(
        "request-research",
        `no research for ${hours(researchAge)} hours, at least ${hours(RESEARCH_STALE_MS)}: ask for some`,
        { lastResearchAt: state.lastResearchAt, hoursSince: hours(researchAge) },
      ),
    );
  }
  const publishAge = now - (state.lastPublishAt ?? since);
  if (publishAge >= PUBLISH_STALE_MS && state.alerts.contentRequestedAt === null) {
    next = { ...next, alerts: { ...next.alerts, contentRequestedAt: now } };
    outcome.commands.push({ type: "request-content", payload: { reason: "stale" } });
    outcome.decisions.push(
      decision(
        "request-content",
        `nothing published for ${hours(publishAge)} hours, at least ${hours(PUBLISH_STALE_MS)}: ask for content`,
        { lastPublishAt: state.lastPublishAt, hoursSince: hours(publishAge) },
      ),
    );
  }
  outcome.state = next;
  return outcome;
}

/**
 * The brand domain. Its handlers see the reactor's clock, not the event's `at`: a producer whose
 * clock runs ahead must not be able to hold off the staleness checks.
 */
export const brandDomain: Domain<BrandState, BrandEvent> = {
  initialState: initialBrandState,
  parse(event): ParsedEvent<BrandEvent> {
    if (!Object.hasOwn(eventData, event.type)) {
      return {
        ok: false,
        message: `type must be one of ${BRAND_EVENT_TYPES.join(", ")}`,
      };
    }
    const parsed = eventData[event.type as BrandEventType].safeParse(event.data);
    if (!parsed.success) {
      // Reported under `data.`, as the caller sent them.
      const issues = parsed.error.issues.map((issue) => ({
        ...issue,
        path: ["data", ...issue.path],
      }));
      return { ok: false, message: describeZodError({ ...parsed.error, issues }) };
    }
    return { ok: true, event: { ...event, data: parsed.data } as BrandEvent };
  },
  decide(state, event, now) {
    const stamped = { ...state, since: state.since ?? now };
    const handle = handlers[event.type] as (
      state: BrandState,
      event: BrandEvent,
      now: number,
    ) => Outcome<BrandState>;
    return handle(stamped, event, now);
  },
  review,
};

function decision(type: string, reason: string, facts: { [key: string]: Json }): Decision {
  return { type, reason, facts };
}

function percent(rate: number): string {
  return `${Math.round(rate * 10_000) / 100}%`;
}

function hours(ms: number): number {
  return Math.floor(ms / HOUR);
}
