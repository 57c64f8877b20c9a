/** Events in: each recorded once, with its state, commands and decisions in one transaction. */
import { runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { MAX_COMMAND_BYTES, MAX_REMEMBERED_EVENTS } from "../src/index";
import { competitor, event, freshReactor, published, research } from "./helpers";
import { testControls } from "./worker";

afterEach(() => {
  testControls.now = null;
  testControls.failSends = 0;
});

function rows(reactor: unknown, table: string): Promise<number> {
  return runInDurableObject(
    reactor as DurableObjectStub,
    (_instance, state) =>
      state.storage.sql.exec<{ n: number }>(`SELECT count(*) AS n FROM ${table}`).one().n,
  );
}

describe("ingest", () => {
  it("answers with the commands and decisions it recorded, and updates the state", async () => {
    const { entity, reactor } = await freshReactor();
    const sent = research("pricing", 0.8);
    const result = await reactor.ingest(sent);
    expect(result).toEqual({
      ok: true,
      duplicate: false,
      commands: [
        {
          id: `${sent.id}/0`,
          entity,
          createdAt: expect.any(Number),
          type: "draft-content",
          payload: { topic: "pricing" },
        },
      ],
      decisions: [expect.objectContaining({ type: "draft-content" })],
    });
    const { state } = await reactor.snapshot();
    expect(state.topics).toEqual(["pricing"]);
    expect(await rows(reactor, "reactor_decisions")).toBe(1);
    expect(await rows(reactor, "reactor_outbox")).toBe(1);
  });

  it("handles a retried event once: same id, no new state, command or decision", async () => {
    const { reactor } = await freshReactor();
    const sent = published("post-1");
    await reactor.ingest(sent);
    const before = await reactor.snapshot();
    // The retry may even carry different data: the id decides.
    const retry = { ...sent, data: { ...sent.data, contentId: "post-2" } };
    expect(await reactor.ingest(retry)).toEqual({ ok: true, duplicate: true, eventId: sent.id });
    expect(await reactor.snapshot()).toEqual(before);
    expect(await rows(reactor, "reactor_outbox")).toBe(1);
    expect(await rows(reactor, "reactor_decisions")).toBe(1);
  });

  it("dedupes concurrent deliveries of one event", async () => {
    const { reactor } = await freshReactor();
    const sent = competitor("Rival", "launch", 5);
    const results = await Promise.all(Array.from({ length: 50 }, () => reactor.ingest(sent)));
    expect(results.filter((r) => r.ok && !r.duplicate)).toHaveLength(1);
    expect((await reactor.snapshot()).state.competitors).toHaveLength(1);
    expect(await rows(reactor, "reactor_outbox")).toBe(1);
  });

  it("handles 200 distinct concurrent events each exactly once", async () => {
    const { reactor } = await freshReactor();
    const events = Array.from({ length: 200 }, (_, i) => published(`post-${i}`));
    await Promise.all(events.map((e) => reactor.ingest(e)));
    expect((await reactor.snapshot()).state.published).toBe(200);
    expect(await rows(reactor, "reactor_outbox")).toBe(200);
    expect(await rows(reactor, "reactor_decisions")).toBe(200);
  });

  it("forgets event ids after 7 days, so the window is bounded in time", async () => {
    const { reactor } = await freshReactor();
    const start = Date.UTC(2026, 10, 1);
    testControls.now = start;
    const sent = research("t", 0.1);
    await reactor.ingest(sent);
    testControls.now = start + 7 * 24 * 3_600_000 + 1;
    await reactor.reviewStaleness();
    expect(await rows(reactor, "reactor_events")).toBe(0);
    expect(await reactor.ingest(sent)).toMatchObject({ ok: true, duplicate: false });
  });

  it("remembers at most MAX_REMEMBERED_EVENTS ids, dropping the oldest", async () => {
    const { reactor } = await freshReactor();
    // Pre-fill the table to the cap rather than sending 10,000 events.
    await runInDurableObject(reactor as unknown as DurableObjectStub, (_i, state) => {
      for (let i = 0; i < MAX_REMEMBERED_EVENTS; i++) {
        state.storage.sql.exec(
          "INSERT INTO reactor_events (id, seen_at) VALUES (?, ?)",
          `old-${i}`,
          Date.now(),
        );
      }
    });
    await reactor.ingest(research("t", 0.1));
    expect(await rows(reactor, "reactor_events")).toBe(MAX_REMEMBERED_EVENTS);
    const oldest = await runInDurableObject(
      reactor as unknown as DurableObjectStub,
      (_i, state) =>
        state.storage.sql.exec("SELECT 1 FROM reactor_events WHERE id = 'old-0'").toArray().length,
    );
    expect(oldest).toBe(0);
  });

  it("refuses an invalid event and records nothing", async () => {
    const { reactor } = await freshReactor();
    const result = await reactor.ingest(event("research.completed", { topic: "t", confidence: 2 }));
    expect(result).toEqual({
      ok: false,
      error: { code: "invalid_event", message: "data.confidence must be between 0 and 1" },
    });
    expect(await rows(reactor, "reactor_events")).toBe(0);
    expect(await rows(reactor, "reactor_decisions")).toBe(0);
  });
});

describe("the decision log", () => {
  it("answers newest first, by type, and keeps at most 1,000 decisions", async () => {
    const { reactor } = await freshReactor();
    await reactor.ingest(research("a", 0.9));
    await reactor.ingest(research("b", 0.1));
    await reactor.ingest(competitor("Rival", "pricing", 1));
    const all = await reactor.decisionLog();
    expect(all.map((d) => d.type)).toEqual(["note-competitor", "skip-draft", "draft-content"]);
    expect(await reactor.decisionLog({ type: "skip-draft" })).toEqual([
      expect.objectContaining({
        type: "skip-draft",
        facts: { topic: "b", confidence: 0.1, threshold: 0.6 },
      }),
    ]);
    expect(await reactor.decisionLog({ limit: 1 })).toHaveLength(1);

    await runInDurableObject(reactor as unknown as DurableObjectStub, (_i, state) => {
      for (let i = 0; i < 1_000; i++) {
        state.storage.sql.exec(
          "INSERT INTO reactor_decisions (at, cause, type, reason, facts) VALUES (0, 'x', 'filler', 'r', '{}')",
        );
      }
    });
    await reactor.ingest(research("c", 0.1));
    expect(await rows(reactor, "reactor_decisions")).toBe(1_000);
    expect((await reactor.decisionLog({ limit: 1 }))[0]?.facts).toMatchObject({ topic: "c" });
  });
});

/** Runs one event through a replaced decision, checks nothing was recorded, and returns its answer. */
const NOTHING = { ok: false, error: { code: "handler_failed" } };
const refuse = async (decide: NonNullable<typeof testControls.decide>) => {
  const { reactor } = await freshReactor();
  testControls.decide = decide;
  try {
    const sent = research("t", 0.9);
    const result = await reactor.ingest(sent);
    // Nothing recorded, so the same event can be sent again once the handler is fixed.
    expect(await rows(reactor, "reactor_events")).toBe(0);
    expect(await rows(reactor, "reactor_outbox")).toBe(0);
    expect(await rows(reactor, "reactor_decisions")).toBe(0);
    testControls.decide = null;
    expect(await reactor.ingest(sent)).toMatchObject({ ok: true, duplicate: false });
    return result;
  } finally {
    testControls.decide = null;
  }
};
const command = (payload: Record<string, string>) => ({ type: "big", payload });
/** A payload whose command JSON is exactly `bytes` long, made of `unit` (1 or 3 UTF-8 bytes). */
const sized = (bytes: number, unit: string) => {
  const base = new TextEncoder().encode(JSON.stringify(command({ text: "" }))).byteLength;
  const unitBytes = new TextEncoder().encode(unit).byteLength;
  const units = Math.floor((bytes - base) / unitBytes);
  const pad = "x".repeat(bytes - base - units * unitBytes);
  return command({ text: unit.repeat(units) + pad });
};

describe("a handler that fails or overflows the outbox", () => {
  it("refuses a handler that throws, recording nothing", async () => {
    const result = await refuse(() => {
      throw new Error("boom");
    });
    expect(result).toMatchObject(NOTHING);
    expect(result).toMatchObject({ error: { message: expect.stringContaining("boom") } });
  });

  it("refuses more than 20 commands from one event", async () => {
    const result = await refuse((state) => ({
      state,
      commands: Array.from({ length: 21 }, () => command({})),
      decisions: [],
    }));
    expect(result).toMatchObject(NOTHING);
  });

  it.each(["x", "€"])(
    "refuses a command over 8 KiB of JSON (made of %s), and takes one at 8 KiB",
    async (unit) => {
      const over = await refuse((state) => ({
        state,
        commands: [sized(MAX_COMMAND_BYTES + 1, unit)],
        decisions: [],
      }));
      expect(over).toMatchObject(NOTHING);
      const { reactor } = await freshReactor();
      testControls.decide = (state) => ({
        state,
        commands: [sized(MAX_COMMAND_BYTES, unit)],
        decisions: [],
      });
      try {
        expect(await reactor.ingest(research("t", 0.9))).toMatchObject({
          ok: true,
          duplicate: false,
        });
      } finally {
        testControls.decide = null;
      }
    },
  );
});
