/**
 * The README's promises as properties. The pure retry decisions over every policy the package
 * accepts; and the object itself, inside workerd, against a tiny model of a run: random claims,
 * heartbeats, completions (current, stale and repeated attempts), failures, cancels, resumes,
 * clock jumps around lease timeouts and backoffs, alarms and evictions anywhere.
 */
// Each step of a sequence is checked against the claim that fits it (a retry or a failed run, a
// refused attempt 0, a claimed step).
/* oxlint-disable vitest/no-conditional-expect */
import { evictDurableObject, runDurableObjectAlarm } from "cloudflare:test";
import * as fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { backoffMs, decideFailure, MAX_ATTEMPTS, type RetryPolicy } from "../src/index";
import { freshRunId, resetClock, runObject, setNow, T0 } from "./helpers";

afterEach(resetClock);

const MAX_BACKOFF = 86_400_000;

const anyPolicy: fc.Arbitrary<RetryPolicy> = fc.record({
  maxAttempts: fc.integer({ min: 1, max: MAX_ATTEMPTS }),
  initialBackoffMs: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: MAX_BACKOFF })),
  multiplier: fc.oneof(fc.constant(1), fc.double({ min: 1, max: 10, noNaN: true })),
  maxBackoffMs: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: MAX_BACKOFF })),
});

describe("properties of the retry decisions", () => {
  it("a backoff is a whole number of ms, never above the cap, never shrinking from one try to the next", () => {
    fc.assert(
      fc.property(anyPolicy, fc.integer({ min: 1, max: MAX_ATTEMPTS }), (policy, tries) => {
        const delay = backoffMs(policy, tries);
        expect(Number.isSafeInteger(delay)).toBe(true);
        expect(delay).toBeGreaterThanOrEqual(0);
        expect(delay).toBeLessThanOrEqual(policy.maxBackoffMs);
        expect(backoffMs(policy, tries + 1)).toBeGreaterThanOrEqual(delay);
        if (tries === 1) expect(delay).toBe(Math.min(policy.initialBackoffMs, policy.maxBackoffMs));
      }),
      { numRuns: 2_000 },
    );
  });

  it("a failure retries exactly while it is retryable and tries are left, after exactly its backoff", () => {
    fc.assert(
      fc.property(
        anyPolicy,
        fc.integer({ min: 1, max: MAX_ATTEMPTS + 1 }),
        fc.integer({ min: 0, max: 1e9 }).map((ms) => T0 + ms),
        fc.boolean(),
        (policy, tries, at, retryable) => {
          const outcome = decideFailure(policy, tries, at, retryable);
          if (retryable && tries < policy.maxAttempts) {
            expect(outcome).toEqual({ kind: "retry", retryAt: at + backoffMs(policy, tries) });
          } else {
            expect(outcome).toEqual({ kind: "fail-run" });
          }
        },
      ),
      { numRuns: 2_000 },
    );
  });

  it("a run of retries takes at most maxAttempts tries in all", () => {
    fc.assert(
      fc.property(anyPolicy, (policy) => {
        let tries = 1;
        while (decideFailure(policy, tries, T0, true).kind === "retry") tries++;
        expect(tries).toBe(policy.maxAttempts);
      }),
    );
  });
});

// ---- The object against a model ----

type Op =
  | { kind: "claim"; worker: number }
  | { kind: "heartbeat"; step: number; which: Which; progress: number | null }
  | { kind: "complete"; step: number; which: Which; output: number }
  | { kind: "fail"; step: number; which: Which; retryable: boolean }
  | { kind: "advance"; ms: number }
  | { kind: "cancel" }
  | { kind: "resume" }
  | { kind: "status" }
  | { kind: "alarm" }
  | { kind: "evict" };

/** Which attempt a call names: the step's latest, an earlier one, or one never handed out. */
type Which = "latest" | "earlier" | "future";

interface Config {
  stepCount: number;
  parallelism: number;
  leaseMs: number;
  retry: RetryPolicy;
  retentionMs: number;
}

interface ModelStep {
  id: string;
  state: "queued" | "leased" | "completed" | "failed" | "stopped";
  due: number;
  attempt: number;
  tries: number;
  progress: number | null;
  completedAt: number | null;
  output: number | null;
}

interface Model {
  status: "running" | "completed" | "failed" | "cancelled";
  steps: ModelStep[];
  finishedAt: number | null;
  purgeAt: number | null;
  purged: boolean;
}

/** The model's own backoff, written out plainly rather than calling the package's. */
function modelBackoff(retry: RetryPolicy, tries: number): number {
  if (retry.initialBackoffMs === 0) return 0;
  return Math.min(
    retry.maxBackoffMs,
    Math.round(retry.initialBackoffMs * retry.multiplier ** (tries - 1)),
  );
}

