/**
 * The session rows: a read within the touch interval (no write), a read that persists its
 * touch, a field write, and the naive session that rewrites itself on every read.
 */
import {
  DEFAULT_IDLE_TIMEOUT_SECONDS,
  Session,
  touchIntervalMs,
  type SessionView,
} from "@do-patterns/session";
import { SESSION_BENCH_DATA } from "../floors.ts";
import { baselineRow, floorRow, hotPath, type Row } from "../rows.ts";

/** The real Session, its clock moved one touch interval per `get`, so every read persists it. */
export class TouchingSession extends Session {
  private skewMs = 0;

  protected override now(): number {
    return Date.now() + this.skewMs;
  }

  override get(): SessionView | null {
    this.skewMs += touchIntervalMs(DEFAULT_IDLE_TIMEOUT_SECONDS * 1000);
    return super.get();
  }
}

const ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/**
 * A session object is named by a well-formed session id, and bench object names are not: each
 * maps to a fixed id of the right shape (no secrecy needed here, so a plain FNV-style hash).
 */
function benchSessionId(name: string): string {
  let id = "";
  for (let round = 0; id.length < 32; round++) {
    let hash = 2_166_136_261 ^ round;
    for (let i = 0; i < name.length; i++) hash = Math.imul(hash ^ name.charCodeAt(i), 16_777_619);
    for (let k = 0; k < 5 && id.length < 32; k++, hash >>>= 6) id += ID_ALPHABET[hash & 63];
  }
  return id;
}

function byBenchName<T extends Rpc.DurableObjectBranded>(
  namespace: DurableObjectNamespace<T>,
): DurableObjectNamespace<T> {
  return {
    getByName: (name: string) => namespace.getByName(benchSessionId(name)),
  } as unknown as DurableObjectNamespace<T>;
}

/** Outlives any run, the touching clock's skew included. */
const BENCH_SESSION = { data: SESSION_BENCH_DATA, absoluteTimeoutSeconds: 34_560_000 };

function expectSession(view: SessionView | null): void {
  if (view === null) throw new Error("expected a session, got none");
}
function expectOk(outcome: { ok: boolean }): void {
  if (!outcome.ok) throw new Error(`expected ok, got ${JSON.stringify(outcome)}`);
}

const GET_FLOOR = "session/floor-get";
const GET_TOUCH_FLOOR = "session/floor-get-touch";
const SET_FLOOR = "session/floor-set";
const BASELINE = "baseline/session-rewrite-on-read";

export const SESSION_ROWS: Row[] = [
  floorRow({
    name: GET_FLOOR,
    ceiling: "noop",
    namespace: (env) => env.SESSION_SIGNATURE,
    op: async (floor) => expectSession(await floor.get()),
  }),
  floorRow({
    name: GET_TOUCH_FLOOR,
    ceiling: "write",
    namespace: (env) => env.SESSION_SIGNATURE,
    op: async (floor) => expectSession(await floor.getTouching()),
  }),
  floorRow({
    name: SET_FLOOR,
    ceiling: "write",
    namespace: (env) => env.SESSION_SIGNATURE,
    op: async (floor) => expectOk(await floor.set("theme", "light")),
  }),
  baselineRow({
    name: BASELINE,
    ceiling: "noop",
    namespace: (env) => env.SESSION_BASELINE,
    setup: (naive) => naive.create(SESSION_BENCH_DATA),
    op: async (naive) => {
      if ((await naive.get()) === null) throw new Error("expected a session, got none");
    },
  }),
  hotPath({
    name: "session/get",
    ceiling: "noop",
    floor: GET_FLOOR,
    baseline: BASELINE,
    maxRowsWrittenPerOp: 0,
    namespace: (env) => byBenchName(env.SESSIONS),
    setup: async (session) => expectOk(await session.create(BENCH_SESSION)),
    op: async (session) => expectSession(await session.get()),
  }),
  hotPath({
    name: "session/get-touch",
    ceiling: "write",
    floor: GET_TOUCH_FLOOR,
    maxRowsWrittenPerOp: 1,
    namespace: (env) => byBenchName(env.TOUCHING_SESSIONS),
    setup: async (session) => expectOk(await session.create(BENCH_SESSION)),
    op: async (session) => expectSession(await session.get()),
  }),
  hotPath({
    name: "session/set",
    ceiling: "write",
    floor: SET_FLOOR,
    maxRowsWrittenPerOp: 1,
    namespace: (env) => byBenchName(env.SESSIONS),
    setup: async (session) => expectOk(await session.create(BENCH_SESSION)),
    op: async (session) => expectOk(await session.set("theme", "light")),
  }),
];
