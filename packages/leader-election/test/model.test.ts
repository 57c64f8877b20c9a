/**
 * The real object against the tiny model: random sequences of acquires, renewals, releases,
 * revocations, reads, clock jumps, evictions, alarms and retried alarms, each answer compared
 * with the model's, and after every step the stored record checked: it holds what was
 * acknowledged, and while it stores a lease an alarm is set no later than its expiry.
 */
// A step that the model answers is compared; a stored lease needs its alarm.
/* oxlint-disable vitest/no-conditional-expect */
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import * as fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import type { LeaseState } from "../src/index";
import { freshElection, setNow, T0, type Election } from "./helpers";
import { Beliefs, clockAfter, LeaseModel, ops, type Op } from "./model";
import { testClock } from "./worker";

afterEach(() => {
  testClock.now = null;
});

async function play(election: Election, op: Op, now: number): Promise<unknown> {
  switch (op.kind) {
    case "acquire":
      return election.acquire(op.candidate, op.ttlMs, { lockDelayMs: op.lockDelayMs });
    case "renew":
      return election.renew(op.candidate, op.token);
    case "release":
      return election.release(op.candidate, op.token);
    case "revoke":
      return election.revoke();
    case "validate":
      return election.validate(op.token);
    case "current":
      return election.current();
    case "evict":
      return evictDurableObject(election);
    case "alarm":
      // Runs the scheduled alarm now, early or late, as the runtime may.
      return runDurableObjectAlarm(election);
    case "alarm-retry":
      return runInDurableObject(election, (instance) => instance.alarm());
    case "advance":
    case "edge":
      return setNow(now);
  }
}

function expected(model: LeaseModel, op: Op, now: number): unknown {
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

const stored = (election: Election) =>
  runInDurableObject(election, async (_instance, state) => ({
    record: state.storage.kv.get<LeaseState>("lease") ?? null,
    alarm: await state.storage.getAlarm(),
  }));

describe("the object against the model", () => {
  it("answers as the model does through evictions, alarms, retried alarms and clock jumps", async () => {
    await fc.assert(
      fc.asyncProperty(ops(["evict", "alarm", "alarm-retry"], 30), async (operations) => {
        let now = T0;
        setNow(now);
        const election = freshElection();
        const model = new LeaseModel();
        const beliefs = new Beliefs();
        // Started, so that an eviction first thing has an object to evict.
        expect(await election.current()).toEqual(model.current(now));
        for (const op of operations) {
          now = clockAfter(op, model, now);
          const result = await play(election, op, now);
          const answer = expected(model, op, now);
          if (answer !== undefined) expect(result).toEqual(answer);
          beliefs.observe(op, result, now);

          const { record, alarm } = await stored(election);
          // Acknowledged means stored: the token counter and history are on disk.
          const truth = model.current(now);
          expect(record?.lastToken ?? 0).toBe(truth.lastToken);
          if (record?.lease) {
            expect(alarm).not.toBeNull();
            expect(alarm!).toBeLessThanOrEqual(record.lease.expiresAt);
          }
        }
      }),
      { numRuns: 30 },
    );
    // About 900 calls and storage reads: seconds alone, longer on a busy machine.
  }, 120_000);
});
