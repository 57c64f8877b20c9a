/**
 * @do-patterns/feature-flags: one Durable Object per flag set (an environment, a tenant) holding
 * typed flags with targeting rules and stable percentage rollouts, evaluated from memory, with
 * an audit log of every change and an OpenFeature provider that evaluates locally against a
 * versioned snapshot.
 *
 * Each file is one room: `object.ts` the Durable Object, `routes.ts` the HTTP routes,
 * `provider.ts` the OpenFeature provider, `evaluate.ts` the pure evaluator, `hash.ts` the
 * rollout buckets, `semver.ts` version comparison, `flag.ts` the flag model and its validation,
 * `http.ts` the helpers every catalog package repeats.
 */
export {
  FeatureFlags,
  MAX_AUDIT_ENTRIES,
  MAX_AUDIT_PAGE,
  type AuditEntry,
  type AuditPage,
  type AuditQuery,
  type AuditedFlag,
  type BulkEvaluation,
  type FlagDeleteOutcome,
  type FlagEvaluation,
  type FlagLookup,
  type FlagRejection,
  type FlagWriteErrorCode,
  type FlagWriteOutcome,
  type WriteOptions,
} from "./object";
export { featureFlagsRoutes, MAX_REQUEST_BYTES, type FeatureFlagsRoutesOptions } from "./routes";
export {
  FeatureFlagsProvider,
  RETRY_AFTER_FAILURE_MS,
  type FeatureFlagsProviderOptions,
  type FlagSetSource,
} from "./provider";
export {
  REASONS,
  compileFlag,
  evaluateFlag,
  type CompiledFlag,
  type ContextValue,
  type EvaluationContext,
  type FlagEntry,
  type FlagErrorCode,
  type Reason,
  type Resolution,
} from "./evaluate";
export { BUCKETS, bucketOf, murmur3 } from "./hash";
export { compareSemver, parseSemver, type SemVer } from "./semver";
export {
  FLAG_TYPES,
  MAX_CONDITIONS,
  MAX_FLAGS,
  MAX_FLAG_BYTES,
  MAX_FLAG_SET_BYTES,
  MAX_LIST_VALUES,
  MAX_RULES,
  MAX_VARIANTS,
  OPERATORS,
  parseFlag,
  type Condition,
  type FlagDefinition,
  type FlagSetSnapshot,
  type FlagType,
  type FlagValue,
  type JsonValue,
  type Operator,
  type Rule,
  type Serve,
  type SplitShare,
  type StoredFlag,
  type UnchangedSnapshot,
  type UnreadableFlag,
} from "./flag";
