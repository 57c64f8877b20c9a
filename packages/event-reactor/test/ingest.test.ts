/** Events in: each recorded once, with its state, commands and decisions in one transaction. */
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { MAX_COMMAND_BYTES, MAX_DECISIONS, MAX_REMEMBERED_EVENTS, PRUNE_STEP } from "../src/index";
import { competitor, event, freshReactor, published, research } from "./helpers";
import { testControls } from "./worker";

afterEach(() => {
  testControls.now = null;
  testControls.failSends = 0;
});

/** Writes `count` rows straight into storage, then evicts, so the object reads them on wake. */
async function fill(
  reactor: unknown,
  count: number,
  insert: (sql: SqlStorage, i: number) => void,
): Promise<void> {
  await runInDurableObject(reactor as DurableObjectStub, (_instance, state) => {
    for (let i = 0; i < count; i++) insert(state.storage.sql, i);
  });
  await evictDurableObject(reactor as DurableObjectStub);
}

function remembered(reactor: unknown, id: string): Promise<boolean> {
  return runInDurableObject(
    reactor as DurableObjectStub,
    (_instance, state) =>
      state.storage.sql.exec("SELECT 1 FROM reactor_events WHERE id = ?", id).toArray().length > 0,
  );
}

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
    expect(await rows(reactor, "reactor_commands")).toBe(1);
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
    expect(await rows(reactor, "reactor_commands")).toBe(1);
    expect(await rows(reactor, "reactor_decisions")).toBe(1);
  });

  it("dedupes concurrent deliveries of one event", async () => {
    const { reactor } = await freshReactor();
    const sent = competitor("Rival", "launch", 5);
    const results = await Promise.all(Array.from({ length: 50 }, () => reactor.ingest(sent)));
    expect(results.filter((r) => r.ok && !r.duplicate)).toHaveLength(1);
    expect((await reactor.snapshot()).state.competitors).toHaveLength(1);
    expect(await rows(reactor, "reactor_commands")).toBe(1);
  });

  it("handles 200 distinct concurrent events each exactly once", async () => {
    const { reactor } = await freshReactor();
    const events = Array.from({ length: 200 }, (_, i) => published(`post-${i}`));
    await Promise.all(events.map((e) => reactor.ingest(e)));
    expect((await reactor.snapshot()).state.published).toBe(200);
    expect(await rows(reactor, "reactor_commands")).toBe(200);
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

  it("remembers at most MAX_REMEMBERED_EVENTS ids: once full, the oldest PRUNE_STEP go", async () => {
    const { reactor } = await freshReactor();
    // Filled to one below the cap rather than by 10,000 events; the object reads the table anew.
    await fill(reactor, MAX_REMEMBERED_EVENTS - 1, (sql, i) =>
      sql.exec("INSERT INTO reactor_events (id, seen_at) VALUES (?, ?)", `old-${i}`, Date.now()),
    );
    await reactor.ingest(research("t", 0.1));
    expect(await rows(reactor, "reactor_events")).toBe(MAX_REMEMBERED_EVENTS);
    expect(await remembered(reactor, "old-0")).toBe(true);
    // Full: the next event first drops the oldest PRUNE_STEP ids, in one statement.
    await reactor.ingest(research("t", 0.1));
    expect(await rows(reactor, "reactor_events")).toBe(MAX_REMEMBERED_EVENTS - PRUNE_STEP + 1);
    expect(await remembered(reactor, `old-${PRUNE_STEP - 1}`)).toBe(false);
    expect(await remembered(reactor, `old-${PRUNE_STEP}`)).toBe(true);
    // And after a wake, the window is read back from storage: still full to the same bound.
    await evictDurableObject(reactor as unknown as DurableObjectStub);
    for (let i = 0; i < PRUNE_STEP; i++) await reactor.ingest(research("t", 0.1));
    expect(await rows(reactor, "reactor_events")).toBe(MAX_REMEMBERED_EVENTS - PRUNE_STEP + 1);
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

    await fill(reactor, MAX_DECISIONS - 4, (sql) =>
      sql.exec(
        "INSERT INTO reactor_decisions (at, cause, type, reason, facts) VALUES (0, 'x', 'filler', 'r', '{}')",
      ),
    );
    await reactor.ingest(research("c", 0.1));
    expect(await rows(reactor, "reactor_decisions")).toBe(MAX_DECISIONS);
    await reactor.ingest(research("d", 0.1));
    expect(await rows(reactor, "reactor_decisions")).toBe(MAX_DECISIONS - PRUNE_STEP + 1);
    // The oldest went: the three real decisions written before the filler.
    expect(await reactor.decisionLog({ type: "draft-content" })).toEqual([]);
    expect((await reactor.decisionLog({ limit: 1 }))[0]?.facts).toMatchObject({ topic: "d" });
  });
});

/** Runs one event through a replaced decision, checks nothing was recorded, and returns its answer. */
const NOTHING = { ok: false, error: { code: "handler_failed" } };
const refuse = async (
  decide: NonNullable<typeof testControls.decide>,
  fresh?: Awaited<ReturnType<typeof freshReactor>>,
) => {
  const { reactor } = fresh ?? (await freshReactor());
  testControls.decide = decide;
  try {
    const sent = research("t", 0.9);
    const result = await reactor.ingest(sent);
    // Nothing recorded, so the same event can be sent again once the handler is fixed.
    expect(await rows(reactor, "reactor_events")).toBe(0);
    expect(await rows(reactor, "reactor_commands")).toBe(0);
    expect(await rows(reactor, "reactor_decisions")).toBe(0);
    testControls.decide = null;
    expect(await reactor.ingest(sent)).toMatchObject({ ok: true, duplicate: false });
    return result;
  } finally {
    testControls.decide = null;
  }
};
const command = (payload: Record<string, string>) => ({ type: "big", payload });
/**
 * A command whose JSON as sent, with the id, entity and time the reactor adds, is exactly `bytes`
 * long, made of `unit` (1 or 3 UTF-8 bytes).
 */
const sized = (
  bytes: number,
  unit: string,
  sent: { id: string; entity: string; createdAt: number },
) => {
  const base = new TextEncoder().encode(
    JSON.stringify({ ...sent, ...command({ text: "" }) }),
  ).byteLength;
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
    "refuses a command whose JSON as sent is over 8 KiB (made of %s), and takes one at 8 KiB",
    async (unit) => {
      const first = await freshReactor();
      const over = await refuse(
        (state, sent, now) => ({
          state,
          commands: [
            sized(MAX_COMMAND_BYTES + 1, unit, {
              id: `${sent.id}/0`,
              entity: first.entity,
              createdAt: now,
            }),
          ],
          decisions: [],
        }),
        first,
      );
      expect(over).toMatchObject(NOTHING);
      const { entity, reactor } = await freshReactor();
      testControls.decide = (state, sent, now) => ({
        state,
        commands: [sized(MAX_COMMAND_BYTES, unit, { id: `${sent.id}/0`, entity, createdAt: now })],
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
