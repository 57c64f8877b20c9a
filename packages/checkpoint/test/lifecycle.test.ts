/**
 * A run's life through the RPC surface: claims in order, completion, retries with backoff,
 * failure of the run, resume, cancel; and the failure scenarios a worker meets (a stale
 * attempt, a duplicate completion, an oversized output).
 */
import { afterEach, describe, expect, it } from "vitest";
import { MAX_OUTPUT_BYTES } from "../src/index";
import { claimed, newRun, resetClock, SECOND, setNow, storedSteps, T0 } from "./helpers";

afterEach(resetClock);

describe("a run from start to finish", () => {
  it("hands out steps in order, one at a time, with their input, and completes the run", async () => {
    setNow(T0);
    const { run, runId } = await newRun(3);
    for (const [i, id] of ["s1", "s2", "s3"].entries()) {
      const step = await claimed(run);
      expect(step).toEqual({
        id,
        position: i,
        attempt: 1,
        input: i + 1,
        progress: null,
        leaseExpiresAt: T0 + 30 * SECOND,
      });
      // Parallelism 1: nothing else while it runs.
      expect(await run.claim("w2")).toEqual({
        ok: true,
        step: null,
        status: "running",
        nextClaimAt: T0 + 30 * SECOND,
      });
      expect(await run.complete(id, 1, { out: i })).toEqual({
        ok: true,
        stepId: id,
        attempt: 1,
        completedAt: T0,
      });
    }
    const status = await run.status();
    expect(status).toMatchObject({ runId, status: "completed", finishedAt: T0 });
    expect(status?.counts).toMatchObject({ completed: 3, pending: 0 });
    expect(await run.claim("w1")).toEqual({
      ok: true,
      step: null,
      status: "completed",
      nextClaimAt: null,
    });
    expect((await run.step("s2"))?.output).toEqual({ out: 1 });
  });

  it("with parallelism N, hands out N steps at once and no more", async () => {
    setNow(T0);
    const { run } = await newRun(5, { parallelism: 3 });
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await claimed(run, `w${i}`)).id);
    expect(ids).toEqual(["s1", "s2", "s3"]);
    expect((await run.claim("w9")).ok && (await run.claim("w9"))).toMatchObject({ step: null });
    await run.complete("s2", 1);
    expect((await claimed(run)).id).toBe("s4");
  });
});

describe("idempotent completion, stale attempts", () => {
  it("completing the same attempt twice answers the same and keeps the first output", async () => {
    setNow(T0);
    const { run } = await newRun(2);
    const step = await claimed(run);
    const first = await run.complete(step.id, step.attempt, "first");
    setNow(T0 + 5 * SECOND);
    const again = await run.complete(step.id, step.attempt, "second");
    expect(again).toEqual(first);
    expect((await run.step(step.id))?.output).toBe("first");
    // And it did not advance the run twice.
    expect((await claimed(run)).id).toBe("s2");
  });

  it("refuses a stale attempt's completion after its lease expired and the step was handed out again", async () => {
    setNow(T0);
    const { run } = await newRun(1, { retry: { initialBackoffMs: 0 } });
    const old = await claimed(run, "slow");
    setNow(T0 + 31 * SECOND);
    const fresh = await claimed(run, "fast");
    expect(fresh).toMatchObject({ id: "s1", attempt: 2 });
    const refused = await run.complete("s1", old.attempt, "late");
    expect(refused).toMatchObject({ ok: false, error: { code: "stale_attempt" } });
    expect(await run.complete("s1", fresh.attempt, "on time")).toMatchObject({ ok: true });
    expect((await run.step("s1"))?.output).toBe("on time");
    // The late one is refused even now that the step is completed.
    expect(await run.complete("s1", old.attempt, "late")).toMatchObject({
      ok: false,
      error: { code: "stale_attempt" },
    });
  });

  it("refuses an expired lease's completion even before anyone reclaims it", async () => {
    setNow(T0);
    const { run } = await newRun(1);
    const step = await claimed(run);
    setNow(T0 + 30 * SECOND);
    expect(await run.complete(step.id, step.attempt, 1)).toMatchObject({
      ok: false,
      error: { code: "stale_attempt", message: expect.stringMatching(/lease expired/) },
    });
    expect(await run.heartbeat(step.id, step.attempt)).toMatchObject({
      ok: false,
      error: { code: "stale_attempt" },
    });
  });

  it("refuses attempts never handed out, and steps that do not exist", async () => {
    setNow(T0);
    const { run } = await newRun(1);
    const step = await claimed(run);
    expect(await run.complete(step.id, 2)).toMatchObject({ error: { code: "stale_attempt" } });
    expect(await run.complete("s9", 1)).toMatchObject({ error: { code: "not_found" } });
    expect(await run.complete("s1", 0)).toMatchObject({ error: { code: "invalid_input" } });
  });

  it("refuses an oversized output before persisting anything: the lease still holds", async () => {
    setNow(T0);
    const { run } = await newRun(1);
    const step = await claimed(run);
    const before = await storedSteps(run);
    const big = "x".repeat(MAX_OUTPUT_BYTES);
    expect(await run.complete(step.id, step.attempt, big)).toMatchObject({
      ok: false,
      error: { code: "too_large" },
    });
    expect(await storedSteps(run)).toEqual(before);
    expect(await run.complete(step.id, step.attempt, "small")).toMatchObject({ ok: true });
  });
});

