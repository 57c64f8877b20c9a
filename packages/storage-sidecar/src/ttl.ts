/**
 * The idle timeout, as a pure decision. The deadline lives in storage (with the alarm set at it)
 * and always satisfies `deadline >= lastTouch + ttl`, so an alarm that finds `now >= deadline`
 * knows the sidecar has been idle for at least the TTL, even after eviction forgot the last
 * touch. Moving the deadline costs two writes (the stored deadline and the alarm), so a touch
 * pushes it a tenth of the TTL further than needed, and the next touches within that tenth write
 * nothing: at most one move per TTL/10 of activity, at the price of deleting up to TTL/10 late.
 */

/** One minute: shorter idle timeouts would move the alarm on nearly every call. */
export const MIN_TTL_SECONDS = 60;
/** One year, as long as a Workflow may sleep. */
export const MAX_TTL_SECONDS = 31_536_000;
/** One week unless `configure({ ttlSeconds })` says otherwise. */
export const DEFAULT_TTL_SECONDS = 604_800;

/** How much later than strictly needed a touch sets the deadline: a tenth of the TTL. */
export function slackFor(ttlMs: number): number {
  return Math.floor(ttlMs / 10);
}

/**
 * The new deadline a touch at `now` must store, or null when the stored one is still at least a
 * full TTL away (then the touch writes nothing).
 *
 * @example
 * nextDeadline(null, 0, 60_000); // 66_000: the first touch sets it, with a tenth to spare
 * nextDeadline(66_000, 5_000, 60_000); // null: still 61 s away
 */
export function nextDeadline(deadline: number | null, now: number, ttlMs: number): number | null {
  if (deadline !== null && deadline >= now + ttlMs) return null;
  return now + ttlMs + slackFor(ttlMs);
}

/** What an alarm at `now` does with the stored deadline. */
export function alarmAction(deadline: number | null, now: number): "nothing" | "rearm" | "expire" {
  if (deadline === null) return "nothing";
  return now >= deadline ? "expire" : "rearm";
}
