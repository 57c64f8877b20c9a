/**
 * The demo the composing example mounts at /demo/cache-coordinator: a Worker route that serves
 * responses it caches in four real stores (two KV namespaces, the Cache API, and a deliberately
 * flaky cache that fails a share of purges), registering each with the coordinator, and the
 * coordinator subclass that purges those stores. It uses only the package's public exports and
 * hono; the example mounts this same module.
 */
import { Hono, type Context } from "hono";
import {
  CacheCoordinator,
  STALE_HEADER,
  cacheApiStore,
  cacheUrl,
  kvStore,
  type PurgeTarget,
  type PurgeTargets,
} from "../src/index";

/** The bindings the demo needs. */
export interface DemoEnv {
  CACHE_COORDINATOR: DurableObjectNamespace<DemoCacheCoordinator>;
  CACHE_KV_PRIMARY: KVNamespace;
  CACHE_KV_EDGE: KVNamespace;
  /** Share of purges the flaky store fails, "0" to "1" (default 0.5). */
  CACHE_FLAKY_FAILURE_RATE?: string;
}

/** The coordinator every demo route uses. */
export const DEMO_CACHE = "demo";
/** The Cache API caches the demo serves from and the flaky store stands in for. */
export const DEMO_CACHE_NAME = "cache-coordinator-demo";
export const FLAKY_CACHE_NAME = "cache-coordinator-flaky";
export const DEMO_STORES = ["cache-api", "flaky", "kv-edge", "kv-primary"] as const;

/**
 * A store that fails a share of its purge calls before doing them, as an overloaded CDN's purge
 * API does, so the coordinator's retries can be watched. Demo only.
 */
export function flakyStore(inner: PurgeTarget, failureRate: () => number): PurgeTarget {
  const maybeFail = () => {
    if (Math.random() < failureRate()) {
      throw new Error("flaky store: simulated purge failure, try again later");
    }
  };
  return {
    async purge(keys) {
      maybeFail();
      await inner.purge(keys);
    },
    async markStale(keys) {
      maybeFail();
      await (inner.markStale ?? inner.purge)(keys);
    },
  };
}

/** The coordinator with the demo's four stores. */
export class DemoCacheCoordinator extends CacheCoordinator<DemoEnv> {
  protected override stores(env: DemoEnv): PurgeTargets {
    return {
      "kv-primary": kvStore(env.CACHE_KV_PRIMARY),
      "kv-edge": kvStore(env.CACHE_KV_EDGE),
      "cache-api": cacheApiStore({ cacheName: DEMO_CACHE_NAME }),
      flaky: flakyStore(cacheApiStore({ cacheName: FLAKY_CACHE_NAME }), () =>
        this.flakyFailureRate(env),
      ),
    };
  }

  /** The flaky store's failure share; tests override it. */
  protected flakyFailureRate(env: DemoEnv): number {
    const rate = Number(env.CACHE_FLAKY_FAILURE_RATE ?? "0.5");
    return Number.isFinite(rate) ? Math.min(Math.max(rate, 0), 1) : 0.5;
  }
}

type ItemEnv = { Bindings: DemoEnv };
const TAGS = /^[\x21-\x2b\x2d-\x7e]{1,64}$/;
const KEY = /^[\w.:-]{1,64}$/;

/**
 * @example
 * app.route("/demo/cache-coordinator", cacheCoordinatorDemo());
 */
export function cacheCoordinatorDemo(): Hono<ItemEnv> {
  const demo = new Hono<ItemEnv>();

  // Serves an item from the Cache API when it has it (HIT, or STALE while it revalidates after a
  // soft purge); otherwise makes it, caches it in all four stores and registers it (MISS).
  demo.get("/items/:key", async (c) => {
    const key = c.req.param("key");
    const tags = (c.req.query("tags") ?? "").split(",").filter((tag) => tag !== "");
    if (!KEY.test(key)) {
      return error(c, 400, "key must be 1-64 letters, digits, '_', '.', ':' or '-'");
    }
    if (tags.length > 8 || !tags.every((tag) => TAGS.test(tag))) {
      return error(c, 400, "tags must be at most 8 comma-separated tags of 1-64 characters");
    }
    const cache = await caches.open(DEMO_CACHE_NAME);
    const cached = await cache.match(cacheUrl(key));
    if (cached !== undefined) {
      const stale = cached.headers.has(STALE_HEADER);
      if (stale) c.executionCtx.waitUntil(fill(c.env, key, tags));
      const served = new Response(cached.body, cached);
      served.headers.set("X-Cache", stale ? "STALE" : "HIT");
      return served;
    }
    const response = await fill(c.env, key, tags);
    response.headers.set("X-Cache", "MISS");
    return response;
  });

  // Which stores hold the item now, without filling any.
  demo.get("/where/:key", async (c) => {
    const key = c.req.param("key");
    if (!KEY.test(key)) {
      return error(c, 400, "key must be 1-64 letters, digits, '_', '.', ':' or '-'");
    }
    return c.json(await whereIs(c.env, key));
  });
  return demo;
}

/** Where an item is cached: the Cache API entries fresh or stale, the KV entries present or not. */
export async function whereIs(env: DemoEnv, key: string): Promise<Record<string, string>> {
  const inCache = async (name: string) => {
    const hit = await (await caches.open(name)).match(cacheUrl(key));
    if (hit === undefined) return "missing";
    return hit.headers.has(STALE_HEADER) ? "stale" : "fresh";
  };
  const inKv = async (kv: KVNamespace) => ((await kv.get(key)) === null ? "missing" : "present");
  const [cacheApi, flaky, edge, primary] = await Promise.all([
    inCache(DEMO_CACHE_NAME),
    inCache(FLAKY_CACHE_NAME),
    inKv(env.CACHE_KV_EDGE),
    inKv(env.CACHE_KV_PRIMARY),
  ]);
  return { "cache-api": cacheApi, flaky, "kv-edge": edge, "kv-primary": primary };
}

/** Makes the item (the "origin"), caches it in every store, then registers it in each. */
async function fill(env: DemoEnv, key: string, tags: string[]): Promise<Response> {
  const body = JSON.stringify({ key, tags, generatedAt: new Date().toISOString() });
  const cacheable = () =>
    new Response(body, {
      headers: { "Content-Type": "application/json", "Cache-Control": "max-age=3600" },
    });
  await Promise.all([
    caches.open(DEMO_CACHE_NAME).then((cache) => cache.put(cacheUrl(key), cacheable())),
    caches.open(FLAKY_CACHE_NAME).then((cache) => cache.put(cacheUrl(key), cacheable())),
    env.CACHE_KV_PRIMARY.put(key, body, { expirationTtl: 3600 }),
    env.CACHE_KV_EDGE.put(key, body, { expirationTtl: 3600 }),
  ]);
  // Cache first, then register: every entry carries a TTL, which bounds how long an
  // invalidation racing this fill can leave it stale (see the README's limits).
  const coordinator = env.CACHE_COORDINATOR.getByName(DEMO_CACHE);
  await Promise.all(DEMO_STORES.map((store) => coordinator.register({ key, store, tags })));
  return cacheable();
}

function error(c: Context, status: 400, message: string): Response {
  return c.json({ error: { code: "invalid_request", message } }, status);
}
