/** State sync: a WebSocket client hears the state at once, and again on every change. */
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { BrandState } from "../src/index";
import { freshReactor, research } from "./helpers";

/** Opens a WebSocket through the Worker and collects the state messages it receives. */
async function connect(path: string) {
  const response = await exports.default.fetch(
    new Request(`http://localhost${path}`, { headers: { Upgrade: "websocket" } }),
  );
  const socket = response.webSocket;
  if (socket === null) throw new Error(`no WebSocket: ${response.status} ${await response.text()}`);
  socket.accept();
  const states: BrandState[] = [];
  const waiters: (() => void)[] = [];
  socket.addEventListener("message", (message) => {
    const data = JSON.parse(String(message.data)) as { type: string; state?: BrandState };
    if (data.type === "cf_agent_state" && data.state !== undefined) {
      states.push(data.state);
      for (const wake of waiters.splice(0)) wake();
    }
  });
  /** Resolves once `count` state messages have arrived. */
  const received = async (count: number) => {
    while (states.length < count) await new Promise<void>((resolve) => waiters.push(resolve));
    return states;
  };
  return { socket, received };
}

describe("state over WebSocket", () => {
  it("sends the state on connect and after each event, through the routes and the SDK's own path", async () => {
    const { entity, reactor } = await freshReactor();
    for (const path of [`/${entity}/connect`, `/agents/event-reactor/${entity}`]) {
      const client = await connect(path);
      const [initial] = await client.received(1);
      expect(initial?.topics).toEqual(path.startsWith("/agents") ? ["first"] : []);
      await reactor.ingest(research(path.startsWith("/agents") ? "second" : "first", 0.9));
      const states = await client.received(2);
      expect(states[1]?.topics).toContain(path.startsWith("/agents") ? "second" : "first");
      client.socket.close();
    }
  });

  it("refuses a plain GET on the connect route with a clear 400", async () => {
    const response = await exports.default.fetch(new Request("http://localhost/acme/connect"));
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      error: { code: "invalid_request", message: "connect with a WebSocket (Upgrade: websocket)" },
    });
  });
});
