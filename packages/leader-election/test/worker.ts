/**
 * The test Worker: the package's routes, the fencing demo, and a LeaderElection whose clock the
 * tests control.
 */
import { Hono } from "hono";
import { internalError, notFound } from "../src/http";
import { LeaderElection as BaseLeaderElection, leaderElectionRoutes } from "../src/index";
import { fencingDemo } from "./demo";

export { FencedLog } from "./demo";

/** Tests set this to freeze time; null means the real clock. */
export const testClock: { now: number | null } = { now: null };

export class LeaderElection extends BaseLeaderElection {
  protected override now(): number {
    return testClock.now ?? Date.now();
  }
}

const app = new Hono<{ Bindings: Env }>();
app.route("/", leaderElectionRoutes());
app.route("/demo/leader-election", fencingDemo({ binding: "FENCED_LOG" }));
app.notFound(notFound);
app.onError(internalError);

export default app;
