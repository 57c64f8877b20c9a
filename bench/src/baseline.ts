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
