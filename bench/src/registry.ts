/**
 * Every benchmarked row, in the order the table prints them: the ceilings, then each pattern's
 * rows (its floors, baseline and hot paths, in `patterns/<pattern>.ts`). To add a pattern: bind
 * its class (`objects.ts` + `config.ts`), add a floor for its signature (`floors.ts`), write its
 * rows with `hotPath` and `floorRow` (`rows.ts`) in `patterns/<pattern>.ts`, and list them here.
 */
import { CEILING_ROWS } from "./config.ts";
import { FEATURE_FLAGS_ROWS } from "./patterns/feature-flags.ts";
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
  ...FEATURE_FLAGS_ROWS,
];