function finish(m: Model, c: Config, status: Model["status"], at: number): void {
  for (const s of m.steps) {
    if (s.state === "leased" || (s.state === "queued" && s.due > 0)) {
      s.state = "stopped";
      s.due = 0;
    }
  }
  m.status = status;
  m.finishedAt = at;
  m.purgeAt = at + c.retentionMs;
}

function failTry(m: Model, c: Config, s: ModelStep, at: number, retryable: boolean): number | null {
  if (retryable && s.tries < c.retry.maxAttempts) {
    s.state = "queued";
    s.due = at + modelBackoff(c.retry, s.tries);
    return s.due;
  }
  s.state = "failed";
  s.due = 0;
  finish(m, c, "failed", at);
  return null;
}

function settle(m: Model, c: Config, now: number): void {
  while (m.status === "running") {
    const expired = m.steps
      .filter((s) => s.state === "leased" && s.due <= now)
      .toSorted((a, b) => a.due - b.due)[0];
    if (expired === undefined) return;
    failTry(m, c, expired, expired.due, true);
  }
}

const started = (s: ModelStep) => s.state === "leased" || (s.state === "queued" && s.due > 0);

/** The outcome the object must give, with refusals reduced to their code. */
function expected(
  m: Model,
  c: Config,
  op: Op,
  now: number,
  attemptOf: (s: ModelStep) => number,
): unknown {
  if (m.purged) {
    if (op.kind === "status") return null;
    if (op.kind === "alarm") return undefined;
    return { ok: false, code: "no_run" };
  }
  settle(m, c, now);
  switch (op.kind) {
    case "claim": {
      if (m.status !== "running")
        return { ok: true, step: null, status: m.status, nextClaimAt: null };
      const retry = m.steps
        .filter((s) => s.state === "queued" && s.due > 0 && s.due <= now)
        .toSorted((a, b) => a.due - b.due)[0];
      const fresh =
        m.steps.filter(started).length < c.parallelism
          ? m.steps.find((s) => s.state === "queued" && s.due === 0)
          : undefined;
      const s = retry ?? fresh;
      if (s === undefined) {
        const waits = m.steps
          .filter((x) => x.state === "leased" || (x.state === "queued" && x.due > now))
          .map((x) => x.due);
        return {
          ok: true,
          step: null,
          status: "running",
          nextClaimAt: waits.length === 0 ? null : Math.min(...waits),
        };
      }
      s.attempt++;
      s.tries++;
      s.state = "leased";
      s.due = now + c.leaseMs;
      return {
        ok: true,
        step: {
          id: s.id,
          position: m.steps.indexOf(s),
          attempt: s.attempt,
          input: m.steps.indexOf(s),
          progress: s.progress,
          leaseExpiresAt: s.due,
        },
      };
    }
    case "heartbeat":
    case "complete":
    case "fail": {
      const s = m.steps[op.step];
      if (s === undefined) throw new Error("bad step index");
      const attempt = attemptOf(s);
      if (op.kind === "complete" && s.state === "completed" && s.attempt === attempt) {
        return { ok: true, stepId: s.id, attempt, completedAt: s.completedAt };
      }
      const current = s.attempt === attempt && s.state !== "completed";
      if (current && m.status !== "running") return { ok: false, code: "run_not_running" };
      if (!(current && s.state === "leased")) return { ok: false, code: "stale_attempt" };
      if (op.kind === "heartbeat") {
        s.due = now + c.leaseMs;
        if (op.progress !== null) s.progress = op.progress;
        return { ok: true, leaseExpiresAt: s.due };
      }
      if (op.kind === "complete") {
        s.state = "completed";
        s.due = 0;
        s.completedAt = now;
        s.output = op.output;
        if (m.steps.every((x) => x.state === "completed")) finish(m, c, "completed", now);
        return { ok: true, stepId: s.id, attempt, completedAt: now };
      }
      const retryAt = failTry(m, c, s, now, op.retryable);
      return { ok: true, stepId: s.id, attempt, retryAt, runStatus: m.status };
    }
    case "cancel": {
      if (m.status === "completed") return { ok: false, code: "run_not_running" };
      if (m.status !== "cancelled") finish(m, c, "cancelled", now);
      return { ok: true, status: "cancelled" };
    }
    case "resume": {
      if (m.status === "completed" || m.status === "cancelled") {
        return { ok: false, code: "run_not_running" };
      }
      if (m.status === "failed") {
        for (const s of m.steps) {
          if (s.state === "failed" || s.state === "stopped") {
            s.state = "queued";
            s.due = now;
            s.tries = 0;
          }
        }
        m.status = "running";
        m.finishedAt = null;
        m.purgeAt = null;
      }
      return { ok: true, status: "running" };
    }
    case "status":
      return statusOf(m);
    case "alarm":
      if (m.status !== "running" && m.purgeAt !== null && m.purgeAt <= now) m.purged = true;
      return undefined;
    default:
      return undefined;
  }
}

