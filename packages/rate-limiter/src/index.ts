/**
 * @do-patterns/rate-limiter: one Durable Object per rate-limited key (a user, an IP, an API
 * key), exact under any concurrency, with O(1) state per policy and nothing left behind once a
 * key goes quiet.
 *
 * Reads top-down: public types, the RateLimiter class, the HTTP routes, the Hono middleware.
 */
import { DurableObject } from "cloudflare:workers";
import { Hono } from "hono";
import type { Context, Env as HonoEnv, MiddlewareHandler } from "hono";
import { z } from "zod";
import { decide, type Decision, type LimiterState } from "./algorithms";
import { rateLimitHeaders } from "./headers";
import { errorResponse, limitBody, objectError, readJson, requireAdmin } from "./http";
import {
  MAX_POLICIES_PER_KEY,
  costSchema,
  keySchema,
  parsePolicyAndCost,
  policyNameSchema,
  policySchema,
  type InputErrorCode,
  type Policy,
} from "./policy";

export { ALGORITHMS, decide, type Algorithm, type Decision, type LimiterState } from "./algorithms";
export { rateLimitHeaders } from "./headers";
export {
  MAX_LIMIT,
  MAX_POLICIES_PER_KEY,
  MAX_WINDOW_SECONDS,
  policySchema,
  type Policy,
} from "./policy";

export interface CheckOptions {
  /** Units this call consumes (default 1). Must be a whole number from 1 to the policy's limit. */
  cost?: number;
}

/** The outcome of `check` or `peek`, for one key under one policy. */
export interface RateLimitResult {
  /** `check`: whether the call was admitted. `peek`: whether it would be. */
  allowed: boolean;
  policy: string;
  limit: number;
  windowSeconds: number;
  /** Whole units still available after this decision. */
  remaining: number;
  /** Milliseconds until the full limit is available again. */
  resetAfterMs: number;
  /** Milliseconds until a call of the same cost would be admitted; 0 when allowed. */
  retryAfterMs: number;
}

/**
 * What `check` and `peek` return for input they cannot act on. Returned rather than thrown,
 * so a caller's mistake is an answer, not an exception in the object. `allowed` is false, so
 * code that only reads `allowed` fails closed.
 */
export interface RateLimitRejection {
  allowed: false;
  error: { code: InputErrorCode | "too_many_policies"; message: string };
}

export type RateLimitOutcome = RateLimitResult | RateLimitRejection;

