/**
 * The lease as a pure state machine: every decision the LeaderElection object makes is one of
 * these functions of (stored state, input, now), so the rules can be read, and property-tested,
 * without storage or time.
 *
 * Two rules carry the safety of the whole package:
 * - a lease is live only while `now < expiresAt`: past it the lease is free (or in lock-delay)
 *   whether or not anything has written that down yet (`settle`);
 * - every new lease takes the token `lastToken + 1`, and `lastToken` never goes down, so fencing
 *   tokens strictly increase over the life of the group.
 */

/** A live or stored lease: who holds it, under which fencing token, until when. */
export interface Lease {
  holder: string;
  token: number;
  /** When this lease (this token) was first granted. */
  grantedAt: number;
  /** The lease is live while `now < expiresAt`. */
  expiresAt: number;
  /** What `renew` extends it by. */
  ttlMs: number;
  /** How long the lease stays unavailable if it expires without a release. */
  lockDelayMs: number;
}

/** Everything one group stores: one record, one storage row. */
export interface LeaseState {
  /** The highest fencing token ever granted; 0 before the first grant. Never decreases. */
  lastToken: number;
  /** Grants, releases, revocations and expiries since the group began. */
  transitions: number;
  lease: Lease | null;
  /** After a lease expired or was revoked: no grant before this time (lock-delay); 0 if none. */
  lockedUntil: number;
}

export const EMPTY_STATE: LeaseState = {
  lastToken: 0,
  transitions: 0,
  lease: null,
  lockedUntil: 0,
};

export type RefusalReason = "held" | "lock_delay";
/** Why `renew` or `release` did not match: nobody holds it, someone else does, an old term. */
export type MismatchReason = "not_held" | "not_holder" | "stale_token";

export type AcquireDecision =
  | { granted: true; lease: Lease; newLease: boolean; next: LeaseState }
  | {
      granted: false;
      reason: RefusalReason;
      holder: string | null;
      expiresAt: number | null;
      retryAfterMs: number;
    };

export type MatchDecision =
  | { matched: true; lease: Lease; next: LeaseState }
  | { matched: false; reason: MismatchReason; holder: string | null };

/**
 * The state as it is at `now`: a lease past its expiry has ended (one transition) and its
 * lock-delay runs from its expiry. Returns `state` itself when nothing changed, so callers can
 * tell whether there is anything to write.
 */
export function settle(state: LeaseState, now: number): LeaseState {
  const { lease } = state;
  if (lease === null || now < lease.expiresAt) return state;
  return endLease(state, lease.expiresAt + lease.lockDelayMs);
}

/**
 * A candidate asks for the lease. Granted with a new token when the lease is free and out of
 * lock-delay; granted with the same token, and the expiry moved to `now + ttlMs`, when the
 * candidate already holds it (so a retried acquire is safe); refused otherwise, with the
 * earliest time the lease could become free unless its holder releases it first.
 */
export function acquire(
  state: LeaseState,
  candidate: string,
  ttlMs: number,
  lockDelayMs: number,
  now: number,
): AcquireDecision {
  const settled = settle(state, now);
  const current = settled.lease;
  if (current !== null) {
    if (current.holder === candidate) {
      const lease = { ...current, expiresAt: now + ttlMs, ttlMs, lockDelayMs };
      return { granted: true, lease, newLease: false, next: { ...settled, lease } };
    }
    return {
      granted: false,
      reason: "held",
      holder: current.holder,
      expiresAt: current.expiresAt,
      retryAfterMs: current.expiresAt + current.lockDelayMs - now,
    };
  }
  if (now < settled.lockedUntil) {
    return {
      granted: false,
      reason: "lock_delay",
      holder: null,
      expiresAt: null,
      retryAfterMs: settled.lockedUntil - now,
    };
  }
  const lease: Lease = {
    holder: candidate,
    token: settled.lastToken + 1,
    grantedAt: now,
    expiresAt: now + ttlMs,
    ttlMs,
    lockDelayMs,
  };
  return {
    granted: true,
    lease,
    newLease: true,
    next: { lastToken: lease.token, transitions: settled.transitions + 1, lease, lockedUntil: 0 },
  };
}

/** Compare-and-swap on (holder, token): the live lease is extended by its TTL from `now`. */
export function renew(
  state: LeaseState,
  candidate: string,
  token: number,
  now: number,
): MatchDecision {
  const settled = settle(state, now);
  const found = match(settled, candidate, token);
  if (!found.matched) return found;
  const lease = { ...found.lease, expiresAt: now + found.lease.ttlMs };
  return { matched: true, lease, next: { ...settled, lease } };
}

/** Compare-and-swap on (holder, token): the lease ends now and is free at once (no lock-delay). */
export function release(
  state: LeaseState,
  candidate: string,
  token: number,
  now: number,
): MatchDecision {
  const settled = settle(state, now);
  const found = match(settled, candidate, token);
  if (!found.matched) return found;
  return { matched: true, lease: found.lease, next: endLease(settled, 0) };
}

/**
 * Ends the live lease now as if it had expired, lock-delay included: its holder did not let go
 * and may still be writing. Undefined when there is no live lease.
 */
export function revoke(
  state: LeaseState,
  now: number,
): { lease: Lease; next: LeaseState } | undefined {
  const settled = settle(state, now);
  const lease = settled.lease;
  if (lease === null) return undefined;
  return { lease, next: endLease(settled, now + lease.lockDelayMs) };
}

/** The live lease at `now`, or null. */
export function liveLease(state: LeaseState, now: number): Lease | null {
  return settle(state, now).lease;
}

/** Whether `token` is the live lease's token at `now`. */
export function isValidToken(state: LeaseState, token: number, now: number): boolean {
  return liveLease(state, now)?.token === token;
}

function match(
  settled: LeaseState,
  candidate: string,
  token: number,
): { matched: true; lease: Lease } | Extract<MatchDecision, { matched: false }> {
  const lease = settled.lease;
  if (lease === null) return { matched: false, reason: "not_held", holder: null };
  if (lease.holder !== candidate) {
    return { matched: false, reason: "not_holder", holder: lease.holder };
  }
  if (lease.token !== token) return { matched: false, reason: "stale_token", holder: lease.holder };
  return { matched: true, lease };
}

function endLease(state: LeaseState, lockedUntil: number): LeaseState {
  return {
    lastToken: state.lastToken,
    transitions: state.transitions + 1,
    lease: null,
    lockedUntil,
  };
}

/**
 * Whether a guarded resource that has seen `highest` accepts a write carrying `token`: the
 * current term's token or a newer one, never an older one.
 */
export function admitsToken(highest: number, token: number): boolean {
  return token >= highest;
}
