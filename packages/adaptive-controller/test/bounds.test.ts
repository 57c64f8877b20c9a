import { runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { DECISION_LOG_CAP, SERIES_CAP } from "../src/index";
import { resetClock, startedLoop, ticks } from "./helpers";

afterEach(resetClock);

function rowCounts(stub: Awaited<ReturnType<typeof startedLoop>>["stub"]) {
  return runInDurableObject(stub, (_instance, state) => ({
    series: state.storage.sql.exec("SELECT tick FROM series").toArray().length,
    decisions: state.storage.sql.exec("SELECT seq FROM decisions").toArray().length,
    entries: [...state.storage.kv.list()].length,
  }));
}

describe("every piece of state is bounded", () => {
  it(`keeps the newest ${SERIES_CAP} ticks and ${DECISION_LOG_CAP} decisions, and a window of windowSize`, async () => {
    // Alternating health makes a decision on nearly every tick.
    const { stub, downstream } = await startedLoop({ windowSize: 1, breakerThreshold: 100 });
    for (let i = 0; i < SERIES_CAP + 10; i++) {
      downstream.successRate = i % 2 === 0 ? 1 : 0;
      await ticks(stub, 1);
    }
    const status = await stub.status();
    expect(status.tick).toBe(SERIES_CAP + 10);
    expect(status.series).toHaveLength(SERIES_CAP);
    expect(status.series[0]?.tick).toBe(11);
    expect(status.series.at(-1)?.tick).toBe(SERIES_CAP + 10);
    expect(status.decisions).toHaveLength(DECISION_LOG_CAP);
    expect(status.decisions[0]!.seq).toBeGreaterThan(status.decisions[1]!.seq);
    expect(status.window.items).toBe(1);
    expect(await rowCounts(stub)).toEqual({
      series: SERIES_CAP,
      decisions: DECISION_LOG_CAP,
      entries: 2,
    });
  });
});