/** One policy's state as stored: a sync KV entry (one SQLite row) named after the policy. */
interface StoredPolicyState {
  state: LimiterState;
  expiresAt: number;
}

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
  /** Cache over storage: every stored entry, keyed by policy name. At most MAX_POLICIES_PER_KEY. */
  private readonly states = new Map<string, StoredPolicyState>();
  /** When the cleanup alarm is set for, or null; mirrors storage so checks need not ask. */
  private alarmAt: number | null = null;

  constructor(ctx: DurableObjectState, env: unknown) {
    super(ctx, env);
    ctx.blockConcurrencyWhile(async () => {
      this.loadStates();
      this.alarmAt = await ctx.storage.getAlarm();
    });
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
    const decision = this.decideFor(valid.policy, valid.cost, now);
    if (decision.next === undefined) return toResult(valid.policy, decision);

    // Decision and write happen before the first await, so no other call can interleave.
    if (!this.makeRoomFor(valid.policy.name, now)) {
      return reject(
        "too_many_policies",
        `this key already tracks ${MAX_POLICIES_PER_KEY} live policies; reuse a policy name or reset the key`,
      );
    }
    this.writeState(valid.policy.name, decision.next);
    // The alarm stays at the earliest expiry: a policy that expires sooner than the others moves
    // it earlier (once); an expiry that only moves later leaves it, and the alarm re-arms itself.
    const { expiresAt } = decision.next;
    if (this.alarmAt === null || expiresAt < this.alarmAt) {
      this.alarmAt = expiresAt;
      await this.ctx.storage.setAlarm(expiresAt);
    }
    return toResult(valid.policy, decision);
  }

  /**
   * Reports whether `check` would admit this cost now, and what remains now, without consuming
   * or writing anything.
   */
  peek(policy: Policy, options: CheckOptions = {}): RateLimitOutcome {
    const valid = parsePolicyAndCost(policy, options.cost);
    if (!valid.ok) return reject(valid.code, valid.message);
    const decision = this.decideFor(valid.policy, valid.cost, this.now());
    const result = toResult(valid.policy, decision);
    // An allowed decision reports what would remain after the call; a peek consumed nothing.
    return decision.allowed ? { ...result, remaining: result.remaining + valid.cost } : result;
  }

  /** Forgets one policy's state for this key, or every policy's when no name is given. */
  async reset(policyName?: string): Promise<{ cleared: number }> {
    const names = policyName === undefined ? [...this.states.keys()] : [policyName];
    let cleared = 0;
    for (const name of names) {
      if (!this.states.delete(name)) continue;
      this.ctx.storage.kv.delete(name);
      cleared++;
    }
    if (this.states.size === 0) await this.deleteEverything();
    return { cleared };
  }

  /**
   * Deletes expired state and re-arms itself for the next expiry. Safe to run early, late or
   * twice: it only removes what has expired at the time it runs.
   */
  override async alarm(): Promise<void> {
    const now = this.now();
    this.alarmAt = null;
    for (const [name, stored] of this.states) {
      if (stored.expiresAt > now) continue;
      this.states.delete(name);
      this.ctx.storage.kv.delete(name);
    }
    if (this.states.size === 0) {
      await this.deleteEverything();
      return;
    }
    const next = Math.min(...[...this.states.values()].map((stored) => stored.expiresAt));
    this.alarmAt = next;
    await this.ctx.storage.setAlarm(next);
  }

  private decideFor(policy: Policy, cost: number, now: number): Decision {
    const rate = {
      algorithm: policy.algorithm,
      limit: policy.limit,
      windowMs: policy.windowSeconds * 1000,
    };
    return decide(rate, this.states.get(policy.name)?.state, now, cost);
  }

  /** A new policy may take a slot only if one is free once expired state is dropped. */
  private makeRoomFor(name: string, now: number): boolean {
    if (this.states.has(name) || this.states.size < MAX_POLICIES_PER_KEY) return true;
    for (const [other, stored] of this.states) {
      if (stored.expiresAt > now) continue;
      this.states.delete(other);
      this.ctx.storage.kv.delete(other);
    }
    return this.states.size < MAX_POLICIES_PER_KEY;
  }

  private writeState(name: string, next: StoredPolicyState): void {
    this.ctx.storage.kv.put(name, next);
    this.states.set(name, next);
  }

  private loadStates(): void {
    for (const [name, stored] of this.ctx.storage.kv.list<StoredPolicyState>()) {
      this.states.set(name, stored);
    }
  }

  /** Leaves nothing behind: no entry, no alarm. */
  private async deleteEverything(): Promise<void> {
    this.states.clear();
    this.alarmAt = null;
    await this.ctx.storage.deleteAll();
  }
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

// ---------------------------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------------------------

export interface RateLimiterRoutesOptions {
  /** Name of the Durable Object binding in `env` (default "RATE_LIMITER"). */
  binding?: string;
}

const checkBody = z.strictObject(
  { key: keySchema, policy: policySchema, cost: costSchema.optional() },
  { error: objectError("body must be a JSON object with key, policy and optional cost") },
);
const resetBody = z.strictObject(
  { key: keySchema, policy: policyNameSchema.optional() },
  { error: objectError("body must be a JSON object with key and optional policy (a policy name)") },
);

type RoutesEnv = { Bindings: Record<string, unknown> & { ADMIN_TOKEN?: string } };

/**
 * The rate limiter over HTTP, for services that ask a central limiter. Mount it anywhere:
 * `app.route("/rate-limiter", rateLimiterRoutes())`.
 *
 * - `POST /check` `{ key, policy, cost? }` consumes; 200 when allowed, 429 when not.
 * - `POST /peek`  `{ key, policy, cost? }` reports without consuming; always 200.
 * - `POST /reset` `{ key, policy? }` forgets state; needs `Authorization: Bearer <ADMIN_TOKEN>`.
 *
 * Responses carry `RateLimit-Policy` and `RateLimit` headers, and `Retry-After` on 429.
 * The caller names the policy, so expose these routes to trusted services, not to the clients
 * being limited: for those, use the `rateLimit()` middleware with a policy fixed in code.
 *
 * @example
 * app.route("/rate-limiter", rateLimiterRoutes({ binding: "RATE_LIMITER" }));
 */
