/**
 * Floors: a pattern's RPC signature with none of the pattern's work. A ceiling method takes no
 * argument and returns nothing, but a real hot path must take its input and return its answer,
 * and workerd charges for that on every call: a plain-object result, for one, gets a pipeline
 * capability on the callee and a disposer on the caller. A floor row measures exactly that, so
 * the table can tell the cost of the call's shape apart from the cost of the pattern's code.
 */
import type { CheckOptions, Policy, RateLimitResult } from "@do-patterns/rate-limiter";
import { Ceiling } from "./ceiling.ts";

/**
 * `RateLimiter.check`'s signature: the same argument in, a result of the same shape out, and
 * one row written (admitted) or none (denied) by the ceiling's own write.
 */
export class RateLimiterSignature extends Ceiling {
  check(policy: Policy, _options?: CheckOptions): RateLimitResult {
    this.writeRow();
    return resultFor(policy, true);
  }

  /**
   * A new key's first admitted check, called on a new object each time: the row, and the
   * cleanup alarm that a key's first state needs so that a key gone quiet leaves nothing behind.
   */
  async checkNewKey(policy: Policy, _options?: CheckOptions): Promise<RateLimitResult> {
    this.writeRow();
    await this.ctx.storage.setAlarm(Date.now() + policy.windowSeconds * 1000);
    return resultFor(policy, true);
  }

  /** Only so that `checkNewKey` may set an alarm; the run evicts its objects long before. */
  override async alarm(): Promise<void> {}

  checkDenied(policy: Policy, _options?: CheckOptions): RateLimitResult {
    return resultFor(policy, false);
  }
}

function resultFor(policy: Policy, allowed: boolean): RateLimitResult {
  return {
    allowed,
    policy: policy.name,
    limit: policy.limit,
    windowSeconds: policy.windowSeconds,
    remaining: allowed ? policy.limit - 1 : 0,
    resetAfterMs: policy.windowSeconds * 1000,
    retryAfterMs: allowed ? 0 : 1000,
  };
}
