import { runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import type { GovernorConfig, ReserveOutcome, SettleOutcome } from "../src/index";
import { dataPlane, testClock } from "./worker";

/**
 * A fixed instant in the future, so alarms the objects set against the test clock never fire by
 * themselves and only runDurableObjectAlarm runs them.
 */
export const T0 = Date.UTC(2030, 0, 1, 0, 0, 0);

export function setNow(ms: number): void {
  testClock.now = ms;
}

/** Puts the clock and the test data plane back to their defaults. */
export function resetWorld(): void {
  testClock.now = null;
  dataPlane.behaviour = async (request) => ({
    spent: Math.floor(request.budget / 2),
    items: 1,
    errors: 0,
  });
  dataPlane.runs = [];
  dataPlane.tick = 0;
}

/** A fresh object per test: storage is shared within a file. */
export function freshGovernor() {
  return env.BUDGET_GOVERNOR.getByName(`governor-${crypto.randomUUID()}`);
}

export type Governor = ReturnType<typeof freshGovernor>;

/** Three processors over two phases and two tiers; reservations live 60 s. */
export const CONFIG: GovernorConfig = {
  processors: [
    { id: "keywords", weight: 0.5, phase: 1, tier: "small" },
    { id: "backlinks", weight: 0.3, phase: 1, tier: "small" },
    { id: "summaries", weight: 0.2, phase: 2, tier: "large" },
  ],
  tiers: {
    small: { model: "@cf/meta/llama-3.1-8b-instruct", costPerCall: 200, maxConcurrency: 1_000 },
    large: { model: "@cf/meta/llama-3.3-70b-instruct", costPerCall: 2_000, maxConcurrency: 1_000 },
  },
  reservationTtlSeconds: 60,
};

/** A governor configured with `config` and a cycle of `totalBudget` started at the test clock. */
export async function startedGovernor(totalBudget = 1_000_000, config: GovernorConfig = CONFIG) {
  const governor = freshGovernor();
  const configured = await governor.configure(config);
  if (!configured.ok) throw new Error(configured.error.message);
  const started = await governor.start(totalBudget);
  if (!started.ok) throw new Error(started.error.message);
  return governor;
}

export function reserved(outcome: ReserveOutcome) {
  if (!outcome.ok) throw new Error(`unexpected refusal: ${outcome.error.message}`);
  return outcome.reservation;
}

export function settledOk(outcome: SettleOutcome) {
  if (!outcome.ok) throw new Error(`unexpected error: ${outcome.error.message}`);
  return outcome.reservation;
}

/** One processor's line of the status. */
export async function spendOf(governor: Governor, processorId: string) {
  const status = await governor.status();
  const line = status.processors.find((p) => p.id === processorId);
  if (line === undefined) throw new Error(`no processor ${processorId}`);
  return line;
}

/** The object's rows and alarm, as stored. */
export function stored(governor: Governor) {
  return runInDurableObject(governor, async (_instance, state) => {
    const count = (sql: string) =>
      state.storage.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM ${sql}`).one().n;
    return {
      reservations: count("reservations"),
      open: count("reservations WHERE status = 'open'"),
      spend: count("spend"),
      history: count("history"),
      alarm: await state.storage.getAlarm(),
    };
  });
}

export const ADMIN = { Authorization: "Bearer test-admin-token" };

/** A request to the test Worker: a JSON body (a string is sent as is). */
export function send(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
) {
  return exports.default.fetch(
    new Request(`http://example.com${path}`, {
      method,
      headers: { "Content-Type": "application/json", ...headers },
      ...(body === undefined
        ? {}
        : { body: typeof body === "string" ? body : JSON.stringify(body) }),
    }),
  );
}
