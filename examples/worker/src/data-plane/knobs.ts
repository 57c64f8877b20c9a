/**
 * The two knobs both simulated data planes share (the controller's and the governor's): what
 * share of the work fails, and how long it takes. Each demo keeps its own in one small object, so
 * every isolate of its data plane reads the same values; the live pages set them.
 */
import { DurableObject } from "cloudflare:workers";

export interface Knobs {
  /** Share of the work that fails, 0 to 1. */
  failureRate: number;
  /** How long one unit of work (a batch, a run) takes, ms. */
  latencyMs: number;
}

export const MAX_LATENCY_MS = 10_000;

/** Where one demo's knobs live; a subclass names its defaults. */
export abstract class KnobStore extends DurableObject {
  protected abstract readonly defaults: Knobs;

  get(): Knobs {
    return this.ctx.storage.kv.get<Knobs>("knobs") ?? this.defaults;
  }

  /** Sets either knob; values are checked by the caller (`parseKnobs`). */
  set(knobs: Partial<Knobs>): Knobs {
    const next = { ...this.get(), ...knobs };
    this.ctx.storage.kv.put("knobs", next);
    return next;
  }

  reset(): Knobs {
    this.ctx.storage.kv.delete("knobs");
    return this.defaults;
  }
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
