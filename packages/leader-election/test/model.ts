/**
 * A tiny model of one group's lease, written the plain way (mutable fields, no shared code with
 * `src/lease.ts`), and the random operations the property tests play against it and the real
 * object. Every answer the object gives must equal the model's.
 */
import * as fc from "fast-check";
import type {
  AcquireResult,
  LeaseStatus,
  ReleaseResult,
  RenewResult,
  RevokeResult,
  TokenValidation,
} from "../src/index";

export class LeaseModel {
  lastToken = 0;
  transitions = 0;
  holder: string | null = null;
  token = 0;
  expiresAt = 0;
  ttlMs = 0;
  lockDelayMs = 0;
  lockedUntil = 0;

  /** Past its expiry, a lease has ended, whether or not anything noticed. */
  private tick(now: number): void {
    if (this.holder !== null && now >= this.expiresAt) {
      this.holder = null;
      this.transitions++;
      this.lockedUntil = this.expiresAt + this.lockDelayMs;
    }
  }

  acquire(candidate: string, ttlMs: number, lockDelayMs: number, now: number): AcquireResult {
    this.tick(now);
    if (this.holder === candidate) {
      this.expiresAt = now + ttlMs;
      this.ttlMs = ttlMs;
      this.lockDelayMs = lockDelayMs;
      return { granted: true, ...this.view(), newLease: false };
    }
    if (this.holder !== null) {
      return {
        granted: false,
        reason: "held",
        holder: this.holder,
        expiresAt: this.expiresAt,
        retryAfterMs: this.expiresAt + this.lockDelayMs - now,
      };
    }
    if (now < this.lockedUntil) {
      return {
        granted: false,
        reason: "lock_delay",
        holder: null,
        expiresAt: null,
        retryAfterMs: this.lockedUntil - now,
      };
    }
    this.lastToken++;
    this.transitions++;
    this.holder = candidate;
    this.token = this.lastToken;
    this.expiresAt = now + ttlMs;
    this.ttlMs = ttlMs;
    this.lockDelayMs = lockDelayMs;
    this.lockedUntil = 0;
    return { granted: true, ...this.view(), newLease: true };
  }

  renew(candidate: string, token: number, now: number): RenewResult {
    const mismatch = this.mismatch(candidate, token, now);
    if (mismatch !== undefined) return { renewed: false, ...mismatch };
    this.expiresAt = now + this.ttlMs;
    return { renewed: true, ...this.view() };
  }

  release(candidate: string, token: number, now: number): ReleaseResult {
    const mismatch = this.mismatch(candidate, token, now);
    if (mismatch !== undefined) return { released: false, ...mismatch };
    const released = { released: true as const, holder: candidate, fencingToken: this.token };
    this.holder = null;
    this.transitions++;
    this.lockedUntil = 0;
    return released;
  }

  revoke(now: number): RevokeResult {
    this.tick(now);
    if (this.holder === null) return { revoked: false, holder: null, fencingToken: null };
    const revoked = { revoked: true, holder: this.holder, fencingToken: this.token };
    this.holder = null;
    this.transitions++;
    this.lockedUntil = now + this.lockDelayMs;
    return revoked;
  }

  current(now: number): LeaseStatus {
    this.tick(now);
    const held = this.holder !== null;
    return {
      holder: this.holder,
      fencingToken: held ? this.token : null,
      expiresAt: held ? this.expiresAt : null,
      lockedUntil: now < this.lockedUntil ? this.lockedUntil : null,
      lastToken: this.lastToken,
      transitions: this.transitions,
    };
  }

  validate(token: number, now: number): TokenValidation {
    this.tick(now);
    const held = this.holder !== null;
    return {
      valid: held && this.token === token,
      fencingToken: held ? this.token : null,
      expiresAt: held ? this.expiresAt : null,
    };
  }

  private mismatch(candidate: string, token: number, now: number) {
    this.tick(now);
    if (this.holder === null) return { reason: "not_held" as const, holder: null };
    if (this.holder !== candidate) return { reason: "not_holder" as const, holder: this.holder };
    if (this.token !== token) return { reason: "stale_token" as const, holder: this.holder };
    return undefined;
  }

  private view() {
    return { holder: this.holder ?? "", fencingToken: this.token, expiresAt: this.expiresAt };
  }
}

