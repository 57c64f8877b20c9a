import { afterEach, describe, expect, it } from "vitest";
import { ADMIN, CONFIG, resetWorld, send, setNow, T0 } from "./helpers";

afterEach(resetWorld);

describe("HTTP routes", () => {
  it("configure, start, reserve, commit, release, status and history", async () => {
    setNow(T0);
    const g = `/http-${crypto.randomUUID()}`;
    expect((await send("PUT", `${g}/config`, CONFIG, ADMIN)).status).toBe(200);
    expect(await (await send("GET", `${g}/config`)).json()).toEqual({ config: CONFIG });
    const started = await send("POST", `${g}/cycles`, { totalBudget: 10_000 }, ADMIN);
    expect(started.status).toBe(201);
    expect(await started.json()).toMatchObject({ ok: true, cycle: { id: 1, totalBudget: 10_000 } });

    const hold = { processorId: "keywords", estimatedCost: 1_000, idempotencyKey: "h1" };
    const first = await send("POST", `${g}/reservations`, hold);
    expect(first.status).toBe(201);
    const { reservation } = (await first.json()) as { reservation: { id: string } };
    const retry = await send("POST", `${g}/reservations`, hold);
    expect(retry.status).toBe(200);
    expect(await retry.json()).toMatchObject({
      replayed: true,
      reservation: { id: reservation.id },
    });
    expect((await send("GET", `${g}/reservations/${reservation.id}`)).status).toBe(200);

    const refused = await send("POST", `${g}/reservations`, {
      ...hold,
      idempotencyKey: "h2",
      estimatedCost: 4_001,
    });
    expect(refused.status).toBe(429);
    expect(await refused.json()).toMatchObject({
      error: { code: "budget_exhausted" },
      remaining: 4_000,
    });

    const commit = await send("POST", `${g}/reservations/${reservation.id}/commit`, {
      actualCost: 900,
      items: 3,
    });
    expect(commit.status).toBe(200);
    expect(await commit.json()).toMatchObject({
      reservation: { status: "committed", charged: 900 },
    });

    const other = (await (
      await send("POST", `${g}/reservations`, { ...hold, idempotencyKey: "h3" })
    ).json()) as {
      reservation: { id: string };
    };
    const release = await send("POST", `${g}/reservations/${other.reservation.id}/release`);
    expect(release.status).toBe(200);
    expect(await release.json()).toMatchObject({ reservation: { status: "released" } });

    const status = (await (await send("GET", `${g}/status`)).json()) as {
      processors: { id: string; committed: number; items: number }[];
    };
    expect(status.processors.find((p) => p.id === "keywords")).toMatchObject({
      committed: 900,
      items: 3,
    });

    expect((await send("POST", `${g}/cycles`, {}, ADMIN)).status).toBe(400);
    expect((await send("POST", `${g}/cycles`, { totalBudget: 5 }, ADMIN)).status).toBe(201);
    const history = (await (await send("GET", `${g}/history?limit=1`)).json()) as {
      cycles: unknown[];
    };
    expect(history.cycles).toHaveLength(1);
    const closed = await send("POST", `${g}/reservations/${reservation.id}/commit`, {
      actualCost: 900,
    });
    expect(closed.status).toBe(409);
    expect(await closed.json()).toMatchObject({ error: { code: "cycle_closed" } });
  });

  it("execute runs the cycle on the data plane", async () => {
    setNow(T0);
    const g = `/http-${crypto.randomUUID()}`;
    await send("PUT", `${g}/config`, CONFIG, ADMIN);
    expect((await send("POST", `${g}/execute`, undefined, ADMIN)).status).toBe(409);
    await send("POST", `${g}/cycles`, { totalBudget: 10_000 }, ADMIN);
    const run = await send("POST", `${g}/execute`, undefined, ADMIN);
    expect(run.status).toBe(200);
    expect(await run.json()).toMatchObject({
      ok: true,
      phases: [{ phase: 1 }, { phase: 2, results: [{ processorId: "summaries", charged: 1_000 }] }],
    });
  });
});
