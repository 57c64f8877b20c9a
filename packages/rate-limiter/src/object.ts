/**
 * The RateLimiter Durable Object: one per rate-limited key (a user, an IP, an API key). Thin glue
 * between the pure decisions of `algorithms.ts` and the object's storage and alarm.
 */
import { DurableObject } from "cloudflare:workers";
import { decide, refund, type Decision, type Rate, type StoredState } from "./algorithms";
import {
  MAX_POLICIES_PER_KEY,
  parsePolicyAndCost,
  type InputErrorCode,
  type Policy,
} from "./policy";

export interface CheckOptions {
  /** Units this call consumes, peeks at or gives back (default 1): a whole number from 1 to the limit. */
  cost?: number;
}

/** The outcome of `check`, `peek` or `refund`, for one key under one policy. */
export interface RateLimitResult {
  /** `check`: whether the call was admitted. `peek`: whether it would be. `refund`: whether a unit call would be now. */
  allowed: boolean;
  policy: string;
  limit: number;
  windowSeconds: number;
  /** Whole units available after this decision: exactly this many unit calls would be admitted. */
  remaining: number;
  /** Milliseconds until the full limit is available again; 0 when it is available now. */
  resetAfterMs: number;
  /** Milliseconds until a call of the same cost would be admitted; 0 when allowed. */
  retryAfterMs: number;
}

/**
 * What `check`, `peek` and `refund` return for input they cannot act on. Returned rather than
 * thrown, so a caller's mistake is an answer, not an exception in the object. `allowed` is
 * false, so code that only reads `allowed` fails closed.
 */
export interface RateLimitRejection {
  allowed: false;
  error: { code: InputErrorCode | "too_many_policies"; message: string };
}

export type RateLimitOutcome = RateLimitResult | RateLimitRejection;

/**
 * The rate limiter for one key. Address it by the key: `env.RATE_LIMITER.getByName(key)`.
 *
 * Every decision runs synchronously against an in-memory copy of this key's state, and an
 * admitted call writes its one row before the method yields, so concurrent calls are
 * serialised by the object's input gate and a limit of L admits exactly L. Denials and peeks
 * write nothing. An alarm deletes state once it has expired, and the object's storage is
 * emptied entirely when no policy has state left.
 *
 * @example
 * const limiter = env.RATE_LIMITER.getByName(`user:${userId}`);
 * const result = await limiter.check({ name: "api", algorithm: "gcra", limit: 100, windowSeconds: 60 });
 * if (!result.allowed) return new Response("Too many requests", { status: 429 });
 */
export class RateLimiter extends DurableObject<unknown> {
  /**
   * Cache over storage: every stored entry (one sync KV entry, one SQLite row, per policy name),
   * at most MAX_POLICIES_PER_KEY.
   */
  private readonly states = new Map<string, StoredState>();
  /**
   * No later than the cleanup alarm, or null when none is needed. Storage keeps the alarm at or
   * before the earliest expiry of the states it holds, so after a restart the earliest expiry is
   * a safe stand-in: at worst a later write moves the alarm to a time that is still early enough.
   * That spares a new object's first call a read of the alarm.
   */
  private alarmAt: number | null = null;

  constructor(ctx: DurableObjectState, env: unknown) {
    super(ctx, env);
    // The sync KV API reads in the constructor, before any call can run: no gate needed.
    for (const [name, stored] of ctx.storage.kv.list<StoredState>()) this.states.set(name, stored);
    this.alarmAt = this.earliestExpiry();
  }

  /** The one source of time. Tests override it to drive windows without sleeping. */
  protected now(): number {
    return Date.now();
  }

  /**
   * Consumes `cost` units if the policy allows it. Returns a rejection for an invalid policy or
   * cost, or when this key already tracks MAX_POLICIES_PER_KEY other live policies.
   */
  async check(policy: Policy, options: CheckOptions = {}): Promise<RateLimitOutcome> {
    const valid = parsePolicyAndCost(policy, options.cost);
    if (!valid.ok) return reject(valid.code, valid.message);
    const now = this.now();
    const decision = decide(
      rateOf(valid.policy),
      this.states.get(valid.policy.name)?.state,
      now,
      valid.cost,
    );
    if (decision.next === undefined) return toResult(valid.policy, decision);

    // Decision and write happen before the first await, so no other call can interleave.
    if (!this.makeRoomFor(valid.policy.name, now)) {
      return reject(
        "too_many_policies",
        `this key already tracks ${MAX_POLICIES_PER_KEY} live policies; reuse a policy name or reset the key`,
      );
    }
    await this.store(valid.policy.name, decision.next);
    return toResult(valid.policy, decision);
  }

