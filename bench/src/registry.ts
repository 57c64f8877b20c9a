/**
 * Every benchmarked row, in the order the table prints them: the ceilings, then each pattern's
 * rows (its floors, baseline and hot paths, in `patterns/<pattern>.ts`). To add a pattern: bind
 * its class (`objects.ts` + `config.ts`), add a floor for its signature (`floors.ts`), write its
 * rows with `hotPath` and `floorRow` (`rows.ts`) in `patterns/<pattern>.ts`, and list them here.
 */
import { CEILING_ROWS } from "./config.ts";
import { CHECKPOINT_ROWS } from "./patterns/checkpoint.ts";
import { EVENT_REACTOR_ROWS } from "./patterns/event-reactor.ts";
import { LEADER_ELECTION_ROWS } from "./patterns/leader-election.ts";
import { CACHE_COORDINATOR_ROWS } from "./patterns/cache-coordinator.ts";
import { AGGREGATOR_COUNTER_ROWS } from "./patterns/aggregator-counter.ts";
import { STORAGE_SIDECAR_ROWS } from "./patterns/storage-sidecar.ts";
import { BUDGET_GOVERNOR_ROWS } from "./patterns/budget-governor.ts";
import { FEATURE_FLAGS_ROWS } from "./patterns/feature-flags.ts";
import { ADAPTIVE_CONTROLLER_ROWS } from "./patterns/adaptive-controller.ts";
import { RATE_LIMITER_ROWS } from "./patterns/rate-limiter.ts";
import { SESSION_ROWS } from "./patterns/session.ts";
import { ceilingRow, COLD_CALLS, type Row } from "./rows.ts";

export type { Row } from "./rows.ts";

export const ROWS: Row[] = [
  ceilingRow({
    name: CEILING_ROWS.noop,
    namespace: (env) => env.CEILING,
    op: (ceiling) => ceiling.noop(),
  }),
  ceilingRow({
    name: CEILING_ROWS.write,
    namespace: (env) => env.CEILING,
    op: (ceiling) => ceiling.writeRow(),
  }),
  ceilingRow({
    name: CEILING_ROWS["write-cold"],
    namespace: (env) => env.CEILING,
    freshObjectPerCall: true,
    maxCalls: COLD_CALLS,
    op: (ceiling) => ceiling.writeRow(),
  }),
  ...RATE_LIMITER_ROWS,
  ...SESSION_ROWS,
  ...CHECKPOINT_ROWS,
  ...LEADER_ELECTION_ROWS,
  ...FEATURE_FLAGS_ROWS,
  ...ADAPTIVE_CONTROLLER_ROWS,
  ...AGGREGATOR_COUNTER_ROWS,
  ...STORAGE_SIDECAR_ROWS,
  ...BUDGET_GOVERNOR_ROWS,
  ...CACHE_COORDINATOR_ROWS,
  ...EVENT_REACTOR_ROWS,
];
