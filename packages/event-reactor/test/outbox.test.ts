/** Commands out: sent to the real Queue, marked sent only after the send, retried until it works. */
import {
  createExecutionContext,
  createMessageBatch,
  evictDurableObject,
  getQueueResult,
  runInDurableObject,
} from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  MAX_PENDING_COMMANDS,
  PRUNE_STEP,
  SENT_HISTORY,
  retryDelayMs,
  type Command,
} from "../src/index";
import { receiveCommands, receivedCommands } from "./consumer";
import { freshReactor, published, research } from "./helpers";
import { testControls } from "./worker";

afterEach(() => {
  testControls.now = null;
  testControls.failSends = 0;
});

describe("delivery", () => {
  it("delivers a command through the real Queue to the consumer", async () => {
    const { entity, reactor } = await freshReactor();
    const sent = research("pricing", 0.9);
    await reactor.ingest(sent);
    // The consumer runs when the local queue flushes its batch (max_batch_timeout: 1 s).
    await vi.waitFor(
      async () => {
        const received = await receivedCommands(env, entity);
        expect(received.map((r) => r.command.id)).toEqual([`${sent.id}/0`]);
      },
      { timeout: 15_000, interval: 200 },
    );
    const [command] = await reactor.outboxStatus({ status: "sent" });
    expect(command).toMatchObject({ status: "sent", attempts: 1, lastError: null });
  });

  it("sends the commands it just recorded from memory, without reading the outbox back", async () => {
    const { reactor } = await freshReactor();
    await reactor.snapshot();
    const sendsBefore = testControls.sends;
    const queries = await runInDurableObject(
      reactor as unknown as DurableObjectStub,
      async (instance, state) => {
        const reactorInstance = instance as unknown as {
          ingest(input: unknown): unknown;
          deliverOutbox(): Promise<unknown>;
        };
        const sql = state.storage.sql;
        const exec = sql.exec.bind(sql);
        const seen: string[] = [];
        sql.exec = ((query: string, ...bindings: SqlStorageValue[]) => {
          seen.push(query);
          return exec(query, ...bindings);
        }) as typeof sql.exec;
        try {
          await reactorInstance.ingest(research("pricing", 0.9));
          await reactorInstance.deliverOutbox();
        } finally {
          sql.exec = exec;
        }
        return seen;
      },
    );
    expect(testControls.sends).toBe(sendsBefore + 1);
    expect(await reactor.outboxStatus()).toEqual([]);
    expect(queries.filter((query) => /SELECT[^]*FROM reactor_outbox/.test(query))).toEqual([]);
  });

  it("keeps a command pending while sends fail, retries with backoff, then marks it sent", async () => {
    const { reactor } = await freshReactor();
    const start = Date.UTC(2026, 10, 1);
    testControls.now = start;
    testControls.failSends = 2;
    await reactor.ingest(published("post-1"));
    // The first attempt (right after ingest) fails.
    await vi.waitFor(async () => {
      expect((await reactor.outboxStatus())[0]?.attempts).toBe(1);
    });
    let [pending] = await reactor.outboxStatus();
    expect(pending).toMatchObject({
      status: "pending",
      lastError: "queue unavailable (injected by the test)",
    });
    expect(pending?.nextAttemptAt).toBeGreaterThanOrEqual(start + 500);
    expect(pending?.nextAttemptAt).toBeLessThanOrEqual(start + 1_000);

    // Not due yet: nothing is attempted.
    const sendsBefore = testControls.sends;
    expect(await reactor.deliverOutbox()).toEqual({ sent: 0, pending: 1 });
    expect(testControls.sends).toBe(sendsBefore);

    testControls.now = start + 1_000;
    expect(await reactor.deliverOutbox()).toMatchObject({
      sent: 0,
      pending: 1,
      error: expect.any(String),
    });
    [pending] = await reactor.outboxStatus();
    expect(pending?.attempts).toBe(2);
    expect(pending?.nextAttemptAt).toBeGreaterThanOrEqual(start + 1_000 + 1_000);

    testControls.now = start + 10_000;
    expect(await reactor.deliverOutbox()).toEqual({ sent: 1, pending: 0 });
    expect(await reactor.outboxStatus()).toEqual([]);
    expect(await reactor.outboxStatus({ status: "sent" })).toMatchObject([
      { attempts: 3, lastError: null },
    ]);
  });

  it("schedules the retry of a failed send", async () => {
    const { reactor } = await freshReactor();
    testControls.failSends = 1;
    await reactor.ingest(published("post-1"));
    await vi.waitFor(async () => {
      expect((await reactor.outboxStatus())[0]?.attempts).toBe(1);
    });
    const schedules = await runInDurableObject(
      reactor as unknown as DurableObjectStub,
      (instance) =>
        (instance as unknown as { getSchedules(): { callback: string; time: number }[] })
          .getSchedules()
          .filter((s) => s.callback === "deliverOutbox"),
    );
    // The retry is due within a second or two; the 10 s safety net alone would not do.
    const soonest = Math.min(...schedules.map((s) => s.time * 1000));
    expect(soonest).toBeLessThanOrEqual(Date.now() + 2_500);
  });

  it("refuses events while MAX_PENDING_COMMANDS wait, and accepts them again once delivered", async () => {
    const { reactor } = await freshReactor();
    testControls.failSends = Number.MAX_SAFE_INTEGER;
    await runInDurableObject(reactor as unknown as DurableObjectStub, (_instance, state) => {
      for (let i = 0; i < MAX_PENDING_COMMANDS; i++) {
        state.storage.sql.exec(
          `INSERT INTO reactor_outbox (id, type, payload, entity, created_at, next_attempt_at)
           VALUES (?, 'x', '{}', 'e', 0, 0)`,
          `filler/${i}`,
        );
      }
    });
    // On wake the object counts them (and tries to send them, which fails).
    await evictDurableObject(reactor as unknown as DurableObjectStub);
    const refused = await reactor.ingest(published("post-1"));
    expect(refused).toMatchObject({ ok: false, error: { code: "backlogged" } });
    testControls.failSends = 0;
    // Past every retry the failed wake-up delivery set.
    testControls.now = Date.now() + 60_000;
    expect(await reactor.deliverOutbox()).toMatchObject({ pending: 0 });
    expect(await reactor.ingest(published("post-1"))).toMatchObject({ ok: true, duplicate: false });
  });

  it("keeps at most SENT_HISTORY sent commands, the newest, pruned PRUNE_STEP at a time", async () => {
    const { reactor } = await freshReactor();
    const ids: string[] = [];
    const sentRows = () =>
      runInDurableObject(
        reactor as unknown as DurableObjectStub,
        (_i, state) =>
          state.storage.sql
            .exec<{ n: number }>(
              "SELECT count(*) AS n FROM reactor_outbox WHERE sent_at IS NOT NULL",
            )
            .one().n,
      );
    const send = async (count: number) => {
      for (let i = 0; i < count; i++) {
        const result = await reactor.ingest(published(`p-${ids.length}`));
        if (!result.ok || result.duplicate) throw new Error(JSON.stringify(result));
        ids.push(...result.commands.map((command) => command.id));
        await reactor.deliverOutbox();
      }
    };
    await send(SENT_HISTORY);
    expect(await sentRows()).toBe(SENT_HISTORY);
    // One more send prunes the oldest PRUNE_STEP together.
    await send(1);
    expect(await sentRows()).toBe(SENT_HISTORY - PRUNE_STEP + 1);
    const sent = await reactor.outboxStatus({ status: "sent", limit: 1000 });
    expect(sent.map((command) => command.id)).toEqual(
      ids.slice(-(SENT_HISTORY - PRUNE_STEP + 1)).toReversed(),
    );
    // Never more than the cap, whenever it is looked at.
    await send(PRUNE_STEP - 1);
    expect(await sentRows()).toBe(SENT_HISTORY);
    await send(1);
    expect(await sentRows()).toBe(SENT_HISTORY - PRUNE_STEP + 1);
    expect(await reactor.outboxStatus()).toEqual([]);
  });
});

