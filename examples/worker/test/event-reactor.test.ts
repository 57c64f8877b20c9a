import { exports } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";

const get = async (path: string) =>
  (await exports.default.fetch(new Request(`http://localhost${path}`))).json<
    Record<string, unknown>
  >();

describe("/event-reactor/ and its Queue consumer", () => {
  it("lists the routes, the live page and the consumer's view in the index", async () => {
    const index = await get("/");
    const patterns = index.patterns as {
      name: string;
      routes: string[];
      demos: { route: string }[];
      live?: string;
    }[];
    const reactor = patterns.find((p) => p.name === "event-reactor");
    expect(reactor?.routes).toContain("POST /event-reactor/:entity/events");
    expect(reactor?.live).toBe("/event-reactor/live");
    expect(reactor?.demos.map((d) => d.route)).toContain("GET /demo/event-reactor/received/acme");
  });

  it("runs the README's demo: an event in, its command at the consumer, the decision logged", async () => {
    const brand = `brand-${crypto.randomUUID().slice(0, 8)}`;
    const event = {
      id: "evt-1",
      type: "research.completed",
      at: Date.UTC(2026, 10, 1),
      data: { topic: "pricing", confidence: 0.8 },
    };
    const response = await exports.default.fetch(
      new Request(`http://localhost/event-reactor/${brand}/events`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(event),
      }),
    );
    expect(response.status).toBe(202);
    await vi.waitFor(
      async () => {
        const received = (await get(`/demo/event-reactor/received/${brand}`)).received as {
          command: { id: string; type: string };
          deliveries: number;
        }[];
        expect(received).toEqual([
          expect.objectContaining({
            command: expect.objectContaining({ id: "evt-1/0", type: "draft-content" }),
            deliveries: 1,
          }),
        ]);
      },
      { timeout: 15_000, interval: 200 },
    );
    const decisions = (await get(`/event-reactor/${brand}/decisions`)).decisions as {
      type: string;
    }[];
    expect(decisions.map((d) => d.type)).toEqual(["draft-content"]);
  });

  it("serves the live page for a brand, and refuses a bad one", async () => {
    const page = await exports.default.fetch(
      new Request("http://localhost/event-reactor/live?entity=acme"),
    );
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("/connect");
    const bad = await exports.default.fetch(
      new Request("http://localhost/event-reactor/live?entity=a%20b"),
    );
    expect(bad.status).toBe(400);
  });
});
