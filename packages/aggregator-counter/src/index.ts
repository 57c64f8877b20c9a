/**
 * @do-patterns/aggregator-counter: high-rate counters in a Durable Object with group commit.
 * Every acknowledged increment is durable, and under load many increments share each write.
 *
 * Each file is one room: `object.ts` the Durable Object, `routes.ts` the HTTP routes,
 * `batch.ts` one group commit, `input.ts` input checks and bounds, `http.ts` the helpers every
 * catalog package repeats.
 */
export {
  AggregatorCounter,
  DEFAULT_LIMITS,
  type Counter,
  type CounterErrorCode,
  type CounterLimits,
  type CounterRejection,
  type GetManyOutcome,
  type GetOutcome,
  type IncrementOutcome,
  type ListOutcome,
  type ResetOutcome,
} from "./object";
export {
  aggregatorCounterRoutes,
  MAX_NAME_LENGTH,
  type AggregatorCounterRoutesOptions,
} from "./routes";
export {
  DEFAULT_DEDUPE_WINDOW_MS,
  DEFAULT_MAX_IDEMPOTENCY_KEYS,
  MAX_COUNTERS,
  MAX_IDEMPOTENCY_KEY_LENGTH,
  MAX_KEY_LENGTH,
  MAX_KEYS_PER_READ,
  MAX_LIST_LIMIT,
  type ListOptions,
} from "./input";
