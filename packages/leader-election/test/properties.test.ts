/**
 * The state machine of `src/lease.ts` as properties: random sequences of acquires, renewals,
 * releases, revocations, reads and clock jumps (on small TTLs and lock-delays, so expiries and
 * their edges come up often), checked step by step against a tiny independent model, with the
 * safety claims checked from the callers' side: never two leaders at one instant, tokens that
 * only grow. (`model.test.ts` plays the same against the real object, with evictions and alarms.)
 */
// Each step is checked against the claim that fits it (a refusal, a grant).
/* oxlint-disable vitest/no-conditional-expect */
import * as fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  EMPTY_STATE,
  acquire,
  admitsToken,
  isValidToken,
  release,
  renew,
  revoke,
  settle,
  type LeaseState,
} from "../src/lease";
import { Beliefs, clockAfter, LeaseModel, ops, type Op } from "./model";

const BASE = Date.UTC(2030, 0, 1);
const RUNS = { numRuns: 500 };

/** One step on the pure functions, answered in the object's result shapes. */
function step(state: LeaseState, op: Op, now: number): { next: LeaseState; result: unknown } {
  switch (op.kind) {
    case "acquire": {
      const d = acquire(state, op.candidate, op.ttlMs, op.lockDelayMs, now);
      if (!d.granted) {
        const { granted, reason, holder, expiresAt, retryAfterMs } = d;
        return { next: state, result: { granted, reason, holder, expiresAt, retryAfterMs } };
      }
      const { holder, token, expiresAt } = d.lease;
      return {
        next: d.next,
        result: { granted: true, holder, fencingToken: token, expiresAt, newLease: d.newLease },
      };
    }
    case "renew": {
      const d = renew(state, op.candidate, op.token, now);
      if (!d.matched)
        return { next: state, result: { renewed: false, reason: d.reason, holder: d.holder } };
      const { holder, token, expiresAt } = d.lease;
      return { next: d.next, result: { renewed: true, holder, fencingToken: token, expiresAt } };
    }
    case "release": {
      const d = release(state, op.candidate, op.token, now);
      if (!d.matched) {
        return { next: state, result: { released: false, reason: d.reason, holder: d.holder } };
      }
      return {
        next: d.next,
        result: { released: true, holder: d.lease.holder, fencingToken: d.lease.token },
      };
    }
    case "revoke": {
      const d = revoke(state, now);
      if (d === undefined)
        return { next: state, result: { revoked: false, holder: null, fencingToken: null } };
      return {
        next: d.next,
        result: { revoked: true, holder: d.lease.holder, fencingToken: d.lease.token },
      };
    }
    case "validate": {
      const lease = settle(state, now).lease;
      return {
        next: state,
        result: {
          valid: isValidToken(state, op.token, now),
          fencingToken: lease?.token ?? null,
          expiresAt: lease?.expiresAt ?? null,
        },
      };
    }
    case "current": {
      const s = settle(state, now);
      return {
        next: state,
        result: {
          holder: s.lease?.holder ?? null,
          fencingToken: s.lease?.token ?? null,
          expiresAt: s.lease?.expiresAt ?? null,
          lockedUntil: now < s.lockedUntil ? s.lockedUntil : null,
          lastToken: s.lastToken,
          transitions: s.transitions,
        },
      };
    }
    // What the alarm does: write the settled state down.
    case "alarm":
      return { next: settle(state, now), result: undefined };
    default:
      return { next: state, result: undefined };
  }
}

function modelAnswer(model: LeaseModel, op: Op, now: number): unknown {
  switch (op.kind) {
    case "acquire":
      return model.acquire(op.candidate, op.ttlMs, op.lockDelayMs, now);
    case "renew":
      return model.renew(op.candidate, op.token, now);
    case "release":
      return model.release(op.candidate, op.token, now);
    case "revoke":
      return model.revoke(now);
    case "validate":
      return model.validate(op.token, now);
    case "current":
      return model.current(now);
    default:
      return undefined;
  }
}

