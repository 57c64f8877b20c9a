import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

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
        new Request(`http://localhost/demo/session${path}`, {
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

describe("/session/ and the login demo", () => {
  it("lists the session routes and demos in the index", async () => {
    const index = await (
      await exports.default.fetch(new Request("http://localhost/"))
    ).json<{
      patterns: { name: string; routes: string[]; demos: { route: string }[] }[];
    }>();
    const sessions = index.patterns.find((p) => p.name === "session");
    expect(sessions?.routes).toEqual(expect.arrayContaining(["POST /session/get"]));
    expect(sessions?.demos.map((d) => d.route)).toContain("POST /demo/session/login");
  });

  it("rotates the id at login, keeps the cart, and logs out everywhere", async () => {
    const user = `user-${crypto.randomUUID().slice(0, 8)}`;
    const laptop = browser();
    await laptop.send("POST", "/cart", { item: "book" });
    const preLogin = laptop.cookie;
    expect(preLogin).toMatch(/^__Host-session=/);

    const login = await laptop.send("POST", "/login", { user });
    expect(login.body).toMatchObject({ session: { userId: user, cart: ["book"] } });
    expect(laptop.cookie).not.toBe(preLogin);
    // The pre-login id is dead at once.
    const stale = await exports.default.fetch(
      new Request("http://localhost/demo/session/whoami", { headers: { Cookie: preLogin ?? "" } }),
    );
    expect(await stale.json()).toEqual({ session: null });

    const phone = browser();
    await phone.send("POST", "/login", { user });
    expect((await laptop.send("POST", "/logout-everywhere")).body).toEqual({ destroyed: 2 });
    expect((await phone.send("GET", "/whoami")).body).toEqual({ session: null });
    expect((await laptop.send("GET", "/whoami")).body).toEqual({ session: null });
  });
});
