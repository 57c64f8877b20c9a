/** The scheduled decision cycle: registered with cron on start, driven here by the clock. */
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { REVIEW_CRON } from "../src/index";
import { freshReactor, research } from "./helpers";
import { testControls } from "./worker";

const HOUR = 3_600_000;

afterEach(() => {
  testControls.now = null;
});

type Scheduled = { callback: string; type: string; cron?: string };

describe("the staleness review", () => {
  it("is scheduled hourly by cron, once however often the reactor wakes", async () => {
    const { reactor } = await freshReactor();
    await reactor.snapshot();
    await reactor.snapshot();
    const schedules = await runInDurableObject(
      reactor as unknown as DurableObjectStub,
      (instance) => (instance as unknown as { getSchedules(): Scheduled[] }).getSchedules(),
    );
    expect(schedules.filter((s) => s.callback === "reviewStaleness")).toEqual([
      expect.objectContaining({ type: "cron", cron: REVIEW_CRON }),
    ]);
  });

  it("asks for research after 24 h without any, once, and records why", async () => {
    const { reactor } = await freshReactor();
    const start = Date.UTC(2026, 10, 1);
    testControls.now = start;
    await reactor.ingest(research("pricing", 0.1));
    testControls.now = start + 24 * HOUR - 1;
    expect((await reactor.reviewStaleness()).commands).toEqual([]);
    testControls.now = start + 24 * HOUR;
    const review = await reactor.reviewStaleness();
    expect(review.commands).toEqual([
      expect.objectContaining({
        id: expect.stringMatching(new RegExp(`^review@${start + 24 * HOUR}-[0-9a-f]{8}/0$`)),
        type: "request-research",
      }),
    ]);
    testControls.now = start + 25 * HOUR;
    expect((await reactor.reviewStaleness()).commands).toEqual([]);
    const [logged] = await reactor.decisionLog({ type: "request-research" });
    expect(logged).toMatchObject({
      cause: expect.stringMatching(new RegExp(`^review@${start + 24 * HOUR}-`)),
      facts: { hoursSince: 24 },
    });
    expect(logged?.reason).toContain("no research for 24 hours");
  });

  it("asks for content after 48 h without a publish", async () => {
    const { reactor } = await freshReactor();
    const start = Date.UTC(2026, 10, 1);
    testControls.now = start;
    await reactor.reviewStaleness();
    testControls.now = start + 48 * HOUR;
    const types = (await reactor.reviewStaleness()).commands.map((c) => c.type);
    expect(types).toEqual(["request-research", "request-content"]);
  });

  it("a retried review records nothing twice", async () => {
    const { reactor } = await freshReactor();
    const start = Date.UTC(2026, 10, 1);
    testControls.now = start;
    await reactor.reviewStaleness();
    testControls.now = start + 48 * HOUR;
    await reactor.reviewStaleness();
    await reactor.reviewStaleness();
    expect(await reactor.outboxStatus({ status: "sent" })).toHaveLength(2);
  });

  it("runs from the SDK's alarm when its schedule is due", async () => {
    const { reactor } = await freshReactor();
    expect((await reactor.snapshot()).state.since).toBeNull();
    // The hourly cron's next run is up to an hour away: schedule the same callback for now, as
    // the cron's firing would, and let the alarm run it.
    await runInDurableObject(reactor as unknown as DurableObjectStub, async (instance) => {
      await (
        instance as unknown as { schedule(when: number, callback: string): Promise<unknown> }
      ).schedule(0, "reviewStaleness");
    });
    expect(await runDurableObjectAlarm(reactor as unknown as DurableObjectStub)).toBe(true);
    // The review ran: it stamps when it first saw the brand.
    expect((await reactor.snapshot()).state.since).toEqual(expect.any(Number));
  });
});