export type Op =
  | { kind: "acquire"; candidate: string; ttlMs: number; lockDelayMs: number }
  | { kind: "renew" | "release"; candidate: string; token: number }
  | { kind: "validate"; token: number }
  | { kind: "current" | "revoke" | "evict" | "alarm" | "alarm-retry" }
  | { kind: "advance"; ms: number }
  /** Time passes to just before, at or just after the live lease's expiry or the lock-delay's end. */
  | { kind: "edge"; target: "expiry" | "unlock"; offset: -1 | 0 | 1 };

/** The clock after `op`: it only moves forward. */
export function clockAfter(op: Op, model: LeaseModel, now: number): number {
  if (op.kind === "advance") return now + op.ms;
  if (op.kind !== "edge") return now;
  const at = op.target === "expiry" ? model.expiresAt : model.lockedUntil;
  return Math.max(now, at + op.offset);
}

const CANDIDATES = ["a", "b", "c"];
const candidate = fc.constantFrom(...CANDIDATES);
/** Small tokens, so the live one and recent stale ones come up often. */
const token = fc.integer({ min: 1, max: 6 });
const ttlMs = fc.oneof(fc.constantFrom(1, 1_000, 5_000), fc.integer({ min: 1, max: 5_000 }));
const lockDelayMs = fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 3_000 }));
/** Clock jumps that land on, just before and just after expiries, and far beyond them. */
const jump = fc.oneof(
  fc.constantFrom(0, 1, 999, 1_000, 1_001, 4_999, 5_000),
  fc.integer({ min: 0, max: 6_000 }),
  fc.integer({ min: 0, max: 60_000 }),
);

/** The operations a caller can make, plus time passing; `extra` adds the object-only ones. */
export function ops(extra: Op["kind"][] = [], maxLength = 40): fc.Arbitrary<Op[]> {
  const basic: fc.Arbitrary<Op>[] = [
    fc.record({ kind: fc.constant("acquire" as const), candidate, ttlMs, lockDelayMs }),
    fc.record({ kind: fc.constantFrom("renew" as const, "release" as const), candidate, token }),
    fc.record({ kind: fc.constant("validate" as const), token }),
    fc.record({ kind: fc.constantFrom("current" as const, "revoke" as const) }),
    fc.record({ kind: fc.constant("advance" as const), ms: jump }),
    fc.record({
      kind: fc.constant("edge" as const),
      target: fc.constantFrom("expiry" as const, "unlock" as const),
      offset: fc.constantFrom(-1 as const, 0 as const, 1 as const),
    }),
  ];
  const others = extra.map((kind) => fc.constant({ kind } as Op));
  return fc.array(
    fc.oneof(
      { arbitrary: basic[0]!, weight: 4 },
      { arbitrary: basic[1]!, weight: 3 },
      { arbitrary: basic[2]!, weight: 1 },
      { arbitrary: basic[3]!, weight: 1 },
      { arbitrary: basic[4]!, weight: 2 },
      { arbitrary: basic[5]!, weight: 2 },
      ...others.map((arbitrary) => ({ arbitrary, weight: 1 })),
    ),
    // Lengths spread up to the maximum (fast-check's default keeps most arrays short).
    { maxLength, size: "max" },
  );
}

/**
 * What the callers believe, checked at every instant: a candidate believes it leads from a grant
 * or renewal until the expiry it was given, or until it releases (or an operator revokes it).
 * At no instant may two candidates believe it, and every new lease's token must exceed every
 * token granted before.
 */
export class Beliefs {
  private readonly leading = new Map<string, number>();
  private highestToken = 0;

  observe(op: Op, result: unknown, now: number): void {
    const r = result as Record<string, unknown>;
    if (op.kind === "acquire" && r.granted === true) {
      const fencingToken = r.fencingToken as number;
      if (r.newLease === true) {
        if (!(fencingToken > this.highestToken)) {
          throw new Error(`token ${fencingToken} granted after ${this.highestToken}`);
        }
        this.highestToken = fencingToken;
      } else if (fencingToken !== this.highestToken) {
        throw new Error(`re-acquire returned ${fencingToken}, not the live ${this.highestToken}`);
      }
      this.leading.set(op.candidate, r.expiresAt as number);
    }
    if (op.kind === "renew" && r.renewed === true)
      this.leading.set(op.candidate, r.expiresAt as number);
    if (op.kind === "release" && r.released === true) this.leading.delete(op.candidate);
    if (op.kind === "revoke" && r.revoked === true) this.leading.delete(r.holder as string);
    const leaders = [...this.leading].filter(([, until]) => now < until).map(([name]) => name);
    if (leaders.length > 1) throw new Error(`two leaders at ${now}: ${leaders.join(", ")}`);
  }
}
