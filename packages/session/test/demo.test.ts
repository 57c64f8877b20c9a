import { exports } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { resetClock, setNow, T0 } from "./helpers";

afterEach(resetClock);

/** A browser: keeps the session cookie the Worker sets, and sends it back. */
function browser() {
  let cookie: string | undefined;
  return {
    get cookie() {
      return cookie;
    },
    async send(method: "GET" | "POST", path: string, body?: unknown) {
      const headers: Record<string, string> = { "Content-Type": "application/json" };
      if (cookie !== undefined) headers.Cookie = cookie;
      const response = await exports.default.fetch(
        new Request(`http://example.com/demo/session${path}`, {
          method,
          headers,
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        }),
      );
      for (const header of response.headers.getSetCookie()) {
        const [pair = ""] = header.split(";");
        cookie = pair.endsWith("=") ? undefined : pair;
      }
      return { status: response.status, body: await response.json<Record<string, unknown>>() };
    },
  };
}

describe("the login demo", () => {
  it("cart, sign-in with rotation, a second device, log out everywhere", async () => {
    setNow(T0);
    const laptop = browser();
    await laptop.send("POST", "/cart", { item: "book" });
    const preLogin = laptop.cookie;
    expect(preLogin).toMatch(/^__Host-session=/);

    const login = await laptop.send("POST", "/login", { user: "grace" });
    expect(login.body).toMatchObject({ session: { userId: "grace", cart: ["book"] } });
    expect(laptop.cookie).not.toBe(preLogin);

    // Someone holding the pre-login cookie (a fixation attempt) has nothing.
    const stale = await exports.default.fetch(
      new Request("http://example.com/demo/session/whoami", {
        headers: { Cookie: preLogin ?? "" },
      }),
    );
    expect(await stale.json()).toEqual({ session: null });

    const phone = browser();
    await phone.send("POST", "/login", { user: "grace" });
    expect((await phone.send("GET", "/whoami")).body).toMatchObject({
      session: { userId: "grace" },
    });

    const everywhere = await laptop.send("POST", "/logout-everywhere");
    expect(everywhere.body).toEqual({ destroyed: 2 });
    expect(laptop.cookie).toBeUndefined();
    expect((await phone.send("GET", "/whoami")).body).toEqual({ session: null });
  });

  it("log out everywhere asks an anonymous visitor to sign in first", async () => {
    setNow(T0);
    const visitor = browser();
    await visitor.send("POST", "/cart", { item: "pen" });
    expect(await visitor.send("POST", "/logout-everywhere")).toMatchObject({
      status: 401,
      body: { error: { code: "unauthorized" } },
    });
  });

  it("bad input is a 400 with the reason, and starts no session", async () => {
    setNow(T0);
    const visitor = browser();
    for (const [path, body, message] of [
      ["/cart", { item: "" }, /item must be 1-40/],
      ["/cart", { item: "<script>" }, /item must be 1-40/],
      ["/login", { user: "a b" }, /user must be 1-64/],
      ["/login", {}, /user must be 1-64/],
    ] as const) {
      const response = await visitor.send("POST", path, body);
      expect(response.status).toBe(400);
      expect(JSON.stringify(response.body)).toMatch(message);
    }
    expect(visitor.cookie).toBeUndefined();
  });

  it("the cart holds at most 20 items", async () => {
    setNow(T0);
    const visitor = browser();
    for (let i = 0; i < 20; i++) {
      expect((await visitor.send("POST", "/cart", { item: `item ${i}` })).status).toBe(200);
    }
    expect(await visitor.send("POST", "/cart", { item: "one more" })).toMatchObject({
      status: 400,
      body: { error: { message: "the cart holds at most 20 items" } },
    });
  });
});