export function rateLimiterRoutes(options: RateLimiterRoutesOptions = {}): Hono<RoutesEnv> {
  const bindingName = options.binding ?? "RATE_LIMITER";
  const app = new Hono<RoutesEnv>();
  app.use("*", limitBody());

  const decideOverHttp = (consume: boolean) => async (c: Context<RoutesEnv>) => {
    const body = await readJson(c, checkBody);
    if (!body.ok) return body.response;
    const { key, policy, cost } = body.data;
    const valid = parsePolicyAndCost(policy, cost);
    if (!valid.ok) return errorResponse(c, 400, "invalid_request", valid.message);
    const limiter = getNamespace(c.env, bindingName).getByName(key);
    const result = consume
      ? await limiter.check(policy, { cost: valid.cost })
      : await limiter.peek(policy, { cost: valid.cost });
    if ("error" in result) return errorResponse(c, 400, "invalid_request", result.error.message);
    const headers = rateLimitHeaders(policy, result);
    if (consume && !result.allowed) return c.json(result, 429, headers);
    return c.json(result, 200, headers);
  };

  app.post("/check", decideOverHttp(true));
  app.post("/peek", decideOverHttp(false));
  app.post("/reset", requireAdmin(), async (c) => {
    const body = await readJson(c, resetBody);
    if (!body.ok) return body.response;
    const limiter = getNamespace(c.env, bindingName).getByName(body.data.key);
    return c.json(await limiter.reset(body.data.policy));
  });
  return app;
}

// ---------------------------------------------------------------------------------------------
// Middleware
// ---------------------------------------------------------------------------------------------

export interface RateLimitOptions<E extends HonoEnv> {
  /** Name of the RateLimiter Durable Object binding in `env`. */
  binding: string;
  /** Who is being limited: one Durable Object per distinct key. */
  key: (c: Context<E>) => string | Promise<string>;
  policy: Policy;
  /** Units a request costs (default 1). */
  cost?: number | ((c: Context<E>) => number | Promise<number>);
  /**
   * What to do when the limiter cannot be reached: let the request through (default, so an
   * outage of the limiter is not an outage of the app) or answer 503.
   */
  onLimiterError?: "allow" | "deny";
}

/**
 * Hono middleware that admits a request only if its key is within the policy. Sets the
 * RateLimit headers on every response and answers 429 with Retry-After when over the limit.
 *
 * @example
 * app.use("/api/*", rateLimit({
 *   binding: "RATE_LIMITER",
 *   key: (c) => c.req.header("cf-connecting-ip") ?? "unknown",
 *   policy: { name: "api", algorithm: "sliding-window", limit: 100, windowSeconds: 60 },
 * }));
 */
export function rateLimit<E extends HonoEnv = HonoEnv>(
  options: RateLimitOptions<E>,
): MiddlewareHandler<E> {
  // A bad policy is a programming error: fail when the app is built, not per request.
  const valid = parsePolicyAndCost(options.policy, 1);
  if (!valid.ok) throw new RangeError(`rateLimit(): ${valid.message}`);
  const { policy } = valid;
  return async (c, next) => {
    const key = keySchema.safeParse(await options.key(c));
    if (!key.success) {
      return errorResponse(
        c,
        400,
        "invalid_request",
        `rate limit key: ${key.error.issues[0]?.message}`,
      );
    }
    const cost = typeof options.cost === "function" ? await options.cost(c) : (options.cost ?? 1);
    // A missing binding is a deployment mistake, so it is not swallowed by onLimiterError.
    const limiter = getNamespace(c.env, options.binding).getByName(key.data);
    let result: RateLimitOutcome;
    try {
      result = await limiter.check(policy, { cost });
    } catch {
      if (options.onLimiterError === "deny") {
        return errorResponse(
          c,
          503,
          "unavailable",
          "the rate limiter is unavailable; try again shortly",
          {
            "Retry-After": "1",
          },
        );
      }
      await next();
      return;
    }
    if ("error" in result)
      return errorResponse(c, 400, "invalid_request", `rate limit: ${result.error.message}`);
    const headers = rateLimitHeaders(policy, result);
    if (!result.allowed) {
      return errorResponse(
        c,
        429,
        "rate_limited",
        `rate limit "${policy.name}" exceeded: ${policy.limit} per ${policy.windowSeconds}s; retry after ${headers["Retry-After"]}s`,
        headers,
      );
    }
    await next();
    for (const [name, value] of Object.entries(headers)) c.res.headers.set(name, value);
  };
}

function getNamespace(env: unknown, name: string): DurableObjectNamespace<RateLimiter> {
  const candidate = (env as Record<string, unknown> | undefined)?.[name];
  if (typeof candidate !== "object" || candidate === null || !("getByName" in candidate)) {
    throw new Error(
      `no Durable Object binding named "${name}" in env; add it to your wrangler config`,
    );
  }
  return candidate as DurableObjectNamespace<RateLimiter>;
}