function displayState(s: ModelStep): string {
  if (s.state === "queued") return s.due > 0 ? "waiting" : "pending";
  if (s.state === "leased") return "running";
  if (s.state === "stopped") return "interrupted";
  return s.state;
}

function statusOf(m: Model) {
  return {
    status: m.status,
    finishedAt: m.finishedAt,
    purgeAt: m.purgeAt,
    steps: m.steps.map((s) => ({
      id: s.id,
      state: displayState(s),
      attempts: s.attempt,
      tries: s.tries,
      progress: s.progress,
      leaseExpiresAt: s.state === "leased" ? s.due : null,
      retryAt: s.state === "queued" && s.due > 0 ? s.due : null,
    })),
  };
}

const config: fc.Arbitrary<Config> = fc.record({
  stepCount: fc.integer({ min: 1, max: 4 }),
  parallelism: fc.integer({ min: 1, max: 3 }),
  leaseMs: fc.integer({ min: 1, max: 3 }).map((s) => s * 1_000),
  retry: fc.record({
    maxAttempts: fc.integer({ min: 1, max: 3 }),
    initialBackoffMs: fc.constantFrom(0, 500, 1_000),
    multiplier: fc.constantFrom(1, 1.5, 2),
    maxBackoffMs: fc.constantFrom(0, 1_000, 2_000),
  }),
  retentionMs: fc.constant(60_000),
});

function opsFor(c: Config): fc.Arbitrary<Op[]> {
  const step = fc.integer({ min: 0, max: c.stepCount - 1 });
  const which = fc.constantFrom<Which>("latest", "latest", "latest", "earlier", "future");
  const op: fc.Arbitrary<Op> = fc.oneof(
    {
      weight: 6,
      arbitrary: fc
        .integer({ min: 0, max: 2 })
        .map((worker) => ({ kind: "claim" as const, worker })),
    },
    {
      weight: 2,
      arbitrary: fc
        .record({ step, which, progress: fc.option(fc.nat(9)) })
        .map((o) => ({ kind: "heartbeat" as const, ...o })),
    },
    {
      weight: 6,
      arbitrary: fc
        .record({ step, which, output: fc.nat(9) })
        .map((o) => ({ kind: "complete" as const, ...o })),
    },
    {
      weight: 3,
      arbitrary: fc
        .record({ step, which, retryable: fc.boolean() })
        .map((o) => ({ kind: "fail" as const, ...o })),
    },
    {
      weight: 5,
      arbitrary: fc
        .oneof(
          fc.constantFrom(
            0,
            1,
            499,
            500,
            999,
            1_000,
            1_001,
            c.leaseMs - 1,
            c.leaseMs,
            c.leaseMs + 1,
          ),
          fc.integer({ min: 0, max: 3 * c.leaseMs }),
          fc.constant(61_000),
        )
        .map((ms) => ({ kind: "advance" as const, ms })),
    },
    { weight: 1, arbitrary: fc.constant({ kind: "cancel" as const }) },
    { weight: 2, arbitrary: fc.constant({ kind: "resume" as const }) },
    { weight: 1, arbitrary: fc.constant({ kind: "status" as const }) },
    { weight: 2, arbitrary: fc.constant({ kind: "alarm" as const }) },
    { weight: 2, arbitrary: fc.constant({ kind: "evict" as const }) },
  );
  return fc.array(op, { minLength: 10, maxLength: 40 });
}

/** An outcome with a refusal reduced to its code, as the model states it. */
function reduce(outcome: unknown): unknown {
  if (typeof outcome === "object" && outcome !== null && "error" in outcome) {
    return { ok: false, code: (outcome as { error: { code: string } }).error.code };
  }
  return outcome;
}

