/**
 * The test Worker: the package's routes, the worker-loop demo, and a Checkpoint whose clock the
 * tests control.
 */
import { Hono } from "hono";
import { internalError, notFound } from "../src/http";
import { Checkpoint as BaseCheckpoint, checkpointRoutes } from "../src/index";
import { checkpointDemo } from "./demo";

/** Tests set this to freeze time; null means the real clock. */
export const testClock: { now: number | null } = { now: null };

export class Checkpoint extends BaseCheckpoint {
  protected override now(): number {
    return testClock.now ?? Date.now();
  }
}

const app = new Hono<{ Bindings: Env }>();
app.route("/", checkpointRoutes());
app.route("/demo/checkpoint", checkpointDemo({ binding: "CHECKPOINTS" }));
app.notFound(notFound);
app.onError(internalError);

export default app;