describe("heartbeats", () => {
  it("extend the lease from now and record progress, which the next attempt receives", async () => {
    setNow(T0);
    const { run } = await newRun(1, {
      leaseTimeoutMs: 10 * SECOND,
      retry: { initialBackoffMs: 0 },
    });
    const step = await claimed(run);
    setNow(T0 + 9 * SECOND);
    expect(await run.heartbeat(step.id, step.attempt, { page: 3 })).toEqual({
      ok: true,
      leaseExpiresAt: T0 + 19 * SECOND,
    });
    setNow(T0 + 18 * SECOND);
    expect(await run.heartbeat(step.id, step.attempt)).toEqual({
      ok: true,
      leaseExpiresAt: T0 + 28 * SECOND,
    });
    // The worker dies; the next attempt starts from the progress it recorded.
    setNow(T0 + 28 * SECOND);
    const next = await claimed(run, "w2");
    expect(next).toMatchObject({ attempt: 2, progress: { page: 3 } });
  });

  it("refuse oversized progress, keeping the lease", async () => {
    setNow(T0);
    const { run } = await newRun(1);
    const step = await claimed(run);
    expect(await run.heartbeat(step.id, step.attempt, "x".repeat(2000))).toMatchObject({
      error: { code: "too_large" },
    });
    expect(await run.complete(step.id, step.attempt)).toMatchObject({ ok: true });
  });
});