describe("the lease state machine", () => {
  it("answers every operation as the model does, at every clock jump, with writes settled or not", () => {
    fc.assert(
      fc.property(ops(["alarm"], 60), fc.integer({ min: 0, max: 10_000 }), (operations, start) => {
        let now = BASE + start;
        let state = EMPTY_STATE;
        const model = new LeaseModel();
        const beliefs = new Beliefs();
        for (const op of operations) {
          if (op.kind === "advance" || op.kind === "edge") {
            now = clockAfter(op, model, now);
            continue;
          }
          const { next, result } = step(state, op, now);
          expect(result).toEqual(modelAnswer(model, op, now));
          beliefs.observe(op, result, now);
          // Tokens and history only grow, and a refusal or a read changes nothing stored.
          expect(next.lastToken).toBeGreaterThanOrEqual(state.lastToken);
          expect(next.transitions).toBeGreaterThanOrEqual(state.transitions);
          const r = result as Record<string, unknown> | undefined;
          if (
            r?.granted === false ||
            r?.renewed === false ||
            r?.released === false ||
            r?.revoked === false
          ) {
            expect(next).toBe(state);
          }
          state = next;
        }
      }),
      RUNS,
    );
  });

  it("a refusal's retryAfterMs is honest and tight when nobody else acts: granted then, not a millisecond sooner", () => {
    fc.assert(
      fc.property(ops([], 30), fc.constantFrom("a", "b", "c", "d"), (operations, asker) => {
        let now = BASE;
        let state = EMPTY_STATE;
        // Kept alongside only to aim clock jumps at the lease's edges.
        const model = new LeaseModel();
        for (const op of operations) {
          now = clockAfter(op, model, now);
          state = step(state, op, now).next;
          modelAnswer(model, op, now);
          const d = acquire(state, asker, 1_000, 0, now);
          if (d.granted) continue;
          expect(d.retryAfterMs).toBeGreaterThan(0);
          expect(acquire(state, asker, 1_000, 0, now + d.retryAfterMs).granted).toBe(true);
          expect(acquire(state, asker, 1_000, 0, now + d.retryAfterMs - 1).granted).toBe(false);
        }
      }),
      RUNS,
    );
  });

  it("settling is idempotent and invisible: settled or not, every answer is the same", () => {
    fc.assert(
      fc.property(ops([], 30), fc.integer({ min: 0, max: 20_000 }), (operations, later) => {
        let now = BASE;
        let state = EMPTY_STATE;
        // Kept alongside only to aim clock jumps at the lease's edges.
        const model = new LeaseModel();
        for (const op of operations) {
          now = clockAfter(op, model, now);
          state = step(state, op, now).next;
          modelAnswer(model, op, now);
        }
        const at = now + later;
        const settled = settle(state, at);
        expect(settle(settled, at)).toBe(settled);
        for (const probe of [
          { kind: "acquire", candidate: "a", ttlMs: 10, lockDelayMs: 0 },
          { kind: "current" },
          { kind: "validate", token: state.lastToken },
          { kind: "renew", candidate: "a", token: state.lastToken },
        ] as Op[]) {
          expect(step(settled, probe, at).result).toEqual(step(state, probe, at).result);
        }
      }),
      RUNS,
    );
  });
});

describe("the guard's rule", () => {
  it("admits a token exactly when no higher one was admitted before, so admitted tokens never go down", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 8 }), { maxLength: 40 }), (tokens) => {
        let highest = 0;
        const admitted: number[] = [];
        for (const token of tokens) {
          const ok = admitsToken(highest, token);
          expect(ok).toBe(admitted.every((earlier) => earlier <= token));
          if (!ok) continue;
          admitted.push(token);
          highest = token;
        }
        expect(admitted).toEqual(admitted.toSorted((x, y) => x - y));
      }),
      RUNS,
    );
  });
});
