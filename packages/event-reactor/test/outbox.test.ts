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
import { freshReactor, published, reactorFor, research } from "./helpers";
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
    expect(queries.filter((query) => /SELECT[^]*FROM reactor_commands/.test(query))).toEqual([]);
  });

  it("sends the commands recorded while the last record is written in one send, all marked sent", async () => {
    const { reactor } = await freshReactor();
    await reactor.snapshot();
    const sendsBefore = testControls.sends;
    const sent = [published("p-1"), published("p-2"), published("p-3"), published("p-4")];
    await runInDurableObject(reactor as unknown as DurableObjectStub, async (instance) => {
      const reactorInstance = instance as unknown as {
        ingest(input: unknown): unknown;
        deliverOutbox(): Promise<unknown>;
      };
      // One after another in one turn, as calls arriving together are handled.
      for (const event of sent) reactorInstance.ingest(event);
      await reactorInstance.deliverOutbox();
    });
    expect(testControls.sends).toBe(sendsBefore + 1);
    expect(await reactor.outboxStatus()).toEqual([]);
    const marked = await reactor.outboxStatus({ status: "sent" });
    expect(marked.map((command) => [command.id, command.attempts])).toEqual(
      sent.toReversed().map((event) => [`${event.id}/0`, 1]),
    );
  });

  it("sends nothing before its record is on disk, in every step of a delivery", async () => {
    const { reactor } = await freshReactor();
    await reactor.snapshot();
    const steps = await runInDurableObject(
      reactor as unknown as DurableObjectStub,
      async (instance, state) => {
        const reactorInstance = instance as unknown as {
          ingest(input: unknown): unknown;
          deliverOutbox(): Promise<unknown>;
          sendCommands(commands: Command[]): Promise<unknown>;
        };
        const log: string[] = [];
        const sync = state.storage.sync.bind(state.storage);
        state.storage.sync = async () => {
          await sync();
          log.push("on disk");
        };
        // The first send stays out until a second command has been recorded.
        const firstCalled = Promise.withResolvers<void>();
        const releaseFirst = Promise.withResolvers<void>();
        const send = reactorInstance.sendCommands.bind(reactorInstance);
        reactorInstance.sendCommands = (commands) => {
          log.push(`send ${commands.length}`);
          if (log.filter((step) => step.startsWith("send")).length > 1) return send(commands);
          firstCalled.resolve();
          return releaseFirst.promise.then(() => send(commands));
        };
        try {
          reactorInstance.ingest(published("p-1"));
          await firstCalled.promise;
          reactorInstance.ingest(published("p-2"));
          releaseFirst.resolve();
          await reactorInstance.deliverOutbox();
        } finally {
          state.storage.sync = sync;
          Reflect.deleteProperty(reactorInstance, "sendCommands");
        }
        return log;
      },
    );
    expect(steps).toEqual(["on disk", "send 1", "on disk", "send 1"]);
    expect(await reactor.outboxStatus()).toEqual([]);
  });

  it("marks exactly the commands sent when they are not a run of rows", async () => {
    const { entity, reactor } = await freshReactor();
    await reactor.snapshot();
    const body = (seq: number) =>
      JSON.stringify({ id: `c-${seq}`, entity, createdAt: 1, type: "x", payload: {} });
    // Pending rows 1, 3 and 5, due in the order 3, 1, 5; rows 2 and 4 were sent at time 7.
    await runInDurableObject(reactor as unknown as DurableObjectStub, (_instance, state) => {
      const insert = (seq: number, due: number, sentAt: number | null) =>
        state.storage.sql.exec(
          "INSERT INTO reactor_commands (seq, body, next_attempt_at, sent_at) VALUES (?, ?, ?, ?)",
          seq,
          body(seq),
          due,
          sentAt,
        );
      insert(1, 1, null);
      insert(2, 0, 7);
      insert(3, 0, null);
      insert(4, 0, 7);
      insert(5, 2, null);
    });
    testControls.now = Date.UTC(2026, 10, 1);
    // Read on wake, so the wake's delivery takes them from storage, in the order 3, 1, 5.
    await evictDurableObject(reactor as unknown as DurableObjectStub);
    const woken = await reactorFor(entity);
    await vi.waitFor(async () => expect(await woken.outboxStatus()).toEqual([]));
    const marked = await woken.outboxStatus({ status: "sent" });
    expect(marked.map((command) => [command.id, command.sentAt])).toEqual([
      ["c-5", testControls.now],
      ["c-4", 7],
      ["c-3", testControls.now],
      ["c-2", 7],
      ["c-1", testControls.now],
    ]);
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

  it("keeps commands pending, with the reason, while the Queue binding is missing", async () => {
    const { reactor } = await freshReactor();
    await runInDurableObject(reactor as unknown as DurableObjectStub, (instance) => {
      (instance as unknown as { commandQueueBinding: string }).commandQueueBinding = "NO_QUEUE";
    });
    await reactor.ingest(published("post-1"));
    await vi.waitFor(async () => {
      expect(await reactor.outboxStatus()).toEqual([
        expect.objectContaining({
          status: "pending",
          attempts: 1,
          lastError: expect.stringContaining('no Queue producer binding named "NO_QUEUE"'),
        }),
      ]);
    });
  });

  it("sends a command again when marking it sent failed, its count of pending kept true", async () => {
    const { entity, reactor } = await freshReactor();
    await reactor.snapshot();
    // A full sent history, so the next mark also prunes, and a prune that fails.
    await runInDurableObject(reactor as unknown as DurableObjectStub, (_instance, state) => {
      const sql = state.storage.sql;
      for (let seq = 1; seq <= SENT_HISTORY; seq++) {
        sql.exec(
          "INSERT INTO reactor_commands (seq, body, next_attempt_at, sent_at) VALUES (?, '{}', 0, 1)",
          seq,
        );
      }
      sql.exec(`CREATE TRIGGER fail_prune BEFORE DELETE ON reactor_commands
        BEGIN SELECT RAISE(ABORT, 'prune failed (injected by the test)'); END`);
    });
    await evictDurableObject(reactor as unknown as DurableObjectStub);
    const woken = await reactorFor(entity);
    const sendsBefore = testControls.sends;
    await woken.ingest(published("post-1"));
    await vi.waitFor(() => expect(testControls.sends).toBe(sendsBefore + 1));
    // Rolled back: still pending, in storage and in the count.
    expect(await woken.outboxStatus()).toHaveLength(1);
    expect(await woken.snapshot()).toMatchObject({ pendingCommands: 1 });
    await runInDurableObject(woken as unknown as DurableObjectStub, (_instance, state) => {
      state.storage.sql.exec("DROP TRIGGER fail_prune");
    });
    // Sent again (consumers dedupe on its id), and marked this time.
    testControls.now = Date.now() + 60_000;
    expect(await woken.deliverOutbox()).toMatchObject({ sent: 1, pending: 0 });
    expect(testControls.sends).toBe(sendsBefore + 2);
    expect(await woken.outboxStatus()).toEqual([]);
    expect(await woken.snapshot()).toMatchObject({ pendingCommands: 0 });
  });

  it("refuses events while MAX_PENDING_COMMANDS wait, and accepts them again once delivered", async () => {
    const { reactor } = await freshReactor();
    testControls.failSends = Number.MAX_SAFE_INTEGER;
    await runInDurableObject(reactor as unknown as DurableObjectStub, (_instance, state) => {
      for (let i = 0; i < MAX_PENDING_COMMANDS; i++) {
        state.storage.sql.exec(
          "INSERT INTO reactor_commands (body, next_attempt_at) VALUES (?, 0)",
          JSON.stringify({ id: `filler/${i}`, entity: "e", createdAt: 0, type: "x", payload: {} }),
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
              "SELECT count(*) AS n FROM reactor_commands WHERE sent_at IS NOT NULL",
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

describe("an outbox stored by an earlier version", () => {
  it("is moved on wake, pending and sent commands alike, and delivery goes on from it", async () => {
    const { entity, reactor } = await freshReactor();
    await reactor.snapshot();
    // The earlier layout kept each field of a command in its own column.
    await runInDurableObject(reactor as unknown as DurableObjectStub, (_instance, state) => {
      state.storage.sql.exec(`CREATE TABLE reactor_outbox (
          seq INTEGER PRIMARY KEY, id TEXT NOT NULL, type TEXT NOT NULL, payload TEXT NOT NULL,
          entity TEXT NOT NULL, created_at INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
          next_attempt_at INTEGER NOT NULL, sent_at INTEGER, last_error TEXT);
        INSERT INTO reactor_outbox VALUES
          (1, 'old-1/0', 'draft-content', '{"topic":"pricing"}', '${entity}', 5, 0, 0, 7, NULL),
          (2, 'old-2/0', 'request-research', '{"reason":"stale"}', '${entity}', 6, 1, 0, NULL, 'queue down');`);
    });
    testControls.failSends = Number.MAX_SAFE_INTEGER;
    await evictDurableObject(reactor as unknown as DurableObjectStub);
    expect(await reactor.outboxStatus({ status: "sent" })).toEqual([
      expect.objectContaining({
        id: "old-1/0",
        entity,
        createdAt: 5,
        type: "draft-content",
        payload: { topic: "pricing" },
        sentAt: 7,
      }),
    ]);
    expect(await reactor.outboxStatus()).toEqual([
      expect.objectContaining({
        id: "old-2/0",
        entity,
        createdAt: 6,
        type: "request-research",
        payload: { reason: "stale" },
        status: "pending",
      }),
    ]);
    const tables = await runInDurableObject(
      reactor as unknown as DurableObjectStub,
      (_instance, state) =>
        state.storage.sql
          .exec<{ name: string }>("SELECT name FROM sqlite_master WHERE name = 'reactor_outbox'")
          .toArray(),
    );
    expect(tables).toEqual([]);
    testControls.failSends = 0;
    testControls.now = Date.now() + 60_000;
    expect(await reactor.deliverOutbox()).toMatchObject({ sent: 1, pending: 0 });
    // New commands follow the moved ones.
    const next = research("pricing", 0.9);
    expect(await reactor.ingest(next)).toMatchObject({ ok: true, duplicate: false });
    await reactor.deliverOutbox();
    const sent = await reactor.outboxStatus({ status: "sent" });
    expect(sent.map((command) => command.id)).toEqual([`${next.id}/0`, "old-2/0", "old-1/0"]);
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
