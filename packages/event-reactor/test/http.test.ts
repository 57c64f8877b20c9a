/** The routes: events in, state, decisions and outbox out, admin operations guarded. */
import { exports } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { published, research } from "./helpers";
import { testControls } from "./worker";

const ADMIN = { Authorization: "Bearer test-admin-token" };

afterEach(() => {
  testControls.now = null;
});

function send(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  return exports.default.fetch(
    new Request(`http://localhost${path}`, {
      method,
      headers: { "Content-Type": "application/json", ...headers },
      ...(body === undefined
        ? {}
        : { body: typeof body === "string" ? body : JSON.stringify(body) }),
    }),
  );
}

const entity = () => `brand-${crypto.randomUUID().slice(0, 8)}`;

describe("routes", () => {
  it("POST /:entity/events answers 202 with the commands, then 200 for the same id", async () => {
    const brand = entity();
    const event = research("pricing", 0.9);
    const first = await send("POST", `/${brand}/events`, event);
    expect(first.status).toBe(202);
    expect(await first.json()).toMatchObject({
      ok: true,
      duplicate: false,
      commands: [{ id: `${event.id}/0`, type: "draft-content", entity: brand }],
      decisions: [{ type: "draft-content" }],
    });
    const again = await send("POST", `/${brand}/events`, event);
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({ ok: true, duplicate: true, eventId: event.id });
  });

  it("GET state, decisions and outbox", async () => {
    const brand = entity();
    await send("POST", `/${brand}/events`, research("pricing", 0.9));
    await send("POST", `/${brand}/events`, published("post-1"));
    const state = await (
      await send("GET", `/${brand}/state`)
    ).json<{ state: { published: number } }>();
    expect(state).toMatchObject({ entity: brand, state: { published: 1, topics: ["pricing"] } });
    const decisions = await (await send("GET", `/${brand}/decisions?type=draft-content`)).json();
    expect(decisions).toMatchObject({ decisions: [{ type: "draft-content" }] });
    const limited = await (
      await send("GET", `/${brand}/decisions?limit=1`)
    ).json<{ decisions: unknown[] }>();
    expect(limited.decisions).toHaveLength(1);
    const outbox = await (
      await send("GET", `/${brand}/outbox?status=sent`)
    ).json<{ commands: unknown[] }>();
    expect(
      outbox.commands.length +
        (await (await send("GET", `/${brand}/outbox`)).json<{ commands: unknown[] }>()).commands
          .length,
    ).toBe(2);
  });

  it("POST review and deliver need the admin token", async () => {
    const brand = entity();
    for (const path of [`/${brand}/review`, `/${brand}/deliver`]) {
      expect((await send("POST", path)).status).toBe(401);
      expect((await send("POST", path, undefined, { Authorization: "Bearer wrong" })).status).toBe(
        401,
      );
    }
    testControls.now = Date.UTC(2026, 10, 1);
    expect((await send("POST", `/${brand}/review`, undefined, ADMIN)).status).toBe(200);
    testControls.now = Date.UTC(2026, 10, 2);
    const review = await send("POST", `/${brand}/review`, undefined, ADMIN);
    expect(await review.json()).toMatchObject({ commands: [{ type: "request-research" }] });
    const deliver = await send("POST", `/${brand}/deliver`, undefined, ADMIN);
    expect(await deliver.json()).toMatchObject({ pending: 0 });
  });
});
