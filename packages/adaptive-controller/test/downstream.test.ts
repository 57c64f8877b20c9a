import { afterEach, describe, expect, it } from "vitest";
import { MAX_ITEM_ID_LENGTH, type ControllerStatus } from "../src/index";
import { checkBatch, failedBatch, samplesFrom } from "../src/downstream";
import { T0, TEST_CONFIG, controller, resetClock, setNow, startedLoop, tick } from "./helpers";
import { scripts } from "./worker";

afterEach(resetClock);

describe("the default wiring: a service binding to a WorkerEntrypoint", () => {
  it("fetches and processes over RPC through CONTROLLER_DATA_PLANE", async () => {
    setNow(T0);
    const name = `rpc-${crypto.randomUUID()}`; // no scripted downstream: the default is used
    const stub = controller(name);
    expect((await stub.start(TEST_CONFIG)).ok).toBe(true);
    const after: ControllerStatus = await tick(stub);
    expect(after).toMatchObject({ tick: 1, batchSize: 6, consecutiveFailures: 0 });
    expect(after.series[0]).toMatchObject({ items: 4, successRate: 1, meanLatencyMs: 5 });
  });
});

describe("answers the controller does not trust", () => {
  it("a source answer that is not a list of unique short ids fails the batch", () => {
    expect(checkBatch("nope", 3)).toContain("other than an array");
    expect(checkBatch([1, 2], 3)).toContain("not a string");
    expect(checkBatch([""], 3)).toContain("not a string");
    expect(checkBatch(["x".repeat(MAX_ITEM_ID_LENGTH + 1)], 3)).toContain("not a string");
    expect(checkBatch(["a", "a"], 3)).toContain("twice");
    expect(checkBatch(["a", "b", "c", "d"], 2)).toEqual(["a", "b"]);
  });

  it("items the processor did not report, or reported badly, count as failed", () => {
    const outcome = samplesFrom(
      ["a", "b", "c", "d"],
      [
        { id: "a", ok: true, latencyMs: 7 },
        { id: "b", ok: "yes" },
        { id: "zzz", ok: true },
        null,
        { id: "d", ok: true, latencyMs: -1 },
      ],
      40,
    );
    expect(outcome).toEqual({
      samples: [
        [1, 7],
        [0, 40],
        [0, 40],
        [1, 40],
      ],
      error: null,
    });
    expect(samplesFrom(["a"], "nope", 3)).toEqual({
      samples: [[0, 3]],
      error: "processor returned something other than an array",
    });
    expect(failedBatch(0, 1, "x".repeat(500)).error).toHaveLength(200);
  });

  it("a source returning garbage is a failed batch in the loop, recorded with its reason", async () => {
    const { name, stub } = await startedLoop();
    scripts.get(name)!.source.fetchBatch = async () => ["dup", "dup"];
    const after = await tick(stub);
    expect(after).toMatchObject({ consecutiveFailures: 1, tick: 1 });
    expect(after.decisions[0]?.reason).toContain('returned the id "dup" twice');
  });
});
