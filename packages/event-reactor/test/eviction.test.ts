/** Nothing lost to an eviction: state, decisions, and commands recorded but not yet sent. */
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { competitor, freshReactor, reactorFor, research } from "./helpers";
import { testControls } from "./worker";

afterEach(() => {
  testControls.now = null;
  testControls.failSends = 0;
});

describe("eviction", () => {
  it("an eviction between recording a command and sending it loses nothing: the next wake sends it", async () => {
    const { entity, reactor } = await freshReactor();
    const start = Date.UTC(2026, 10, 1);
    testControls.now = start;
    testControls.failSends = 1;
    const sent = competitor("Rival", "launch", 5);
    await reactor.ingest(sent);
    await vi.waitFor(async () => {
      expect((await reactor.outboxStatus())[0]?.attempts).toBe(1);
    });
    await evictDurableObject(reactor as unknown as DurableObjectStub);

    // A new instance, once the retry is due: its start delivers what was pending.
    testControls.now = start + 10_000;
    const woken = await reactorFor(entity);
    await woken.snapshot();
    // The wake itself delivers (the retry alarm is at least a second away): wait for that run,
    // if it has not already finished.
    await runInDurableObject(woken as unknown as DurableObjectStub, async (instance) => {
      await (instance as unknown as { delivering: Promise<unknown> | null }).delivering;
    });
    expect(await woken.outboxStatus()).toEqual([]);
    const [delivered] = await woken.outboxStatus({ status: "sent" });
    expect(delivered).toMatchObject({ id: `${sent.id}/0`, attempts: 2 });
  });

  it("schedules a safety-net delivery before recording a command, so an eviction cannot strand it", async () => {
    const { reactor } = await freshReactor();
    await reactor.ingest(competitor("Rival", "launch", 5));
    const schedules = await runInDurableObject(
      reactor as unknown as DurableObjectStub,
      (instance) =>
        (instance as unknown as { getSchedules(): { callback: string; type: string }[] })
          .getSchedules()
          .filter((s) => s.callback === "deliverOutbox"),
    );
    expect(schedules).toContainEqual(
      expect.objectContaining({ type: "delayed", delayInSeconds: 10 }),
    );
  });

  it("keeps state, decisions and dedupe across an eviction", async () => {
    const { entity, reactor } = await freshReactor();
    const sent = research("pricing", 0.9);
    await reactor.ingest(sent);
    const before = await reactor.snapshot();
    await evictDurableObject(reactor as unknown as DurableObjectStub);
    const woken = await reactorFor(entity);
    expect(await woken.snapshot()).toEqual(before);
    expect(await woken.decisionLog()).toHaveLength(1);
    expect(await woken.ingest(sent)).toMatchObject({ duplicate: true });
  });
});
