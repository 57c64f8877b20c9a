/**
 * The login demo the composing example mounts at /demo/session: a cart kept before sign-in, a
 * sign-in that rotates the id (the pre-login id dies, the cart stays), who am I, log out, and
 * log out everywhere. No password: it shows the session, not authentication. It uses only the
 * package's public exports and hono; the composing example mounts this same module.
 */
import { Hono, type Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { session, type SessionOutcome, type SessionVariables } from "../src/index";

interface DemoData {
  cart: string[];
}

type DemoEnv = { Variables: SessionVariables<DemoData> };
type ErrorCode =
  | "invalid_json"
  | "invalid_request"
  | "not_found"
  | "payload_too_large"
  | "unauthorized"
  | "unavailable";

const MAX_CART_ITEMS = 20;
const ITEM = /^[\w .-]{1,40}$/;
const USER = /^[\w.-]{1,64}$/;

/**
 * @example
 * app.route("/demo/session", sessionDemo({ binding: "SESSIONS" }));
 */
export function sessionDemo(options: { binding: string; now?: () => number }): Hono<DemoEnv> {
  const demo = new Hono<DemoEnv>();
  demo.use(
    "*",
    bodyLimit({
      maxSize: 1024,
      onError: (c) => error(c, 413, "payload_too_large", "request body must be at most 1024 bytes"),
    }),
    session<DemoData>(options),
  );

  demo.get("/whoami", (c) => c.json(describe(c)));

  demo.post("/cart", async (c) => {
    const body = await jsonBody(c);
    if (body instanceof Response) return body;
    if (typeof body.item !== "string" || !ITEM.test(body.item)) {
      return error(
        c,
        400,
        "invalid_request",
        "item must be 1-40 letters, digits, spaces, '_', '.' or '-'",
      );
    }
    const cart = c.var.session.data.cart ?? [];
    if (cart.length >= MAX_CART_ITEMS) {
      return error(c, 400, "invalid_request", `the cart holds at most ${MAX_CART_ITEMS} items`);
    }
    const outcome = await c.var.session.set("cart", [...cart, body.item]);
    return outcome.ok ? c.json(describe(c)) : failed(c, outcome);
  });

  demo.post("/login", async (c) => {
    const body = await jsonBody(c);
    if (body instanceof Response) return body;
    if (typeof body.user !== "string" || !USER.test(body.user)) {
      return error(c, 400, "invalid_request", "user must be 1-64 letters, digits, '_', '.' or '-'");
    }
    const previousId = c.var.session.id;
    // A real app checks the password first. Rotating here is what defeats session fixation:
    // an id someone planted or saw before sign-in is dead from this line on.
    const outcome = await c.var.session.rotate({ userId: body.user });
    if (!outcome.ok) return failed(c, outcome);
    return c.json({ ...describe(c), previousId });
  });

  demo.post("/logout", async (c) => c.json(await c.var.session.destroy()));

  demo.post("/logout-everywhere", async (c) => {
    if (c.var.session.userId === null) {
      return error(c, 401, "unauthorized", "sign in first: POST /demo/session/login");
    }
    try {
      return c.json(await c.var.session.destroyAll());
    } catch {
      return error(c, 503, "unavailable", "some sessions could not be reached; try again");
    }
  });
  return demo;
}

function describe(c: Context<DemoEnv>) {
  const { id, userId, data, expiresAt } = c.var.session;
  if (id === null) return { session: null };
  return { session: { id, userId, cart: data.cart ?? [], expiresAt: new Date(expiresAt ?? 0) } };
}

/** The body as a JSON object, or the 400 to send. */
async function jsonBody(c: Context): Promise<Record<string, unknown> | Response> {
  try {
    const body: unknown = await c.req.json();
    if (typeof body === "object" && body !== null && !Array.isArray(body)) {
      return body as Record<string, unknown>;
    }
  } catch {
    return error(c, 400, "invalid_json", "request body must be valid JSON");
  }
  return error(c, 400, "invalid_request", "request body must be a JSON object");
}

function failed(c: Context, outcome: Extract<SessionOutcome, { ok: false }>): Response {
  const { code, message } = outcome.error;
  // Another request ended or rotated the session while this one ran.
  if (code === "no_session") return error(c, 404, "not_found", `${message}; try again`);
  if (code === "data_too_large") return error(c, 413, "payload_too_large", message);
  return error(c, 400, "invalid_request", message);
}

function error(c: Context, status: 400 | 401 | 404 | 413 | 503, code: ErrorCode, message: string) {
  return c.json({ error: { code, message } }, status);
}
