/**
 * The LeaderElection Durable Object: one per group (the name of the thing one process at a time
 * may lead). Thin glue between the pure decisions of `lease.ts` and one stored record.
 */
import { DurableObject } from "cloudflare:workers";
import {
  EMPTY_STATE,
  acquire,
  liveLease,
  release,
  renew,
  revoke,
  settle,
  type Lease,
  type LeaseState,
  type MismatchReason,
  type RefusalReason,
} from "./lease";
import {
  checkAcquire,
  checkName,
  checkToken,
  type AcquireOptions,
  type InputError,
} from "./options";

/** A live lease as callers see it. */
export interface LeaseView {
  holder: string;
  /** Pass it with every write to a guarded resource (see `FencingGuard`). */
  fencingToken: number;
  /** Milliseconds since the epoch: the lease is live while the clock is before it. */
  expiresAt: number;
}

/** `acquire` granted the lease. */
export interface LeaseGrant extends LeaseView {
  granted: true;
  /** True for a new lease (a new token); false when the holder re-acquired its own live lease. */
  newLease: boolean;
}

/** `acquire` refused: someone else holds the lease, or it is in lock-delay. Nothing was written. */
export interface LeaseRefusal {
  granted: false;
  reason: RefusalReason;
  /** The current holder; null during lock-delay. */
  holder: string | null;
  /** When the holder's lease ends unless renewed; null during lock-delay. */
  expiresAt: number | null;
  /** The earliest the lease can be granted, unless its holder releases it sooner. */
  retryAfterMs: number;
}

/** A call with arguments out of bounds: nothing was read or written. */
export interface InputRejection {
  error: InputError;
}

export type AcquireResult = LeaseGrant | LeaseRefusal | (InputRejection & { granted: false });

/** Why `renew` or `release` did not match, and who holds the lease instead (null: nobody). */
export interface LeaseMismatch {
  reason: MismatchReason;
  holder: string | null;
}

export type RenewResult =
  | ({ renewed: true } & LeaseView)
  | ({ renewed: false } & LeaseMismatch)
  | ({ renewed: false } & InputRejection);

export type ReleaseResult =
  | { released: true; holder: string; fencingToken: number }
  | ({ released: false } & LeaseMismatch)
  | ({ released: false } & InputRejection);

/** What `current()` reports. Fields about the lease are null when nobody holds it. */
export interface LeaseStatus {
  holder: string | null;
  fencingToken: number | null;
  expiresAt: number | null;
  /** Lock-delay after a lease expired or was revoked: no grant before this time; else null. */
  lockedUntil: number | null;
  /** The highest fencing token ever granted in this group (0 before the first). */
  lastToken: number;
  /** Grants, releases, revocations and expiries since the group began. */
  transitions: number;
}

/** `validate(token)`: whether the token is the live lease's, and which token is. */
export interface TokenValidation {
  valid: boolean;
  fencingToken: number | null;
  expiresAt: number | null;
}

/** `revoke()`: whether a live lease was ended, and whose. */
export interface RevokeResult {
  revoked: boolean;
  holder: string | null;
  fencingToken: number | null;
}

const STATE_KEY = "lease";

/**
 * A lease for one group, with fencing tokens. Address it by the group's name:
 * `env.LEADER_ELECTION.getByName("nightly-report")`.
 *
 * Every decision is made synchronously against the in-memory copy of the group's one record,
 * and a grant, renewal or release writes that record before the method first yields, so
 * concurrent calls are serialised by the object's input gate and exactly one candidate wins.
 * The record (with the highest token ever granted) is written before a grant is answered and is
 * never deleted, so a fencing token is never granted twice. Refusals, `current()` and
 * `validate()` write nothing. A lease past its expiry is free on read; an alarm writes the
 * expiry down.
 *
 * @example
 * const election = env.LEADER_ELECTION.getByName("nightly-report");
 * const lease = await election.acquire(workerId, 30_000);
 * if (lease.granted) await runReport({ fencingToken: lease.fencingToken });
 */
export class LeaderElection extends DurableObject<unknown> {
  /** Cache over the one stored record. */
  private state: LeaseState;
  /**
   * No later than the scheduled alarm, or null when none is needed. Storage keeps the alarm at
   * or before a stored lease's expiry (renewals only move the expiry later; a shorter re-acquire
   * moves the alarm earlier), so after a restart the lease's expiry is a safe stand-in.
   */
  private alarmAt: number | null;

  constructor(ctx: DurableObjectState, env: unknown) {
    super(ctx, env);
    // A synchronous read, before any call can run: no gate needed, and reading creates nothing.
    this.state = ctx.storage.kv.get<LeaseState>(STATE_KEY) ?? EMPTY_STATE;
    this.alarmAt = this.state.lease?.expiresAt ?? null;
  }

  /** The one source of time. Tests override it to drive expiry without sleeping. */
  protected now(): number {
    return Date.now();
  }

