/**
 * An OpenFeature server provider that evaluates locally, with the same evaluator as the object,
 * against a snapshot of the flag set that it fetches from the object and keeps in the isolate.
 * A request pays no Durable Object call per flag: at most one snapshot call per isolate every
 * `maxAgeMs`, and usually a small one (the object answers "unchanged" when nothing changed).
 *
 * It does no I/O until the first evaluation (a Worker may not make calls at startup), and an
 * evaluation never throws: with no usable snapshot it serves the caller's default with reason
 * ERROR, as OpenFeature expects of a provider that cannot reach its backend.
 */
import { ErrorCode } from "@openfeature/core";
import type {
  EvaluationContext,
  JsonValue,
  Logger,
  Provider,
  ResolutionDetails,
} from "@openfeature/server-sdk";
import {
  compileFlag,
  evaluateFlag,
  unreadableEntry,
  type FlagEntry,
  type Resolution,
} from "./evaluate";
import {
  parseFlag,
  type FlagSetSnapshot,
  type FlagType,
  type FlagValue,
  type UnchangedSnapshot,
} from "./flag";

/** Where snapshots come from: a FeatureFlags stub, or anything with the same method. */
export interface FlagSetSource {
  snapshot(knownVersion?: number): Promise<FlagSetSnapshot | UnchangedSnapshot>;
}

export interface FeatureFlagsProviderOptions {
  /**
   * The flag set to read, called for each refresh (a stub is cheap to make, and one made in one
   * request should not be kept for another), e.g.
   * `() => env.FEATURE_FLAGS.getByName("production")`.
   */
  flagSet: () => FlagSetSource;
  /** A snapshot older than this is refreshed before the next evaluation (default 30 s). */
  maxAgeMs?: number;
  /**
   * If a refresh fails, the last snapshot is still served for this long after it went stale
   * (default 5 minutes); after that, evaluations answer the caller's default with reason ERROR.
   * 0 serves nothing stale.
   */
  staleIfErrorMs?: number;
  /** A snapshot call that takes longer than this counts as failed (default 2 s). */
  timeoutMs?: number;
  /** The clock (default Date.now); tests pass their own. */
  now?: () => number;
}

/** After a failed refresh, evaluations wait this long before trying again, so an outage is not hammered. */
export const RETRY_AFTER_FAILURE_MS = 1_000;

interface Snapshot {
  version: number;
  entries: Map<string, FlagEntry>;
  fetchedAt: number;
}

/**
 * @example
 * import { OpenFeature } from "@openfeature/server-sdk";
 * import { env } from "cloudflare:workers";
 *
 * OpenFeature.setProvider(
 *   new FeatureFlagsProvider({ flagSet: () => env.FEATURE_FLAGS.getByName("production") }),
 * );
 * const client = OpenFeature.getClient();
 * // in a request:
 * const on = await client.getBooleanValue("new-checkout", false, { targetingKey: userId });
 */
export class FeatureFlagsProvider implements Provider {
  readonly metadata = { name: "do-patterns-feature-flags" } as const;
  readonly runsOn = "server";
  private readonly flagSet: () => FlagSetSource;
  private readonly maxAgeMs: number;
  private readonly staleIfErrorMs: number;
  private readonly timeoutMs: number;
  private readonly now: () => number;
  private current: Snapshot | undefined;
  /** The refresh in flight: concurrent evaluations share it rather than each calling the object. */
  private refreshing: Promise<number> | undefined;
  private failedAt: number | undefined;
  private lastError = "no snapshot fetched yet";

  constructor(options: FeatureFlagsProviderOptions) {
    if (typeof options?.flagSet !== "function") {
      throw new TypeError("FeatureFlagsProvider: flagSet must be a function returning a stub");
    }
    this.flagSet = options.flagSet;
    this.maxAgeMs = duration("maxAgeMs", options.maxAgeMs, 30_000, 0);
    this.staleIfErrorMs = duration("staleIfErrorMs", options.staleIfErrorMs, 300_000, 0);
    // A timeout of 0 would fail every refresh.
    this.timeoutMs = duration("timeoutMs", options.timeoutMs, 2_000, 1);
    this.now = options.now ?? Date.now;
  }

  /** The version of the snapshot held, if any: what evaluations are answered from. */
  get version(): number | undefined {
    return this.current?.version;
  }

  resolveBooleanEvaluation(
    flagKey: string,
    defaultValue: boolean,
    context: EvaluationContext,
    logger: Logger,
  ): Promise<ResolutionDetails<boolean>> {
    return this.resolve(flagKey, defaultValue, "boolean", context, logger);
  }

  resolveStringEvaluation(
    flagKey: string,
    defaultValue: string,
    context: EvaluationContext,
    logger: Logger,
  ): Promise<ResolutionDetails<string>> {
    return this.resolve(flagKey, defaultValue, "string", context, logger);
  }

  resolveNumberEvaluation(
    flagKey: string,
    defaultValue: number,
    context: EvaluationContext,
    logger: Logger,
  ): Promise<ResolutionDetails<number>> {
    return this.resolve(flagKey, defaultValue, "number", context, logger);
  }

  /** An object flag's value is whatever JSON the flag holds: `T` is the caller's claim about it. */
  resolveObjectEvaluation<T extends JsonValue>(
    flagKey: string,
    defaultValue: T,
    context: EvaluationContext,
    logger: Logger,
  ): Promise<ResolutionDetails<T>> {
    return this.resolve(flagKey, defaultValue, "object", context, logger);
  }

