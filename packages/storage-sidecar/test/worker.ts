/**
 * The test Worker: the package's routes, the Workflow demo, and a StorageSidecar whose clock the
 * tests control.
 */
import { Hono } from "hono";
import { internalError, notFound } from "../src/http";
import { StorageSidecar as BaseStorageSidecar, storageSidecarRoutes } from "../src/index";
import { sidecarDemo } from "./demo";

export { SidecarDemoWorkflow } from "./workflow";

/** Tests set this to freeze time; null means the real clock. */
export const testClock: { now: number | null } = { now: null };

export class StorageSidecar extends BaseStorageSidecar {
  protected override now(): number {
    return testClock.now ?? Date.now();
  }
}

const app = new Hono<{ Bindings: Env }>();
app.route("/", storageSidecarRoutes());
app.route("/demo/storage-sidecar", sidecarDemo());
app.notFound(notFound);
app.onError(internalError);

export default app;
