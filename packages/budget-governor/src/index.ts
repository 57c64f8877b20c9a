/**
 * @do-patterns/budget-governor: one Durable Object per budget, allocating each cycle's spend
 * across weighted processors, granting it by reserve-then-commit so concurrent spenders never
 * overshoot, and dispatching processors phase by phase to a stateless data plane.
 *
 * Each file is one room: `object.ts` the Durable Object, `routes.ts` the HTTP routes,
 * `allocation.ts` and `ledger.ts` the pure decisions (split a budget; reserve, commit, release),
 * `config.ts` input validation, `runner.ts` the data plane interface, `http.ts` the helpers every
 * catalog package repeats.
 */
export {
  BudgetGovernor,
  DATA_PLANE_BINDING,
  STATUS_RESERVATIONS,
  type ClosedCycle,
  type ConfigureOutcome,
  type CycleInfo,
  type DispatchResult,
  type ExecuteOutcome,
  type GovernorError,
  type GovernorErrorCode,
  type GovernorStatus,
  type ProcessorSpend,
  type Reservation,
  type ReserveOutcome,
  type SettleOutcome,
  type StartOutcome,
} from "./object";
export { budgetGovernorRoutes, type BudgetGovernorRoutesOptions } from "./routes";
export { allocate, WEIGHT_SCALE, type WeightedShare } from "./allocation";
export {
  available,
  commitSpend,
  releaseHold,
  reserveSpend,
  type CommitResult,
  type Ledger,
} from "./ledger";
export {
  parseUsageReport,
  type ProcessorRunner,
  type RunRequest,
  type UsageReport,
} from "./runner";
export {
  DEFAULT_HISTORY,
  DEFAULT_RESERVATION_TTL_SECONDS,
  MAX_AMOUNT,
  MAX_HISTORY,
  MAX_OPEN_RESERVATIONS,
  MAX_PROCESSORS,
  MAX_SETTLED_RESERVATIONS,
  MAX_TIERS,
  WEIGHT_TOLERANCE,
  parseConfig,
  type GovernorConfig,
  type ProcessorConfig,
  type ReserveRequest,
  type TierRoute,
  type Usage,
} from "./config";
