/**
 * The budget governor, live: a page that shows, per processor, the cycle's allocation against
 * what is committed, held by open reservations and overrun, the open reservations themselves,
 * and the latest closed cycles; with controls for the simulated data plane (failure rate,
 * latency) and the governor (run the cycle, start a new one, hold a reservation). Plain
 * server-rendered HTML and inline SVG; a small script re-fetches the status panel every second.
 *
 * The routes here need no admin token: they only ever touch the one "demo" governor, with a
 * fixed configuration, and the data plane's knobs. The package's own routes stay as they are
 * (configure, cycles and execute are admin-only); `GET /budget-governor/demo/status` is the
 * package's status route for this same governor.
 */
import type {
  ClosedCycle,
  GovernorConfig,
  GovernorStatus,
  ProcessorSpend,
} from "@do-patterns/budget-governor";
import { Hono, type Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { html, raw } from "hono/html";
import type { HtmlEscapedString } from "hono/utils/html";
import { parseKnobs, type Knobs } from "../data-plane/knobs";
import { layout } from "../pages";

export const DEMO_GOVERNOR = "demo";
/** $0.10 per cycle in micro-dollars; a new cycle every 5 minutes. */
export const DEMO_BUDGET = 100_000;
export const DEMO_CONFIG: GovernorConfig = {
  processors: [
    { id: "crawl", weight: 0.3, phase: 1, tier: "small" },
    { id: "keywords", weight: 0.2, phase: 1, tier: "small" },
    { id: "enrich", weight: 0.35, phase: 2, tier: "large" },
    { id: "summarize", weight: 0.15, phase: 3, tier: "medium" },
  ],
  tiers: {
    small: { model: "@cf/meta/llama-3.1-8b-instruct", costPerCall: 600, maxConcurrency: 20 },
    medium: {
      model: "@cf/mistral/mistral-7b-instruct-v0.2",
      costPerCall: 1_200,
      maxConcurrency: 10,
    },
    large: { model: "@cf/meta/llama-3.3-70b-instruct", costPerCall: 3_000, maxConcurrency: 5 },
  },
  reservationTtlSeconds: 30,
  schedule: { periodSeconds: 300, totalBudget: DEMO_BUDGET },
  historyLimit: 20,
};

type DemoEnv = { Bindings: Env };
type Html = HtmlEscapedString | Promise<HtmlEscapedString>;

/**
 * @example
 * app.route("/budget-governor", budgetGovernorLive());
 */
export function budgetGovernorLive(): Hono<DemoEnv> {
  const live = new Hono<DemoEnv>();
  const governor = (c: Context<DemoEnv>) => c.env.BUDGET_GOVERNOR.getByName(DEMO_GOVERNOR);
  /** The demo governor, configured and with a cycle running (the first visit sets it up). */
  const ready = async (c: Context<DemoEnv>) => {
    const stub = governor(c);
    const status = await stub.status();
    if (status.cycle === null) {
      await stub.configure(DEMO_CONFIG);
      await stub.start(DEMO_BUDGET);
    }
    return stub;
  };
  const snapshot = async (c: Context<DemoEnv>) => {
    const stub = await ready(c);
    const [status, history, knobs] = await Promise.all([
      stub.status(),
      stub.history(5),
      c.env.GOVERNOR_DATA_PLANE.knobs(),
    ]);
    return { status, history, knobs };
  };
  live.use(
    "/live/*",
    bodyLimit({
      maxSize: 1024,
      onError: (c) => fail(c, 413, "payload_too_large", "request body must be at most 1024 bytes"),
    }),
  );

  live.get("/live", async (c) => c.html(renderLivePage(await snapshot(c))));
  live.get("/live/panel", async (c) => {
    c.header("Cache-Control", "no-store");
    return c.html(renderPanel(await snapshot(c)));
  });
  live.get("/live/knobs", async (c) => c.json(await c.env.GOVERNOR_DATA_PLANE.knobs()));
  live.post("/live/knobs", async (c) => {
    let body: unknown;
    try {
      body = JSON.parse(await c.req.text());
    } catch {
      return fail(c, 400, "invalid_json", "request body must be valid JSON");
    }
    const knobs = parseKnobs(body);
    if (typeof knobs === "string") return fail(c, 400, "invalid_request", knobs);
    return c.json(await c.env.GOVERNOR_DATA_PLANE.setKnobs(knobs));
  });
  live.post("/live/run", async (c) => {
    const outcome = await (await ready(c)).executeCycle();
    return outcome.ok ? c.json(outcome) : fail(c, 409, "invalid_request", outcome.error.message);
  });
  live.post("/live/cycle", async (c) => {
    const stub = governor(c);
    // The demo's configuration, restored on every new cycle.
    await stub.configure(DEMO_CONFIG);
    const started = await stub.start(DEMO_BUDGET);
    return started.ok ? c.json(started) : fail(c, 409, "invalid_request", started.error.message);
  });
  live.post("/live/reserve", async (c) => {
    let body: unknown;
    try {
      body = JSON.parse((await c.req.text()) || "{}");
    } catch {
      return fail(c, 400, "invalid_json", "request body must be valid JSON");
    }
    const processorId = (body as { processorId?: unknown } | null)?.processorId ?? "enrich";
    const processor = DEMO_CONFIG.processors.find((p) => p.id === processorId);
    if (processor === undefined) {
      return fail(c, 400, "invalid_request", "processorId must name one of the demo's processors");
    }
    const stub = await ready(c);
    const line = (await stub.status()).processors.find((p) => p.id === processor.id);
    // A tenth of the processor's allocation, held for the TTL (30 s) unless it is settled.
    const outcome = await stub.reserve({
      processorId: processor.id,
      estimatedCost: Math.max(1, Math.floor((line?.allocated ?? 10) / 10)),
      idempotencyKey: crypto.randomUUID(),
    });
    if (!outcome.ok) {
      return c.json({ error: outcome.error, remaining: outcome.remaining }, 429);
    }
    return c.json(outcome, 201);
  });
  return live;
}

function fail(c: Context, status: 400 | 409 | 413, code: string, message: string) {
  return c.json({ error: { code, message } }, status);
}

// ---- The page ----

interface Snapshot {
  status: GovernorStatus;
  history: ClosedCycle[];
  knobs: Knobs;
}

const STYLE = `
  .controls { display: flex; flex-wrap: wrap; gap: 0.5rem 1.5rem; align-items: center; margin: 1rem 0; }
  .controls label { display: flex; gap: 0.5rem; align-items: center; }
  .controls output { min-width: 4.5rem; font-variant-numeric: tabular-nums; }
  .summary { display: flex; flex-wrap: wrap; gap: 0.25rem 1.25rem; }
  .summary strong, td.num { font-variant-numeric: tabular-nums; }
  td.num { text-align: right; }
  svg.bars { width: 100%; background: #fafafa; border: 1px solid #ddd; }
  .legend span { margin-right: 1rem; }
  table { border-collapse: collapse; }
  th, td { padding: 0.15rem 0.6rem; border-bottom: 1px solid #eee; text-align: left; }
  #message { min-height: 1.5rem; color: #555; }
`;

/** The whole page: controls, then the panel the script refreshes. */
export function renderLivePage(snapshot: Snapshot): Html {
  const { knobs } = snapshot;
  return layout(
    "budget-governor, live",
    html`<style>
        ${raw(STYLE)}
      </style>
      <p><a href="/">All patterns</a> · <a href="/budget-governor/">budget-governor</a></p>
      <h1>budget-governor, live</h1>
      <p>
        The <code>demo</code> governor splits $0.10 per cycle (100,000 micro-dollars; a new cycle
        every 5 minutes) across four processors by weight. <strong>Run cycle</strong> dispatches
        them phase by phase to a simulated data plane (a <code>WorkerEntrypoint</code> reached by a
        service binding): each run holds its budget as a reservation while it works, then commits
        what it spent. Raise the latency to watch the holds; raise the failure rate to watch spend
        turn into errors, or at 100% the runs fail and their holds are released.
      </p>
      <section class="controls" aria-label="controls">
        <label
          >Failure rate
          <input
            id="failure-rate"
            type="range"
            min="0"
            max="100"
            step="5"
            value="${Math.round(knobs.failureRate * 100)}"
          />
          <output id="failure-rate-value">${Math.round(knobs.failureRate * 100)}%</output></label
        >
        <label
          >Latency
          <input
            id="latency"
            type="range"
            min="0"
            max="8000"
            step="100"
            value="${knobs.latencyMs}"
          />
          <output id="latency-value">${knobs.latencyMs} ms</output></label
        >
        <button id="run" type="button">Run cycle</button>
        <button id="new-cycle" type="button">New cycle</button>
        <label
          >Hold 10% of
          <select id="reserve-processor">
            ${DEMO_CONFIG.processors.map((p) => html`<option value="${p.id}">${p.id}</option>`)}
          </select></label
        >
        <button id="reserve" type="button">Reserve</button>
      </section>
      <p id="message" aria-live="polite"></p>
      <div id="panel" aria-live="polite">${renderPanel(snapshot)}</div>
      <script>
        ${raw(SCRIPT)};
      </script>`,
  );
}

const SCRIPT = `
(() => {
  const $ = (id) => document.getElementById(id);
  const post = (path, body) =>
    fetch("/budget-governor/live/" + path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body || {}),
    });
  const say = (text) => { $("message").textContent = text; };
  let busy = false;
  async function refresh() {
    if (busy) return;
    busy = true;
    try {
      const response = await fetch("/budget-governor/live/panel", { cache: "no-store" });
      if (response.ok) $("panel").innerHTML = await response.text();
    } catch {
      // The next poll tries again.
    } finally {
      busy = false;
    }
  }
  const knob = (id, field, scale, unit) => {
    const input = $(id);
    input.addEventListener("input", () => { $(id + "-value").textContent = input.value + unit; });
    input.addEventListener("change", async () => {
      await post("knobs", { [field]: Number(input.value) / scale });
      refresh();
    });
  };
  knob("failure-rate", "failureRate", 100, "%");
  knob("latency", "latencyMs", 1, " ms");
  $("run").addEventListener("click", async () => {
    say("Running: phases in order, the processors of a phase in parallel…");
    setTimeout(refresh, 150);
    const response = await post("run");
    const body = await response.json();
    if (!response.ok) return say(body.error.message);
    const results = body.phases.flatMap((p) => p.results);
    const failed = results.filter((r) => r.outcome === "failed").length;
    const spent = results.reduce((sum, r) => sum + r.spent, 0);
    say("Cycle " + body.cycleId + " ran " + results.length + " processors: " + spent.toLocaleString() +
      " µ$ spent" + (failed > 0 ? ", " + failed + " failed (holds released)" : "") + ".");
    refresh();
  });
  $("new-cycle").addEventListener("click", async () => {
    const response = await post("cycle");
    const body = await response.json();
    say(response.ok ? "Cycle " + body.cycle.id + " started." : body.error.message);
    refresh();
  });
  $("reserve").addEventListener("click", async () => {
    const response = await post("reserve", { processorId: $("reserve-processor").value });
    const body = await response.json();
    say(response.ok
      ? "Held " + body.reservation.estimatedCost.toLocaleString() + " µ$ for " + body.reservation.processorId + " for 30 s."
      : "Refused: " + body.error.message);
    refresh();
  });
  setInterval(refresh, 1000);
})();
`;

const WIDTH = 600;
const ROW = 34;
const LABEL = 110;

/** The part that changes: the cycle, the bars per processor, the open reservations, history. */
export function renderPanel({ status, history, knobs }: Snapshot): Html {
  const cycle = status.cycle;
  const total = (field: "committed" | "reserved" | "overrun" | "errors" | "items") =>
    status.processors.reduce((sum, p) => sum + p[field], 0);
  const spent = total("committed") + total("overrun");
  return html`<p class="summary">
      <span>Cycle <strong id="cycle-id">${cycle?.id ?? "–"}</strong></span>
      <span>Budget <strong>${money(cycle?.totalBudget ?? 0)}</strong></span>
      <span>Spent <strong id="spent-total" data-value="${spent}">${money(spent)}</strong></span>
      <span
        >Held
        <strong id="reserved-total" data-value="${total("reserved")}"
          >${money(total("reserved"))}</strong
        ></span
      >
      <span>Items <strong id="items-total">${total("items")}</strong></span>
      <span
        >Errors
        <strong id="errors-total" data-value="${total("errors")}">${total("errors")}</strong></span
      >
      <span
        >Ends
        <strong
          >${cycle?.endsAt === null || cycle === null ? "on New cycle" : clock(cycle.endsAt)}</strong
        ></span
      >
      <span
        >Data plane: ${Math.round(knobs.failureRate * 100)}% failing, ${knobs.latencyMs} ms</span
      >
    </p>
    <figure>
      <figcaption>
        Allocation versus spend, per processor (phase · model)
        <span class="legend"
          ><span style="color:#1e8e3e">■ committed</span
          ><span style="color:#f6b26b">■ held by open reservations</span
          ><span style="color:#d93025">■ overrun (spent beyond the budget)</span
          ><span style="color:#9aa0a6">□ allocated</span></span
        >
      </figcaption>
      ${bars(status.processors)}
    </figure>
    <table id="processors">
      <thead>
        <tr>
          <th>Processor (phase · model)</th>
          <th>Allocated</th>
          <th>Committed</th>
          <th>Held</th>
          <th>Available</th>
          <th>Items</th>
          <th>Errors</th>
        </tr>
      </thead>
      <tbody>
        ${status.processors.map(
          (p) =>
            html`<tr
              data-processor="${p.id}"
              data-committed="${p.committed}"
              data-reserved="${p.reserved}"
            >
              <td>
                ${p.id} <small>(${p.phase} · <code>${p.model}</code>)</small>
              </td>
              <td class="num">${money(p.allocated)}</td>
              <td class="num">${money(p.committed)}</td>
              <td class="num">${money(p.reserved)}</td>
              <td class="num">${money(p.available)}</td>
              <td class="num">${p.items}</td>
              <td class="num">${p.errors}</td>
            </tr>`,
        )}
      </tbody>
    </table>
    <h2>
      Open reservations
      <span id="open-count" data-count="${status.openReservations}"
        >(${status.openReservations})</span
      >
    </h2>
    ${
      status.reservations.length === 0
        ? html`<p><em>None open: every hold is committed, released or expired.</em></p>`
        : html`<table id="reservations">
            <thead>
              <tr>
                <th>Reservation</th>
                <th>Processor</th>
                <th>Holds</th>
                <th>Expires in</th>
              </tr>
            </thead>
            <tbody>
              ${status.reservations.map(
                (r) =>
                  html`<tr>
                    <td><code>${r.id.slice(0, 14)}…</code></td>
                    <td>${r.processorId}</td>
                    <td class="num">${money(r.estimatedCost)}</td>
                    <td class="num">
                      ${Math.max(0, Math.ceil((r.expiresAt - status.now) / 1000))} s
                    </td>
                  </tr>`,
              )}
            </tbody>
          </table>`
    }
    <h2>Closed cycles</h2>
    ${
      history.length === 0
        ? html`<p><em>None yet: press New cycle, or wait for the 5-minute rollover.</em></p>`
        : html`<table id="history">
            <thead>
              <tr>
                <th>Cycle</th>
                <th>Ended</th>
                <th>Budget</th>
                <th>Committed</th>
                <th>Overrun</th>
                <th>Items</th>
                <th>Errors</th>
              </tr>
            </thead>
            <tbody>
              ${history.map((h) => {
                const sum = (field: "committed" | "overrun" | "items" | "errors") =>
                  h.processors.reduce((s, p) => s + p[field], 0);
                return html`<tr>
                  <td>${h.id}</td>
                  <td>${clock(h.endedAt)}</td>
                  <td class="num">${money(h.totalBudget)}</td>
                  <td class="num">${money(sum("committed"))}</td>
                  <td class="num">${money(sum("overrun"))}</td>
                  <td class="num">${sum("items")}</td>
                  <td class="num">${sum("errors")}</td>
                </tr>`;
              })}
            </tbody>
          </table>`
    }`;
}

/** One horizontal bar per processor: its allocation as the frame, committed, held, overrun. */
function bars(processors: ProcessorSpend[]): Html {
  const scale = Math.max(1, ...processors.map((p) => p.allocated + p.overrun));
  const w = (units: number) => ((units / scale) * (WIDTH - LABEL - 10)).toFixed(1);
  const rows = processors
    .map((p, i) => {
      const y = i * ROW + 6;
      const committedW = Number(w(p.committed));
      const reservedW = Number(w(p.reserved));
      const parts = [
        `<text x="4" y="${y + 12}" font-size="12">${escapeXml(p.id)}</text>`,
        `<text x="4" y="${y + 25}" font-size="10" fill="#777">phase ${p.phase} · ${escapeXml(p.tier)}</text>`,
        `<rect x="${LABEL}" y="${y}" width="${w(p.allocated)}" height="22" fill="#fff" stroke="#9aa0a6"/>`,
        `<rect x="${LABEL}" y="${y}" width="${committedW}" height="22" fill="#1e8e3e"/>`,
        `<rect x="${(LABEL + committedW).toFixed(1)}" y="${y}" width="${reservedW}" height="22" fill="#f6b26b"/>`,
        `<rect x="${(LABEL + Number(w(p.allocated))).toFixed(1)}" y="${y}" width="${w(p.overrun)}" height="22" fill="#d93025"/>`,
      ];
      return parts.join("");
    })
    .join("");
  const height = processors.length * ROW + 8;
  return html`<svg
    class="bars"
    viewBox="0 0 ${WIDTH} ${height}"
    role="img"
    aria-label="allocation versus spend per processor"
  >
    ${raw(rows)}
  </svg>`;
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"]/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

/** Micro-dollars as dollars, to the cent's hundredth: 12,345 µ$ is $0.0123. */
function money(microDollars: number): string {
  return `$${(microDollars / 1_000_000).toFixed(4)}`;
}

function clock(at: number): string {
  return new Date(at).toISOString().slice(11, 19);
}
