/**
 * @do-patterns/leader-election: one lease per group (one Durable Object per group name), with
 * fencing tokens that strictly increase across every grant, lock-delay after a holder vanishes,
 * and a guard for the resources a leader writes to.
 *
 * Each file is one room: `object.ts` the Durable Object, `routes.ts` the HTTP routes,
 * `lease.ts` the pure state machine, `fencing.ts` the guarded-resource helper, `options.ts`
 * input validation, `http.ts` the helpers every catalog package repeats.
 */
export {
  LeaderElection,
  type AcquireResult,
  type InputRejection,
  type LeaseGrant,
  type LeaseMismatch,
  type LeaseRefusal,
  type LeaseStatus,
  type LeaseView,
  type ReleaseResult,
  type RenewResult,
  type RevokeResult,
  type TokenValidation,
} from "./object";
export { leaderElectionRoutes, type LeaderElectionRoutesOptions } from "./routes";
export { FencingGuard, type GuardedWrite } from "./fencing";
export {
  acquire,
  admitsToken,
  release,
  renew,
  revoke,
  settle,
  type AcquireDecision,
  type Lease,
  type LeaseState,
  type MatchDecision,
  type MismatchReason,
  type RefusalReason,
} from "./lease";
export {
  MAX_LOCK_DELAY_MS,
  MAX_NAME_LENGTH,
  MAX_TTL_MS,
  MIN_TTL_MS,
  type AcquireOptions,
  type InputError,
} from "./options";
