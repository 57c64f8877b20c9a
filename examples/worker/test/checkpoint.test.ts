import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

const ADMIN = { Authorization: "Bearer test-admin-token" };

async function send(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
) {
  const response = await exports.default.fetch(
    new Request(`http://localhost${path}`, {
      method,
      headers: { "Content-Type": "application/json", ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    }),
  );
  return { status: response.status, body: await response.json<Record<string, unknown>>() };
}

describe("/checkpoint/ and the worker-loop demo (the README's curl demo)", () => {
  it("lists the checkpoint routes and demos in the index", async () => {
    const index = await (
      await exports.default.fetch(new Request("http://localhost/"))
    ).json<{
      patterns: { name: string; routes: string[]; demos: { route: string }[] }[];
    }>();
    const checkpoint = index.patterns.find((p) => p.name === "checkpoint");
    expect(checkpoint?.routes).toEqual(
      expect.arrayContaining(["POST /checkpoint/runs/:runId/claim"]),
    );
    expect(checkpoint?.demos.map((d) => d.route)).toContain("POST /demo/checkpoint/start?steps=4");
  });

  it("starts a demo run, drives it to completion, shows its status", async () => {
    const started = await send("POST", "/demo/checkpoint/start?steps=4");
    expect(started.status).toBe(201);
    const runId = started.body.runId as string;
    const driven = await send("POST", `/demo/checkpoint/${runId}/drive`);
    expect(driven.body).toMatchObject({ status: "completed", counts: { completed: 4 } });
    const status = await send("GET", `/demo/checkpoint/${runId}`);
    expect(status.body).toMatchObject({
      status: "completed",
      steps: [{ output: { square: 1 } }, {}, {}, { output: { square: 16 } }],
    });
  });

  it("a run of two steps claimed and completed by hand; a repeated completion answers the same", async () => {
    const runId = `job-${crypto.randomUUID().slice(0, 8)}`;
    const created = await send(
      "POST",
      `/checkpoint/runs/${runId}`,
      {
        steps: [
          { id: "a", input: 1 },
          { id: "b", input: 2 },
        ],
      },
      ADMIN,
    );
    expect(created.status).toBe(201);
    const claim = await send("POST", `/checkpoint/runs/${runId}/claim`, { worker: "me" });
    expect(claim.body).toMatchObject({ step: { id: "a", attempt: 1, input: 1 } });
    const first = await send("POST", `/checkpoint/runs/${runId}/steps/a/complete`, {
      attempt: 1,
      output: { ok: true },
    });
    const again = await send("POST", `/checkpoint/runs/${runId}/steps/a/complete`, {
      attempt: 1,
      output: { ok: true },
    });
    expect(again).toEqual(first);
    const status = await send("GET", `/checkpoint/runs/${runId}`);
    expect(status.body).toMatchObject({ status: "running", counts: { completed: 1, pending: 1 } });
  });
});
