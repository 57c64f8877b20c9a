/**
 * The test Worker: the package's routes, the Queue consumer, the SDK's WebSocket routing, and an
 * EventReactor whose clock and queue sends the tests control.
 */
import { routeAgentRequest } from "agents";
import { Hono } from "hono";
import { internalError, notFound } from "../src/http";
import {
  EventReactor as BaseReactor,
  brandDomain,
  eventReactorRoutes,
  type BrandEvent,
  type BrandState,
  type Command,
  type Domain,
} from "../src/index";
import { receiveCommands, receivedRoutes } from "./consumer";

/**
 * Tests set `now` to freeze time (null: the real clock), `failSends` to fail that many sends,
 * and `decide` to replace the brand domain's decision (null: the brand's own).
 */
export const testControls: {
  now: number | null;
  failSends: number;
  sends: number;
  decide: Domain<BrandState, BrandEvent>["decide"] | null;
} = { now: null, failSends: 0, sends: 0, decide: null };

export class EventReactor extends BaseReactor {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.domain = {
      ...brandDomain,
      decide: (state, event, now) => (testControls.decide ?? brandDomain.decide)(state, event, now),
    };
  }

  protected override now(): number {
    return testControls.now ?? Date.now();
  }

  // Not async, as the package's own is not: a throw from the package's (a missing binding) stays
  // a throw, and an injected failure is a rejection, so delivery meets both.
  protected override sendCommands(commands: Command[]): Promise<unknown> {
    testControls.sends++;
    if (testControls.failSends > 0) {
      testControls.failSends--;
      return Promise.reject(new Error("queue unavailable (injected by the test)"));
    }
    return super.sendCommands(commands);
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
