/**
 * The test Worker: the package's routes, a BudgetGovernor whose clock the tests control, and a
 * data plane (a real WorkerEntrypoint reached through a service binding to this same Worker)
 * whose behaviour each test sets.
 */
import { WorkerEntrypoint } from "cloudflare:workers";
import { Hono } from "hono";
import { internalError, notFound } from "../src/http";
import {
  BudgetGovernor as BaseBudgetGovernor,
  budgetGovernorRoutes,
  type RunRequest,
  type UsageReport,
} from "../src/index";

/** Tests set this to freeze time; null means the real clock. */
export const testClock: { now: number | null } = { now: null };

export class BudgetGovernor extends BaseBudgetGovernor<Env> {
  protected override now(): number {
    return testClock.now ?? Date.now();
  }
}

/** Every run the data plane received, with when it started and ended (a shared counter). */
export interface RunLog {
  request: RunRequest;
  started: number;
  ended: number | null;
}

/** What the test data plane does: by default it spends half of each budget on one item. */
export const dataPlane: {
  behaviour: (request: RunRequest) => Promise<UsageReport>;
  runs: RunLog[];
  tick: number;
} = {
  behaviour: async (request) => ({ spent: Math.floor(request.budget / 2), items: 1, errors: 0 }),
  runs: [],
  tick: 0,
};

export class TestDataPlane extends WorkerEntrypoint<Env> {
  async run(request: RunRequest): Promise<UsageReport> {
    const log: RunLog = { request, started: ++dataPlane.tick, ended: null };
    dataPlane.runs.push(log);
    try {
      return await dataPlane.behaviour(request);
    } finally {
      log.ended = ++dataPlane.tick;
    }
  }
}

const app = new Hono<{ Bindings: Env }>();
app.route("/", budgetGovernorRoutes());
app.notFound(notFound);
app.onError(internalError);

export default app;
