import { exports } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { newSessionId, session } from "../src/index";
import { HOUR, MINUTE, resetClock, sessions, setNow, T0 } from "./helpers";

afterEach(resetClock);

const ATTRIBUTES = "Path=/; HttpOnly; Secure; SameSite=Lax";
const setCookie = (name: string, id: string, maxAge: number) =>
  `__Host-${name}=${id}; Max-Age=${maxAge}; ${ATTRIBUTES}`;
const clearCookie = (name: string) => `__Host-${name}=; Max-Age=0; ${ATTRIBUTES}`;

async function request(
  method: "GET" | "POST",
  path: string,
  { cookie, body }: { cookie?: string; body?: unknown } = {},
) {
  const headers: Record<string, string> = { "Content-Type": "application/json" };
  if (cookie !== undefined) headers.Cookie = cookie;
  const response = await exports.default.fetch(
    new Request(`http://example.com${path}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    }),
  );
  return {
    status: response.status,
    setCookies: response.headers.getSetCookie(),
    retryAfter: response.headers.get("Retry-After"),
    body: await response.json<Record<string, unknown>>(),
  };
}

/** The session id a Set-Cookie header gives, and the Cookie header that sends it back. */
function jar(setCookieHeader: string | undefined, name = "session") {
  const id = /^__Host-[^=]+=([^;]*)/.exec(setCookieHeader ?? "")?.[1] ?? "";
  return { id, cookie: `__Host-${name}=${id}` };
}

describe("session() middleware: the cookie round trip", () => {
  it("a first write starts a session and sets the cookie with every attribute", async () => {
    setNow(T0);
    const response = await request("POST", "/demo/session/cart", { body: { item: "book" } });
    expect(response.status).toBe(200);
    expect(response.setCookies).toHaveLength(1);
    const { id } = jar(response.setCookies[0]);
    expect(id).toMatch(/^[A-Za-z0-9_-]{32}$/);
    // __Host-: Secure, Path=/ and no Domain, so only this host over HTTPS ever gets it back.
    expect(response.setCookies[0]).toBe(setCookie("session", id, 8 * 3600));
    expect(response.setCookies[0]).not.toMatch(/Domain/i);
    expect(response.body).toMatchObject({ session: { id, userId: null, cart: ["book"] } });
  });

  it("the next request sends it back and finds the session; a request that only reads sets no cookie", async () => {
    setNow(T0);
    const first = await request("POST", "/demo/session/cart", { body: { item: "book" } });
    const { id, cookie } = jar(first.setCookies[0]);
    setNow(T0 + 5 * MINUTE);
    const again = await request("POST", "/demo/session/cart", { cookie, body: { item: "pen" } });
    expect(again.setCookies).toEqual([]);
    const whoami = await request("GET", "/demo/session/whoami", { cookie });
    expect(whoami.setCookies).toEqual([]);
    expect(whoami.body).toMatchObject({ session: { id, cart: ["book", "pen"] } });
  });

  it("no cookie, a malformed one, one without the __Host- prefix, or a dead session's: no session, no Set-Cookie", async () => {
    setNow(T0);
    const first = await request("POST", "/demo/session/cart", { body: { item: "book" } });
    const { id, cookie } = jar(first.setCookies[0]);
    await sessions().destroy(id);
    for (const sent of [
      undefined,
      "__Host-session=garbage",
      `session=${newSessionId()}`,
      `__Host-session=${newSessionId()}`,
      cookie,
    ]) {
      const response = await request(
        "GET",
        "/demo/session/whoami",
        sent === undefined ? {} : { cookie: sent },
      );
      expect({ sent, body: response.body, setCookies: response.setCookies }).toEqual({
        sent,
        body: { session: null },
        setCookies: [],
      });
    }
  });

  it("an expired session's cookie finds nothing, and the next write starts a new session", async () => {
    setNow(T0);
    const first = await request("POST", "/demo/session/cart", { body: { item: "book" } });
    const { id, cookie } = jar(first.setCookies[0]);
    setNow(T0 + 30 * MINUTE);
    expect((await request("GET", "/demo/session/whoami", { cookie })).body).toEqual({
      session: null,
    });
    const next = await request("POST", "/demo/session/cart", { cookie, body: { item: "pen" } });
    const fresh = jar(next.setCookies[0]);
    expect(fresh.id).not.toBe(id);
    expect(next.body).toMatchObject({ session: { id: fresh.id, cart: ["pen"] } });
  });

  it("sign-in rotates: a new cookie, the pre-login one dead at once, the cart kept", async () => {
    setNow(T0);
    const before = jar(
      (await request("POST", "/demo/session/cart", { body: { item: "book" } })).setCookies[0],
    );
    setNow(T0 + 10 * MINUTE);
    const login = await request("POST", "/demo/session/login", {
      cookie: before.cookie,
      body: { user: "ada" },
    });
    expect(login.status).toBe(200);
    expect(login.setCookies).toHaveLength(1);
    const after = jar(login.setCookies[0]);
    expect(after.id).not.toBe(before.id);
    // Signing in starts the session's lifetime, so the cookie lasts the full 8 hours again.
    expect(login.setCookies[0]).toBe(setCookie("session", after.id, 8 * 3600));
    expect(login.body).toMatchObject({
      previousId: before.id,
      session: { id: after.id, userId: "ada", cart: ["book"] },
    });
    expect((await request("GET", "/demo/session/whoami", { cookie: before.cookie })).body).toEqual({
      session: null,
    });
    expect(
      (await request("GET", "/demo/session/whoami", { cookie: after.cookie })).body,
    ).toMatchObject({
      session: { userId: "ada", cart: ["book"] },
    });
    await sessions().destroyAllForUser("ada");
  });

  it("logout ends the session and clears the cookie with the same attributes", async () => {
    setNow(T0);
    const { cookie } = jar(
      (await request("POST", "/demo/session/cart", { body: { item: "book" } })).setCookies[0],
    );
    const logout = await request("POST", "/demo/session/logout", { cookie });
    expect(logout.body).toEqual({ destroyed: true });
    expect(logout.setCookies).toEqual([clearCookie("session")]);
    expect((await request("GET", "/demo/session/whoami", { cookie })).body).toEqual({
      session: null,
    });
  });

  it("Max-Age counts down to the absolute deadline; rotating twice sends one cookie, the last", async () => {
    setNow(T0);
    const first = jar((await request("POST", "/custom/set?n=1")).setCookies[0], "sid");
    setNow(T0 + 5 * MINUTE);
    const rotated = await request("POST", "/custom/rotate-twice", { cookie: first.cookie });
    expect(rotated.setCookies).toHaveLength(1);
    const last = jar(rotated.setCookies[0], "sid");
    expect(rotated.body).toMatchObject({ ok: true, session: { id: last.id } });
    // An anonymous rotation keeps the start time: 1 hour absolute, 5 minutes gone.
    expect(rotated.setCookies[0]).toBe(setCookie("sid", last.id, 3600 - 300));
    expect((await request("GET", "/custom", { cookie: first.cookie })).body).toEqual({
      id: null,
      data: {},
    });
    expect((await request("GET", "/custom", { cookie: last.cookie })).body).toEqual({
      id: last.id,
      data: { n: 1 },
    });
  });

  it("takes a cookie name and timeouts", async () => {
    setNow(T0);
    const response = await request("POST", "/custom/set?n=5");
    const { id } = jar(response.setCookies[0], "sid");
    expect(response.setCookies).toEqual([setCookie("sid", id, HOUR / 1000)]);
    expect(response.body).toMatchObject({ session: { expiresAt: T0 + 10 * MINUTE } });
  });

  it("a session started and ended in one request only clears the cookie", async () => {
    setNow(T0);
    const response = await request("POST", "/custom/create-then-destroy");
    expect(response.body).toEqual({ destroyed: true });
    expect(response.setCookies).toEqual([clearCookie("sid")]);
  });

  it("a handler that fails after starting a session still hands out its cookie", async () => {
    setNow(T0);
    const response = await request("POST", "/custom/set-then-throw");
    expect(response.status).toBe(500);
    expect(response.body).toMatchObject({ error: { code: "internal_error" } });
    const { id, cookie } = jar(response.setCookies[0], "sid");
    expect((await request("GET", "/custom", { cookie })).body).toEqual({ id, data: { n: 1 } });
  });

  it("a write to a session another request ended answers no_session and leaves the cookie alone", async () => {
    setNow(T0);
    const { cookie } = jar((await request("POST", "/custom/set?n=1")).setCookies[0], "sid");
    const response = await request("POST", "/custom/ended-meanwhile", { cookie });
    expect(response.body).toMatchObject({ ok: false, error: { code: "no_session" } });
    expect(response.setCookies).toEqual([]);
  });

  it("answers 503 when the store cannot be reached, and makes no call without a well-formed cookie", async () => {
    const unreachable = await request("GET", "/outage", {
      cookie: `__Host-session=${newSessionId()}`,
    });
    expect(unreachable.status).toBe(503);
    expect(unreachable.retryAfter).toBe("1");
    expect(unreachable.body).toMatchObject({ error: { code: "unavailable" } });
    for (const headers of [{}, { Cookie: "__Host-session=malformed" }]) {
      const response = await exports.default.fetch(
        new Request("http://example.com/outage", { headers }),
      );
      expect(await response.text()).toBe("served");
    }
  });

  it("refuses to build with bad options", () => {
    expect(() => session({ binding: "SESSIONS", idleTimeoutSeconds: 10 })).toThrow(
      /idleTimeoutSeconds must be at least 60/,
    );
    expect(() => session({ binding: "SESSIONS", absoluteTimeoutSeconds: 1e9 })).toThrow(
      /absoluteTimeoutSeconds must be at most/,
    );
    expect(() => session({ binding: "SESSIONS", cookie: { name: "a b" } })).toThrow(
      /cookie.name must be/,
    );
  });
});
