/**
 * Floors: a pattern's RPC signature with none of the pattern's work. A ceiling method takes no
 * argument and returns nothing, but a real hot path must take its input and return its answer,
 * and workerd charges for that on every call: a plain-object result, for one, gets a pipeline
 * capability on the callee and a disposer on the caller. A floor row measures exactly that, so
 * the table can tell the cost of the call's shape apart from the cost of the pattern's code.
 */
import type {
  BulkEvaluation,
  EvaluationContext,
  FlagEvaluation,
  FlagValue,
  Resolution,
} from "@do-patterns/feature-flags";
import type { CheckOptions, Policy, RateLimitResult } from "@do-patterns/rate-limiter";
import type { JsonValue, SessionOutcome, SessionView } from "@do-patterns/session";
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

/**
 * `FeatureFlags.evaluate` and `evaluateAll`'s signatures: the same arguments in, results of the
 * same shape out, and no storage at all, since an evaluation needs none.
 */
export class FeatureFlagsSignature extends Ceiling {
  evaluate(flagKey: string, _context?: EvaluationContext, _default?: FlagValue): FlagEvaluation {
    return { flagKey, value: false, variant: "off", reason: "SPLIT", version: 1 };
  }

  evaluateAll(_context?: EvaluationContext): BulkEvaluation {
    return { version: BULK_FLAGS, flags: BULK_RESOLUTIONS };
  }
}

/** How many flags the bulk-evaluation rows evaluate in one call. */
export const BULK_FLAGS = 50;

const BULK_RESOLUTIONS: Record<string, Resolution> = Object.fromEntries(
  Array.from({ length: BULK_FLAGS }, (_, i) => [
    `flag-${i}`,
    { value: false, variant: "off", reason: "SPLIT" },
  ]),
);

/** The session data every session row carries. */
export const SESSION_BENCH_DATA = { userId: "u-42", theme: "dark", cart: ["book", "pen"] };

/**
 * `Session.get` and `set`'s signatures with none of their work: `get` writes nothing,
 * `getTouching` (a read that persists its touch) and `set` write one row, the ceiling's.
 */
export class SessionSignature extends Ceiling {
  private readonly startedAt = Date.now();

  get(): SessionView | null {
    return this.view(SESSION_BENCH_DATA);
  }

  getTouching(): SessionView | null {
    this.writeRow();
    return this.view(SESSION_BENCH_DATA);
  }

  set(field: string, value: JsonValue): SessionOutcome {
    this.writeRow();
    return { ok: true, session: this.view({ ...SESSION_BENCH_DATA, [field]: value }) };
  }

  private view(data: SessionView["data"]): SessionView {
    return {
      id: "bench-session-0000000000000000",
      userId: null,
      data,
      createdAt: this.startedAt,
      expiresAt: this.startedAt + 30 * 60_000,
      absoluteExpiresAt: this.startedAt + 8 * 3_600_000,
    };
  }
}
