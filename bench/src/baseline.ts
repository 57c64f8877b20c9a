/**
 * The naive rate limiter the source articles start from, kept naive on purpose: one KV entry
 * holding the timestamp of every admitted request in the window, read with the async storage
 * API, filtered, and rewritten whole on every admitted request. Its cost grows with the limit
 * (the array holds up to `limit` numbers), which is what the rate-limiter package avoids.
 */
import { DurableObject } from "cloudflare:workers";

export class TimestampArray extends DurableObject<unknown> {
  async check(limit: number, windowMs: number): Promise<{ allowed: boolean }> {
    const now = Date.now();
    const timestamps = (await this.ctx.storage.get<number[]>("timestamps")) ?? [];
    const recent = timestamps.filter((timestamp) => timestamp > now - windowMs);
    if (recent.length >= limit) return { allowed: false };
    recent.push(now);
    await this.ctx.storage.put("timestamps", recent);
    return { allowed: true };
  }
}

interface NaiveFlag {
  name: string;
  enabled: boolean;
  rolloutPercent: number;
  allowlist: string[];
  blocklist: string[];
}

/**
 * The feature-flag controller the source articles sketch, kept naive on purpose: every
 * evaluation reads its flag from storage and hashes the entity id with SHA-256 (two awaits), and
 * a client evaluating several flags makes one call per flag.
 */
export class NaiveFlags extends DurableObject<unknown> {
  async define(flag: NaiveFlag): Promise<void> {
    await this.ctx.storage.put(`flag:${flag.name}`, flag);
  }

  /** Answers with the fields the articles' controller answers with, over RPC instead of JSON. */
  async evaluate(flagName: string, entityId: string): Promise<NaiveEvaluation> {
    const flag = await this.ctx.storage.get<NaiveFlag>(`flag:${flagName}`);
    if (flag === undefined) return { flag: flagName, enabled: false, reason: "not-found" };
    if (!flag.enabled) return { flag: flagName, enabled: false, reason: "disabled" };
    if (flag.blocklist.includes(entityId)) {
      return { flag: flagName, enabled: false, reason: "blocklisted" };
    }
    if (flag.allowlist.includes(entityId)) {
      return { flag: flagName, enabled: true, reason: "allowlisted" };
    }
    const digest = await crypto.subtle.digest(
      "SHA-256",
      new TextEncoder().encode(entityId + flagName),
    );
    const enabled = new DataView(digest).getUint32(0) % 100 < flag.rolloutPercent;
    return {
      flag: flagName,
      enabled,
      reason: enabled ? "rollout-included" : "rollout-excluded",
      rolloutPercent: flag.rolloutPercent,
    };
  }
}

interface NaiveEvaluation {
  flag: string;
  enabled: boolean;
  reason: string;
  rolloutPercent?: number;
}

interface NaiveSessionRecord {
  data: Record<string, unknown>;
  createdAt: number;
  lastAccessedAt: number;
}

/**
 * The session object the source articles sketch: every read stamps the last access time,
 * rewrites the record and re-arms the expiry alarm, so a busy session writes on every request.
 */
export class RewriteOnReadSession extends DurableObject<unknown> {
  private session: NaiveSessionRecord | null = null;

  constructor(ctx: DurableObjectState, env: unknown) {
    super(ctx, env);
    ctx.blockConcurrencyWhile(async () => {
      this.session = (await ctx.storage.get<NaiveSessionRecord>("session")) ?? null;
    });
  }

  async create(data: Record<string, unknown>): Promise<void> {
    const now = Date.now();
    this.session = { data, createdAt: now, lastAccessedAt: now };
    await this.ctx.storage.put("session", this.session);
    await this.ctx.storage.setAlarm(now + 30 * 60_000);
  }

  async get(): Promise<NaiveSessionRecord | null> {
    if (this.session === null) return null;
    this.session.lastAccessedAt = Date.now();
    await this.ctx.storage.setAlarm(Date.now() + 30 * 60_000);
    await this.ctx.storage.put("session", this.session);
    return this.session;
  }

  override async alarm(): Promise<void> {
    this.session = null;
    await this.ctx.storage.deleteAll();
  }
}
