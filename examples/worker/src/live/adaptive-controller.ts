/**
 * The adaptive controller, live: a page that charts the demo loop's batch size, success rate and
 * interval over time, shows its breaker and its latest decisions with their reasons, and has
 * controls for the simulated data plane (failure rate, latency) and the loop (start, pause,
 * reset). Plain server-rendered HTML and inline SVG; a small script re-fetches the panel every
 * second. Also the demo's JSON routes, which the page and the README's curl demo use.
 *
 * The demo routes need no admin token: they only ever touch the one "demo" loop and its knobs,
 * with a fixed configuration. The package's own routes (/adaptive-controller/start, ...) stay
 * admin-only.
 */
import {
  type ConfigInput,
  type ControllerStatus,
  type SeriesPoint,
} from "@do-patterns/adaptive-controller";
import { Hono, type Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { html, raw } from "hono/html";
import type { HtmlEscapedString } from "hono/utils/html";
import { demoKnobs, parseKnobs, type Knobs } from "../data-plane/controller";
import { layout } from "../pages";

/** The demo loop: ticks every second, so a person sees it react within seconds. */
export const DEMO_LOOP = "demo";
export const DEMO_CONFIG: ConfigInput = {
  minBatchSize: 2,
  maxBatchSize: 50,
  initialBatchSize: 5,
  intervalMs: 1_000,
  backoffIntervalMs: 2_000,
  timeoutMs: 3_000,
  breakerThreshold: 3,
  cooldownMs: 5_000,
  maxCooldownMs: 20_000,
  probeBatchSize: 2,
  windowSize: 50,
};

type DemoEnv = { Bindings: Env };
type Html = HtmlEscapedString | Promise<HtmlEscapedString>;

/**
 * @example
 * app.route("/adaptive-controller", adaptiveControllerLive());
 */
export function adaptiveControllerLive(): Hono<DemoEnv> {
  const demo = new Hono<DemoEnv>();
  const loop = (c: Context<DemoEnv>) => c.env.ADAPTIVE_CONTROLLER.getByName(DEMO_LOOP);
  const snapshot = async (c: Context<DemoEnv>) => {
    const [status, knobs] = await Promise.all([loop(c).status(), demoKnobs(c.env).get()]);
    return { status, knobs };
  };
  demo.use(
    "/demo/*",
    bodyLimit({
      maxSize: 1024,
      onError: (c) => fail(c, 413, "payload_too_large", "request body must be at most 1024 bytes"),
    }),
  );

  demo.get("/live", async (c) => {
    const { status, knobs } = await snapshot(c);
    return c.html(renderLivePage(status, knobs));
  });
  demo.get("/live/panel", async (c) => {
    const { status, knobs } = await snapshot(c);
    c.header("Cache-Control", "no-store");
    return c.html(renderPanel(status, knobs));
  });

  demo.get("/demo/status", async (c) => {
    const { status, knobs } = await snapshot(c);
    return c.json({ knobs, ...status });
  });
  demo.post("/demo/knobs", async (c) => {
    let body: unknown;
    try {
      body = JSON.parse(await c.req.text());
    } catch {
      return fail(c, 400, "invalid_json", "request body must be valid JSON");
    }
    const knobs = parseKnobs(body);
    if (typeof knobs === "string") return fail(c, 400, "invalid_request", knobs);
    return c.json(await demoKnobs(c.env).set(knobs));
  });
  demo.post("/demo/start", async (c) => {
    const started = await loop(c).start(DEMO_CONFIG);
    if (!started.ok) return fail(c, 400, "invalid_request", started.error.message);
    return c.json(started.status);
  });
  demo.post("/demo/pause", async (c) => {
    const paused = await loop(c).pause();
    if (!paused.ok) return fail(c, 409, "invalid_request", paused.error.message);
    return c.json(paused.status);
  });
  demo.post("/demo/reset", async (c) => {
    await Promise.all([loop(c).reset(), demoKnobs(c.env).reset()]);
    return c.json({ reset: true });
  });
  return demo;
}

function fail(c: Context, status: 400 | 409 | 413, code: string, message: string) {
  return c.json({ error: { code, message } }, status);
}

// ---- The page ----

const STYLE = `
  .controls { display: flex; flex-wrap: wrap; gap: 0.5rem 1.5rem; align-items: center; margin: 1rem 0; }
  .controls label { display: flex; gap: 0.5rem; align-items: center; }
  .controls output { min-width: 4.5rem; font-variant-numeric: tabular-nums; }
  .summary { display: flex; flex-wrap: wrap; gap: 0.25rem 1.25rem; }
  .summary strong { font-variant-numeric: tabular-nums; }
  .breaker { padding: 0 0.4rem; border-radius: 3px; color: #fff; }
  .breaker-closed { background: #1e8e3e; }
  .breaker-open { background: #d93025; }
  .breaker-half-open { background: #e37400; }
  figure { margin: 1rem 0; }
  figcaption { font-size: 0.9rem; color: #555; }
  svg.chart { width: 100%; height: 120px; background: #fafafa; border: 1px solid #ddd; }
  .legend span { margin-right: 1rem; }
  td.reason { font-size: 0.9rem; }
`;

/** The whole page: controls, then the panel the script refreshes. */
export function renderLivePage(status: ControllerStatus, knobs: Knobs): Html {
  return layout(
    "adaptive-controller, live",
    html`<style>
        ${raw(STYLE)}
      </style>
      <p><a href="/">All patterns</a> · <a href="/adaptive-controller/">adaptive-controller</a></p>
      <h1>adaptive-controller, live</h1>
      <p>
        The <code>demo</code> loop ticks every second against a simulated data plane (a
        <code>WorkerEntrypoint</code> reached by a service binding). Turn failures up and watch the
        batch size fall and the breaker open after 3 failed batches; turn them down and watch it
        probe, close and grow again. Latency past 3 s times batches out.
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
            max="5000"
            step="50"
            value="${knobs.latencyMs}"
          />
          <output id="latency-value">${knobs.latencyMs} ms</output></label
        >
        <button id="start" type="button">Start</button>
        <button id="pause" type="button">Pause</button>
        <button id="reset" type="button">Reset</button>
      </section>
      <div id="panel" aria-live="polite">${renderPanel(status, knobs)}</div>
      <script>
        ${raw(SCRIPT)};
      </script>`,
  );
}

const SCRIPT = `
(() => {
  const $ = (id) => document.getElementById(id);
  const post = (path, body) =>
    fetch("/adaptive-controller/demo/" + path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body || {}),
    });
  let busy = false;
  async function refresh() {
    if (busy) return;
    busy = true;
    try {
      const response = await fetch("/adaptive-controller/live/panel", { cache: "no-store" });
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
  for (const action of ["start", "pause", "reset"]) {
    $(action).addEventListener("click", async () => {
      await post(action);
      if (action === "reset") {
        for (const [id, value, unit] of [["failure-rate", 0, "%"], ["latency", 50, " ms"]]) {
          $(id).value = value;
          $(id + "-value").textContent = value + unit;
        }
      }
      refresh();
    });
  }
  setInterval(refresh, 1000);
})();
`;

/** The part that changes: the loop's state, its charts and its latest decisions. */
export function renderPanel(status: ControllerStatus, knobs: Knobs): Html {
  const series = status.series.slice(-CHART_TICKS);
  const open = series.map((p) => p.breaker !== "closed");
  const rate = status.window.successRate;
  return html`<p class="summary">
      <span>Loop <strong id="loop-status">${status.status}</strong></span>
      <span
        >Breaker
        <strong
          id="breaker"
          class="breaker breaker-${status.breaker}"
          data-state="${status.breaker}"
          >${status.breaker}</strong
        ></span
      >
      <span>Batch size <strong id="batch-size">${status.batchSize}</strong></span>
      <span>Interval <strong id="interval">${formatMs(status.intervalMs)}</strong></span>
      <span
        >Success (window)
        <strong id="success-rate"
          >${rate === null ? "–" : `${Math.round(rate * 100)}%`}</strong
        ></span
      >
      <span>Tick <strong id="tick">${status.tick}</strong></span>
      <span
        >Data plane: ${Math.round(knobs.failureRate * 100)}% failing, ${knobs.latencyMs} ms</span
      >
    </p>
    ${
      status.status === "idle"
        ? html`<p><em>Idle: press Start to run the loop.</em></p>`
        : status.openUntil === null
          ? ""
          : html`<p>
              Breaker open until ${formatTime(status.openUntil)}: no calls to the data plane.
            </p>`
    }
    ${chart("Batch size", series, status.config.maxBatchSize, open, [
      { name: "batch size", color: "#0b57d0", value: (p) => p.batchSize },
      { name: "items sent", color: "#9aa0a6", value: (p) => p.items },
    ])}
    ${chart("Success rate", series, 1, open, [
      { name: "batch", color: "#9aa0a6", value: (p) => p.successRate },
      { name: "rolling window", color: "#1e8e3e", value: (p) => p.windowSuccessRate },
    ])}
    ${chart(
      "Interval",
      series,
      Math.max(status.config.backoffIntervalMs, status.intervalMs),
      open,
      [{ name: "interval (ms)", color: "#e37400", value: (p) => p.intervalMs }],
    )}
    <h2>Latest decisions</h2>
    ${
      status.decisions.length === 0
        ? html`<p id="decisions"><em>No decision yet.</em></p>`
        : html`<table id="decisions">
            <thead>
              <tr>
                <th>Time</th>
                <th>Tick</th>
                <th>Change</th>
                <th>Reason</th>
              </tr>
            </thead>
            <tbody>
              ${status.decisions.slice(0, 12).map(
                (d) =>
                  html`<tr>
                    <td>${formatTime(d.at)}</td>
                    <td>${d.tick}</td>
                    <td>${d.kind}: ${String(d.from)} → ${String(d.to)}</td>
                    <td class="reason">${d.reason}</td>
                  </tr>`,
              )}
            </tbody>
          </table>`
    }`;
}

interface Line {
  name: string;
  color: string;
  value: (point: SeriesPoint) => number | null;
}

/** Ticks a chart shows: the newest minute at the demo's 1 s interval. */
const CHART_TICKS = 60;
const WIDTH = 600;
const HEIGHT = 120;

/** One inline SVG line chart over the time series, ticks with the breaker not closed shaded red. */
function chart(
  title: string,
  series: SeriesPoint[],
  max: number,
  open: boolean[],
  lines: Line[],
): Html {
  const step = WIDTH / (CHART_TICKS - 1);
  const x = (i: number) => (i * step).toFixed(1);
  const y = (v: number) => (HEIGHT - 4 - (Math.min(v, max) / max) * (HEIGHT - 8)).toFixed(1);
  const bands = open
    .map((isOpen, i) =>
      isOpen
        ? `<rect x="${x(i)}" y="0" width="${step.toFixed(1)}" height="${HEIGHT}" fill="#fde2e2"/>`
        : "",
    )
    .join("");
  const paths = lines
    .map((line) => {
      let d = "";
      let pen = false;
      series.forEach((point, i) => {
        const v = line.value(point);
        if (v === null) {
          pen = false;
          return;
        }
        d += `${pen ? "L" : "M"}${x(i)} ${y(v)} `;
        pen = true;
      });
      return d === ""
        ? ""
        : `<path d="${d.trim()}" fill="none" stroke="${line.color}" stroke-width="2"/>`;
    })
    .join("");
  const label = `${title}: ${series.length} ticks, scale 0-${max}`;
  return html`<figure>
    <figcaption>
      ${title} (scale 0 to ${title === "Success rate" ? "100%" : max}, last ${CHART_TICKS} ticks)
      <span class="legend"
        >${lines.map((l) => html`<span style="color:${l.color}">■ ${l.name}</span>`)}</span
      >
    </figcaption>
    <svg
      class="chart"
      viewBox="0 0 ${WIDTH} ${HEIGHT}"
      preserveAspectRatio="none"
      role="img"
      aria-label="${label}"
    >
      ${raw(bands)}${raw(paths)}
    </svg>
  </figure>`;
}

function formatMs(ms: number): string {
  return ms >= 1_000 ? `${ms / 1_000} s` : `${ms} ms`;
}

function formatTime(at: number): string {
  return new Date(at).toISOString().slice(11, 19);
}
