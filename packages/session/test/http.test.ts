import { exports } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { freshUser, HOUR, MINUTE, resetClock, setNow, T0 } from "./helpers";

afterEach(resetClock);

const ADMIN = { Authorization: "Bearer test-admin-token" };

async function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await exports.default.fetch(
    new Request(`http://example.com${path}`, {
      method: "POST",
      headers: { "Content-Type": "application/json", ...headers },
      body: JSON.stringify(body),
    }),
  );
  return { status: response.status, body: await response.json<Record<string, unknown>>() };
}

async function created(body: unknown = {}) {
  const response = await post("/create", body, ADMIN);
  expect(response.status).toBe(201);
  return response.body as { session: { id: string } };
}

describe("HTTP routes", () => {
  it("create (admin) answers 201 with the session and its id", async () => {
    setNow(T0);
    const user = freshUser();
    const { session } = await created({ userId: user, data: { a: 1 }, idleTimeoutSeconds: 600 });
    expect(session).toEqual({
      id: session.id,
      userId: user,
      data: { a: 1 },
      createdAt: T0,
      expiresAt: T0 + 10 * MINUTE,
      absoluteExpiresAt: T0 + 8 * HOUR,
    });
  });

  it("get touches, peek does not; both 404 without a session", async () => {
    setNow(T0);
    const { session } = await created();
    setNow(T0 + 10 * MINUTE);
    expect((await post("/peek", { id: session.id })).body).toMatchObject({
      session: { expiresAt: T0 + 30 * MINUTE },
    });
    expect(await post("/get", { id: session.id })).toMatchObject({
      status: 200,
      body: { session: { expiresAt: T0 + 40 * MINUTE } },
    });
    setNow(T0 + 40 * MINUTE);
    expect(await post("/get", { id: session.id })).toMatchObject({
      status: 404,
      body: { error: { code: "not_found" } },
    });
  });

  it("set, merge and delete-fields (admin) answer with the session as it now is", async () => {
    setNow(T0);
    const { session } = await created();
    const { id } = session;
    expect((await post("/set", { id, field: "a", value: [1] }, ADMIN)).body).toMatchObject({
      session: { data: { a: [1] } },
    });
    expect((await post("/merge", { id, fields: { b: 2, c: 3 } }, ADMIN)).body).toMatchObject({
      session: { data: { a: [1], b: 2, c: 3 } },
    });
    const deleted = await post("/delete-fields", { id, fields: ["a", "c"] }, ADMIN);
    expect(deleted.status).toBe(200);
    expect(deleted.body).toMatchObject({ session: { data: { b: 2 } } });
  });

  it("rotate answers the session under its new id; the old one is 404 from then on", async () => {
    setNow(T0);
    const { session } = await created({ data: { a: 1 } });
    const rotated = await post("/rotate", { id: session.id });
    expect(rotated.status).toBe(200);
    const next = (rotated.body as { session: { id: string; data: unknown } }).session;
    expect(next.id).not.toBe(session.id);
    expect(next.data).toEqual({ a: 1 });
    expect((await post("/get", { id: session.id })).status).toBe(404);
    expect((await post("/rotate", { id: session.id })).status).toBe(404);
  });

  it("rotate with a userId signs the session in, and needs the admin token for it", async () => {
    setNow(T0);
    const { session } = await created();
    const user = freshUser();
    const refused = await post("/rotate", { id: session.id, userId: user });
    expect(refused).toMatchObject({ status: 401, body: { error: { code: "unauthorized" } } });
    expect((await post("/get", { id: session.id })).status).toBe(200);
    const signedIn = await post("/rotate", { id: session.id, userId: user }, ADMIN);
    expect(signedIn).toMatchObject({ status: 200, body: { session: { userId: user } } });
  });

  it("destroy answers whether there was a session to end", async () => {
    setNow(T0);
    const { session } = await created();
    expect(await post("/destroy", { id: session.id })).toEqual({
      status: 200,
      body: { destroyed: true },
    });
    expect(await post("/destroy", { id: session.id })).toEqual({
      status: 200,
      body: { destroyed: false },
    });
  });

  it("destroy-all (admin) logs a user out everywhere", async () => {
    setNow(T0);
    const user = freshUser();
    const a = await created({ userId: user });
    const b = await created({ userId: user });
    expect(await post("/destroy-all", { userId: user }, ADMIN)).toEqual({
      status: 200,
      body: { destroyed: 2 },
    });
    expect((await post("/get", { id: a.session.id })).status).toBe(404);
    expect((await post("/get", { id: b.session.id })).status).toBe(404);
  });

  it("every admin route refuses without the token, and changes nothing", async () => {
    setNow(T0);
    const { session } = await created({ data: { a: 1 } });
    const { id } = session;
    for (const [path, body] of [
      ["/create", {}],
      ["/set", { id, field: "a", value: 2 }],
      ["/merge", { id, fields: { a: 2 } }],
      ["/delete-fields", { id, fields: ["a"] }],
      ["/destroy-all", { userId: "someone" }],
    ] as const) {
      for (const headers of [{}, { Authorization: "Bearer wrong" }]) {
        expect(await post(path, body, headers)).toMatchObject({
          status: 401,
          body: { error: { code: "unauthorized" } },
        });
      }
    }
    expect((await post("/peek", { id })).body).toMatchObject({ session: { data: { a: 1 } } });
  });
});
