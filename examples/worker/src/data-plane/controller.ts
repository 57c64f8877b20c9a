/**
 * The simulated data plane of the adaptive controller's demo: a stateless `WorkerEntrypoint`
 * the controller reaches through the service binding CONTROLLER_DATA_PLANE (bound to this
 * Worker itself in the root wrangler.jsonc), with two knobs a person sets from the live page:
 * the share of items that fail, and how long a batch takes. The control plane (the
 * AdaptiveController object) decides; this does the work.
 */
import type { ItemResult } from "@do-patterns/adaptive-controller";
import { WorkerEntrypoint } from "cloudflare:workers";
import { KnobStore, type Knobs } from "./knobs";

export { parseKnobs, type Knobs } from "./knobs";

/** Past the demo's 3 s timeout, batches time out. */
export const DEFAULT_KNOBS: Knobs = { failureRate: 0, latencyMs: 50 };

/** The controller demo's knobs: the share of items that fail, how long a batch takes. */
export class ControllerKnobs extends KnobStore {
  protected readonly defaults = DEFAULT_KNOBS;
}

/** The one knobs object the demo uses. */
export function demoKnobs(env: Env) {
  return env.CONTROLLER_KNOBS.getByName("demo");
}

/**
 * The work source and processor: an endless queue of synthetic jobs, each of which fails with
 * the knobs' failure rate after about the knobs' latency. Processing is idempotent (it changes
 * nothing), so a batch the controller sends twice is harmless.
 */
export class ControllerDataPlane extends WorkerEntrypoint<Env> {
  private next = 0;

  async fetchBatch(size: number): Promise<string[]> {
    const base = `job-${Date.now().toString(36)}`;
    return Array.from({ length: Math.max(0, Math.min(size, 500)) }, () => `${base}-${this.next++}`);
  }

  async process(ids: string[]): Promise<ItemResult[]> {
    const knobs = await demoKnobs(this.env).get();
    if (knobs.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, knobs.latencyMs));
    return ids.map((id) => ({
      id,
      ok: Math.random() >= knobs.failureRate,
      // Spread around the knob, so the chart shows a realistic spread.
      latencyMs: Math.round(knobs.latencyMs * (0.5 + Math.random())),
    }));
  }
}
