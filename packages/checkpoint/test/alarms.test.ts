/**
 * The alarm: expired leases reclaimed without any call, retried alarms harmless, the run's
 * storage deleted after its retention, and nothing stored for a run that never existed.
 */
import { runDurableObjectAlarm } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import {
  claimed,
  EMPTY,
  freshRunId,
  newRun,
  resetClock,
  runObject,
  SECOND,
  setNow,
  storedAlarm,
  storedFootprint,
  T0,
} from "./helpers";

afterEach(resetClock);

describe("alarms", () => {
  it("an expired lease is reclaimed by the alarm: retried after its backoff, at its expiry time", async () => {
    setNow(T0);
    const { run } = await newRun(2, {
      leaseTimeoutMs: 5 * SECOND,
      retry: { initialBackoffMs: 1_000 },
    });
    const step = await claimed(run, "dies");
    expect(await storedAlarm(run)).toBe(T0 + 5 * SECOND);
    setNow(T0 + 60 * SECOND);
    expect(await runDurableObjectAlarm(run)).toBe(true);
    const status = await run.status();
    expect(status?.steps[0]).toMatchObject({
      state: "waiting",
      retryAt: T0 + 6 * SECOND,
      lastError: expect.stringMatching(/lease expired: no heartbeat from dies/),
    });
    // A retried alarm changes nothing.
    await runDurableObjectAlarm(run);
    expect(await run.status()).toEqual(status);
    expect(await claimed(run, "w2")).toMatchObject({ id: step.id, attempt: 2 });
  });

  it("an alarm that runs early does nothing, and re-arms for the lease", async () => {
    setNow(T0);
    const { run } = await newRun(1, { leaseTimeoutMs: 5 * SECOND });
    const step = await claimed(run);
    setNow(T0 + 4 * SECOND);
    await run.heartbeat(step.id, step.attempt);
    setNow(T0 + 5 * SECOND);
    await runDurableObjectAlarm(run);
    expect(await storedAlarm(run)).toBe(T0 + 9 * SECOND);
    expect(await run.complete(step.id, step.attempt)).toMatchObject({ ok: true });
  });

  it("a lease that expires on its last try fails the run", async () => {
    setNow(T0);
    const { run } = await newRun(1, { leaseTimeoutMs: 5 * SECOND, retry: { maxAttempts: 1 } });
    await claimed(run);
    setNow(T0 + 5 * SECOND);
    await runDurableObjectAlarm(run);
    expect(await run.status()).toMatchObject({ status: "failed", finishedAt: T0 + 5 * SECOND });
  });

  it("a finished run deletes everything after its retention, and not before", async () => {
    setNow(T0);
    const { run } = await newRun(1, { retentionMs: 60 * SECOND });
    const step = await claimed(run);
    await run.complete(step.id, step.attempt);
    // The lease alarm may come first: it re-arms for the purge.
    await runDurableObjectAlarm(run);
    expect(await storedAlarm(run)).toBe(T0 + 60 * SECOND);
    setNow(T0 + 59 * SECOND);
    await runDurableObjectAlarm(run);
    expect(await run.status()).toMatchObject({ status: "completed" });
    setNow(T0 + 60 * SECOND);
    await runDurableObjectAlarm(run);
    expect(await run.status()).toBeNull();
    expect(await storedFootprint(run)).toEqual(EMPTY);
    expect(await runDurableObjectAlarm(run)).toBe(false);
  });

  it("a cancelled run and a failed run are deleted after their retention too", async () => {
    for (const end of ["cancel", "fail"] as const) {
      setNow(T0);
      const { run } = await newRun(1, { retentionMs: 60 * SECOND, retry: { maxAttempts: 1 } });
      const step = await claimed(run);
      if (end === "cancel") await run.cancel();
      else await run.fail(step.id, step.attempt, "x");
      setNow(T0 + 60 * SECOND);
      await runDurableObjectAlarm(run);
      await runDurableObjectAlarm(run);
      expect(await storedFootprint(run)).toEqual(EMPTY);
    }
  });

  it("reads and refused calls on a run that does not exist store nothing", async () => {
    setNow(T0);
    const run = runObject(freshRunId());
    expect(await run.status()).toBeNull();
    expect(await run.claim("w")).toMatchObject({ ok: false, error: { code: "no_run" } });
    expect(await run.complete("s1", 1)).toMatchObject({ error: { code: "no_run" } });
    expect(await run.cancel()).toMatchObject({ error: { code: "no_run" } });
    expect(await storedFootprint(run)).toEqual(EMPTY);
  });
});
