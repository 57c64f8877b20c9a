/**
 * @do-patterns/cache-coordinator: one Durable Object per logical cache, which knows which stores
 * hold each key and under which tags, and purges them through a durable outbox retried by alarm
 * until every store acknowledges.
 *
 * Each file is one room: `object.ts` the Durable Object, `routes.ts` the HTTP routes,
 * `stores.ts` the purge-target interface and the KV and Cache API adapters, `retry.ts` the pure
 * outbox decisions (batching, backoff, status), `input.ts` validation and caps, `http.ts` the
 * helpers every catalog package repeats.
 */
export {
  CacheCoordinator,
  type CoordinatorError,
  type CoordinatorErrorCode,
  type InvalidateOutcome,
  type Invalidation,
  type KeyLookup,
  type LookupOutcome,
  type Overview,
  type PurgeStatus,
  type RegisterOutcome,
  type StatusOutcome,
  type StoreStatus,
} from "./object";
export { cacheCoordinatorRoutes, type CacheCoordinatorRoutesOptions } from "./routes";
export {
  STALE_HEADER,
  cacheApiStore,
  cacheUrl,
  kvStore,
  type CacheApiStoreOptions,
  type KvStoreOptions,
  type PurgeTarget,
  type PurgeTargets,
} from "./stores";
export {
  DEFAULT_RETRY_POLICY,
  afterFailure,
  backoffDelay,
  batchKeys,
  combineStates,
  type PurgeState,
  type RetryPolicy,
} from "./retry";
export {
  MAX_FINISHED_PURGES,
  MAX_KEYS,
  MAX_KEY_BYTES,
  MAX_OUTBOX_CALLS,
  MAX_TAGS_PER_KEY,
  MAX_TAG_LENGTH,
  PURGE_BATCH_SIZE,
  type PurgeMode,
  type PurgeOptions,
  type Registration,
} from "./input";
