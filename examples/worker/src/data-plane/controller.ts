/**
 * The simulated data plane of the adaptive controller's demo: a stateless `WorkerEntrypoint`
 * the controller reaches through the service binding CONTROLLER_DATA_PLANE (bound to this
 * Worker itself in the root wrangler.jsonc), with two knobs a person sets from the live page:
 * the share of items that fail, and how long a batch takes. The control plane (the
 * AdaptiveController object) decides; this does the work.
 */
import type { ItemResult } from "@do-patterns/adaptive-controller";
import { DurableObject, WorkerEntrypoint } from "cloudflare:workers";

/** The data plane's behaviour, as the live page sets it. */
export interface Knobs {
  /** Share of items that fail, 0 to 1. */
  failureRate: number;
  /** How long processing a batch takes, ms. Past the demo's 3 s timeout, batches time out. */
  latencyMs: number;
}

export const DEFAULT_KNOBS: Knobs = { failureRate: 0, latencyMs: 50 };
export const MAX_LATENCY_MS = 10_000;

/** Where the knobs live: one small object, so every isolate of the data plane reads the same ones. */
export class ControllerKnobs extends DurableObject {
  get(): Knobs {
    return this.ctx.storage.kv.get<Knobs>("knobs") ?? DEFAULT_KNOBS;
  }

  /** Sets either knob; values are checked by the caller (`parseKnobs`). */
  set(knobs: Partial<Knobs>): Knobs {
    const next = { ...this.get(), ...knobs };
    this.ctx.storage.kv.put("knobs", next);
    return next;
  }

  reset(): Knobs {
    this.ctx.storage.kv.delete("knobs");
    return DEFAULT_KNOBS;
  }
}

/** The one knobs object the demo uses. */
export function demoKnobs(env: Env) {
  return env.CONTROLLER_KNOBS.getByName("demo");
}

/**
 * The knobs in a request body: `{ failureRate?: 0..1, latencyMs?: 0..10000 }`, or the reason
 * they were refused.
 */
export function parseKnobs(body: unknown): Partial<Knobs> | string {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return "body must be a JSON object with failureRate and/or latencyMs";
  }
  const { failureRate, latencyMs, ...rest } = body as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) return `unknown field "${unknown[0]}"`;
  const knobs: Partial<Knobs> = {};
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
      latencyMs > MAX_LATENCY_MS
    ) {
      return `latencyMs must be a whole number from 0 to ${MAX_LATENCY_MS}`;
    }
    knobs.latencyMs = latencyMs;
  }
  return knobs;
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
