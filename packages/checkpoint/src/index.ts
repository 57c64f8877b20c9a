/**
 * @do-patterns/checkpoint: checkpoint and resume for long multi-step processes that are not
 * Cloudflare Workflows, one Durable Object per run: steps as SQL rows, claimed as leases with a
 * timeout, completed idempotently, retried with backoff, resumed after failure.
 *
 * Each file is one room: `object.ts` the Durable Object, `routes.ts` the HTTP routes,
 * `retry.ts` the pure retry decisions, `definition.ts` input validation and every cap,
 * `http.ts` the helpers every catalog package repeats.
 */
export {
  Checkpoint,
  MAX_STATUS_PAGE,
  type CheckpointError,
  type CheckpointErrorCode,
  type ClaimOutcome,
  type ClaimedStep,
  type CompleteOutcome,
  type CreateOutcome,
  type FailOutcome,
  type HeartbeatOutcome,
  type Refusal,
  type RunOutcome,
  type RunStatus,
  type RunStatusView,
  type RunSummary,
  type StatusOptions,
  type StepDetail,
  type StepState,
  type StepStatus,
} from "./object";
export { checkpointRoutes, type CheckpointRoutesOptions } from "./routes";
export { backoffMs, decideFailure, type FailureOutcome, type RetryPolicy } from "./retry";
export {
  DEFAULT_LEASE_MS,
  DEFAULT_PARALLELISM,
  DEFAULT_RETENTION_MS,
  DEFAULT_RETRY,
  MAX_ATTEMPTS,
  MAX_ERROR_LENGTH,
  MAX_INPUT_BYTES,
  MAX_OUTPUT_BYTES,
  MAX_PARALLELISM,
  MAX_PROGRESS_BYTES,
  MAX_STEPS,
  MAX_TOTAL_INPUT_BYTES,
  type Json,
  type JsonValue,
  type RetryOptions,
  type RunOptions,
  type StepDefinition,
} from "./definition";
