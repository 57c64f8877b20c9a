/**
 * The simulated data plane of the budget governor's demo: a stateless `WorkerEntrypoint` the
 * governor reaches through the service binding GOVERNOR_DATA_PLANE (bound to this Worker itself
 * in the root wrangler.jsonc). Each `run` makes simulated model calls within the budget it is
 * given and reports what it spent. Two knobs, set from the live page through the same binding:
 * the share of calls that fail, and how long a run takes. The governor decides; this does the
 * work.
 */
import type { RunRequest, UsageReport } from "@do-patterns/budget-governor";
import { WorkerEntrypoint } from "cloudflare:workers";
import { KnobStore, type Knobs } from "./knobs";

export const DEFAULT_GOVERNOR_KNOBS: Knobs = { failureRate: 0, latencyMs: 1_500 };
/** Calls one run makes at most, whatever its budget: a demo, not a load test. */
const MAX_CALLS_PER_RUN = 40;

/**
 * The governor demo's knobs: the share of calls that fail (at 1 every run throws: the data plane
 * is down), how long a run takes.
 */
export class GovernorKnobStore extends KnobStore {
  protected readonly defaults = DEFAULT_GOVERNOR_KNOBS;
}

/**
 * The processors' work: for each run, up to `budget / costPerCall` simulated model calls (at
 * most 40, and a random 50-100% of what the budget allows, as real work rarely uses all of it),
 * each failing with the knobs' failure rate. A failed call costs as much as a good one, so
 * failures show as spend without items. Nothing here keeps state: the governor does.
 */
export class GovernorDataPlane extends WorkerEntrypoint<Env> {
  async run(request: RunRequest): Promise<UsageReport> {
    const knobs = await this.knobs();
    if (knobs.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, knobs.latencyMs));
    if (knobs.failureRate >= 1) {
      throw new Error(`${request.model} is unavailable (the demo's failure rate is 100%)`);
    }
    const affordable =
      request.costPerCall === 0
        ? MAX_CALLS_PER_RUN
        : Math.floor(request.budget / request.costPerCall);
    const calls = Math.min(MAX_CALLS_PER_RUN, Math.ceil(affordable * (0.5 + Math.random() / 2)));
    let errors = 0;
    for (let i = 0; i < calls; i++) if (Math.random() < knobs.failureRate) errors++;
    return { spent: calls * request.costPerCall, items: calls - errors, errors };
  }

  /** The current knobs. */
  async knobs(): Promise<Knobs> {
    return this.env.GOVERNOR_KNOBS.getByName("demo").get();
  }

  /** Sets either knob (checked with `parseKnobs` first). */
  async setKnobs(knobs: Partial<Knobs>): Promise<Knobs> {
    return this.env.GOVERNOR_KNOBS.getByName("demo").set(knobs);
  }
}