  /**
   * Reports, without consuming or writing, what remains now and when the full limit is back,
   * and whether `check` would admit this cost (and if not, when it would).
   */
  peek(policy: Policy, options: CheckOptions = {}): RateLimitOutcome {
    const valid = parsePolicyAndCost(policy, options.cost);
    if (!valid.ok) return reject(valid.code, valid.message);
    const stored = this.states.get(valid.policy.name)?.state;
    return toResult(
      valid.policy,
      decide(rateOf(valid.policy), stored, this.now(), valid.cost, false),
    );
  }

  /**
   * Gives back `cost` units this key consumed (for a request that failed, say): the most recent
   * usage first, never beyond no usage at all, so a key never holds more than its limit.
   * Returns what a unit call would get now.
   */
  async refund(policy: Policy, options: CheckOptions = {}): Promise<RateLimitOutcome> {
    const valid = parsePolicyAndCost(policy, options.cost);
    if (!valid.ok) return reject(valid.code, valid.message);
    const { name } = valid.policy;
    const rate = rateOf(valid.policy);
    const now = this.now();
    const current = this.states.get(name);
    // Nothing stored means nothing in use: no write.
    if (current === undefined)
      return toResult(valid.policy, decide(rate, undefined, now, 1, false));
    const next = refund(rate, current.state, now, valid.cost);
    if (next === undefined) await this.forget([name]);
    else await this.store(name, next);
    return toResult(valid.policy, decide(rate, next?.state, now, 1, false));
  }

  /** Forgets one policy's state for this key, or every policy's when no name is given. */
  async reset(policyName?: string): Promise<{ cleared: number }> {
    const names = policyName === undefined ? [...this.states.keys()] : [policyName];
    return { cleared: await this.forget(names) };
  }

  /**
   * Deletes expired state and re-arms itself for the next expiry. Safe to run early, late or
   * twice: it only removes what has expired at the time it runs.
   */
  override async alarm(): Promise<void> {
    this.dropExpired(this.now());
    this.alarmAt = this.earliestExpiry();
    if (this.alarmAt === null) await this.deleteEverything();
    else await this.ctx.storage.setAlarm(this.alarmAt);
  }

  private earliestExpiry(): number | null {
    let earliest: number | null = null;
    for (const { expiresAt } of this.states.values()) {
      if (earliest === null || expiresAt < earliest) earliest = expiresAt;
    }
    return earliest;
  }

  /** A new policy may take a slot only if one is free once expired state is dropped. */
  private makeRoomFor(name: string, now: number): boolean {
    if (this.states.has(name) || this.states.size < MAX_POLICIES_PER_KEY) return true;
    this.dropExpired(now);
    return this.states.size < MAX_POLICIES_PER_KEY;
  }

  /**
   * Writes one policy's state, synchronously, then keeps the alarm at the earliest expiry: a
   * state that expires sooner than the others moves it earlier; one that only moves later leaves
   * it, and the alarm re-arms itself when it runs.
   */
  private async store(name: string, next: StoredState): Promise<void> {
    this.ctx.storage.kv.put(name, next);
    this.states.set(name, next);
    if (this.alarmAt === null || next.expiresAt < this.alarmAt) {
      this.alarmAt = next.expiresAt;
      await this.ctx.storage.setAlarm(next.expiresAt);
    }
  }

  /** Deletes the named policies' state; with none left, everything. Returns how many it held. */
  private async forget(names: string[]): Promise<number> {
    let forgotten = 0;
    for (const name of names) {
      if (!this.states.delete(name)) continue;
      this.ctx.storage.kv.delete(name);
      forgotten++;
    }
    if (this.states.size === 0) await this.deleteEverything();
    return forgotten;
  }

  private dropExpired(now: number): void {
    for (const [name, stored] of this.states) {
      if (stored.expiresAt > now) continue;
      this.states.delete(name);
      this.ctx.storage.kv.delete(name);
    }
  }

  /** Leaves nothing behind: no entry, no alarm. */
  private async deleteEverything(): Promise<void> {
    this.states.clear();
    this.alarmAt = null;
    await this.ctx.storage.deleteAll();
  }
}

function rateOf(policy: Policy): Rate {
  return {
    algorithm: policy.algorithm,
    limit: policy.limit,
    windowMs: policy.windowSeconds * 1000,
  };
}

function reject(code: RateLimitRejection["error"]["code"], message: string): RateLimitRejection {
  return { allowed: false, error: { code, message } };
}

function toResult(policy: Policy, decision: Decision): RateLimitResult {
  return {
    allowed: decision.allowed,
    policy: policy.name,
    limit: policy.limit,
    windowSeconds: policy.windowSeconds,
    remaining: decision.remaining,
    resetAfterMs: decision.resetAfterMs,
    retryAfterMs: decision.retryAfterMs,
  };
}
