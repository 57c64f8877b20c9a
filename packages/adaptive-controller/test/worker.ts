/**
 * The test Worker: the package's routes, an AdaptiveController whose clock and data plane the
 * tests control, and a small data plane entrypoint reached through a real service binding
 * (CONTROLLER_DATA_PLANE, bound to this Worker itself), for the default wiring.
 */
import { WorkerEntrypoint } from "cloudflare:workers";
import { Hono } from "hono";
import { internalError, notFound } from "../src/http";
import {
  AdaptiveController as BaseController,
  adaptiveControllerRoutes,
  type Downstream,
  type ItemResult,
} from "../src/index";

/** Tests set this to freeze time; null means the real clock. */
export const testClock: { now: number | null } = { now: null };

/**
 * A downstream the test scripts: how many items the source has, what share of each batch
 * succeeds, or whether it hangs or throws. It records every call.
 */
export class ScriptedDownstream implements Downstream {
  mode: "ok" | "hang" | "throw" | "hang-process" | "throw-process" = "ok";
  /** Share of each batch that succeeds, spread evenly over the batch: floor(rate x n) items. */
  successRate = 1;
  /** Items the source still has; Infinity for an endless source. */
  remaining = Number.POSITIVE_INFINITY;
  readonly fetched: number[] = [];
  readonly processed: string[][] = [];
  private next = 0;
  private gate: Promise<void> | null = null;

  /** Holds every processor call until the returned function is called. */
  hold(): () => void {
    const { promise, resolve } = Promise.withResolvers<void>();
    this.gate = promise;
    return () => {
      this.gate = null;
      resolve();
    };
  }

  readonly source = {
    fetchBatch: async (size: number): Promise<string[]> => {
      this.fetched.push(size);
      if (this.mode === "hang") return new Promise<string[]>(() => {});
      if (this.mode === "throw") throw new Error("simulated: source unavailable");
      const count = Math.min(size, this.remaining);
      this.remaining -= count;
      return Array.from({ length: count }, () => `item-${this.next++}`);
    },
  };

  readonly processor = {
    process: async (ids: string[]): Promise<ItemResult[]> => {
      this.processed.push(ids);
      if (this.mode === "hang-process") return new Promise<ItemResult[]>(() => {});
      if (this.mode === "throw-process") throw new Error("simulated: processor crashed");
      if (this.gate !== null) await this.gate;
      const rate = this.successRate;
      return ids.map((id, i) => ({
        id,
        ok: Math.floor((i + 1) * rate) > Math.floor(i * rate),
        latencyMs: 10 + i,
      }));
    },
  };

  /** Calls that reached the downstream at all. */
  get calls(): number {
    return this.fetched.length + this.processed.length;
  }
}

/** The scripted downstream of each controller, by object name. */
export const scripts = new Map<string, ScriptedDownstream>();

export class AdaptiveController extends BaseController<Env> {
  protected override now(): number {
    return testClock.now ?? Date.now();
  }

  protected override downstream(): Downstream {
    return scripts.get(this.ctx.id.name ?? "") ?? super.downstream();
  }
}

/** The data plane the default wiring reaches over RPC: every item succeeds in 5 ms. */
export class TestDataPlane extends WorkerEntrypoint<Env> {
  async fetchBatch(size: number): Promise<string[]> {
    return Array.from({ length: size }, (_, i) => `rpc-${i}`);
  }

  async process(ids: string[]): Promise<ItemResult[]> {
    return ids.map((id) => ({ id, ok: true, latencyMs: 5 }));
  }
}

const app = new Hono<{ Bindings: Env }>();
app.route("/", adaptiveControllerRoutes());
app.notFound(notFound);
app.onError(internalError);

export default app;