  /**
   * Fetches the flag set now, whatever the snapshot's age (after an admin change, say), and
   * resolves to its version; rejects if the object cannot be reached. Shares a refresh already
   * in flight.
   */
  refresh(): Promise<number> {
    this.refreshing ??= this.fetchSnapshot().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  async onClose(): Promise<void> {
    this.current = undefined;
  }

  private async resolve<T extends FlagValue>(
    flagKey: string,
    defaultValue: T,
    type: FlagType,
    context: EvaluationContext,
    logger: Logger,
  ): Promise<ResolutionDetails<T>> {
    const snapshot = await this.usableSnapshot(logger);
    if (snapshot === undefined) {
      return {
        value: defaultValue,
        reason: "ERROR",
        errorCode: ErrorCode.GENERAL,
        errorMessage: `the flag set is unavailable: ${this.lastError}`,
      };
    }
    const resolution = evaluateFlag(
      snapshot.entries.get(flagKey),
      flagKey,
      context,
      defaultValue,
      type,
    );
    // The evaluator serves the default or a value of the flag's type, which it checked is `type`.
    return toDetails(resolution, snapshot.version) as ResolutionDetails<T>;
  }

  /** The snapshot to answer from: fresh, refreshed now, or stale within staleIfErrorMs. */
  private async usableSnapshot(logger: Logger): Promise<Snapshot | undefined> {
    const held = this.current;
    const now = this.now();
    if (held !== undefined && now - held.fetchedAt < this.maxAgeMs) return held;
    const backingOff = this.failedAt !== undefined && now - this.failedAt < RETRY_AFTER_FAILURE_MS;
    if (!backingOff) {
      try {
        await this.refresh();
        return this.current;
      } catch (error) {
        logger.warn(
          `feature flags: refresh failed (${describe(error)}); serving stale flags or defaults`,
        );
      }
    }
    const stale = this.current;
    if (stale === undefined) return undefined;
    return this.now() - stale.fetchedAt < this.maxAgeMs + this.staleIfErrorMs ? stale : undefined;
  }

  private async fetchSnapshot(): Promise<number> {
    try {
      const known = this.current?.version;
      // flagSet() inside the promise: a binding that throws is a failed refresh, not a throw.
      const call = Promise.resolve().then(() => this.flagSet().snapshot(known));
      const answer: unknown = await withTimeout(call, this.timeoutMs);
      const fetchedAt = this.now();
      if (isUnchanged(answer)) {
        if (this.current === undefined || answer.version !== this.current.version) {
          throw new Error(
            `the object answered "unchanged" for version ${answer.version}, which this provider does not hold`,
          );
        }
        this.current = { ...this.current, fetchedAt };
      } else {
        this.current = compileSnapshot(answer, fetchedAt);
      }
      this.failedAt = undefined;
      return this.current.version;
    } catch (error) {
      this.failedAt = this.now();
      this.lastError = describe(error);
      throw error;
    }
  }
}

/**
 * Compiles every flag of a snapshot. The object may run another version of this code (during a
 * deployment, or a Worker deployed apart from it), so each flag is validated again: one this
 * code cannot read answers PARSE_ERROR, and the rest still work.
 */
function compileSnapshot(answer: unknown, fetchedAt: number): Snapshot {
  if (!isSnapshot(answer)) throw new Error("the object's snapshot is malformed");
  const entries = new Map<string, FlagEntry>();
  for (const stored of answer.flags) {
    const { version, updatedAt, ...definition } = stored;
    const parsed = parseFlag(definition);
    entries.set(
      stored.key,
      parsed.ok
        ? compileFlag({ ...parsed.flag, version, updatedAt })
        : unreadableEntry({ key: stored.key, version, message: parsed.message }),
    );
  }
  for (const flag of answer.unreadable) entries.set(flag.key, unreadableEntry(flag));
  return { version: answer.version, entries, fetchedAt };
}

function toDetails(resolution: Resolution, version: number): ResolutionDetails<FlagValue> {
  const details: ResolutionDetails<FlagValue> = {
    value: resolution.value,
    reason: resolution.reason,
    flagMetadata: { flagSetVersion: version },
  };
  if (resolution.variant !== undefined) details.variant = resolution.variant;
  if (resolution.errorCode !== undefined) details.errorCode = ErrorCode[resolution.errorCode];
  if (resolution.errorMessage !== undefined) details.errorMessage = resolution.errorMessage;
  return details;
}

function isUnchanged(answer: unknown): answer is UnchangedSnapshot {
  return typeof answer === "object" && answer !== null && "unchanged" in answer;
}

function isSnapshot(answer: unknown): answer is FlagSetSnapshot {
  if (typeof answer !== "object" || answer === null) return false;
  const { version, flags, unreadable } = answer as Partial<FlagSetSnapshot>;
  return (
    Number.isSafeInteger(version) &&
    Array.isArray(flags) &&
    Array.isArray(unreadable) &&
    flags.every(
      (flag) => typeof flag === "object" && flag !== null && typeof flag.key === "string",
    ) &&
    unreadable.every(
      (flag) => typeof flag === "object" && flag !== null && typeof flag.key === "string",
    )
  );
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => {
    if (timer !== undefined) clearTimeout(timer);
  });
}

function duration(name: string, value: number | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < min) {
    throw new RangeError(
      `FeatureFlagsProvider: ${name} must be a finite number of milliseconds, ${min} or more`,
    );
  }
  return value;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
