/**
 * The simulated data plane of the budget governor's demo: a stateless `WorkerEntrypoint` the
 * governor reaches through the service binding GOVERNOR_DATA_PLANE (bound to this Worker itself
 * in the root wrangler.jsonc). Each `run` makes simulated model calls within the budget it is
 * given and reports what it spent. Two knobs, set from the live page through the same binding:
 * the share of calls that fail, and how long a run takes. The governor decides; this does the
 * work.
 */
import type { RunRequest, UsageReport } from "@do-patterns/budget-governor";
import { DurableObject, WorkerEntrypoint } from "cloudflare:workers";

/** The data plane's behaviour, as the live page sets it. */
export interface GovernorKnobs {
  /** Share of calls that fail, 0 to 1; at 1 every run throws (the data plane is down). */
  failureRate: number;
  /** How long one run takes, ms. */
  latencyMs: number;
}

export const DEFAULT_GOVERNOR_KNOBS: GovernorKnobs = { failureRate: 0, latencyMs: 1_500 };
export const MAX_GOVERNOR_LATENCY_MS = 10_000;
/** Calls one run makes at most, whatever its budget: a demo, not a load test. */
const MAX_CALLS_PER_RUN = 40;

/** Where the knobs live: one small object, so every isolate of the data plane reads the same ones. */
export class GovernorKnobStore extends DurableObject {
  get(): GovernorKnobs {
    return this.ctx.storage.kv.get<GovernorKnobs>("knobs") ?? DEFAULT_GOVERNOR_KNOBS;
  }

  /** Sets either knob; values are checked by the caller (`parseGovernorKnobs`). */
  set(knobs: Partial<GovernorKnobs>): GovernorKnobs {
    const next = { ...this.get(), ...knobs };
    this.ctx.storage.kv.put("knobs", next);
    return next;
  }
}

/**
 * The knobs in a request body: `{ failureRate?: 0..1, latencyMs?: 0..10000 }`, or the reason
 * they were refused.
 */
export function parseGovernorKnobs(body: unknown): Partial<GovernorKnobs> | string {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return "body must be a JSON object with failureRate and/or latencyMs";
  }
  const { failureRate, latencyMs, ...rest } = body as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) return `unknown field "${unknown[0]}"`;
  const knobs: Partial<GovernorKnobs> = {};
  if (failureRate !== undefined) {
    if (typeof failureRate !== "number" || !(failureRate >= 0 && failureRate <= 1)) {
      return "failureRate must be a number from 0 to 1";
    }
    knobs.failureRate = failureRate;
  }
  if (latencyMs !== undefined) {
    if (
      typeof latencyMs !== "number" ||
      !Number.isInteger(latencyMs) ||
      latencyMs < 0 ||
      latencyMs > MAX_GOVERNOR_LATENCY_MS
    ) {
      return `latencyMs must be a whole number from 0 to ${MAX_GOVERNOR_LATENCY_MS}`;
    }
    knobs.latencyMs = latencyMs;
  }
  return knobs;
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
  async knobs(): Promise<GovernorKnobs> {
    return this.env.GOVERNOR_KNOBS.getByName("demo").get();
  }

  /** Sets either knob (checked with `parseGovernorKnobs` first). */
  async setKnobs(knobs: Partial<GovernorKnobs>): Promise<GovernorKnobs> {
    return this.env.GOVERNOR_KNOBS.getByName("demo").set(knobs);
  }
}
