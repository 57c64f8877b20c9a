/**
 * The feature-flag rows: one evaluation and a bulk evaluation of every flag in the object, the
 * naive per-call design they replace, and the OpenFeature provider evaluating in the isolate.
 */
import {
  FeatureFlagsProvider,
  type EvaluationContext,
  type FlagDefinition,
} from "@do-patterns/feature-flags";
import { OpenFeature, type Client } from "@openfeature/server-sdk";
import { BULK_FLAGS } from "../floors.ts";
import { baselineRow, floorRow, hotPath, localRow, type Row } from "../rows.ts";

/** On for the beta plan, and for 30% of everyone else by the rollout hash. */
const benchFlag = (key: string): FlagDefinition => ({
  key,
  type: "boolean",
  enabled: true,
  variants: { on: true, off: false },
  rules: [
    { conditions: [{ attribute: "plan", op: "equals", value: "beta" }], serve: { variant: "on" } },
  ],
  fallthrough: {
    split: [
      { variant: "on", percent: 30 },
      { variant: "off", percent: 70 },
    ],
  },
});
/** Misses the rule, so the rollout hash decides: the longest path an evaluation takes. */
const CONTEXT = { targetingKey: "user-42", plan: "free" } satisfies EvaluationContext;
const ACTOR = { actor: "bench" };
const FLAG_KEYS = Array.from({ length: BULK_FLAGS }, (_, i) => `flag-${i}`);

const EVALUATE_FLOOR = "feature-flags/floor-evaluate";
const EVALUATE_ALL_FLOOR = `feature-flags/floor-evaluate-all-${BULK_FLAGS}`;
const BASELINE = "baseline/naive-flag-evaluate";

/** Fails the row if the result is not the one it claims to measure. */
function expect(ok: boolean, what: string, got: unknown): void {
  if (!ok) throw new Error(`expected ${what}, got ${JSON.stringify(got)}`);
}

/** Set by the provider row's setup, which runs before its calls in the same isolate. */
let localClient: Client | undefined;

export const FEATURE_FLAGS_ROWS: Row[] = [
  floorRow({
    name: EVALUATE_FLOOR,
    ceiling: "noop",
    namespace: (env) => env.FEATURE_FLAGS_SIGNATURE,
    op: (floor) => floor.evaluate("flag-0", CONTEXT, false),
  }),
  floorRow({
    name: EVALUATE_ALL_FLOOR,
    ceiling: "noop",
    namespace: (env) => env.FEATURE_FLAGS_SIGNATURE,
    op: (floor) => floor.evaluateAll(CONTEXT),
  }),
  baselineRow({
    name: BASELINE,
    ceiling: "noop",
    namespace: (env) => env.FEATURE_FLAGS_BASELINE,
    setup: (naive) =>
      naive.define({
        name: "flag-0",
        enabled: true,
        rolloutPercent: 30,
        allowlist: [],
        blocklist: [],
      }),
    op: async (naive) => {
      const result = await naive.evaluate("flag-0", "user-42");
      expect(typeof result.enabled === "boolean", "an evaluation", result);
    },
  }),
  hotPath({
    name: "feature-flags/evaluate",
    ceiling: "noop",
    floor: EVALUATE_FLOOR,
    baseline: BASELINE,
    maxRowsWrittenPerOp: 0,
    namespace: (env) => env.FEATURE_FLAGS,
    setup: (flags) => flags.createFlag(benchFlag("flag-0"), ACTOR),
    op: async (flags) => {
      const result = await flags.evaluate("flag-0", CONTEXT, false);
      expect(result.reason === "SPLIT", "a SPLIT evaluation", result);
    },
  }),
  hotPath({
    name: `feature-flags/evaluate-all-${BULK_FLAGS}`,
    ceiling: "noop",
    floor: EVALUATE_ALL_FLOOR,
    maxRowsWrittenPerOp: 0,
    namespace: (env) => env.FEATURE_FLAGS,
    setup: async (flags) => {
      for (const key of FLAG_KEYS) await flags.createFlag(benchFlag(key), ACTOR);
    },
    op: async (flags) => {
      const result = await flags.evaluateAll(CONTEXT);
      expect(Object.keys(result.flags).length === BULK_FLAGS, `${BULK_FLAGS} flags`, result);
    },
  }),
  localRow({
    name: "feature-flags/provider-local",
    namespace: (env) => env.FEATURE_FLAGS,
    setup: async (flags) => {
      await flags.createFlag(benchFlag("flag-0"), ACTOR);
      // An hour's snapshot: every timed call evaluates locally, none refreshes.
      const provider = new FeatureFlagsProvider({ flagSet: () => flags, maxAgeMs: 3_600_000 });
      await OpenFeature.setProviderAndWait("bench", provider);
      localClient = OpenFeature.getClient("bench");
      await localClient.getBooleanValue("flag-0", false, CONTEXT);
    },
    op: async () => {
      const details = await localClient?.getBooleanDetails("flag-0", false, CONTEXT);
      expect(details?.reason === "SPLIT", "a SPLIT evaluation from the snapshot", details);
    },
  }),
];
