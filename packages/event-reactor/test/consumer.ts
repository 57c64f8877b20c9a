/**
 * The Queue consumer of the example: it records each command it receives in KV, once per
 * command id (a redelivered command is counted, not recorded twice), so a person can see what
 * arrived at `GET /demo/event-reactor/received/:entity`.
 */
import { Hono } from "hono";
import type { Command } from "../src/index";

export interface ReceivedCommand {
  command: Command;
  receivedAt: number;
  /** How many times this command id arrived: more than 1 means a redelivery was deduped. */
  deliveries: number;
}

type ConsumerEnv = { RECEIVED_COMMANDS: KVNamespace };

/** Records a batch of commands, deduped by id, then acknowledges it. */
export async function receiveCommands(
  batch: MessageBatch<Command>,
  env: ConsumerEnv,
): Promise<void> {
  for (const message of batch.messages) {
    const command = message.body;
    const key = `${command.entity}:${command.id}`;
    const seen = await env.RECEIVED_COMMANDS.get<ReceivedCommand>(key, "json");
    const record: ReceivedCommand =
      seen === null
        ? { command, receivedAt: Date.now(), deliveries: 1 }
        : { ...seen, deliveries: seen.deliveries + 1 };
    await env.RECEIVED_COMMANDS.put(key, JSON.stringify(record), { expirationTtl: 86_400 });
  }
  batch.ackAll();
}

/** The commands received for one entity, oldest id first. */
export async function receivedCommands(
  env: ConsumerEnv,
  entity: string,
): Promise<ReceivedCommand[]> {
  const list = await env.RECEIVED_COMMANDS.list({ prefix: `${entity}:`, limit: 100 });
  const records = await Promise.all(
    list.keys.map((key) => env.RECEIVED_COMMANDS.get<ReceivedCommand>(key.name, "json")),
  );
  return records.filter((record): record is ReceivedCommand => record !== null);
}

/** `GET /received/:entity`: what the consumer has received for that entity. */
export function receivedRoutes(): Hono<{ Bindings: ConsumerEnv }> {
  const app = new Hono<{ Bindings: ConsumerEnv }>();
  app.get("/received/:entity", async (c) =>
    c.json({ received: await receivedCommands(c.env, c.req.param("entity")) }),
  );
  return app;
}
