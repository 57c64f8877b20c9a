/**
 * One group commit: the increments accepted while the previous flush was committing, held in
 * memory until one flush writes them all in one transaction. Pure: no storage, no clock.
 */

/** An idempotency key the object has accepted, and what it was for. */
export interface Remembered {
  key: string;
  amount: number;
  /** When it was accepted: it is remembered until `at + dedupeWindowMs`. */
  at: number;
}

/** Whether an idempotency key accepted at `at` still dedupes at `now`. */
export function isRemembered(at: number, now: number, windowMs: number): boolean {
  // A clock that stepped backwards keeps a key remembered: counting twice is the worse error.
  return now < at + windowMs;
}

export class Batch {
  /**
   * The value each key touched will hold once this batch commits (0: delete its row). Values,
   * not deltas: every step is checked to stay a safe integer, and a reset is just a 0.
   */
  readonly values = new Map<string, number>();
  /** Idempotency keys first seen in this batch. */
  readonly ids = new Map<string, Remembered>();
  /** Keys this batch adds that storage does not hold yet, so the counter cap counts them. */
  newKeys = 0;
  /** Settles once this batch's writes are durable (or failed: nothing of it was written). */
  readonly committed: Promise<void>;
  private settle!: { resolve: () => void; reject: (error: unknown) => void };

  constructor() {
    this.committed = new Promise<void>((resolve, reject) => {
      this.settle = { resolve, reject };
    });
    // Every caller awaits `committed`; this only keeps a batch nobody awaits (a retried
    // duplicate that returned early) from reporting an unhandled rejection.
    this.committed.catch(() => {});
  }

  /** Records `key`'s value after this step, and the idempotency key that asked for it. */
  set(key: string, value: number, isNewKey: boolean, id?: Remembered & { id: string }): void {
    if (isNewKey && !this.values.has(key)) this.newKeys++;
    this.values.set(key, value);
    if (id !== undefined) this.ids.set(id.id, { key: id.key, amount: id.amount, at: id.at });
  }

  resolve(): void {
    this.settle.resolve();
  }

  reject(error: unknown): void {
    this.settle.reject(error);
  }
}
