/**
 * The other half of fencing: the resource a leader writes to keeps the highest token it has
 * seen and refuses anything older. A lease alone cannot stop a leader that paused (a long GC, a
 * stalled request) past its expiry from writing after a new leader took over; the token can,
 * because the new leader's first write raises the fence.
 */
import { admitsToken } from "./lease";
import { checkToken } from "./options";

export type GuardedWrite<T> =
  | { accepted: true; value: T; highestToken: number }
  | { accepted: false; highestToken: number; reason: "stale_token" | "invalid_token" };

/**
 * Used inside the guarded resource's own Durable Object: runs a write only if its fencing token
 * is at least the highest this resource has accepted, and raises the fence to it, in one
 * synchronous transaction with the write (both or neither). One storage entry per guard.
 *
 * @example
 * export class Inventory extends DurableObject {
 *   private readonly fence = new FencingGuard(this.ctx.storage);
 *   setStock(token: number, sku: string, count: number) {
 *     return this.fence.write(token, () => this.ctx.storage.kv.put(`stock:${sku}`, count));
 *   }
 * }
 */
export class FencingGuard {
  constructor(
    private readonly storage: DurableObjectStorage,
    /** The storage key holding the highest token; one per guarded resource in an object. */
    private readonly key = "fencing:highest-token",
  ) {}

  /** The highest token this resource has accepted; 0 before the first write. */
  highestToken(): number {
    return this.storage.kv.get<number>(this.key) ?? 0;
  }

  /**
   * Runs `apply` (synchronous storage writes only: the sync KV or SQL API) if `token` is
   * current, recording it as the highest. If `apply` throws, neither its writes nor the new
   * fence are kept, and the error propagates.
   */
  write<T>(token: number, apply: () => T): GuardedWrite<T> {
    return this.storage.transactionSync((): GuardedWrite<T> => {
      const highest = this.highestToken();
      if (checkToken(token) !== undefined) {
        return { accepted: false, highestToken: highest, reason: "invalid_token" };
      }
      if (!admitsToken(highest, token)) {
        return { accepted: false, highestToken: highest, reason: "stale_token" };
      }
      if (token > highest) this.storage.kv.put(this.key, token);
      return { accepted: true, value: apply(), highestToken: token };
    });
  }
}
