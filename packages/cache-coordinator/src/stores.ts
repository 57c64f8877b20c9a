/**
 * Purge targets: the small interface a store implements so the coordinator can purge it, and
 * adapters for the two stores every Worker has, KV namespaces and the Cache API.
 */

/**
 * One store the coordinator purges. A call resolves once the store has let go of the keys (its
 * acknowledgement); a throw, a rejection or no answer within the attempt timeout is a failure,
 * tried again with backoff. Calls may repeat (an alarm can run twice), so both methods must be
 * idempotent: deleting what is already gone succeeds.
 */
export interface PurgeTarget {
  /** Deletes the keys (at most 100 per call). */
  purge(keys: string[]): Promise<void>;
  /**
   * Marks the keys stale, so readers serve them while revalidating. Optional: a store without it
   * is hard-purged by a soft purge, the safe choice.
   */
  markStale?(keys: string[]): Promise<void>;
}

/** The stores a coordinator can purge, by the name `register` uses. */
export type PurgeTargets = Record<string, PurgeTarget>;

export interface KvStoreOptions {
  /** Prepended to every cache key to form the KV key (default ""). */
  prefix?: string;
}

/**
 * A KV namespace as a purge target: `purge` deletes each key. KV has no stale marker that
 * readers honour, so it supports hard purges only. KV is eventually consistent: a deleted key
 * can still be read for up to 60 s in other locations after the purge is acknowledged.
 *
 * @example
 * protected override stores(env: Env) {
 *   return { pages: kvStore(env.PAGES_KV, { prefix: "page:" }) };
 * }
 */
export function kvStore(namespace: KVNamespace, options: KvStoreOptions = {}): PurgeTarget {
  const prefix = options.prefix ?? "";
  return {
    async purge(keys) {
      await Promise.all(keys.map((key) => namespace.delete(prefix + key)));
    },
  };
}

export interface CacheApiStoreOptions {
  /** A named cache (`caches.open(name)`), or the default cache when absent. */
  cacheName?: string;
  /**
   * The URL a cache key is stored under (default `https://cache.internal/<encoded key>`).
   * Use the URLs your Worker caches responses under.
   */
  urlFor?: (key: string) => string;
}

/** The header a soft purge sets on a cached response, holding when it was marked stale. */
export const STALE_HEADER = "X-Cache-Stale-Since";

/**
 * The Cache API as a purge target: `purge` deletes each key's cached response, `markStale`
 * stores it again with an `X-Cache-Stale-Since` header, for a reader to serve while it
 * revalidates (stale-while-revalidate). The Cache API is local to one data center: a purge from
 * a Durable Object reaches the cache of the data center the object runs in, not every one.
 *
 * @example
 * protected override stores() {
 *   return { pages: cacheApiStore({ cacheName: "pages" }) };
 * }
 */
export function cacheApiStore(options: CacheApiStoreOptions = {}): PurgeTarget {
  const urlFor = options.urlFor ?? cacheUrl;
  const open = () =>
    options.cacheName === undefined
      ? Promise.resolve(caches.default)
      : caches.open(options.cacheName);
  return {
    async purge(keys) {
      const cache = await open();
      await Promise.all(keys.map((key) => cache.delete(urlFor(key))));
    },
    async markStale(keys) {
      const cache = await open();
      const since = new Date().toUTCString();
      await Promise.all(
        keys.map(async (key) => {
          const cached = await cache.match(urlFor(key));
          if (cached === undefined || cached.headers.has(STALE_HEADER)) return;
          const stale = new Response(cached.body, cached);
          stale.headers.set(STALE_HEADER, since);
          await cache.put(urlFor(key), stale);
        }),
      );
    },
  };
}

/** The default URL a cache key is cached under by `cacheApiStore`. */
export function cacheUrl(key: string): string {
  return `https://cache.internal/${encodeURIComponent(key)}`;
}