describe("retryDelayMs", () => {
  it("doubles from 1 s to a 5 min cap, jittered within [half, full]", () => {
    expect(retryDelayMs(1, 0)).toBe(500);
    expect(retryDelayMs(1, 1)).toBe(1_000);
    expect(retryDelayMs(3, 0)).toBe(2_000);
    expect(retryDelayMs(30, 1)).toBe(300_000);
    expect(retryDelayMs(30, 0)).toBe(150_000);
  });
});

describe("the example's consumer", () => {
  it("records each command once, counting a redelivery", async () => {
    const entity = `consumer-${crypto.randomUUID().slice(0, 8)}`;
    const command: Command = {
      id: "evt-1/0",
      entity,
      createdAt: 1,
      type: "draft-content",
      payload: { topic: "t" },
    };
    for (let delivery = 0; delivery < 2; delivery++) {
      const batch = createMessageBatch<Command>("reactor-commands", [
        { id: `m-${delivery}`, timestamp: new Date(), attempts: 1, body: command },
      ]);
      const ctx = createExecutionContext();
      await receiveCommands(batch, env);
      expect(await getQueueResult(batch, ctx)).toMatchObject({ ackAll: true });
    }
    expect(await receivedCommands(env, entity)).toEqual([
      { command, receivedAt: expect.any(Number), deliveries: 2 },
    ]);
  });
});