  /**
   * Asks for the lease for `ttlMs` milliseconds. Granted with a new fencing token when it is
   * free; granted again with the same token (and a new expiry, `now + ttlMs`) when `candidate`
   * already holds it, so a retry after a lost answer is safe; refused otherwise, with the holder
   * and when to retry. Candidate ids must be unique per process (a random id per start).
   */
  async acquire(
    candidate: string,
    ttlMs: number,
    options?: AcquireOptions,
  ): Promise<AcquireResult> {
    const bad = checkAcquire(candidate, ttlMs, options);
    if (bad !== undefined) return { granted: false, error: bad };
    const decision = acquire(this.state, candidate, ttlMs, options?.lockDelayMs ?? 0, this.now());
    if (!decision.granted) {
      const { granted, reason, holder, expiresAt, retryAfterMs } = decision;
      return { granted, reason, holder, expiresAt, retryAfterMs };
    }
    // Written before the first await, so no other call can see the old state: one winner.
    await this.store(decision.next);
    return { granted: true, ...viewOf(decision.lease), newLease: decision.newLease };
  }

  /**
   * Extends the lease by its TTL from now, if `candidate` holds it under `token` (a
   * compare-and-swap on both): an expired lease, another holder or an old term's token fail.
   */
  async renew(candidate: string, token: number): Promise<RenewResult> {
    const bad = checkName("candidate", candidate) ?? checkToken(token);
    if (bad !== undefined) return { renewed: false, error: bad };
    const decision = renew(this.state, candidate, token, this.now());
    if (!decision.matched)
      return { renewed: false, reason: decision.reason, holder: decision.holder };
    await this.store(decision.next);
    return { renewed: true, ...viewOf(decision.lease) };
  }

  /** Gives the lease up, if `candidate` holds it under `token`: free at once, no lock-delay. */
  async release(candidate: string, token: number): Promise<ReleaseResult> {
    const bad = checkName("candidate", candidate) ?? checkToken(token);
    if (bad !== undefined) return { released: false, error: bad };
    const decision = release(this.state, candidate, token, this.now());
    if (!decision.matched) {
      return { released: false, reason: decision.reason, holder: decision.holder };
    }
    await this.store(decision.next);
    return { released: true, holder: decision.lease.holder, fencingToken: decision.lease.token };
  }

  /** Who holds the lease now, under which token, until when; and the group's history counts. */
  current(): LeaseStatus {
    const now = this.now();
    const state = settle(this.state, now);
    const lease = state.lease;
    return {
      holder: lease?.holder ?? null,
      fencingToken: lease?.token ?? null,
      expiresAt: lease?.expiresAt ?? null,
      lockedUntil: now < state.lockedUntil ? state.lockedUntil : null,
      lastToken: state.lastToken,
      transitions: state.transitions,
    };
  }

  /**
   * Whether `token` is the live lease's token right now. A point-in-time answer: a resource
   * that must refuse a deposed leader's late writes should keep its own fence (`FencingGuard`).
   */
  validate(token: number): TokenValidation {
    const lease = liveLease(this.state, this.now());
    return {
      valid: checkToken(token) === undefined && lease?.token === token,
      fencingToken: lease?.token ?? null,
      expiresAt: lease?.expiresAt ?? null,
    };
  }

  /**
   * Operator's override: ends the live lease now, as if it had expired (its lock-delay applies,
   * since its holder did not let go). The token counter is kept.
   */
  async revoke(): Promise<RevokeResult> {
    const decision = revoke(this.state, this.now());
    if (decision === undefined) return { revoked: false, holder: null, fencingToken: null };
    await this.store(decision.next);
    return { revoked: true, holder: decision.lease.holder, fencingToken: decision.lease.token };
  }

  /**
   * Writes down an expiry that has happened, and re-arms for the live lease's expiry otherwise.
   * Safe to run early, late or twice: it only records what is true when it runs.
   */
  override async alarm(): Promise<void> {
    const settled = settle(this.state, this.now());
    if (settled !== this.state) this.write(settled);
    const lease = settled.lease;
    this.alarmAt = lease?.expiresAt ?? null;
    if (lease !== null) await this.ctx.storage.setAlarm(lease.expiresAt);
  }

  /**
   * Writes the record, synchronously, then keeps the alarm at or before the lease's expiry: a
   * renewal only moves the expiry later, so it leaves the alarm, which re-arms itself.
   */
  private async store(next: LeaseState): Promise<void> {
    this.write(next);
    const expiry = next.lease?.expiresAt;
    if (expiry !== undefined && (this.alarmAt === null || expiry < this.alarmAt)) {
      this.alarmAt = expiry;
      await this.ctx.storage.setAlarm(expiry);
    }
  }

  private write(next: LeaseState): void {
    this.ctx.storage.kv.put(STATE_KEY, next);
    this.state = next;
  }
}

function viewOf(lease: Lease): LeaseView {
  return { holder: lease.holder, fencingToken: lease.token, expiresAt: lease.expiresAt };
}
