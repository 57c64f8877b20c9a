/**
 * The test Worker: the package's routes, the Queue consumer, the SDK's WebSocket routing, and an
 * EventReactor whose clock and queue sends the tests control.
 */
import { routeAgentRequest } from "agents";
import { Hono } from "hono";
import { internalError, notFound } from "../src/http";
import { EventReactor as BaseReactor, eventReactorRoutes, type Command } from "../src/index";
import { receiveCommands, receivedRoutes } from "./consumer";

/** Tests set `now` to freeze time (null: the real clock), and `failSends` to fail that many sends. */
export const testControls: { now: number | null; failSends: number; sends: number } = {
  now: null,
  failSends: 0,
  sends: 0,
};

export class EventReactor extends BaseReactor {
  protected override now(): number {
    return testControls.now ?? Date.now();
  }

  protected override async sendCommands(commands: Command[]): Promise<void> {
    testControls.sends++;
    if (testControls.failSends > 0) {
      testControls.failSends--;
      throw new Error("queue unavailable (injected by the test)");
    }
    await super.sendCommands(commands);
  }
}

const app = new Hono<{ Bindings: Env }>();
app.route("/", eventReactorRoutes());
app.route("/demo/event-reactor", receivedRoutes());
app.all("/agents/*", async (c) => (await routeAgentRequest(c.req.raw, c.env)) ?? notFound(c));
app.notFound(notFound);
app.onError(internalError);

export default {
  fetch: app.fetch,
  queue: (batch, env) => receiveCommands(batch as MessageBatch<Command>, env),
} satisfies ExportedHandler<Env>;
