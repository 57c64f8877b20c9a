/**
 * @do-patterns/adaptive-controller: a self-tuning batch loop in a Durable Object, driven by its
 * own alarm. Batch size follows the downstream's success rate, a circuit breaker stops calls
 * after repeated failures and probes for recovery, and every change is logged with its reason.
 *
 * Each file is one room: `object.ts` the Durable Object, `routes.ts` the HTTP routes,
 * `adapt.ts` the pure decisions (batch size, interval, breaker), `config.ts` the settings and
 * their validation, `downstream.ts` the data plane interfaces, `http.ts` the helpers every
 * catalog package repeats.
 */
export {
  AdaptiveController,
  DECISION_LOG_CAP,
  MAX_BATCH_ATTEMPTS,
  SERIES_CAP,
  type ControllerErrorCode,
  type ControllerOutcome,
  type ControllerStatus,
  type DecisionEntry,
  type LoopStatus,
  type SeriesPoint,
  type StatusOptions,
} from "./object";
export {
  adaptiveControllerRoutes,
  loopNameSchema,
  type AdaptiveControllerRoutesOptions,
} from "./routes";
export {
  adapt,
  cooldownFor,
  initialTuning,
  planTick,
  successRate,
  windowRate,
  type BatchOutcome,
  type BreakerState,
  type Decision,
  type DecisionKind,
  type DecisionMetrics,
  type Sample,
  type TickPlan,
  type Tuning,
  type Window,
} from "./adapt";
export {
  DEFAULT_CONFIG,
  MAX_BATCH_SIZE,
  MAX_ITEM_ID_LENGTH,
  MAX_WINDOW_SIZE,
  configInputSchema,
  mergeConfig,
  type ConfigInput,
  type ControllerConfig,
} from "./config";
export {
  DATA_PLANE_BINDING,
  downstreamFromEnv,
  type Downstream,
  type ItemResult,
  type Processor,
  type WorkSource,
} from "./downstream";