describe("the object behaves as the model says, whatever the clock, alarms and evictions do", () => {
  it("random operations on one run", async () => {
    await fc.assert(
      fc.asyncProperty(
        config.chain((c) => fc.tuple(fc.constant(c), opsFor(c))),
        async ([c, ops]) => {
          let now = T0;
          setNow(now);
          const runId = freshRunId();
          const run = runObject(runId);
          const created = await run.create(
            runId,
            Array.from({ length: c.stepCount }, (_, i) => ({ id: `s${i}`, input: i })),
            {
              parallelism: c.parallelism,
              leaseTimeoutMs: c.leaseMs,
              retry: { ...c.retry },
              retentionMs: c.retentionMs,
            },
          );
          expect(created.ok).toBe(true);
          const m: Model = {
            status: "running",
            steps: Array.from({ length: c.stepCount }, (_, i) => ({
              id: `s${i}`,
              state: "queued",
              due: 0,
              attempt: 0,
              tries: 0,
              progress: null,
              completedAt: null,
              output: null,
            })),
            finishedAt: null,
            purgeAt: null,
            purged: false,
          };
          /** Every (step, attempt) ever completed, to check none is handed out again. */
          const completedSteps = new Set<string>();
          for (const op of ops) {
            if (op.kind === "advance") {
              now += op.ms;
              setNow(now);
              continue;
            }
            if (op.kind === "evict") {
              await run.step("s0"); // wakes it, so there is something to evict
              await evictDurableObject(run);
              continue;
            }
            const which = "which" in op ? op.which : "latest";
            const attemptOf = (s: ModelStep) =>
              which === "latest" ? s.attempt : which === "earlier" ? s.attempt - 1 : s.attempt + 1;
            const modelStep = "step" in op ? m.steps[op.step] : undefined;
            const attempt = modelStep === undefined ? 0 : attemptOf(modelStep);
            const stepId = `s${"step" in op ? op.step : 0}`;
            if ("step" in op && attempt < 1) {
              // Attempt 0 is refused as invalid input before anything else.
              const got =
                op.kind === "heartbeat"
                  ? await run.heartbeat(stepId, attempt)
                  : op.kind === "complete"
                    ? await run.complete(stepId, attempt, op.output)
                    : await run.fail(stepId, attempt, "x", op.kind === "fail" && op.retryable);
              expect(reduce(got)).toEqual({ ok: false, code: "invalid_input" });
              continue;
            }
            const want = expected(m, c, op, now, attemptOf);
            let got: unknown;
            switch (op.kind) {
              case "claim":
                got = await run.claim(`w${op.worker}`);
                break;
              case "heartbeat":
                got = await run.heartbeat(stepId, attempt, op.progress ?? undefined);
                break;
              case "complete":
                got = await run.complete(stepId, attempt, op.output);
                break;
              case "fail":
                got = await run.fail(stepId, attempt, "boom", op.retryable);
                break;
              case "cancel":
              case "resume": {
                const outcome = op.kind === "cancel" ? await run.cancel() : await run.resume();
                got = outcome.ok ? { ok: true, status: outcome.run.status } : reduce(outcome);
                break;
              }
              case "status": {
                const status = await run.status();
                got =
                  status === null
                    ? null
                    : {
                        status: status.status,
                        finishedAt: status.finishedAt,
                        purgeAt: status.purgeAt,
                        steps: status.steps.map((s) => ({
                          id: s.id,
                          state: s.state,
                          attempts: s.attempts,
                          tries: s.tries,
                          progress: s.progress,
                          leaseExpiresAt: s.leaseExpiresAt,
                          retryAt: s.retryAt,
                        })),
                      };
                break;
              }
              case "alarm":
                await runDurableObjectAlarm(run);
                got = undefined;
                break;
            }
            expect({ op, outcome: reduce(got) }).toEqual({ op, outcome: want });
            // Completed steps never run again.
            if (op.kind === "claim") {
              const claimedStep = (got as { step?: { id: string } | null }).step;
              if (claimedStep) expect(completedSteps.has(claimedStep.id)).toBe(false);
            }
            if (op.kind === "complete" && (got as { ok: boolean }).ok) completedSteps.add(stepId);
          }
          // The final state, in full.
          setNow(now);
          const want = expected(m, c, { kind: "status" }, now, (s) => s.attempt);
          const status = await run.status();
          expect(
            status === null
              ? null
              : {
                  status: status.status,
                  finishedAt: status.finishedAt,
                  purgeAt: status.purgeAt,
                  steps: status.steps.map((s) => ({
                    id: s.id,
                    state: s.state,
                    attempts: s.attempts,
                    tries: s.tries,
                    progress: s.progress,
                    leaseExpiresAt: s.leaseExpiresAt,
                    retryAt: s.retryAt,
                  })),
                },
          ).toEqual(want);
          for (const s of m.steps) {
            if (m.purged || s.output === null) continue;
            expect((await run.step(s.id))?.output).toBe(s.output);
          }
        },
      ),
      { numRuns: 40, endOnFailure: true },
    );
  });
});
