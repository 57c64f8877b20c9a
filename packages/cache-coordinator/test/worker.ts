/**
 * The test Worker: the package's routes, the demo, and a coordinator whose clock, jitter and
 * extra scripted stores the tests control.
 */
import { Hono } from "hono";
import { internalError, notFound } from "../src/http";
import {
  DEFAULT_RETRY_POLICY,
  cacheCoordinatorRoutes,
  type PurgeTarget,
  type PurgeTargets,
  type RetryPolicy,
} from "../src/index";
import { cacheCoordinatorDemo, DemoCacheCoordinator, type DemoEnv } from "./demo";

/** Tests set this to freeze time; null means the real clock. */
export const testClock: { now: number | null } = { now: null };

/**
 * A purge target the tests script: it fails its next `failNext` calls, hangs forever when
 * `hang` is set, and records every call it acknowledged.
 */
export class ScriptedStore implements PurgeTarget {
  failNext = 0;
  hang = false;
  /** While set, calls wait for it before answering. */
  gate: Promise<void> | null = null;
  calls: { keys: string[]; mode: "hard" | "soft" }[] = [];
  acknowledged: { keys: string[]; mode: "hard" | "soft" }[] = [];
  /** Keys this store holds; purge removes them, markStale moves them to `stale`. */
  readonly held = new Set<string>();
  readonly stale = new Set<string>();

  purge(keys: string[]): Promise<void> {
    return this.run(keys, "hard", () => {
      for (const key of keys) {
        this.held.delete(key);
        this.stale.delete(key);
      }
    });
  }

  markStale(keys: string[]): Promise<void> {
    return this.run(keys, "soft", () => {
      for (const key of keys) if (this.held.has(key)) this.stale.add(key);
    });
  }

  private async run(keys: string[], mode: "hard" | "soft", apply: () => void): Promise<void> {
    this.calls.push({ keys: [...keys], mode });
    if (this.hang) return new Promise(() => {});
    if (this.gate !== null) await this.gate;
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error("scripted failure");
    }
    apply();
    this.acknowledged.push({ keys: [...keys], mode });
  }
}

/** Scripted stores per coordinator name, so tests running at once do not share one. */
export const scripted = new Map<string, { a: ScriptedStore; b: ScriptedStore }>();
export const testRandom: { value: number } = { value: 0.5 };
export const flakyRate: { value: number } = { value: 0 };

/** The default policy, but an unanswered attempt times out in 100 ms instead of 10 s. */
export const TEST_RETRY_POLICY: RetryPolicy = { ...DEFAULT_RETRY_POLICY, attemptTimeoutMs: 100 };

export class CacheCoordinator extends DemoCacheCoordinator {
  protected override readonly retryPolicy = TEST_RETRY_POLICY;

  protected override now(): number {
    return testClock.now ?? Date.now();
  }

  protected override random(): number {
    return testRandom.value;
  }

  protected override flakyFailureRate(): number {
    return flakyRate.value;
  }

  /** The demo's four real stores, plus two scripted ones ("a", "b") per coordinator name. */
  protected override stores(env: DemoEnv): PurgeTargets {
    const name = this.ctx.id.name ?? "";
    let pair = scripted.get(name);
    if (pair === undefined) {
      pair = { a: new ScriptedStore(), b: new ScriptedStore() };
      scripted.set(name, pair);
    }
    return { ...super.stores(env), a: pair.a, b: pair.b };
  }
}

const app = new Hono<{ Bindings: Env }>();
app.route("/", cacheCoordinatorRoutes());
app.route("/demo/cache-coordinator", cacheCoordinatorDemo());
app.notFound(notFound);
app.onError(internalError);

export default app;
