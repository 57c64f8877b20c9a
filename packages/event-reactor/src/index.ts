/**
 * Event reactor: an Agents SDK agent per entity that turns domain events into commands, through
 * pure decision functions and an outbox delivered to a Cloudflare Queue.
 */
export {
  EventReactor,
  DEDUPE_WINDOW_MS,
  MAX_COMMANDS_PER_OUTCOME,
  MAX_COMMAND_BYTES,
  MAX_DECISIONS,
  MAX_REMEMBERED_EVENTS,
  REVIEW_CRON,
  type DeliveryReport,
  type EventReactorStub,
  type IngestErrorCode,
  type IngestResult,
  type LoggedDecision,
  type ReactorSnapshot,
} from "./object";
export { retryDelayMs, MAX_PENDING_COMMANDS, SENT_HISTORY, type OutboxEntry } from "./outbox";
export { PRUNE_STEP } from "./bounded";
export { eventReactorRoutes, type EventReactorRoutesOptions } from "./routes";
export { parseEnvelope } from "./envelope";
export {
  commandId,
  type Command,
  type CommandDraft,
  type Decision,
  type Domain,
  type DomainEvent,
  type Json,
  type Outcome,
  type ParsedEvent,
} from "./reactor";
export {
  brandDomain,
  initialBrandState,
  BRAND_EVENT_TYPES,
  type BrandEvent,
  type BrandEventType,
  type BrandState,
} from "./brand";