describe("retries", () => {
  it("a retryable failure makes the step claimable after its backoff, growing up to the cap", async () => {
    setNow(T0);
    const { run } = await newRun(1, {
      retry: { maxAttempts: 5, initialBackoffMs: 1_000, multiplier: 3, maxBackoffMs: 5_000 },
    });
    let now = T0;
    for (const [attempt, delay] of [
      [1, 1_000],
      [2, 3_000],
      [3, 5_000],
      [4, 5_000],
    ] as const) {
      const step = await claimed(run);
      expect(step.attempt).toBe(attempt);
      expect(await run.fail(step.id, attempt, "boom")).toEqual({
        ok: true,
        stepId: "s1",
        attempt,
        retryAt: now + delay,
        runStatus: "running",
      });
      setNow(now + delay - 1);
      expect(await run.claim("w1")).toMatchObject({ step: null, nextClaimAt: now + delay });
      now += delay;
      setNow(now);
    }
    const last = await claimed(run);
    expect(await run.fail(last.id, last.attempt, "boom")).toMatchObject({
      retryAt: null,
      runStatus: "failed",
    });
    expect(await run.status()).toMatchObject({ status: "failed", failedStep: "s1" });
  });

  it("a retry claimed between pending steps leaves the pending ones in order, none skipped or doubled", async () => {
    setNow(T0);
    const { run } = await newRun(5, { parallelism: 3, retry: { initialBackoffMs: 1_000 } });
    const first = await claimed(run, "w1");
    await claimed(run, "w2");
    await run.fail(first.id, first.attempt, "flaky");
    setNow(T0 + SECOND);
    // The retry of s1 comes first; s2 is still leased and s3 is the next pending step.
    expect(await claimed(run, "w3")).toMatchObject({ id: "s1", attempt: 2 });
    expect(await claimed(run, "w4")).toMatchObject({ id: "s3", attempt: 1 });
    expect(await run.claim("w5")).toMatchObject({ step: null });
    for (const id of ["s1", "s2", "s3"]) {
      const attempt = id === "s1" ? 2 : 1;
      expect(await run.complete(id, attempt)).toMatchObject({ ok: true });
    }
    const rest = [await claimed(run, "w6"), await claimed(run, "w7")];
    expect(rest.map((step) => [step.id, step.attempt])).toEqual([
      ["s4", 1],
      ["s5", 1],
    ]);
    for (const step of rest) await run.complete(step.id, step.attempt);
    expect(await run.status()).toMatchObject({ status: "completed", counts: { completed: 5 } });
  });

  it("a step's own policy overrides the run's", async () => {
    setNow(T0);
    const { run } = await newRun(0 + 1, { retry: { maxAttempts: 5 } });
    const runId = crypto.randomUUID();
    const other = (await import("./helpers")).runObject(runId);
    await other.create(runId, [{ id: "a", retry: { maxAttempts: 1 } }], {
      retry: { maxAttempts: 5 },
    });
    const step = await claimed(other);
    expect(await other.fail(step.id, step.attempt, "once")).toMatchObject({ runStatus: "failed" });
    const s = await claimed(run);
    expect(await run.fail(s.id, s.attempt, "once")).toMatchObject({ runStatus: "running" });
  });

  it("a non-retryable failure fails the run at once, revoking other leases", async () => {
    setNow(T0);
    const { run } = await newRun(3, { parallelism: 2 });
    const a = await claimed(run, "wa");
    const b = await claimed(run, "wb");
    expect(await run.fail(a.id, a.attempt, "bad input", false)).toMatchObject({
      retryAt: null,
      runStatus: "failed",
    });
    expect(await run.complete(b.id, b.attempt, "done")).toMatchObject({
      error: { code: "run_not_running" },
    });
    expect(await run.claim("wc")).toEqual({
      ok: true,
      step: null,
      status: "failed",
      nextClaimAt: null,
    });
    const status = await run.status();
    expect(status?.steps.map((s) => s.state)).toEqual(["failed", "interrupted", "pending"]);
    expect(status?.steps[0]?.lastError).toBe("bad input");
  });
});

describe("resume and cancel", () => {
  it("resume retries the failed and interrupted steps with fresh tries; completed steps never rerun", async () => {
    setNow(T0);
    const { run } = await newRun(3, { retry: { maxAttempts: 1 } });
    const s1 = await claimed(run);
    await run.complete(s1.id, s1.attempt, "one");
    const s2 = await claimed(run);
    await run.fail(s2.id, s2.attempt, "down");
    expect(await run.status()).toMatchObject({ status: "failed" });
    expect(await run.resume()).toMatchObject({ ok: true, run: { status: "running", resumes: 1 } });
    const again = await claimed(run);
    expect(again).toMatchObject({ id: "s2", attempt: 2 });
    await run.complete(again.id, again.attempt);
    expect((await claimed(run)).id).toBe("s3");
    expect((await run.step("s1"))?.attempts).toBe(1);
  });

  it("resume of a running run changes nothing; of a completed or cancelled one is refused", async () => {
    setNow(T0);
    const { run } = await newRun(1);
    expect(await run.resume()).toMatchObject({ ok: true, run: { resumes: 0 } });
    await run.cancel();
    expect(await run.resume()).toMatchObject({ error: { code: "run_not_running" } });
  });

  it("cancel revokes leases and stops hand-outs; twice is fine; a completed run cannot be cancelled", async () => {
    setNow(T0);
    const { run } = await newRun(2);
    const step = await claimed(run);
    const cancelled = await run.cancel();
    expect(cancelled).toMatchObject({ ok: true, run: { status: "cancelled", finishedAt: T0 } });
    expect(await run.cancel()).toEqual(cancelled);
    expect(await run.heartbeat(step.id, step.attempt)).toMatchObject({
      error: { code: "run_not_running" },
    });
    expect(await run.claim("w1")).toMatchObject({ step: null, status: "cancelled" });

    const done = await newRun(1);
    const only = await claimed(done.run);
    await done.run.complete(only.id, only.attempt);
    expect(await done.run.cancel()).toMatchObject({ error: { code: "run_not_running" } });
  });
});
