/**
 * The event reactor, live: a page subscribed to one brand's reactor over WebSocket (the Agents
 * SDK's state sync), with buttons that post sample events. The state panel changes when the
 * reactor's state does, pushed by the reactor, not polled; the decisions and the commands the
 * Queue consumer received are re-read after each push. Plain HTML and a small inline script.
 */
import { Hono } from "hono";
import { html, raw } from "hono/html";
import { layout } from "../pages";

const ENTITY = /^[A-Za-z0-9._-]{1,64}$/;

/** `GET /live?entity=acme`: the page. The events it posts go to the package's own routes. */
export function eventReactorLive(): Hono {
  const app = new Hono();
  app.get("/live", (c) => {
    const entity = c.req.query("entity") ?? "acme";
    if (!ENTITY.test(entity)) {
      return c.json(
        {
          error: {
            code: "invalid_request",
            message: "entity must be 1-64 characters of letters, digits, '.', '_' and '-'",
          },
        },
        400,
      );
    }
    return c.html(layout(`Event reactor: ${entity}`, page(entity)));
  });
  return app;
}

function page(entity: string) {
  // The entity is checked above, so it is safe inside the script as a JSON string.
  const config = JSON.stringify({ entity });
  return html`<h1>Event reactor: <code>${entity}</code></h1>
    <p>
      One <a href="/event-reactor/">event reactor</a> per brand. Post an event: the reactor decides,
      records state, commands and decisions together, and pushes its new state to this page over a
      WebSocket. Its commands go to a Queue, whose consumer records what it received.
    </p>
    <p>
      <button data-event="research">Research completed (confidence 0.8)</button>
      <button data-event="weak-research">Research completed (confidence 0.3)</button>
      <button data-event="publish">Content published</button>
      <button data-event="competitor">Competitor launch (severity 5)</button>
      <button data-event="repeat">Send the last event again</button>
    </p>
    <p>Connection: <strong id="connection" data-state="connecting">connecting</strong></p>
    <h2>State <small>(pushed by the reactor)</small></h2>
    <p>Updates received: <strong id="updates" data-count="0">0</strong></p>
    <pre id="state">(waiting for the reactor)</pre>
    <h2>Latest decisions</h2>
    <ol id="decisions"></ol>
    <h2>Commands the consumer received</h2>
    <ul id="received"></ul>
    <script>
      ${raw(script(config))};
    </script>`;
}

function script(config: string): string {
  return `
const { entity } = ${config};
const base = "/event-reactor/" + encodeURIComponent(entity);
let updates = 0;
let last = null;
let counter = 0;
const samples = {
  research: () => ({ type: "research.completed", data: { topic: "pricing " + ++counter, confidence: 0.8 } }),
  "weak-research": () => ({ type: "research.completed", data: { topic: "rumours " + ++counter, confidence: 0.3 } }),
  publish: () => ({ type: "content.published", data: { contentId: "post-" + ++counter, topic: "pricing", channel: "blog" } }),
  competitor: () => ({ type: "competitor.detected", data: { competitor: "Rival " + ++counter, signal: "launch", severity: 5 } }),
};

function text(id, value) { document.getElementById(id).textContent = value; }

async function refreshLists() {
  const [decisions, received] = await Promise.all([
    fetch(base + "/decisions?limit=10").then((r) => r.json()),
    fetch("/demo/event-reactor/received/" + encodeURIComponent(entity)).then((r) => r.json()),
  ]);
  const list = document.getElementById("decisions");
  list.replaceChildren(...decisions.decisions.map((d) => {
    const li = document.createElement("li");
    li.textContent = d.type + ": " + d.reason;
    return li;
  }));
  const got = document.getElementById("received");
  got.replaceChildren(...received.received.map((r) => {
    const li = document.createElement("li");
    li.textContent = r.command.type + " " + JSON.stringify(r.command.payload) + " (" + r.command.id + ")" +
      (r.deliveries > 1 ? ", delivered " + r.deliveries + " times, recorded once" : "");
    return li;
  }));
}

function connect() {
  const socket = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + base + "/connect");
  socket.addEventListener("open", () => {
    const el = document.getElementById("connection");
    el.textContent = "open"; el.dataset.state = "open";
  });
  socket.addEventListener("message", (message) => {
    const data = JSON.parse(message.data);
    if (data.type !== "cf_agent_state") return;
    updates++;
    const el = document.getElementById("updates");
    el.textContent = String(updates); el.dataset.count = String(updates);
    text("state", JSON.stringify(data.state, null, 2));
    refreshLists();
  });
  socket.addEventListener("close", () => {
    const el = document.getElementById("connection");
    el.textContent = "closed, reconnecting"; el.dataset.state = "closed";
    setTimeout(connect, 1000);
  });
}

for (const button of document.querySelectorAll("button[data-event]")) {
  button.addEventListener("click", async () => {
    const kind = button.dataset.event;
    const event = kind === "repeat" ? last : { id: "web-" + Date.now() + "-" + counter, at: Date.now(), ...samples[kind]() };
    if (event === null) return;
    last = event;
    await fetch(base + "/events", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(event) });
    // Delivery to the consumer follows the reactor's answer by a moment: look again shortly.
    setTimeout(refreshLists, 1500);
  });
}

connect();
refreshLists();
`;
}
